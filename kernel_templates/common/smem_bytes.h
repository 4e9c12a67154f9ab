#pragma once
// The dynamic shared memory of each template's tiles: its traits' kSmemBytes (device, where a typed layout's
// sizeof is checked against it) and the launch and the resource checks of kernels/ (host) call the same
// function, so the host never asks for less than the kernel uses. 2-byte elements (bf16, fp16).
#include "host_device.h"

namespace flashtune {

// fa2_fwd: the Q tile (two when persistent: the next tile's Q loads while O is staged in the other), kStages
// K tiles and kStages V tiles.
FLASHTUNE_HOST_DEVICE constexpr int fa2_smem_bytes(int block_m, int block_n, int head_dim, int stages,
                                                   bool persistent) {
  return 2 * ((persistent ? 2 : 1) * block_m * head_dim + 2 * stages * block_n * head_dim);
}

// fa1_fwd: K_j, V_j and two Q tiles (the next query block's Q loads under the current one).
FLASHTUNE_HOST_DEVICE constexpr int fa1_smem_bytes(int block_m, int block_n, int head_dim) {
  return 2 * (2 * block_n * head_dim + 2 * block_m * head_dim);
}

// standard_attn's scores kernel: the Q and K tiles.
FLASHTUNE_HOST_DEVICE constexpr int standard_scores_smem_bytes(int block_m, int block_n, int head_dim) {
  return 2 * (block_m + block_n) * head_dim;
}

// standard_attn's P V kernel: kStages stages of (P tile + V tile); the O tile reuses the ring on the way out.
FLASHTUNE_HOST_DEVICE constexpr int standard_pv_smem_bytes(int block_m, int block_n, int head_dim,
                                                           int stages) {
  const int ring = stages * (block_m * block_n + block_n * head_dim);
  const int o_tile = block_m * head_dim;
  return 2 * (ring > o_tile ? ring : o_tile);
}

// hopper_fwd: 1024 bytes of slack to align the tiles for the 128-byte swizzle, the Q tile (64 rows per
// consumer warpgroup), the K and V rings, and 2 + 4 * stages mbarriers (Q full and free; per stage K full,
// V full, K empty, V empty).
FLASHTUNE_HOST_DEVICE constexpr int hopper_barriers(int stages) {
  return 2 + 4 * stages;
}
FLASHTUNE_HOST_DEVICE constexpr int hopper_smem_bytes(int block_n, int head_dim, int consumer_wgs,
                                                      int stages) {
  return 1024 + 2 * 64 * consumer_wgs * head_dim + 2 * stages * 2 * block_n * head_dim +
         8 * hopper_barriers(stages);
}

}  // namespace flashtune
