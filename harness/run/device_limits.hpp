#pragma once
// The SM's limits of a real device (registers, shared memory, threads, blocks per SM), as the resource checks
// and SRAM budgets (kernels/sram_budget.hpp) take them: the architecture's table, corrected by what the
// driver reports.
#include "gpu/device_info.hpp"
#include "kernels/resource_check.hpp"

namespace flashtune::run {

SmLimits limits_of(const gpu::DeviceInfo& d);

}  // namespace flashtune::run
