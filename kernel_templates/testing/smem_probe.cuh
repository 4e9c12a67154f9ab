#pragma once
// TESTING ONLY: kernels that compile only when a template's typed shared-memory layout (its size, which a
// static_assert ties to the traits' kSmemBytes) equals kExpected, what the host's template class
// asks the launch for (fa2::smem_bytes, HopperTemplate::smem_bytes): a host that passed the wrong arguments
// to smem_bytes.h would under-allocate. tests/kernels/test_templates_compile.cpp
// (SharedMemoryOfTheHostMatchesTheTypedLayouts) instantiates them.
#include "../fa2_fwd.cuh"
#include "../hopper_fwd.cuh"

namespace flashtune {

template <int kBlockM, int kBlockN, int kHeadDim, int kWarps, int kStages, int kPersistent, int kExpected>
__global__ void fa2_smem_probe() {
  using Tr = Fa2Traits<kBlockM, kBlockN, kHeadDim, kWarps, kStages, 2, 0, 1, 0, kPersistent>;
  static_assert(sizeof(Fa2Smem<Tr, __nv_bfloat16>) == kExpected,
                "smem layout: fa2_fwd's typed layout and the host disagree");
}

template <int kBlockN, int kHeadDim, int kConsumerWGs, int kStages, int kExpected>
__global__ void hopper_smem_probe() {
  static_assert(
      1024 + HopperSmem<HopperTraits<kBlockN, kHeadDim, kConsumerWGs, kStages>>::kBytes == kExpected,
      "smem layout: hopper_fwd's layout and the host disagree");
}

}  // namespace flashtune
