#include "profile/metric_config.hpp"

#include "profile/detail/profiler_host.hpp"

namespace flashtune::profile {

MetricConfig make_metric_config(const std::string& chip, const std::vector<std::string>& metrics) {
  detail::ProfilerHost host(chip);
  host.add_metrics(metrics);
  MetricConfig c{chip, metrics, host.config_image(), 0};
  c.passes = detail::ProfilerHost::passes(c.image);
  return c;
}

}  // namespace flashtune::profile
