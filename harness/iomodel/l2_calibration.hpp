#pragma once
// The L2 traffic a profiler counts (lts__t_bytes), as a linear function of what the kernel requests and what
// reaches DRAM:
//
//   l2_bytes = a * requested.read + b * requested.write + c * dram.read + d * dram.write
//
// Defaults a = b = 1, c = 1, d = 0: every global load and store is an L2 request (a, b), and every DRAM read
// fills a line into the L2 (c); the write-back of a dirty line is not counted as L2 traffic (d = 0). These
// are a starting point, not a measurement: on the H100 a 256 MiB copy counted about 3x its payload in
// lts__t_bytes (shared/CUPTI_NVRTC.md), i.e. a + c + b + d ~ 3 for a copy, so fit the constants to measured
// points (a copy kernel, or the profiled trials themselves) with fit_calibration():
//
//   std::vector<CalibrationPoint> pts = {
//       {.requested = {2.7e8, 2.7e8}, .dram = {2.7e8, 2.7e8}, .l2_bytes = 8.1e8},  // a 256 MiB copy
//       ...};
//   const L2Calibration cal = fit_calibration(pts);
//   double l2 = cal.l2_bytes(requested, dram);
#include <span>
#include <string>

#include "iomodel/traffic.hpp"

namespace flashtune::iomodel {

struct L2Calibration {
  double a = 1, b = 1, c = 1, d = 0;
  double l2_bytes(const Traffic& requested, const Traffic& dram) const;
  std::string to_string() const;  // "a=1 b=1 c=1 d=0"
};

// One measurement: a kernel's requested traffic (from the model), its measured DRAM traffic and its measured
// L2 bytes.
struct CalibrationPoint {
  Traffic requested, dram;
  double l2_bytes = 0;
};

// Least squares over the points. Directions the points do not determine keep their default values: the fit
// minimizes |X theta - y|^2 + lambda |S (theta - defaults)|^2 with S the columns' RMS and lambda = 1e-8 per
// point, negligible wherever the data speak. So a copy kernel alone (requested == DRAM, reads == writes)
// fixes only a + b + c + d, and the fit moves the four constants alike from their defaults; points from
// kernels with different mixes (re-reads that hit the L2, write-heavy kernels) separate them. Throws
// Error(invalid_argument) for no points or a point that is not finite or negative.
L2Calibration fit_calibration(std::span<const CalibrationPoint> points);

// Root-mean-square of (model - measured) / measured over the points with measured > 0; 0 for none.
double relative_rms_error(const L2Calibration& cal, std::span<const CalibrationPoint> points);

}  // namespace flashtune::iomodel
