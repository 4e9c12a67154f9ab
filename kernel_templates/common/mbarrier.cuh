#pragma once
// Shared-memory transaction barriers (mbarrier, sm_90): the completion signal of TMA copies and the
// "stage is free again" signal of a producer/consumer ring.
//
// A barrier completes a phase when its pending arrivals reach zero and its expected transaction bytes have
// all landed; the phases alternate parity 0, 1, 0, ... Waiting on parity P returns once the phase of parity P
// has completed. A freshly initialized barrier is in phase 0, so waiting on parity 1 returns at once: a
// producer that starts with parity 1 finds every stage of its ring free.
//
//   mbarrier_init(bar, 1);                    // one thread, then fence_mbarrier_init() and __syncthreads()
//   mbarrier_arrive_expect_tx(bar, bytes);    // producer: one arrival + the bytes its copies will deliver
//   mbarrier_wait(bar, round & 1);            // consumer
#include "mma.cuh"

namespace flashtune {

__device__ __forceinline__ void mbarrier_init(unsigned bar, unsigned arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(arrivals) : "memory");
}

// Makes the initialized barriers visible to the async proxy (the TMA unit); follow with __syncthreads().
__device__ __forceinline__ void fence_mbarrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

__device__ __forceinline__ void mbarrier_arrive_expect_tx(unsigned bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}

__device__ __forceinline__ void mbarrier_arrive(unsigned bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}

__device__ __forceinline__ bool mbarrier_try_wait(unsigned bar, unsigned parity) {
  unsigned done;
  asm volatile(
      "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
      : "=r"(done)
      : "r"(bar), "r"(parity)
      : "memory");
  return done != 0;
}

// Blocks until the phase of the given parity has completed.
__device__ __forceinline__ void mbarrier_wait(unsigned bar, unsigned parity) {
  while (!mbarrier_try_wait(bar, parity)) {
  }
}

// bar.sync on a named barrier (1..15; 0 is __syncthreads) among `threads` threads (a multiple of 32).
__device__ __forceinline__ void named_barrier_sync(unsigned id, unsigned threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

// bar.arrive: counts this warp toward the named barrier's `threads` without waiting for it; the barrier
// completes when the threads of bar.sync and bar.arrive together reach `threads`.
__device__ __forceinline__ void named_barrier_arrive(unsigned id, unsigned threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

}  // namespace flashtune
