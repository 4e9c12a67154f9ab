#pragma once
// TESTING ONLY: kernels that compile only when a template's dynamic shared memory, as its traits compute it,
// equals kExpected, the host's mirror of the same formula (fa2::smem_bytes, HopperConfig::smem): the launch
// asks for the host's number, so a mirror that falls behind the kernel would under-allocate.
// tests/kernels/test_templates_compile.cpp (SharedMemoryMirrorsMatchTheTraits) instantiates them.
#include "../fa2_fwd.cuh"
#include "../hopper_fwd.cuh"

namespace flashtune {

template <int kBlockM, int kBlockN, int kHeadDim, int kWarps, int kStages, int kPersistent, int kExpected>
__global__ void fa2_smem_probe() {
  static_assert(
      Fa2Traits<kBlockM, kBlockN, kHeadDim, kWarps, kStages, 2, 0, 0, kPersistent>::kSmemBytes == kExpected,
      "smem mirror: fa2_fwd's traits and the host disagree");
}

template <int kBlockN, int kHeadDim, int kConsumerWGs, int kStages, int kExpected>
__global__ void hopper_smem_probe() {
  static_assert(HopperTraits<kBlockN, kHeadDim, kConsumerWGs, kStages>::kSmemBytes == kExpected,
                "smem mirror: hopper_fwd's traits and the host disagree");
}

}  // namespace flashtune
