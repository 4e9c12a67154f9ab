#pragma once
// A metric configuration from CUPTI's profiler host API: which counters a list of metrics needs on a chip
// and how many replay passes collecting them takes. Host side only: it needs no GPU, no driver and no CUDA
// context, so pass counts and metric names are checked anywhere (tests, CI, a laptop).
//
//   MetricConfig c = make_metric_config("GH100", traffic_metrics());   // c.passes == 1
#include <cstdint>
#include <string>
#include <vector>

namespace flashtune::profile {

struct MetricConfig {
  std::string chip;                  // "GH100" (H100), "GA100" (A100), "AD102" (RTX 4090), ...
  std::vector<std::string> metrics;  // as given
  std::vector<std::uint8_t> image;   // CUPTI's configuration image (the counters' schedule)
  int passes = 0;                    // replay passes needed to collect all of them
};

// Throws Error(invalid_argument) for an unknown chip (naming it and the chips this CUPTI knows), an unknown
// metric or one that cannot be collected (naming it), or no metrics; Error(driver) for other CUPTI failures.
MetricConfig make_metric_config(const std::string& chip, const std::vector<std::string>& metrics);

}  // namespace flashtune::profile
