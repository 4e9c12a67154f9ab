#pragma once
// The tiling rules every attention template's static_asserts share, on the host: head_dim 64 or 128, 1..32
// warps, each warp owning whole 16-row MMA tiles of the query block (block_m % (16 * warps) == 0) and at most
// 64 query rows (its accumulators live in registers).
#include <optional>
#include <string>

namespace flashtune {

// Why (head_dim, block_m, warps) breaks those rules, or nullopt.
std::optional<std::string> warp_tiling_reason(int head_dim, int block_m, int warps);

}  // namespace flashtune
