#include "core/gpu_identity.hpp"

#include <fmt/format.h>

namespace flashtune {

std::string GpuIdentity::key() const {
  return fmt::format("{}|cc{}.{}|sm{}|smem{}|l2-{}|drv{}", name, cc_major, cc_minor, sm_count,
                     smem_optin_per_block, l2_bytes, driver_version);
}

}  // namespace flashtune
