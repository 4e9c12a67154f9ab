#include "verify/half_convert.hpp"

#include <bit>

#include <fmt/format.h>

#include "core/error.hpp"

namespace flashtune::verify {

std::uint16_t float_to_bf16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN: keep sign and top payload bits, force quiet
    return static_cast<std::uint16_t>((x >> 16) | 0x0040u);
  }
  // Round to nearest even on the 16 dropped bits; a carry into the exponent is the right result (and makes
  // values past the largest bf16 become Inf).
  const std::uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>((x + rounding) >> 16);
}

namespace {

// Shift `m` right by `s` bits (1 <= s <= 31), rounding to nearest even.
std::uint32_t shift_rne(std::uint32_t m, int s) {
  const std::uint32_t q = m >> s;
  const std::uint32_t rem = m & ((1u << s) - 1u);
  const std::uint32_t half = 1u << (s - 1);
  return (rem > half || (rem == half && (q & 1u))) ? q + 1u : q;
}

}  // namespace

std::uint16_t float_to_f16(float f) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t x = bits & 0x7FFFFFFFu;
  if (x > 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7E00u | ((x >> 13) & 0x3FFu));  // quiet NaN
  if (x >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // >= 65520 (or Inf): Inf
  const int e = static_cast<int>(x >> 23);                                  // biased float exponent
  if (e >= 113) {  // normal in fp16 (>= 2^-14): rebias 127 -> 15, round the 13 dropped mantissa bits
    const std::uint32_t h = ((static_cast<std::uint32_t>(e) - 112u) << 10) | ((x & 0x7FFFFFu) >> 13);
    const std::uint32_t rem = x & 0x1FFFu;
    const bool up = rem > 0x1000u || (rem == 0x1000u && (h & 1u));
    return static_cast<std::uint16_t>(sign | (h + (up ? 1u : 0u)));  // a carry moves into the exponent
  }
  // Subnormal in fp16: value = M * 2^(e-150) with M the 24-bit significand; in units of 2^-24 that is
  // M >> (126 - e). Rounding up to 0x400 yields the smallest normal, which is the right pattern.
  if (e == 0) return sign;   // float zero or float subnormal (< 2^-126): far below 2^-25
  const int s = 126 - e;     // >= 14
  if (s >= 25) return sign;  // value < 2^-25: rounds to zero
  const std::uint32_t m = (x & 0x7FFFFFu) | 0x800000u;
  return static_cast<std::uint16_t>(sign | shift_rne(m, s));
}

float bf16_to_float(std::uint16_t h) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}

float f16_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu;
  const std::uint32_t mant = h & 0x3FFu;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
    const float v = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));  // Inf / NaN (payload kept)
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

float to_float(std::uint16_t h, DType t) {
  return t == DType::bf16 ? bf16_to_float(h) : f16_to_float(h);
}

std::uint16_t from_float(float f, DType t) {
  return t == DType::bf16 ? float_to_bf16(f) : float_to_f16(f);
}

float round_to(float f, DType t) {
  return to_float(from_float(f, t), t);
}

namespace {

void check_sizes(std::size_t in, std::size_t out, const char* call) {
  if (in != out) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("verify::{}: input has {} elements, output {}", call, in, out));
  }
}

}  // namespace

void to_float(std::span<const std::uint16_t> in, std::span<float> out, DType t) {
  check_sizes(in.size(), out.size(), "to_float");
  if (t == DType::bf16) {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = bf16_to_float(in[i]);
  } else {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = f16_to_float(in[i]);
  }
}

void from_float(std::span<const float> in, std::span<std::uint16_t> out, DType t) {
  check_sizes(in.size(), out.size(), "from_float");
  if (t == DType::bf16) {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = float_to_bf16(in[i]);
  } else {
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = float_to_f16(in[i]);
  }
}

std::vector<float> to_float(std::span<const std::uint16_t> in, DType t) {
  std::vector<float> out(in.size());
  to_float(in, out, t);
  return out;
}

std::vector<std::uint16_t> from_float(std::span<const float> in, DType t) {
  std::vector<std::uint16_t> out(in.size());
  from_float(in, out, t);
  return out;
}

}  // namespace flashtune::verify
