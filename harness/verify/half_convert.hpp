#pragma once
// float <-> bf16 / fp16 on the host, as raw 16-bit patterns (the bytes the kernels read and write).
//
// from_float rounds to nearest, ties to even, like __float2bfloat16_rn / __float2half_rn: values past the
// largest finite half overflow to +-Inf (65520.0f -> fp16 Inf, 65519.0f -> 65504), values that are subnormal
// in the target stay subnormal (fp16 keeps 2^-24 as 0x0001; 2^-25 is a tie and rounds to +0), the sign of
// zero is kept, and NaN stays a quiet NaN of the same sign. to_float is exact (every bf16 / fp16 value is a
// float).
//   from_float(1.0f, DType::bf16) == 0x3F80    from_float(1.0f, DType::f16) == 0x3C00
#include <cstdint>
#include <span>
#include <vector>

#include "core/dtype.hpp"

namespace flashtune::verify {

// Quiet NaN patterns written over output buffers before a launch, so that elements a kernel never writes show
// up as non-finite when verified.
inline constexpr std::uint16_t kBf16PoisonNaN = 0x7FC0;
inline constexpr std::uint16_t kF16PoisonNaN = 0x7E00;
constexpr std::uint16_t poison_nan(DType t) {
  return t == DType::bf16 ? kBf16PoisonNaN : kF16PoisonNaN;
}

std::uint16_t float_to_bf16(float f);
std::uint16_t float_to_f16(float f);
float bf16_to_float(std::uint16_t h);
float f16_to_float(std::uint16_t h);

float to_float(std::uint16_t h, DType t);
std::uint16_t from_float(float f, DType t);
// The value f takes once stored in dtype t: to_float(from_float(f, t), t).
float round_to(float f, DType t);

// Element-wise; `out` must have the size of `in` (else Error(invalid_argument)).
void to_float(std::span<const std::uint16_t> in, std::span<float> out, DType t);
void from_float(std::span<const float> in, std::span<std::uint16_t> out, DType t);
std::vector<float> to_float(std::span<const std::uint16_t> in, DType t);
std::vector<std::uint16_t> from_float(std::span<const float> in, DType t);

}  // namespace flashtune::verify
