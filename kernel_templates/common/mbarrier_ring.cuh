#pragma once
// A ring of kStages shared-memory stages between one producer thread (TMA copies completing on the stage's
// "full" mbarrier) and the consumer warps (one arrival per warp on the stage's "empty" mbarrier once they no
// longer read it). Position i, the i-th tile through the ring counted over all of a CTA's query tiles, uses
// stage i % kStages in phase (i / kStages) & 1, so the phases carry over from one query tile to the next.
//
//   MbarrierRing<kStages> k{bar_k_full, bar_k_empty};        // kStages barriers each, 8 bytes apart
//   k.init(consumer_warps);                                   // one thread, before fence_mbarrier_init()
//   producer:  tma_load(dst + k.stage(i) * bytes, ..., k.acquire(i, bytes));
//   consumer:  k.wait(i); ...read stage k.stage(i)...; k.release(i, lane);
#include "mbarrier.cuh"

namespace flashtune {

template <int kStages>
struct MbarrierRing {
  unsigned full;   // shared address of the first "full" barrier
  unsigned empty;  // shared address of the first "empty" barrier

  __device__ __forceinline__ static int stage(int i) { return i % kStages; }
  __device__ __forceinline__ static unsigned phase(int i) { return static_cast<unsigned>((i / kStages) & 1); }

  __device__ __forceinline__ void init(unsigned consumer_arrivals) const {
#pragma unroll
    for (int s = 0; s < kStages; ++s) {
      mbarrier_init(full + 8 * s, 1);
      mbarrier_init(empty + 8 * s, consumer_arrivals);
    }
  }

  // Producer: waits until position i's stage is free (the consumers released position i - kStages; a fresh
  // ring is free at once), announces `bytes` to its full barrier and returns that barrier for the copies.
  __device__ __forceinline__ unsigned acquire(int i, unsigned bytes) const {
    const int s = stage(i);
    mbarrier_wait(empty + 8 * s, phase(i) ^ 1);
    mbarrier_arrive_expect_tx(full + 8 * s, bytes);
    return full + 8 * s;
  }

  // Consumer: waits until position i's copies have landed.
  __device__ __forceinline__ void wait(int i) const {
    mbarrier_wait(full + 8 * stage(i), phase(i));
  }

  // Consumer warp: this warp no longer reads position i's stage (lane 0 arrives for the warp).
  __device__ __forceinline__ void release(int i, int lane) const {
    __syncwarp();
    if (lane == 0) mbarrier_arrive(empty + 8 * stage(i));
  }
};

}  // namespace flashtune
