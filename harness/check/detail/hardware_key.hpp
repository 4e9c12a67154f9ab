#pragma once
// The GPU as hardware: its identity without the driver version, so that results from before and after a
// driver update are of the same GPU (internal to flashtune_check).
#include <fmt/format.h>

#include <string>

#include "core/gpu_identity.hpp"

namespace flashtune::check::detail {

// "NVIDIA H100 80GB HBM3|cc9.0|sm132|smem232448|l2-52428800"
inline std::string hardware_key(const GpuIdentity& g) {
  return fmt::format("{}|cc{}.{}|sm{}|smem{}|l2-{}", g.name, g.cc_major, g.cc_minor, g.sm_count,
                     g.smem_optin_per_block, g.l2_bytes);
}

}  // namespace flashtune::check::detail
