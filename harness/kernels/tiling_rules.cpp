#include "kernels/tiling_rules.hpp"

#include <fmt/format.h>

#include "kernel_limits.h"

namespace flashtune {

std::optional<std::string> head_dim_reason(int head_dim, std::span<const int> supported) {
  std::string list;
  for (std::size_t i = 0; i < supported.size(); ++i) {
    if (supported[i] == head_dim) return std::nullopt;
    list += fmt::format("{}{}", i == 0 ? "" : i + 1 == supported.size() ? " or " : ", ", supported[i]);
  }
  return fmt::format("head_dim {} is not {}", head_dim, list);
}

std::optional<std::string> warp_tiling_reason(int head_dim, int block_m, int warps,
                                              std::span<const int> head_dims) {
  if (auto bad = head_dim_reason(head_dim, head_dims)) return bad;
  if (warps < 1 || warps > 32) return fmt::format("warps {} is not in 1..32", warps);
  if (block_m < 16 || block_m % (16 * warps) != 0)
    return fmt::format("block_m {} is not a multiple of 16*warps = {}", block_m, 16 * warps);
  if (block_m / warps > 64) return fmt::format("{} query rows per warp exceed 64", block_m / warps);
  return std::nullopt;
}

std::optional<std::string> tile_reason(int head_dim, int block_m, int block_n, int warps, int block_n_step,
                                       std::span<const int> head_dims) {
  if (auto bad = warp_tiling_reason(head_dim, block_m, warps, head_dims)) return bad;
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
