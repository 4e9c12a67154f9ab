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

// A tensor of 3 or 4 dimensions (innermost first, the innermost of unit stride) of 16-bit elements, read in
// boxes.
struct TiledTensorMapSpec {
  std::uint64_t address = 0;                      // device pointer, 16-byte aligned
  bool bf16 = true;                               // else fp16
  int rank = 3;                                   // 3 or 4
  std::array<std::uint64_t, 4> dims{1, 1, 1, 1};  // elements per dimension, innermost first
  // Bytes between consecutive elements of dimensions 1..rank-1 (multiples of 16); all 0: packed (dims give
  // them).
  std::array<std::uint64_t, 3> strides{0, 0, 0};
  std::array<std::uint32_t, 4> box{1, 1, 1, 1};  // box extent per dimension (each <= 256)
  int swizzle_bytes = 128;                       // 0 (none), 32, 64 or 128; box[0] * 2 must not exceed it
  std::string label;                             // for errors: "q"
};

// Encodes the map. Out-of-bounds box elements read as zero. Throws Error(invalid_argument) for a spec that
// cannot be encoded, DriverError when the driver refuses.
TensorMap encode_tiled(const TiledTensorMapSpec& spec);

}  // namespace flashtune::gpu
