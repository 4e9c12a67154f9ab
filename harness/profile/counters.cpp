#include "profile/counters.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "core/error.hpp"

namespace flashtune::profile {
namespace {

bool keeps_largest(const std::string& metric) {
  return metric.find("pct") != std::string::npos || metric.find("ratio") != std::string::npos ||
         metric.find("per_") != std::string::npos;
}

}  // namespace

const std::vector<std::string>& traffic_metrics() {
  // The four traffic counters, and the L2 traffic as the SMs see it: bytes delivered from L2 to the SMs' L1
  // (before Hopper's L2 request coalescer merges identical requests of different SMs, which lts__t_bytes
  // counts after) and the sectors the SMs write to L2. Still one replay pass on GH100.
  static const std::vector<std::string> m = {"dram__bytes_read.sum",
                                             "dram__bytes_write.sum",
                                             "lts__t_bytes.sum",
                                             "gpu__time_duration.sum",
                                             "l1tex__m_xbar2l1tex_read_bytes.sum",
                                             "lts__t_sectors_srcunit_tex_op_write.sum"};
  return m;
}

const std::vector<std::string>& utilization_metrics() {
  static const std::vector<std::string> m = {
      "sm__throughput.avg.pct_of_peak_sustained_elapsed",
      "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_elapsed"};
  return m;
}

void add_kernel(Counters& c, std::span<const std::string> metrics, std::span<const double> values) {
  if (metrics.size() != values.size())
    throw Error(ErrorKind::internal,
                fmt::format("add_kernel: {} metrics but {} values", metrics.size(), values.size()));
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    const std::string& m = metrics[i];
    const double v = values[i];
    if (m == "dram__bytes_read.sum") {
      c.dram_read_bytes += v;
    } else if (m == "dram__bytes_write.sum") {
      c.dram_write_bytes += v;
    } else if (m == "lts__t_bytes.sum") {
      c.l2_bytes += v;
    } else if (m == "gpu__time_duration.sum") {
      c.gpu_time_ns += v;
    } else if (auto [it, inserted] = c.extra.try_emplace(m, v); !inserted) {
      it->second = keeps_largest(m) ? std::max(it->second, v) : it->second + v;
    }
  }
  ++c.kernels;
}

std::string to_string(const Counters& c) {
  std::string s = fmt::format("{} kernel{}: DRAM read {:.1f} MB, write {:.1f} MB, L2 {:.1f} MB, {:.1f} us",
                              c.kernels, c.kernels == 1 ? "" : "s", c.dram_read_bytes / 1e6,
                              c.dram_write_bytes / 1e6, c.l2_bytes / 1e6, c.gpu_time_ns / 1e3);
  for (const auto& [name, value] : c.extra) fmt::format_to(std::back_inserter(s), ", {}={:.4g}", name, value);
  return s;
}

}  // namespace flashtune::profile
