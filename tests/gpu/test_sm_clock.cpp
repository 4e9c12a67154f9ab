// The SM clock of the real device through NVML. Skips without a GPU, and where NVML itself is missing (a
// container without libnvidia-ml.so.1); any other NVML failure fails.
#include "gpu/sm_clock.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "gpu_test.hpp"

namespace flashtune::gpu {
namespace {

class SmClockGpu : public testing::GpuTest {
 protected:
  // The device's clock; nullptr when NVML is not installed, with the reason in *missing. Other NVML failures
  // throw (and fail the test).
  std::unique_ptr<SmClock> open(std::string* missing) {
    try {
      return std::make_unique<SmClock>(device().uuid);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::no_gpu) throw;
      *missing = e.what();
      return nullptr;
    }
  }
};

TEST_F(SmClockGpu, ReadsTheClockOfThisDevice) {
  std::string missing;
  const std::unique_ptr<SmClock> clock = open(&missing);
  if (clock == nullptr) GTEST_SKIP() << missing;
  EXPECT_EQ(clock->uuid(), device().uuid);
  const int current = clock->current_mhz();
  EXPECT_GT(current, 0);
  EXPECT_GE(clock->max_mhz(), current * 0.5);
  const std::optional<double> f = clock->fraction();
  ASSERT_TRUE(f.has_value());
  EXPECT_GT(*f, 0.0);
  EXPECT_LE(*f, 1.2);
  const std::optional<double> sampled = clock->sampler()();
  ASSERT_TRUE(sampled.has_value());
  EXPECT_GT(*sampled, 0.0);
  EXPECT_LE(*sampled, 1.2);
  std::printf("SM clock %d MHz of %d MHz max (%.0f%%)\n", current, clock->max_mhz(), 100 * *f);
}

TEST_F(SmClockGpu, OpenFindsThisDeviceAndSaysNothing) {
  std::string why = "stale";
  const std::unique_ptr<SmClock> clock = SmClock::open(device().uuid, &why);
  if (clock == nullptr && why.find("libnvidia-ml.so.1 could not be loaded") != std::string::npos)
    GTEST_SKIP() << why;
  ASSERT_NE(clock, nullptr) << why;
  EXPECT_TRUE(why.empty()) << why;
  EXPECT_GT(clock->max_mhz(), 0);
  const std::unique_ptr<SmClock> second = SmClock::open(device().uuid);  // NVML's init is counted
  EXPECT_NE(second, nullptr);
}

}  // namespace
}  // namespace flashtune::gpu
