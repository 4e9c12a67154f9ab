#include "kernels/tiling_rules.hpp"

#include <fmt/format.h>

namespace flashtune {

std::optional<std::string> warp_tiling_reason(int head_dim, int block_m, int warps) {
  if (head_dim != 64 && head_dim != 128) return fmt::format("head_dim {} is not 64 or 128", head_dim);
  if (warps < 1 || warps > 32) return fmt::format("warps {} is not in 1..32", warps);
  if (block_m < 16 || block_m % (16 * warps) != 0)
    return fmt::format("block_m {} is not a multiple of 16*warps = {}", block_m, 16 * warps);
  if (block_m / warps > 64) return fmt::format("{} query rows per warp exceed 64", block_m / warps);
  return std::nullopt;
}

}  // namespace flashtune
