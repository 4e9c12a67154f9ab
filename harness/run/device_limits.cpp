#include "run/device_limits.hpp"

namespace flashtune::run {

SmLimits limits_of(const gpu::DeviceInfo& d) {
  SmLimits l = sm_limits_for(d.cc_major, d.cc_minor);
  l.registers = d.regs_per_sm;
  l.smem_bytes = d.smem_per_sm;
  l.smem_optin_per_block = d.smem_optin_per_block;
  l.smem_reserved_per_block = d.smem_reserved_per_block;
  l.threads = d.max_threads_per_sm;
  l.blocks = d.max_blocks_per_sm;
  return l;
}

}  // namespace flashtune::run
