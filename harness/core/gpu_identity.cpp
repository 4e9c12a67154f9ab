#include "core/gpu_identity.hpp"

#include <fmt/format.h>

namespace flashtune {

std::string GpuIdentity::key() const {
  return fmt::format("{}|cc{}.{}|sm{}|smem{}|l2-{}|drv{}", name, cc_major, cc_minor, sm_count,
                     smem_optin_per_block, l2_bytes, driver_version);
}

std::string GpuIdentity::to_string() const {
  return fmt::format("{} ({}, {} SMs, driver {}.{})", name, arch_name(cc_major, cc_minor), sm_count,
                     driver_version / 1000, driver_version % 1000 / 10);
}

std::string arch_name(int cc_major, int cc_minor) {
  return fmt::format("sm_{}{}{}", cc_major, cc_minor, cc_major >= 9 ? "a" : "");
}

}  // namespace flashtune
