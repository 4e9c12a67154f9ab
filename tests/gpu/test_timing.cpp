#include "gpu/timing.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/event_timer.hpp"
#include "gpu/launch.hpp"
#include "gpu/module.hpp"
#include "gpu/sm_clock.hpp"
#include "gpu/stream.hpp"
#include "gpu_test.hpp"

namespace flashtune::gpu {
namespace {

class Timing : public testing::GpuTest {
 protected:
  static constexpr unsigned kN = 1u << 24;  // 64 MiB of floats: a kernel of some tens of microseconds

  void SetUp() override {
    testing::GpuTest::SetUp();
    if (IsSkipped()) return;
    module_ = Module::load(std::span<const char>(testing::kAddOnePtx.data(), testing::kAddOnePtx.size()));
    kernel_.emplace(module_.kernel("add_one"));
    buffer_ = DeviceBuffer(std::size_t{kN} * sizeof(float));
    buffer_.zero();
    data_ = buffer_.ptr();
  }

  void run(Stream& stream) {
    void* args[] = {&data_, &n_};
    launch(*kernel_, {.grid = {kN / 256, 1, 1}, .block = {256, 1, 1}}, args, &stream);
  }

  Module module_;
  std::optional<Kernel> kernel_;
  DeviceBuffer buffer_;
  std::uint64_t data_ = 0;
  unsigned n_ = kN;
};

void expect_consistent(const TimingStats& s, const TimingOptions& o) {
  ASSERT_GE(static_cast<int>(s.samples_ms.size()), o.min_samples);
  ASSERT_LE(static_cast<int>(s.samples_ms.size()), o.max_samples);
  for (double ms : s.samples_ms) EXPECT_GT(ms, 0.0);
  EXPECT_LE(s.min_ms, s.median_ms);
  EXPECT_LE(s.median_ms, s.max_ms);
  EXPECT_GE(s.noise, 0.0);
  EXPECT_GT(s.total_ms, 0.0);
  std::printf("%zu samples, median %.4f ms, min %.4f, max %.4f, noise %.2f%%, stop: %s\n",
              s.samples_ms.size(), s.median_ms, s.min_ms, s.max_ms, 100 * s.noise,
              std::string(to_string(s.stop)).c_str());
}

TEST_F(Timing, TimesAKernelWithL2Flush) {
  Stream stream;
  TimingOptions o;
  o.min_samples = 10;
  o.max_samples = 100;
  o.min_gpu_time_s = 0.002;
  o.max_noise = 0.05;
  o.timeout_s = 5;
  TimingStats s = time_kernel(
      stream, [this](Stream& st) { run(st); }, o, device().l2_bytes);
  expect_consistent(s, o);
}

TEST_F(Timing, TimesAKernelWithoutFlush) {
  Stream stream;
  TimingOptions o;
  o.min_samples = 5;
  o.max_samples = 20;
  o.min_gpu_time_s = 0;
  o.flush_l2 = false;
  TimingStats s = time_kernel(
      stream, [this](Stream& st) { run(st); }, o, device().l2_bytes);
  expect_consistent(s, o);
  // 3 warm-up runs plus the samples, each adding 1 to every element.
  std::vector<float> head(16);
  buffer_.download(head.data(), sizeof(float) * head.size());
  EXPECT_EQ(head[0], static_cast<float>(o.warmup + static_cast<int>(s.samples_ms.size())));
}

TEST_F(Timing, StopsAtMaxSamplesWhenNoiseCannotBeMet) {
  Stream stream;
  TimingOptions o;
  o.min_samples = 3;
  o.max_samples = 6;
  o.max_noise = 0.0;  // unreachable unless every sample is identical
  o.min_gpu_time_s = 10;
  TimingStats s = time_kernel(
      stream, [this](Stream& st) { run(st); }, o, device().l2_bytes);
  EXPECT_EQ(s.samples_ms.size(), 6u);
  EXPECT_EQ(s.stop, StopReason::max_samples);
}

TEST_F(Timing, RecordsTheSmClockFractionWithASampler) {
  std::string why;
  const std::unique_ptr<SmClock> clock = SmClock::open(device().uuid, &why);
  if (clock == nullptr) GTEST_SKIP() << why;
  Stream stream;
  TimingOptions o;
  o.min_samples = 20;
  o.max_samples = 40;
  o.min_gpu_time_s = 0;
  TimingStats s = time_kernel(
      stream, [this](Stream& st) { run(st); }, o, device().l2_bytes, clock->sampler());
  expect_consistent(s, o);
  ASSERT_TRUE(s.clock_fraction.has_value());
  EXPECT_GT(*s.clock_fraction, 0.0);
  EXPECT_LE(*s.clock_fraction, 1.2);
  EXPECT_GE(s.throttle_repeats, 0);
  EXPECT_LE(s.throttle_repeats, o.throttle_retries);
  std::printf("clock fraction %.3f after %d repeats\n", *s.clock_fraction, s.throttle_repeats);

  TimingStats unsampled = time_kernel(
      stream, [this](Stream& st) { run(st); }, o, device().l2_bytes);
  EXPECT_FALSE(unsampled.clock_fraction.has_value());
  EXPECT_EQ(unsampled.throttle_repeats, 0);
}

TEST_F(Timing, ErrorsFromTheRunPropagate) {
  Stream stream;
  EXPECT_THROW(time_kernel(
                   stream, [](Stream&) { throw std::runtime_error("launch failed"); }, TimingOptions{},
                   device().l2_bytes),
               std::runtime_error);
  TimingOptions bad;
  bad.min_samples = 0;
  EXPECT_THROW(time_kernel(
                   stream, [this](Stream& st) { run(st); }, bad, device().l2_bytes),
               Error);
}

TEST_F(Timing, EventTimerMeasuresGpuTime) {
  Stream stream;
  EventTimer timer;
  timer.start(stream);
  run(stream);
  timer.stop(stream);
  const double ms = timer.elapsed_ms();
  EXPECT_GT(ms, 0.0);
  EXPECT_LT(ms, 1000.0);
}

}  // namespace
}  // namespace flashtune::gpu
