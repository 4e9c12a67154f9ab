#include "kernels/resource_check.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace flashtune {

ResourceFit check_resources(int regs, int threads, int smem, const SmLimits& l) {
  ResourceFit fit;
  if (regs > 255) {
    fit.limited_by = fmt::format("{} registers per thread > 255", regs);
    return fit;
  }
  if (smem > l.smem_optin_per_block) {
    fit.limited_by = fmt::format("{} B shared memory > {} B per block", smem, l.smem_optin_per_block);
    return fit;
  }
  if (threads < 1 || threads > 1024) {
    fit.limited_by = fmt::format("{} threads per block", threads);
    return fit;
  }
  const int warps = (threads + 31) / 32;
  const int regs_per_warp =
      (std::max(regs, 1) * 32 + l.register_granularity - 1) / l.register_granularity * l.register_granularity;
  const int by_regs = l.registers / (regs_per_warp * warps);
  const int by_smem = smem > 0 ? l.smem_bytes / (smem + l.smem_reserved_per_block) : l.blocks;
  const int by_threads = l.threads / threads;
  fit.blocks_per_sm = std::min({by_regs, by_smem, by_threads, l.blocks});
  fit.fits = fit.blocks_per_sm > 0;
  if (fit.blocks_per_sm == by_regs)
    fit.limited_by = "registers";
  else if (fit.blocks_per_sm == by_smem)
    fit.limited_by = "shared memory";
  else if (fit.blocks_per_sm == by_threads)
    fit.limited_by = "threads";
  else
    fit.limited_by = "blocks";
  if (!fit.fits) fit.limited_by = "does not fit: " + fit.limited_by;
  return fit;
}

}  // namespace flashtune

namespace flashtune {

SmLimits sm_limits_for(int cc_major, int cc_minor) {
  SmLimits l;  // sm_90 (and the default)
  const int cc = cc_major * 10 + cc_minor;
  if (cc == 80 || cc == 87) {
    l.smem_bytes = 167936;
    l.smem_optin_per_block = 166912;
    l.threads = 2048;
    l.carveout_levels_kib = {0, 8, 16, 32, 64, 100, 132, 164};
  } else if (cc == 86 || cc == 89 || cc >= 120) {
    l.smem_bytes = 102400;
    l.smem_optin_per_block = 101376;
    l.threads = 1536;
    l.blocks = cc == 86 ? 16 : 24;
    l.carveout_levels_kib = {0, 8, 16, 32, 64, 100};
  }
  return l;
}

}  // namespace flashtune
