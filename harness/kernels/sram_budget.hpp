#pragma once
// SRAM budgets: "the best configuration within 48 / 100 / 164 / 227 KiB of shared memory per block".
//
// A budget caps the shared memory (dynamic + static) one block may use: a configuration over it is pruned.
// The launch then gives the block exactly that much (the dynamic shared-memory limit) and carves the SM's
// unified L1/shared memory to the smallest capacity that holds one such block and its reserved 1 KiB,
// through the carveout hint: so an H100 behaves like a GPU whose per-block opt-in limit is the budget (an
// A100: 163 KiB; sm_86/sm_89: 99 KiB; 48 KiB without opt-in). The occupancy arithmetic uses that capacity.
//
//   SramPlan p = plan_sram_budget(99 * 1024, sm_limits_for(9, 0));
//   // p.per_block_limit = 101376, p.sm_capacity_bytes = 102400 (100 KiB), p.carveout_percent = 43
#include <cstdint>

#include "kernels/resource_check.hpp"

namespace flashtune {

struct SramPlan {
  int per_block_limit = 0;     // bytes a block may use: min(budget, the device's opt-in limit)
  int sm_capacity_bytes = 0;   // the carveout level chosen: the smallest >= per_block_limit + reserved
  int carveout_percent = 100;  // the hint selecting it: floor(100 * capacity / max capacity), which the
                               // driver rounds up to the next supported level, i.e. exactly this one
  SmLimits limits;             // the device's limits with the SM's shared memory set to sm_capacity_bytes
};

// budget_bytes <= 0 means "max": the device's opt-in limit. A budget above the opt-in limit is clamped to it.
SramPlan plan_sram_budget(std::int64_t budget_bytes, const SmLimits& device);

}  // namespace flashtune
