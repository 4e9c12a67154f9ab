// The profiler host API and the folding of metric values into Counters: no GPU, no driver needed.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "profile/counters.hpp"
#include "profile/metric_config.hpp"

namespace flashtune::profile {
namespace {

std::vector<std::string> traffic_and_utilization() {
  std::vector<std::string> m = traffic_metrics();
  m.insert(m.end(), utilization_metrics().begin(), utilization_metrics().end());
  return m;
}

// The message of the Error that f throws (and that it is an invalid_argument one).
template <typename F>
std::string invalid_argument_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return {};
}

TEST(MetricConfig, TrafficMetricsTakeOnePassOnGH100) {
  const MetricConfig c = make_metric_config("GH100", traffic_metrics());
  EXPECT_EQ(c.chip, "GH100");
  EXPECT_EQ(c.metrics, traffic_metrics());
  EXPECT_EQ(c.passes, 1);
  EXPECT_FALSE(c.image.empty());
}

TEST(MetricConfig, UtilizationMetricsNeedSeveralPasses) {
  const MetricConfig c = make_metric_config("GH100", traffic_and_utilization());
  EXPECT_GT(c.passes, 1);
  EXPECT_FALSE(c.image.empty());
  // Each utilization metric exists on GH100 on its own too.
  for (const std::string& m : utilization_metrics())
    EXPECT_GE(make_metric_config("GH100", {m}).passes, 1) << m;
}

TEST(MetricConfig, WorksForOtherChips) {
  EXPECT_EQ(make_metric_config("GA100", traffic_metrics()).passes, 1);
}

TEST(MetricConfig, UnknownMetricIsNamed) {
  std::vector<std::string> metrics = traffic_metrics();
  metrics.push_back("dram__bytes_nonsense.sum");
  const std::string what = invalid_argument_message([&] { make_metric_config("GH100", metrics); });
  EXPECT_NE(what.find("dram__bytes_nonsense.sum"), std::string::npos) << what;
  EXPECT_NE(what.find("GH100"), std::string::npos) << what;
}

TEST(MetricConfig, UnknownRollupIsNamed) {
  const std::string what =
      invalid_argument_message([] { make_metric_config("GH100", {"dram__bytes_read.bogus"}); });
  EXPECT_NE(what.find("dram__bytes_read.bogus"), std::string::npos) << what;
}

TEST(MetricConfig, MetricWithoutRollupIsNamed) {
  const std::string what = invalid_argument_message([] {
    make_metric_config("GH100", {"lts__t_bytes.sum", "dram__bytes_read"});
  });
  EXPECT_NE(what.find("'dram__bytes_read'"), std::string::npos) << what;
}

TEST(MetricConfig, UnknownChipIsNamedWithTheKnownOnes) {
  const std::string what = invalid_argument_message([] { make_metric_config("GX999", traffic_metrics()); });
  EXPECT_NE(what.find("GX999"), std::string::npos) << what;
  EXPECT_NE(what.find("GH100"), std::string::npos) << what;  // the list of known chips
}

TEST(MetricConfig, NoMetricsIsAnError) {
  invalid_argument_message([] { make_metric_config("GH100", {}); });
}

TEST(Counters, TrafficMetricsAreSummedOverKernels) {
  Counters c;
  ASSERT_EQ(traffic_metrics().size(), 6u);
  add_kernel(c, traffic_metrics(), std::vector<double>{100, 50, 400, 1000, 300, 7});
  add_kernel(c, traffic_metrics(), std::vector<double>{10, 5, 40, 100, 30, 1});
  EXPECT_EQ(c.kernels, 2);
  EXPECT_DOUBLE_EQ(c.dram_read_bytes, 110);
  EXPECT_DOUBLE_EQ(c.dram_write_bytes, 55);
  EXPECT_DOUBLE_EQ(c.l2_bytes, 440);
  EXPECT_DOUBLE_EQ(c.gpu_time_ns, 1100);
  // The SM-side L2 traffic (bytes L2 delivers to the SMs, sectors the SMs write) is summed in `extra`.
  ASSERT_EQ(c.extra.size(), 2u);
  EXPECT_DOUBLE_EQ(c.extra.at("l1tex__m_xbar2l1tex_read_bytes.sum"), 330);
  EXPECT_DOUBLE_EQ(c.extra.at("lts__t_sectors_srcunit_tex_op_write.sum"), 8);
}

TEST(Counters, PercentagesKeepTheLargestOtherExtrasAreSummed) {
  const std::vector<std::string> m = {"sm__throughput.avg.pct_of_peak_sustained_elapsed",
                                      "sm__inst_executed.sum", "dram__bytes_read.sum"};
  Counters c;
  add_kernel(c, m, std::vector<double>{80, 1000, 1});
  add_kernel(c, m, std::vector<double>{30, 500, 2});
  add_kernel(c, m, std::vector<double>{90, 1, 3});
  EXPECT_EQ(c.kernels, 3);
  EXPECT_DOUBLE_EQ(c.extra.at("sm__throughput.avg.pct_of_peak_sustained_elapsed"), 90);
  EXPECT_DOUBLE_EQ(c.extra.at("sm__inst_executed.sum"), 1501);
  EXPECT_DOUBLE_EQ(c.dram_read_bytes, 6);
  EXPECT_NE(to_string(c).find("3 kernels"), std::string::npos) << to_string(c);
}

TEST(Counters, MismatchedValuesAreAnError) {
  Counters c;
  EXPECT_THROW(add_kernel(c, traffic_metrics(), std::vector<double>{1, 2}), Error);
  EXPECT_EQ(c.kernels, 0);
}

}  // namespace
}  // namespace flashtune::profile
