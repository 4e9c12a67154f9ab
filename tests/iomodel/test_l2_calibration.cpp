// fit_calibration recovers known constants from synthetic points, keeps the defaults where the points say
// nothing, and rejects bad input.
#include "iomodel/l2_calibration.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "core/error.hpp"

namespace flashtune::iomodel {
namespace {

// Points with independent columns: requested and DRAM traffic from a small deterministic generator (no seed
// needed: the values are a fixed sequence), measured L2 from `truth`.
std::vector<CalibrationPoint> synthetic(const L2Calibration& truth, int n = 12) {
  std::vector<CalibrationPoint> pts;
  for (int i = 0; i < n; ++i) {
    const double k = 1e8 * (1 + i);
    CalibrationPoint p{.requested = {k * (1 + (i * 7) % 5), k * (1 + (i * 3) % 4)},
                       .dram = {k * (0.2 + (i * 5) % 3), k * (0.1 + (i * 11) % 6 * 0.3)}};
    p.l2_bytes = truth.l2_bytes(p.requested, p.dram);
    pts.push_back(p);
  }
  return pts;
}

TEST(FitCalibration, RecoversKnownConstants) {
  const L2Calibration truth{.a = 1.3, .b = 2.1, .c = 0.7, .d = 0.4};
  const std::vector<CalibrationPoint> pts = synthetic(truth);
  const L2Calibration fit = fit_calibration(pts);
  EXPECT_NEAR(fit.a, truth.a, 1e-6);
  EXPECT_NEAR(fit.b, truth.b, 1e-6);
  EXPECT_NEAR(fit.c, truth.c, 1e-6);
  EXPECT_NEAR(fit.d, truth.d, 1e-6);
  EXPECT_LT(relative_rms_error(fit, pts), 1e-8);
  EXPECT_GT(relative_rms_error(L2Calibration{}, pts), 0.01);
}

TEST(FitCalibration, RecoversTheDefaultsFromDefaultData) {
  const L2Calibration fit = fit_calibration(synthetic(L2Calibration{}));
  EXPECT_NEAR(fit.a, 1, 1e-9);
  EXPECT_NEAR(fit.b, 1, 1e-9);
  EXPECT_NEAR(fit.c, 1, 1e-9);
  EXPECT_NEAR(fit.d, 0, 1e-9);
}

TEST(FitCalibration, ACopyKernelAloneFixesOnlyTheSums) {
  // A copy of 256 MiB: requested == DRAM, lts ~ 3x the payload (read + write): 805,306,368 bytes.
  const double payload = 268'435'456;
  std::vector<CalibrationPoint> pts = {
      {.requested = {payload, payload}, .dram = {payload, payload}, .l2_bytes = 3 * payload},
      {.requested = {payload / 2, payload / 2},
       .dram = {payload / 2, payload / 2},
       .l2_bytes = 1.5 * payload}};
  const L2Calibration fit = fit_calibration(pts);
  // The points fix (a + c) + (b + d) = 3: the defaults give 3 already, so nothing moves.
  EXPECT_NEAR(fit.a + fit.b + fit.c + fit.d, 3, 1e-6);
  EXPECT_NEAR(fit.a, 1, 1e-6);
  EXPECT_NEAR(fit.d, 0, 1e-6);
  // An lts of 4x the payload: the one extra byte per payload byte is spread over the four constants alike.
  for (CalibrationPoint& p : pts) p.l2_bytes *= 4.0 / 3;
  const L2Calibration more = fit_calibration(pts);
  EXPECT_NEAR(more.a + more.b + more.c + more.d, 4, 1e-6);
  EXPECT_NEAR(more.a - 1, more.c - 1, 1e-6);
  EXPECT_NEAR(more.b - 1, more.d, 1e-6);
}

TEST(FitCalibration, RejectsBadInput) {
  EXPECT_THROW(fit_calibration({}), Error);
  const std::vector<CalibrationPoint> negative = {{.requested = {-1, 0}, .dram = {0, 0}, .l2_bytes = 1}};
  EXPECT_THROW(fit_calibration(negative), Error);
}

}  // namespace
}  // namespace flashtune::iomodel
