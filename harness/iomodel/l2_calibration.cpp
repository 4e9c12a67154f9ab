#include "iomodel/l2_calibration.hpp"

#include <array>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"

namespace flashtune::iomodel {
namespace {

constexpr int kN = 4;
using Vec = std::array<double, kN>;
using Mat = std::array<Vec, kN>;

Vec row_of(const CalibrationPoint& p) {
  return {p.requested.read_bytes, p.requested.write_bytes, p.dram.read_bytes, p.dram.write_bytes};
}

// Solves m x = v by Gaussian elimination with partial pivoting; m is symmetric positive definite here (the
// ridge term makes it so), so no pivot is zero.
Vec solve(Mat m, Vec v) {
  for (int col = 0; col < kN; ++col) {
    int pivot = col;
    for (int r = col + 1; r < kN; ++r)
      if (std::abs(m[r][col]) > std::abs(m[pivot][col])) pivot = r;
    std::swap(m[col], m[pivot]);
    std::swap(v[col], v[pivot]);
    for (int r = col + 1; r < kN; ++r) {
      const double f = m[r][col] / m[col][col];
      for (int k = col; k < kN; ++k) m[r][k] -= f * m[col][k];
      v[r] -= f * v[col];
    }
  }
  Vec x{};
  for (int r = kN - 1; r >= 0; --r) {
    double s = v[r];
    for (int k = r + 1; k < kN; ++k) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

}  // namespace

double L2Calibration::l2_bytes(const Traffic& requested, const Traffic& dram) const {
  return a * requested.read_bytes + b * requested.write_bytes + c * dram.read_bytes + d * dram.write_bytes;
}

std::string L2Calibration::to_string() const {
  return fmt::format("a={:.4g} b={:.4g} c={:.4g} d={:.4g}", a, b, c, d);
}

L2Calibration fit_calibration(std::span<const CalibrationPoint> points) {
  if (points.empty()) throw Error(ErrorKind::invalid_argument, "fit_calibration: no points");
  for (const CalibrationPoint& p : points) {
    for (double v : row_of(p))
      if (!std::isfinite(v) || v < 0)
        throw Error(ErrorKind::invalid_argument,
                    "fit_calibration: a traffic value is negative or not finite");
    if (!std::isfinite(p.l2_bytes) || p.l2_bytes < 0)
      throw Error(ErrorKind::invalid_argument, "fit_calibration: an L2 value is negative or not finite");
  }
  const L2Calibration defaults;
  const Vec theta0 = {defaults.a, defaults.b, defaults.c, defaults.d};
  // Columns scaled to unit RMS, so that the ridge term weighs every constant alike.
  Vec scale{};
  for (const CalibrationPoint& p : points) {
    const Vec x = row_of(p);
    for (int k = 0; k < kN; ++k) scale[k] += x[k] * x[k];
  }
  for (double& s : scale) s = std::sqrt(s / static_cast<double>(points.size()));
  // Normal equations in scaled coordinates for delta' = S (theta - theta0), residual r = y - X theta0.
  Mat m{};
  Vec v{};
  for (const CalibrationPoint& p : points) {
    const Vec x = row_of(p);
    double r = p.l2_bytes;
    for (int k = 0; k < kN; ++k) r -= x[k] * theta0[k];
    Vec z{};
    for (int k = 0; k < kN; ++k) z[k] = scale[k] > 0 ? x[k] / scale[k] : 0.0;
    for (int i = 0; i < kN; ++i) {
      for (int j = 0; j < kN; ++j) m[i][j] += z[i] * z[j];
      v[i] += z[i] * r;
    }
  }
  const double lambda = 1e-8 * static_cast<double>(points.size());
  for (int k = 0; k < kN; ++k) m[k][k] += lambda;
  const Vec delta = solve(m, v);
  Vec theta{};
  for (int k = 0; k < kN; ++k) theta[k] = theta0[k] + (scale[k] > 0 ? delta[k] / scale[k] : 0.0);
  return {theta[0], theta[1], theta[2], theta[3]};
}

double relative_rms_error(const L2Calibration& cal, std::span<const CalibrationPoint> points) {
  double sum = 0;
  int n = 0;
  for (const CalibrationPoint& p : points) {
    if (p.l2_bytes <= 0) continue;
    const double rel = (cal.l2_bytes(p.requested, p.dram) - p.l2_bytes) / p.l2_bytes;
    sum += rel * rel;
    ++n;
  }
  return n > 0 ? std::sqrt(sum / n) : 0.0;
}

}  // namespace flashtune::iomodel
