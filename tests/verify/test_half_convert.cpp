#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "verify/half_convert.hpp"

namespace flashtune::verify {
namespace {

float bits_to_float(std::uint32_t b) {
  return std::bit_cast<float>(b);
}

TEST(HalfConvert, KnownBf16Patterns) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(float_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(float_to_bf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  // Largest finite bf16: 0x7F7F = (2 - 2^-7) * 2^127; FLT_MAX rounds up past it to Inf.
  EXPECT_EQ(bf16_to_float(0x7F7F), bits_to_float(0x7F7F0000u));
  EXPECT_EQ(float_to_bf16(bits_to_float(0x7F7F0000u)), 0x7F7F);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7F80);
  // Smallest bf16 subnormal 2^-133 = 0x0001; float subnormals keep their top bits.
  EXPECT_EQ(float_to_bf16(0x1p-133f), 0x0001);
  EXPECT_EQ(bf16_to_float(0x0001), 0x1p-133f);
  EXPECT_EQ(float_to_bf16(0x1p-134f), 0x0000);              // tie between 0 and 0x0001: even is 0
  EXPECT_EQ(float_to_bf16(0x1p-134f + 0x1p-149f), 0x0001);  // just past the tie
}

TEST(HalfConvert, KnownF16Patterns) {
  EXPECT_EQ(float_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(float_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(f16_to_float(0x7BFF), 65504.0f);
  EXPECT_EQ(float_to_f16(65519.0f), 0x7BFF);  // below the tie at 65520
  EXPECT_EQ(float_to_f16(65520.0f), 0x7C00);  // tie rounds to even = Inf
  EXPECT_EQ(float_to_f16(1e6f), 0x7C00);
  EXPECT_EQ(float_to_f16(-1e6f), 0xFC00);
  EXPECT_EQ(float_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_f16(0x1p-14f), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_f16(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(f16_to_float(0x0001), 0x1p-24f);
  EXPECT_EQ(f16_to_float(0x8001), -0x1p-24f);
  EXPECT_EQ(float_to_f16(0x1p-25f), 0x0000);             // tie: even is 0
  EXPECT_EQ(float_to_f16(0x1p-25f * 1.0001f), 0x0001);   // past the tie
  EXPECT_EQ(float_to_f16(3 * 0x1p-25f), 0x0002);         // 1.5 ulp: tie, rounds to even 2
  EXPECT_EQ(float_to_f16(0x1p-14f - 0x1p-25f), 0x0400);  // 1023.5 ulp rounds up into the normals
  EXPECT_EQ(float_to_f16(1e-10f), 0x0000);
  EXPECT_EQ(float_to_f16(std::numeric_limits<float>::denorm_min()), 0x0000);
}

TEST(HalfConvert, RoundsTiesToEven) {
  // bf16 spacing at 1 is 2^-7: 1 + 2^-8 is a tie between 0x3F80 (even) and 0x3F81.
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3F80);
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);  // tie between 0x3F81 and 0x3F82 (even)
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3F81);
  // fp16 spacing at 1 is 2^-10.
  EXPECT_EQ(float_to_f16(1.0f + 0x1p-11f), 0x3C00);
  EXPECT_EQ(float_to_f16(1.0f + 3 * 0x1p-11f), 0x3C02);
  EXPECT_EQ(float_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01);
  // A carry out of the mantissa moves into the exponent: 2 - 2^-12 rounds to 2.
  EXPECT_EQ(float_to_f16(2.0f - 0x1p-12f), 0x4000);
  EXPECT_EQ(float_to_bf16(2.0f - 0x1p-9f), 0x4000);
}

TEST(HalfConvert, NaNStaysNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (DType t : {DType::bf16, DType::f16}) {
    EXPECT_TRUE(std::isnan(to_float(from_float(nan, t), t)));
    EXPECT_TRUE(std::isnan(to_float(from_float(-nan, t), t)));
    // A signalling NaN whose payload lives only in the dropped bits must not turn into Inf.
    EXPECT_TRUE(std::isnan(to_float(from_float(bits_to_float(0x7F800001u), t), t)));
    EXPECT_TRUE(std::isnan(to_float(poison_nan(t), t)));
  }
  EXPECT_EQ(kBf16PoisonNaN, 0x7FC0);
  EXPECT_EQ(kF16PoisonNaN, 0x7E00);
  EXPECT_EQ(float_to_bf16(nan), 0x7FC0);
  EXPECT_EQ(float_to_f16(nan), 0x7E00);
}

TEST(HalfConvert, EveryPatternRoundTrips) {
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const auto h = static_cast<std::uint16_t>(b);
    const float fb = bf16_to_float(h);
    if (std::isnan(fb)) {
      EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(fb))));
    } else {
      ASSERT_EQ(float_to_bf16(fb), h) << std::hex << b;
    }
    const float fh = f16_to_float(h);
    if (std::isnan(fh)) {
      EXPECT_TRUE(std::isnan(f16_to_float(float_to_f16(fh))));
    } else {
      ASSERT_EQ(float_to_f16(fh), h) << std::hex << b;
    }
  }
}

// Against the defining property: the result is one of the two neighbours and the nearer one (even on a tie).
TEST(HalfConvert, F16MatchesNearestOnAGridOfFloats) {
  for (std::uint32_t b = 0x33000000u; b < 0x477FF000u; b += 0x123u) {
    const float f = bits_to_float(b);
    const std::uint16_t h = float_to_f16(f);
    const double got = f16_to_float(h);
    const double lo = f16_to_float(static_cast<std::uint16_t>(h - (h > 0 ? 1 : 0)));
    const double hi = (h & 0x7FFF) < 0x7C00 ? f16_to_float(static_cast<std::uint16_t>(h + 1)) : got;
    const double err = std::abs(got - f);
    ASSERT_LE(err, std::abs(lo - f)) << f;
    ASSERT_LE(err, std::abs(hi - f)) << f;
  }
}

TEST(HalfConvert, SpansConvertElementwiseAndCheckSizes) {
  const std::vector<float> x = {1.0f, -2.0f, 0.5f, 3.0f};
  for (DType t : {DType::bf16, DType::f16}) {
    const std::vector<std::uint16_t> h = from_float(x, t);
    ASSERT_EQ(h.size(), x.size());
    for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(h[i], from_float(x[i], t));
    EXPECT_EQ(to_float(h, t), x);
    std::vector<float> short_out(2);
    EXPECT_THROW(to_float(h, short_out, t), Error);
  }
  EXPECT_EQ(round_to(1.0f + 0x1p-9f, DType::bf16), 1.0f);
  EXPECT_EQ(round_to(1.0f + 0x1p-9f, DType::f16), 1.0f + 0x1p-9f);
}

}  // namespace
}  // namespace flashtune::verify
