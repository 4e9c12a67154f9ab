#include "kernels/fa2_bwd_config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "kernels/tiling_rules.hpp"

namespace flashtune {

std::string Fa2BwdConfig::to_string() const {
  return fmt::format("bm{} bn{} w{}{}", block_m, block_n, warps,
                     dq_mode != 0 ? fmt::format(" dq{}", dq_mode) : "");
}

std::string Fa2BwdInstance::name_expression() const {
  return fmt::format(
      "flashtune::fa2_bwd<flashtune::Fa2BwdTraits<{}, {}, {}, {}{}>, {}, {}{}>", config.block_m,
      config.block_n, head_dim, config.warps, config.dq_mode != 0 ? fmt::format(", {}", config.dq_mode) : "",
      causal ? "true" : "false", cuda_type_name(dtype), variant != 0 ? fmt::format(", {}", variant) : "");
}

std::string Fa2BwdInstance::dq_expression() const {
  return fmt::format("flashtune::fa2_bwd_dq<{}, {}, {}, {}{}>", config.block_m, head_dim,
                     causal ? "true" : "false", cuda_type_name(dtype),
                     variant != 0 ? fmt::format(", {}", variant) : "");
}

std::string Fa2BwdInstance::preprocess_expression() const {
  return fmt::format("flashtune::fa2_bwd_preprocess<{}, {}>", head_dim, cuda_type_name(dtype));
}

std::string Fa2BwdInstance::convert_expression() const {
  return fmt::format("flashtune::fa2_bwd_convert_dq<{}, {}>", head_dim, cuda_type_name(dtype));
}

std::string Fa2BwdInstance::to_string() const {
  return fmt::format("fa2_bwd {} d{} {}{}{}", config.to_string(), head_dim, flashtune::to_string(dtype),
                     causal ? " causal" : "", variant != 0 ? fmt::format(" variant{}", variant) : "");
}

namespace fa2_bwd {

int threads(const Fa2BwdConfig& c) {
  return 32 * c.warps;
}

int smem_bytes(const Fa2BwdConfig& c, int head_dim) {
  return 2 * (2 * c.block_m * head_dim + 2 * c.block_n * head_dim + c.block_n * c.block_m) +
         2 * 4 * c.block_m;
}

int dq_smem_bytes(const Fa2BwdConfig& c, int head_dim) {
  return 2 * (2 * c.block_m * head_dim + 2 * 64 * head_dim);
}

long long workspace_bytes(long long batch_heads, long long seqlen, int head_dim) {
  return batch_heads * seqlen * (head_dim + 1) * 4;
}

std::optional<std::string> invalid_reason(const Fa2BwdInstance& inst) {
  const Fa2BwdConfig& c = inst.config;
  if (std::find(std::begin(kHeadDims), std::end(kHeadDims), inst.head_dim) == std::end(kHeadDims))
    return fmt::format("head_dim {} is not 64 or 128", inst.head_dim);
  if (c.block_m != 64 && c.block_m != 128) return fmt::format("block_m {} is not 64 or 128", c.block_m);
  if (c.warps < 1 || c.warps > 16) return fmt::format("warps {} is not in 1..16", c.warps);
  if (c.block_n < 16 || c.block_n % (16 * c.warps) != 0)
    return fmt::format("block_n {} is not a multiple of 16 * warps ({})", c.block_n, 16 * c.warps);
  if (c.block_n / c.warps > 32)
    return fmt::format("block_n / warps = {} key rows per warp (at most 32: dK and dV live in registers)",
                       c.block_n / c.warps);
  const int q_steps = c.block_m / 16;
  if (c.warps % q_steps != 0 && q_steps % c.warps != 0)
    return fmt::format("dQ's {} m-tiles do not split evenly over {} warps", q_steps, c.warps);
  const int per_tile = c.warps >= q_steps ? c.warps / q_steps : 1;
  if ((inst.head_dim / 8 / per_tile) % 4 != 0)
    return fmt::format("dQ's share per warp ({} n8 tiles) is not whole groups of four",
                       inst.head_dim / 8 / per_tile);
  if (c.dq_mode != 0 && c.dq_mode != 1) return fmt::format("dq_mode {} is not 0 or 1", c.dq_mode);
  if ((inst.variant & ~3) != 0)
    return fmt::format("variant {}: fa2_bwd runs the general addressing (1) and a window (2) only",
                       inst.variant);
  if (c.dq_mode == 1)
    if (auto bad = smem_limit_reason(dq_smem_bytes(c, inst.head_dim), "fa2_bwd_dq")) return bad;
  return smem_limit_reason(smem_bytes(c, inst.head_dim));
}

}  // namespace fa2_bwd
}  // namespace flashtune
