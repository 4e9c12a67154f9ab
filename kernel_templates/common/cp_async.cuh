#pragma once
// Asynchronous global -> shared copies (sm_80 cp.async), 16 bytes per thread, with zero fill for rows past
// the end of the sequence, and the commit/wait pair that forms the software pipeline.

namespace flashtune {

// Copies 16 bytes when `valid`, else writes 16 zero bytes (src-size 0): padded rows become exact zeros, so
// masked keys contribute 0 * 0 instead of 0 * garbage (which could be NaN).
__device__ __forceinline__ void cp_async_16(unsigned smem_dst, const void* gmem_src, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_dst), "l"(gmem_src),
               "r"(src_bytes));
}

// 16 bytes, always (a row known to be inside the sequence): no source-size operand to compute.
__device__ __forceinline__ void cp_async_16(unsigned smem_dst, const void* gmem_src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_dst), "l"(gmem_src));
}

__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}

// Waits until at most N committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

}  // namespace flashtune
