#pragma once
// The skeleton of a warp-specialized kernel (ThunderKittens' lcf is the model): warpgroup 0 produces, the
// warpgroups 1..kConsumerWGs consume, and the tile loop, the ring position and the register reallocation live
// here once. A kernel supplies what differs:
//   produce_start()            the producer thread, once before its first tile (e.g. descriptor prefetches)
//   produce(tile, it, round)   one thread of warpgroup 0: loads query tile `tile` (its Q, then its
//                              tile.n_blocks K/V tiles into ring positions it, it + 1, ...)
//   consume_start()            each consumer thread, once before its first tile (e.g. a ping-pong token)
//   consume(tile, it, round)   each consumer thread: computes the tile from ring positions it, it + 1, ...
// `round` counts the CTA's query tiles (0, 1, ...): the phase of a per-tile barrier such as "Q loaded".
// Tr gives kReallocate, kProducerRegs and kConsumerRegs (setmaxnreg); Sched is a TileScheduler.
#include "tile_scheduler.cuh"
#include "wgmma.cuh"

namespace flashtune {

template <class Tr, class Sched, class ProduceStart, class Produce, class ConsumeStart, class Consume>
__device__ __forceinline__ void warp_specialized(const Sched& sched, ProduceStart&& produce_start,
                                                 Produce&& produce, ConsumeStart&& consume_start,
                                                 Consume&& consume) {
  if (threadIdx.x / 128 == 0) {
    if constexpr (Tr::kReallocate) setmaxnreg_dec<Tr::kProducerRegs>();
    if (threadIdx.x == 0) {
      produce_start();
      int it = 0;  // ring position: K/V tiles loaded so far over every query tile of this CTA
      int round = 0;
      for (int t = sched.first(); t < sched.num_tiles; t += sched.step(), ++round) {
        const QueryTile tile = sched.tile(t);
        produce(tile, it, round);
        it += tile.n_blocks;
      }
    }
    return;
  }
  if constexpr (Tr::kReallocate) setmaxnreg_inc<Tr::kConsumerRegs>();
  consume_start();
  int it = 0;  // ring position: K/V tiles consumed so far
  int round = 0;
  for (int t = sched.first(); t < sched.num_tiles; t += sched.step(), ++round) {
    const QueryTile tile = sched.tile(t);
    consume(tile, it, round);
    it += tile.n_blocks;
  }
}

}  // namespace flashtune
