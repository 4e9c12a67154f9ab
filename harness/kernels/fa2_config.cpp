#include "kernels/fa2_config.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "kernels/resource_check.hpp"
#include "kernels/tiling_rules.hpp"
#include "smem_bytes.h"

namespace flashtune {

std::string Fa2Config::to_string() const {
  std::string s = fmt::format("bm{} bn{} w{} s{}", block_m, block_n, warps, stages);
  if (q_regs != 2) s += fmt::format(" q{}", q_regs);
  if (pipeline != 0) s += fmt::format(" p{}", pipeline);
  if (min_blocks != 1) s += fmt::format(" mb{}", min_blocks);
  if (lazy_rescale != 0) s += fmt::format(" lr{}", lazy_rescale);
  if (persistent != 0) s += fmt::format(" pe{}", persistent);
  if (fuse_pv != 0) s += fmt::format(" fp{}", fuse_pv);
  if (splits != 1) s += fmt::format(" sp{}", splits);
  return s;
}

std::string Fa2Instance::name_expression() const {
  return fmt::format(
      "flashtune::fa2_fwd<flashtune::Fa2Traits<{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}{}>, {}, {}{}>",
      config.block_m, config.block_n, head_dim, config.warps, config.stages, config.q_regs, config.pipeline,
      config.min_blocks, config.lazy_rescale, config.persistent, config.fuse_pv,
      config.splits != 1 ? fmt::format(", {}", config.splits) : "", causal ? "true" : "false",
      cuda_type_name(dtype), variant != 0 ? fmt::format(", {}", variant) : "");
}

std::string Fa2Instance::combine_expression() const {
  return fmt::format("flashtune::fa2_combine<{}, {}, {}, {}{}>", head_dim, config.splits,
                     (variant & 1) != 0 ? "true" : "false", cuda_type_name(dtype),
                     (variant & 8) != 0 ? ", true" : "");
}

std::string Fa2Instance::to_string() const {
  return fmt::format("{} {} d{} {}{}{}", fa2::kTemplateId, config.to_string(), head_dim,
                     flashtune::to_string(dtype), causal ? " causal" : "",
                     variant != 0 ? fmt::format(" variant{}", variant) : "");
}

namespace fa2 {

int threads(const Fa2Config& c) {
  return c.warps * 32;
}

int smem_bytes(const Fa2Config& c, int head_dim) {
  return fa2_smem_bytes(c.block_m, c.block_n, head_dim, c.stages, c.persistent != 0);
}

std::size_t workspace_bytes(const Fa2Config& c, const AttentionProblem& p) {
  if (c.splits <= 1) return 0;
  const std::size_t rows = static_cast<std::size_t>(p.batch) * static_cast<std::size_t>(p.heads) *
                           static_cast<std::size_t>(p.seqlen);
  return static_cast<std::size_t>(c.splits) * rows * (static_cast<std::size_t>(p.head_dim) + 1) *
         sizeof(float);
}

int persistent_ctas(const Fa2Config& c, int head_dim) {
  const SmLimits sm = sm_limits_for(9, 0);
  const int by_smem = sm.smem_bytes / (smem_bytes(c, head_dim) + sm.smem_reserved_per_block);
  // __launch_bounds__' min_blocks caps the registers so that that many CTAs fit.
  const int by_regs = std::max(sm.registers / (threads(c) * 256), c.min_blocks);
  const int by_threads = sm.threads / threads(c);
  return kPersistentSms * std::max(1, std::min({by_smem, by_regs, by_threads}));
}

std::optional<std::string> invalid_reason(const Fa2Instance& inst) {
  const Fa2Config& c = inst.config;
  // The ranges of the template's ParamSpecs, first: the shared-memory size below must not overflow.
  if (c.block_m < 16 || c.block_m > 512) return fmt::format("block_m {} is not in 16..512", c.block_m);
  if (c.block_n < 16 || c.block_n > 512) return fmt::format("block_n {} is not in 16..512", c.block_n);
  if (auto bad = tile_reason(inst.head_dim, c.block_m, c.block_n, c.warps, 16, kHeadDims)) return bad;
  if (c.stages < 1 || c.stages > 4) return fmt::format("stages {} is not in 1..4", c.stages);
  if (c.q_regs < 0 || c.q_regs > 2) return fmt::format("q_regs {} is not in 0..2", c.q_regs);
  if (c.pipeline < 0 || c.pipeline > 1) return fmt::format("pipeline {} is not 0 or 1", c.pipeline);
  if (c.min_blocks < 1 || c.min_blocks > 4) return fmt::format("min_blocks {} is not in 1..4", c.min_blocks);
  if (c.lazy_rescale < 0 || c.lazy_rescale > 2)
    return fmt::format("lazy_rescale {} is not 0, 1 or 2", c.lazy_rescale);
  if (c.persistent < 0 || c.persistent > 1) return fmt::format("persistent {} is not 0 or 1", c.persistent);
  if (c.persistent == 1 && (c.stages != 1 || c.pipeline != 0))
    return fmt::format("persistent 1 needs stages 1 and pipeline 0, not stages {} pipeline {}", c.stages,
                       c.pipeline);
  if (c.fuse_pv < 0 || c.fuse_pv > 1) return fmt::format("fuse_pv {} is not 0 or 1", c.fuse_pv);
  if (c.fuse_pv == 1 && (c.pipeline != 0 || c.persistent != 0))
    return fmt::format("fuse_pv 1 needs pipeline 0 and persistent 0, not pipeline {} persistent {}",
                       c.pipeline, c.persistent);
  if (c.pipeline == 1 && c.stages < 2)
    return fmt::format("pipeline 1 needs stages >= 2 (K runs a tile ahead of V), not {}", c.stages);
  if (inst.variant < 0 || inst.variant > 31) return fmt::format("variant {} is not in 0..31", inst.variant);
  if ((inst.variant & 8) != 0 && (inst.variant & 1) == 0)
    return fmt::format("variant {}: varlen (8) needs the general addressing (1)", inst.variant);
  if ((inst.variant & 24) == 24)
    return fmt::format("variant {}: block-sparse (16) and varlen (8) do not combine", inst.variant);
  if (c.splits < 1 || c.splits > 64) return fmt::format("splits {} is not in 1..64", c.splits);
  if (c.splits > 1 && (c.persistent != 0 || c.pipeline != 0))
    return fmt::format("splits {} needs persistent 0 and pipeline 0, not persistent {} pipeline {}", c.splits,
                       c.persistent, c.pipeline);
  if (inst.variant != 0 && (c.persistent != 0 || c.pipeline != 0))
    return fmt::format(
        "the attention variants run persistent 0 and pipeline 0, not persistent {} pipeline {}", c.persistent,
        c.pipeline);
  return smem_limit_reason(smem_bytes(c, inst.head_dim));
}

}  // namespace fa2
}  // namespace flashtune
