#include "profile/detail/profiler_host.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "profile/detail/cupti_error.hpp"

namespace flashtune::profile::detail {
namespace {

CUpti_Profiler_Host_Object* initialize(const std::string& chip, std::span<const std::uint8_t> availability) {
  CUpti_Profiler_Host_Initialize_Params p{CUpti_Profiler_Host_Initialize_Params_STRUCT_SIZE};
  p.profilerType = CUPTI_PROFILER_TYPE_RANGE_PROFILER;
  p.pChipName = chip.c_str();
  p.pCounterAvailabilityImage = availability.empty() ? nullptr : availability.data();
  const CUptiResult r = cuptiProfilerHostInitialize(&p);
  if (r == CUPTI_ERROR_INVALID_CHIP_NAME) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("unknown GPU chip '{}' (cuptiProfilerHostInitialize: {}); this CUPTI knows: {}",
                            chip, result_name(r), fmt::join(supported_chips(), " ")));
  }
  check(r, "cuptiProfilerHostInitialize", chip);
  return p.pHostObject;
}

CUptiResult add(CUpti_Profiler_Host_Object* host, std::span<const char*> names) {
  CUpti_Profiler_Host_ConfigAddMetrics_Params p{CUpti_Profiler_Host_ConfigAddMetrics_Params_STRUCT_SIZE};
  p.pHostObject = host;
  p.ppMetricNames = names.data();
  p.numMetrics = names.size();
  return cuptiProfilerHostConfigAddMetrics(&p);
}

}  // namespace

std::vector<std::string> supported_chips() {
  CUpti_Profiler_Host_GetSupportedChips_Params p{CUpti_Profiler_Host_GetSupportedChips_Params_STRUCT_SIZE};
  check(cuptiProfilerHostGetSupportedChips(&p), "cuptiProfilerHostGetSupportedChips");
  std::vector<std::string> chips;
  for (std::size_t i = 0; i < p.numChips; ++i)
    if (p.ppChipNames[i] != nullptr) chips.emplace_back(p.ppChipNames[i]);
  return chips;
}

ProfilerHost::ProfilerHost(const std::string& chip, std::span<const std::uint8_t> availability)
    : chip_(chip), host_(initialize(chip, availability)) {}

ProfilerHost::~ProfilerHost() {
  if (host_ == nullptr) return;
  CUpti_Profiler_Host_Deinitialize_Params p{CUpti_Profiler_Host_Deinitialize_Params_STRUCT_SIZE};
  p.pHostObject = host_;
  log_failure(cuptiProfilerHostDeinitialize(&p), "cuptiProfilerHostDeinitialize");
}

void ProfilerHost::add_metrics(const std::vector<std::string>& metrics) {
  if (metrics.empty()) throw Error(ErrorKind::invalid_argument, "no metrics to profile");
  std::vector<const char*> names;
  for (const std::string& m : metrics) {
    CUpti_Profiler_Host_GetMetricProperties_Params p{
        CUpti_Profiler_Host_GetMetricProperties_Params_STRUCT_SIZE};
    p.pHostObject = host_;
    p.pMetricName = m.c_str();
    const CUptiResult r = cuptiProfilerHostGetMetricProperties(&p);
    if (r == CUPTI_ERROR_INVALID_METRIC_NAME || r == CUPTI_ERROR_INVALID_PARAMETER)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("unknown metric '{}' on {} (cuptiProfilerHostGetMetricProperties: {})", m,
                              chip_, result_name(r)));
    check(r, "cuptiProfilerHostGetMetricProperties", m);
    names.push_back(m.c_str());
  }
  const CUptiResult r = add(host_, names);
  if (r == CUPTI_SUCCESS) return;
  // Name the culprit: each metric alone, on a scratch host object (a failed add may leave this one unusable).
  for (const char*& name : names) {
    ProfilerHost probe(chip_);
    if (const CUptiResult one = add(probe.host_, std::span<const char*>(&name, 1)); one != CUPTI_SUCCESS) {
      const std::string_view n(name);
      throw Error(
          ErrorKind::invalid_argument,
          fmt::format("metric '{}' cannot be collected on {} (cuptiProfilerHostConfigAddMetrics: {}){}", n,
                      chip_, result_name(one),
                      n.find('.') == std::string_view::npos
                          ? ": a metric needs a rollup, e.g. '.sum', '.avg' or '.max'"
                          : ""));
    }
  }
  throw cupti_error(r, "cuptiProfilerHostConfigAddMetrics",
                    fmt::format("{} metrics on {}", names.size(), chip_));
}

std::vector<std::uint8_t> ProfilerHost::config_image() const {
  CUpti_Profiler_Host_GetConfigImageSize_Params s{CUpti_Profiler_Host_GetConfigImageSize_Params_STRUCT_SIZE};
  s.pHostObject = host_;
  check(cuptiProfilerHostGetConfigImageSize(&s), "cuptiProfilerHostGetConfigImageSize", chip_);
  std::vector<std::uint8_t> image(s.configImageSize);
  CUpti_Profiler_Host_GetConfigImage_Params g{CUpti_Profiler_Host_GetConfigImage_Params_STRUCT_SIZE};
  g.pHostObject = host_;
  g.configImageSize = image.size();
  g.pConfigImage = image.data();
  check(cuptiProfilerHostGetConfigImage(&g), "cuptiProfilerHostGetConfigImage", chip_);
  return image;
}

int ProfilerHost::passes(std::vector<std::uint8_t>& image) {
  CUpti_Profiler_Host_GetNumOfPasses_Params p{CUpti_Profiler_Host_GetNumOfPasses_Params_STRUCT_SIZE};
  p.configImageSize = image.size();
  p.pConfigImage = image.data();
  check(cuptiProfilerHostGetNumOfPasses(&p), "cuptiProfilerHostGetNumOfPasses");
  return static_cast<int>(p.numOfPasses);
}

std::vector<double> ProfilerHost::evaluate(std::span<const std::uint8_t> counter_data, std::size_t range,
                                           std::span<const char* const> metrics) const {
  std::vector<double> values(metrics.size());
  CUpti_Profiler_Host_EvaluateToGpuValues_Params p{
      CUpti_Profiler_Host_EvaluateToGpuValues_Params_STRUCT_SIZE};
  p.pHostObject = host_;
  p.pCounterDataImage = counter_data.data();
  p.counterDataImageSize = counter_data.size();
  p.rangeIndex = range;
  p.ppMetricNames = const_cast<const char**>(metrics.data());  // CUPTI only reads them
  p.numMetrics = metrics.size();
  p.pMetricValues = values.data();
  check(cuptiProfilerHostEvaluateToGpuValues(&p), "cuptiProfilerHostEvaluateToGpuValues",
        fmt::format("range {}", range));
  return values;
}

}  // namespace flashtune::profile::detail
