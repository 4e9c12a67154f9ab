#pragma once
// What a profiled launch measured: the hardware counters flashtune reads (DRAM and L2 traffic, GPU time),
// summed over the kernels the launch queued, and the metric lists that produce them.
//
//   auto p = RangeProfiler::create(traffic_metrics(), &why);    // range_profiler.hpp
//   Counters c = p->profile([&] { launch(...); });
//   double dram_gbps = (c.dram_read_bytes + c.dram_write_bytes) / c.gpu_time_ns;
#include <map>
#include <span>
#include <string>
#include <vector>

namespace flashtune::profile {

struct Counters {
  // Summed over the kernels profiled: bytes read from / written to DRAM (dram__bytes_read.sum,
  // dram__bytes_write.sum), bytes through the L2 slices, reads and writes of every client
  // (lts__t_bytes.sum), and GPU time in ns (gpu__time_duration.sum).
  double dram_read_bytes = 0, dram_write_bytes = 0, l2_bytes = 0, gpu_time_ns = 0;
  // Every other requested metric, by name: summed over the kernels, except percentages, ratios and rates
  // (names with "pct", "ratio" or "per_"), where it is the largest value of any kernel.
  std::map<std::string, double> extra;
  int kernels = 0;  // ranges profiled (auto range: one per kernel launch)
};

// dram__bytes_read.sum, dram__bytes_write.sum, lts__t_bytes.sum, gpu__time_duration.sum: one replay pass on
// GH100, so the launch runs once.
const std::vector<std::string>& traffic_metrics();

// sm__throughput.avg.pct_of_peak_sustained_elapsed (SM speed of light, %) and
// sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_elapsed (share of cycles the tensor pipe
// executed HMMA / HGMMA / QGMMA, i.e. mma.sync and wgmma on fp16/bf16/fp8, in %). Together with
// traffic_metrics(): 8 replay passes on GH100, so keep them for the top few configurations.
const std::vector<std::string>& utilization_metrics();

// Adds one profiled kernel (range): values[i] is metrics[i]'s value. Counts the kernel. The four traffic
// metrics go to their fields, any other to `extra` as described there. Throws Error(internal) when the
// spans differ in length.
void add_kernel(Counters& counters, std::span<const std::string> metrics, std::span<const double> values);

// "2 kernels: DRAM read 268.4 MB, write 268.6 MB, L2 805.3 MB, 178.2 us[, sm__throughput...=87.1]"
std::string to_string(const Counters& counters);

}  // namespace flashtune::profile
