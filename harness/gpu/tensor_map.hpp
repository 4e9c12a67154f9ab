#pragma once
// TMA tensor maps (CUtensorMap, sm_90): the 128-byte descriptor that a kernel's bulk tensor copies read,
// built on the host with cuTensorMapEncodeTiled and passed to the kernel by value (a `const
// __grid_constant__` parameter). Pure host computation: no context is needed, but the driver is.
//
//   TiledTensorMapSpec s{.address = q.ptr(), .element_bytes = 2, .bf16 = true,
//                        .dims = {128, seqlen, batch * heads}, .box = {64, 128, 1}};
//   TensorMap m = encode_tiled(s);          // throws DriverError naming cuTensorMapEncodeTiled
#include <array>
#include <cstdint>
#include <string>

namespace flashtune::gpu {

// Bit-for-bit a CUtensorMap (128-byte aligned, 128 bytes), as a kernel parameter expects it.
struct alignas(128) TensorMap {
  std::array<std::uint64_t, 16> words{};
};
static_assert(sizeof(TensorMap) == 128);

// A dense row-major tensor of up to 3 dimensions (innermost first) of 16-bit elements, read in boxes.
struct TiledTensorMapSpec {
  std::uint64_t address = 0;                   // device pointer, 16-byte aligned
  bool bf16 = true;                            // else fp16
  std::array<std::uint64_t, 3> dims{1, 1, 1};  // elements per dimension, innermost first
  std::array<std::uint32_t, 3> box{1, 1, 1};   // box extent per dimension (each <= 256)
  int swizzle_bytes = 128;                     // 0 (none), 32, 64 or 128; box[0] * 2 must not exceed it
  std::string label;                           // for errors: "q"
};

// Encodes the map (strides follow from dims: a packed tensor). Out-of-bounds box elements read as zero.
// Throws Error(invalid_argument) for a spec that cannot be encoded, DriverError when the driver refuses.
TensorMap encode_tiled(const TiledTensorMapSpec& spec);

}  // namespace flashtune::gpu
