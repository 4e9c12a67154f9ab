#pragma once
// FLASHTUNE_HOST_DEVICE marks the functions of the plain headers (kernel_limits.h, block_range.h,
// smem_bytes.h) that the kernel templates (NVRTC) and the harness (host C++) both call: the kernel facts
// that must agree on both sides are computed once, by the same code.
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define FLASHTUNE_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define FLASHTUNE_HOST_DEVICE inline
#endif
