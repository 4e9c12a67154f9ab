#pragma once
// TESTING ONLY: a kernel template whose `fault` parameter selects a failure, so that tests can prove a sweep
// survives every way a configuration can go wrong (tests/tune/fixtures/fault_inject.yaml, docs/tuning.md).
//   fault 0, 7  a correct kernel: fa2_fwd with block_m 64 (0) or 128 (7), block_n 64, 4 warps, 2 stages
//   fault 1     writes far out of bounds: an illegal address that poisons the worker's CUDA context
//   fault 2     never ends: the tuner's watchdog must kill the worker
//   fault 3     a wrong result: O is written with zeros, LSE with 0
//   fault 4     does not compile (a static_assert)
//   fault 5     asks for more dynamic shared memory than any SM has (the host's gate stops it)
//   fault 6     needs so many registers that no block of 1024 threads fits an SM
#include "../fa2_fwd.cuh"
#include "attention_params.h"
#include "device_types.cuh"

namespace flashtune {

template <int kFault, int kHeadDim, bool kCausal, typename T>
__global__ void fault_inject(const AttentionParams p) {
  static_assert(kFault != 4, "fault_inject: a deliberate compile error (fault 4)");
  const long long n = static_cast<long long>(p.batch) * p.heads * p.seqlen;
  const long long tid = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if constexpr (kFault == 1) {
    // 2^40 elements past O: far outside any allocation.
    static_cast<T*>(p.o)[(1ll << 40) + tid] = T(1.0f);
  } else if constexpr (kFault == 2) {
    // An empty infinite loop may be assumed to end (C++ forward progress) and removed: sleep in asm volatile.
    for (;;) asm volatile("nanosleep.u32 1000;");
  } else if constexpr (kFault == 3) {
    for (long long i = tid; i < n * kHeadDim; i += static_cast<long long>(gridDim.x) * blockDim.x)
      static_cast<T*>(p.o)[i] = T(0.0f);
    for (long long i = tid; i < n; i += static_cast<long long>(gridDim.x) * blockDim.x) p.lse[i] = 0.0f;
  } else if constexpr (kFault == 6) {
    // Many live values, all kept in registers by full unrolling: the kernel uses (close to) the 255 a thread
    // can have, and 1024 threads of it cannot fit the SM's 64 K registers.
    float acc[160];
#pragma unroll
    for (int i = 0; i < 160; ++i)
      acc[i] = element_traits<T>::to_float(static_cast<const T*>(p.q)[(tid + i) % n]);
#pragma unroll
    for (int r = 0; r < 8; ++r)
#pragma unroll
      for (int i = 0; i < 160; ++i) acc[i] = acc[i] * acc[(i + r + 1) % 160] + 1.0f;
    float s = 0;
#pragma unroll
    for (int i = 0; i < 160; ++i) s += acc[i];
    if (tid < n) p.lse[tid] = s;
  }
}

}  // namespace flashtune
