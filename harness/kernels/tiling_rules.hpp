#pragma once
// The tiling rules every attention template's static_asserts share, on the host: a head_dim the template
// takes (64 or 128 unless it says otherwise), 1..32 warps, each warp owning whole 16-row MMA tiles of the
// query block (block_m % (16 * warps) == 0) and at most 64 query rows (its accumulators live in registers).
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace flashtune {

// The head dims of the mma.sync templates that take no others (standard_attn, fa1_fwd).
inline constexpr int kDefaultHeadDims[] = {64, 128};

// "head_dim 80 is not 64, 96 or 128" when head_dim is not in `supported`, else nullopt.
std::optional<std::string> head_dim_reason(int head_dim, std::span<const int> supported);

// Why (head_dim, block_m, warps) breaks those rules, or nullopt.
std::optional<std::string> warp_tiling_reason(int head_dim, int block_m, int warps,
                                              std::span<const int> head_dims = kDefaultHeadDims);

// The same, and why block_n is not a positive multiple of `block_n_step` (16: whole k16 steps of P V; 64:
// standard_attn's 128-byte P rows), or nullopt.
std::optional<std::string> tile_reason(int head_dim, int block_m, int block_n, int warps, int block_n_step,
                                       std::span<const int> head_dims = kDefaultHeadDims);

// "needs N B of shared memory, over the 232448 B opt-in limit" (after `kernel` when given) when `bytes`
// exceeds kSmemOptinBytes (kernel_limits.h), else nullopt.
std::optional<std::string> smem_limit_reason(int bytes, std::string_view kernel = {});

}  // namespace flashtune
