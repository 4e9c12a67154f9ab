#include "kernels/tiling_rules.hpp"

#include <fmt/format.h>

#include "kernel_limits.h"

namespace flashtune {

std::optional<std::string> warp_tiling_reason(int head_dim, int block_m, int warps) {
  if (head_dim != 64 && head_dim != 128) return fmt::format("head_dim {} is not 64 or 128", head_dim);
  if (warps < 1 || warps > 32) return fmt::format("warps {} is not in 1..32", warps);
  if (block_m < 16 || block_m % (16 * warps) != 0)
    return fmt::format("block_m {} is not a multiple of 16*warps = {}", block_m, 16 * warps);
  if (block_m / warps > 64) return fmt::format("{} query rows per warp exceed 64", block_m / warps);
  return std::nullopt;
}

std::optional<std::string> tile_reason(int head_dim, int block_m, int block_n, int warps, int block_n_step) {
  if (auto bad = warp_tiling_reason(head_dim, block_m, warps)) return bad;
  if (block_n < block_n_step || block_n % block_n_step != 0)
    return fmt::format("block_n {} is not a multiple of {}", block_n, block_n_step);
  return std::nullopt;
}

std::optional<std::string> smem_limit_reason(int bytes, std::string_view kernel) {
  if (bytes <= kSmemOptinBytes) return std::nullopt;
  return fmt::format("{}{}needs {} B of shared memory, over the {} B opt-in limit", kernel,
                     kernel.empty() ? "" : " ", bytes, kSmemOptinBytes);
}

}  // namespace flashtune
