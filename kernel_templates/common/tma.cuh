#pragma once
// Tensor Memory Accelerator (TMA, sm_90) tile loads: one thread asks the copy engine for a box of a tensor
// described by a CUtensorMap that the host built (cuTensorMapEncodeTiled) and passed by value as a
// `const __grid_constant__` kernel parameter. The copy lands in shared memory in the map's swizzle and
// signals an mbarrier with its byte count (complete_tx); boxes that reach past the tensor's extent are
// zero-filled, and those bytes count too.
#include "mma.cuh"

namespace flashtune {

// The opaque 128-byte CUtensorMap of cuda.h (which device code compiled by NVRTC cannot include).
struct alignas(64) TmaDescriptor {
  unsigned long long words[16];
};

// Copies the box at element coordinates (c0, c1, c2) (innermost first) of a 3-D tensor map into shared
// memory at `smem_dst`, completing on the mbarrier at `bar`.
__device__ __forceinline__ void tma_load_3d(unsigned smem_dst, const TmaDescriptor* map, unsigned bar, int c0,
                                            int c1, int c2) {
  asm volatile(
      "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4}], "
      "[%5];\n" ::"r"(smem_dst),
      "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(bar)
      : "memory");
}

// The same for a 4-D tensor map (coordinates (c0, c1, c2, c3), innermost first).
__device__ __forceinline__ void tma_load_4d(unsigned smem_dst, const TmaDescriptor* map, unsigned bar, int c0,
                                            int c1, int c2, int c3) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, "
      "%5}], [%6];\n" ::"r"(smem_dst),
      "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
      : "memory");
}

// Orders this thread's earlier ordinary shared-memory accesses before later accesses of the async proxy
// (TMA, wgmma) to the same memory, once a barrier has passed between them.
__device__ __forceinline__ void fence_proxy_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Brings a descriptor into the TMA unit's cache ahead of its first use.
__device__ __forceinline__ void tma_prefetch_descriptor(const TmaDescriptor* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<unsigned long long>(map)) : "memory");
}

}  // namespace flashtune
