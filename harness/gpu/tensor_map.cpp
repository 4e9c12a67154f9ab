#include "gpu/tensor_map.hpp"

#include <fmt/format.h>

#include <cstring>

#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {
namespace {

CUtensorMapSwizzle swizzle_of(int bytes) {
  switch (bytes) {
    case 0:
      return CU_TENSOR_MAP_SWIZZLE_NONE;
    case 32:
      return CU_TENSOR_MAP_SWIZZLE_32B;
    case 64:
      return CU_TENSOR_MAP_SWIZZLE_64B;
    case 128:
      return CU_TENSOR_MAP_SWIZZLE_128B;
    default:
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("tensor map swizzle {} B: not 0/32/64/128", bytes));
  }
}

}  // namespace

TensorMap encode_tiled(const TiledTensorMapSpec& s) {
  static_assert(sizeof(CUtensorMap) == sizeof(TensorMap) && alignof(CUtensorMap) <= alignof(TensorMap));
  constexpr std::uint64_t kElement = 2;
  // Formatted only for an error: the runtime encodes maps on every call and allocates nothing then.
  auto where = [&] {
    return fmt::format("{} rank={} dims=({},{},{},{}) strides=({},{},{}) box=({},{},{},{}) swizzle={}",
                       s.label, s.rank, s.dims[0], s.dims[1], s.dims[2], s.dims[3], s.strides[0],
                       s.strides[1], s.strides[2], s.box[0], s.box[1], s.box[2], s.box[3], s.swizzle_bytes);
  };
  if (s.rank != 3 && s.rank != 4)
    throw Error(ErrorKind::invalid_argument, fmt::format("tensor map {}: rank must be 3 or 4", where()));
  const bool packed = s.strides[0] == 0 && s.strides[1] == 0 && s.strides[2] == 0;
  cuuint64_t strides[3] = {s.strides[0], s.strides[1], s.strides[2]};  // bytes, dims 1..rank-1
  if (packed) {
    strides[0] = s.dims[0] * kElement;
    for (int i = 1; i + 1 < s.rank; ++i) strides[i] = strides[i - 1] * s.dims[i];
  }
  bool aligned = s.address % 16 == 0;
  for (int i = 0; i + 1 < s.rank; ++i) aligned = aligned && strides[i] % 16 == 0 && strides[i] > 0;
  if (!aligned)
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("tensor map {}: address and strides must be positive multiples of 16 bytes", where()));
  const CUtensorMapSwizzle swizzle = swizzle_of(s.swizzle_bytes);
  const cuuint64_t dims[4] = {s.dims[0], s.dims[1], s.dims[2], s.dims[3]};
  const cuuint32_t box[4] = {s.box[0], s.box[1], s.box[2], s.box[3]};
  const cuuint32_t element_strides[4] = {1, 1, 1, 1};
  TensorMap out;
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  const CUresult r = detail::driver().cuTensorMapEncodeTiled(
      &map, s.bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
      static_cast<cuuint32_t>(s.rank), reinterpret_cast<void*>(static_cast<std::uintptr_t>(s.address)), dims,
      strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) detail::check(r, "cuTensorMapEncodeTiled", where());
  std::memcpy(out.words.data(), &map, sizeof(map));
  return out;
}

}  // namespace flashtune::gpu
