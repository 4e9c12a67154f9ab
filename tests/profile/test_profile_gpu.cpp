// CUPTI counters and kernel durations on a real GPU, checked against kernels whose traffic is known: a
// 16-byte copy of 256 MiB (reads and writes exactly its payload in DRAM) and a read-only sweep of a buffer
// that fits in the L2. Every test skips without a GPU or without permission to read counters. Measured
// numbers are printed as "[ note ]" lines (and appended to $FLASHTUNE_PROFILE_LOG when set).
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gpu/device_buffer.hpp"
#include "gpu/event_timer.hpp"
#include "gpu/gpu_test.hpp"
#include "gpu/l2_flush.hpp"
#include "gpu/launch.hpp"
#include "gpu/module.hpp"
#include "gpu/stream.hpp"
#include "profile/counters.hpp"
#include "profile/kernel_activity.hpp"
#include "profile/range_profiler.hpp"

namespace flashtune::profile {
namespace {

// flashtune_test_copy16(const uint4* src, uint4* dst, uint64 n): dst[i] = src[i] for i < n, one 16-byte load
// and store per thread.
constexpr std::string_view kCopyPtx = R"(.version 8.0
.target sm_80
.address_size 64

.visible .entry flashtune_test_copy16(
  .param .u64 copy_src,
  .param .u64 copy_dst,
  .param .u64 copy_n
)
{
  .reg .pred %p<2>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<10>;

  ld.param.u64 %rd1, [copy_src];
  ld.param.u64 %rd2, [copy_dst];
  ld.param.u64 %rd3, [copy_n];
  mov.u32 %r1, %ctaid.x;
  mov.u32 %r2, %ntid.x;
  mov.u32 %r3, %tid.x;
  mul.wide.u32 %rd4, %r1, %r2;
  cvt.u64.u32 %rd5, %r3;
  add.s64 %rd4, %rd4, %rd5;
  setp.ge.u64 %p1, %rd4, %rd3;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd1, %rd1;
  cvta.to.global.u64 %rd2, %rd2;
  shl.b64 %rd6, %rd4, 4;
  add.s64 %rd7, %rd1, %rd6;
  add.s64 %rd8, %rd2, %rd6;
  ld.global.v4.u32 {%r4, %r5, %r6, %r7}, [%rd7];
  st.global.v4.u32 [%rd8], {%r4, %r5, %r6, %r7};
DONE:
  ret;
}
)";
constexpr char kCopyName[] = "flashtune_test_copy16";

constexpr double kPayload = 256.0 * 1024 * 1024;  // the big copy
constexpr double kSmall = 8.0 * 1024 * 1024;      // fits in any L2 of 40 MB or more

void note(const std::string& line) {
  std::printf("[ note     ] %s\n", line.c_str());
  std::fflush(stdout);
  if (const char* path = std::getenv("FLASHTUNE_PROFILE_LOG"))
    std::ofstream(path, std::ios::app) << line << '\n';
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// Buffers and the copy kernel, made once per binary (after the context, so destroyed before it).
struct Fixture {
  gpu::Module module;
  gpu::Kernel copy;
  gpu::Stream stream;
  gpu::DeviceBuffer src, dst, scratch, small, small2;

  explicit Fixture(long long l2_bytes)
      : module(gpu::Module::load(kCopyPtx, "copy16")),
        copy(module.kernel(kCopyName)),
        src(static_cast<std::size_t>(kPayload)),
        dst(static_cast<std::size_t>(kPayload)),
        scratch(static_cast<std::size_t>(2 * l2_bytes + 15) / 16 * 16),
        small(static_cast<std::size_t>(kSmall)),
        small2(static_cast<std::size_t>(kSmall)) {
    src.fill_u32(0x3f800000u);
    dst.zero();
    scratch.fill_u32(7);
    small.fill_u32(1);
    small2.zero();
  }

  void copy16(gpu::DeviceBuffer& from, gpu::DeviceBuffer& to) {
    std::uint64_t s = from.ptr(), d = to.ptr(), n = std::min(from.size(), to.size()) / 16;
    void* args[] = {&s, &d, &n};
    gpu::launch(copy, {{static_cast<unsigned>((n + 255) / 256), 1, 1}, {256, 1, 1}, 0}, args, &stream,
                kCopyName);
  }
  void copy_big() { copy16(src, dst); }
  void flush() { gpu::flush_l2_read_only(stream, scratch); }
};

class ProfileGpuTest : public gpu::testing::GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped()) return;
    std::string why;
    profiler_ = RangeProfiler::create(traffic_metrics(), &why);
    if (!profiler_) GTEST_SKIP() << "hardware counters cannot be read here: " << why;
  }
  void TearDown() override { profiler_.reset(); }

  static Fixture& fx() {
    static Fixture f(device().l2_bytes);
    return f;
  }

  // The big copy, profiled after a read-only flush.
  Counters profile_copy() {
    fx().flush();
    return profiler_->profile([] { fx().copy_big(); });
  }

  std::unique_ptr<RangeProfiler> profiler_;
};

TEST_F(ProfileGpuTest, CopyMovesItsPayloadThroughDram) {
  EXPECT_EQ(profiler_->passes(), 1);
  note(fmt::format("chip {} ({}), L2 {} MB, passes {}", profiler_->chip(), device().name,
                   device().l2_bytes / 1e6, profiler_->passes()));
  const Counters c = profile_copy();
  note(
      fmt::format("copy of {:.2f} MB after a read-only flush: {}; read/payload {:.4f}, write/payload {:.4f}, "
                  "L2/payload {:.3f}",
                  kPayload / 1e6, to_string(c), c.dram_read_bytes / kPayload, c.dram_write_bytes / kPayload,
                  c.l2_bytes / kPayload));
  EXPECT_EQ(c.kernels, 1);
  EXPECT_NEAR(c.dram_read_bytes / kPayload, 1.0, 0.02);
  EXPECT_NEAR(c.dram_write_bytes / kPayload, 1.0, 0.02);
  EXPECT_GE(c.l2_bytes, 2 * kPayload);
  EXPECT_GT(c.gpu_time_ns, 0);
}

TEST_F(ProfileGpuTest, ProfilingTwiceGivesTheSameDramBytes) {
  const Counters a = profile_copy();
  const Counters b = profile_copy();
  note(fmt::format("twice: {} | {}", to_string(a), to_string(b)));
  EXPECT_NEAR(b.dram_read_bytes / a.dram_read_bytes, 1.0, 0.01);
  EXPECT_NEAR(b.dram_write_bytes / a.dram_write_bytes, 1.0, 0.01);

  // Without the closing write-back sweep, the copy's last writes are still dirty in the L2 when it ends.
  profiler_->set_write_back_l2(false);
  const Counters c = profile_copy();
  const Counters d = profile_copy();
  profiler_->set_write_back_l2(true);
  note(fmt::format(
      "without the write-back sweep: write/payload {:.4f}, {:.4f} (dirty tail {:.1f} MB, {:.1f} MB); "
      "{} | {}",
      c.dram_write_bytes / kPayload, d.dram_write_bytes / kPayload,
      (a.dram_write_bytes - c.dram_write_bytes) / 1e6, (a.dram_write_bytes - d.dram_write_bytes) / 1e6,
      to_string(c), to_string(d)));
  EXPECT_NEAR(c.dram_read_bytes / a.dram_read_bytes, 1.0, 0.01);
  EXPECT_LE(c.dram_write_bytes, a.dram_write_bytes * 1.005);
}

TEST_F(ProfileGpuTest, DataLeftInTheL2IsNotReadFromDramAgain) {
  Fixture& f = fx();
  profiler_->set_write_back_l2(false);  // its closing sweep would evict the small buffer
  f.flush();
  const Counters first = profiler_->profile([&] { gpu::flush_l2_read_only(f.stream, f.small); });
  const Counters second = profiler_->profile([&] { gpu::flush_l2_read_only(f.stream, f.small); });
  note(fmt::format("read of {:.1f} MB: after the flush {} | again, no flush {}", kSmall / 1e6,
                   to_string(first), to_string(second)));
  EXPECT_EQ(first.kernels, 1);
  EXPECT_NEAR(first.dram_read_bytes / kSmall, 1.0, 0.05);
  // A read-only kernel writes nothing, also in a profiler's first profile() (CUPTI's own first-session
  // writes went to create()'s throwaway session).
  EXPECT_LT(first.dram_write_bytes, 0.02 * kSmall);
  EXPECT_LT(second.dram_read_bytes, 0.05 * kSmall);  // the flush is what makes the first one cold
}

TEST_F(ProfileGpuTest, DirtyLinesOfEarlierWorkAreChargedToTheNextKernelWithoutTheReadOnlyFlush) {
  Fixture& f = fx();
  // A profiled read-only sweep of 2x the L2 right after a copy that left its output dirty in the L2: the
  // sweep evicts those lines, and their write-back counts as its DRAM writes.
  f.flush();
  f.copy16(f.small, f.small2);
  const Counters dirty = profiler_->profile([&] { f.flush(); });
  // The same with the read-only flush in between (outside the profile): nothing of the copy is left.
  f.copy16(f.small, f.small2);
  f.flush();
  const Counters clean = profiler_->profile([&] { f.flush(); });
  // A memset-style flush (what timing uses) leaves dirty lines of its own that the next kernel pays for.
  f.scratch.fill_u32_async(11, f.stream);
  const Counters after_memset = profiler_->profile([&] { f.copy_big(); });
  f.scratch.fill_u32(7);
  note(fmt::format(
      "read-only sweep of {:.1f} MB after a dirty {:.1f} MB copy: {} | with the flush between: {} | "
      "big copy after a memset flush: {}",
      f.scratch.size() / 1e6, kSmall / 1e6, to_string(dirty), to_string(clean), to_string(after_memset)));
  EXPECT_GT(dirty.dram_write_bytes, 0.5 * kSmall);
  EXPECT_LT(clean.dram_write_bytes, 0.05 * kSmall);
}

TEST_F(ProfileGpuTest, ASecondProfilerWorksAfterTheFirstIsDestroyed) {
  const Counters a = profile_copy();
  profiler_.reset();
  std::string why;
  profiler_ = RangeProfiler::create(traffic_metrics(), &why);
  ASSERT_TRUE(profiler_) << why;
  const Counters b = profile_copy();
  EXPECT_EQ(b.kernels, 1);
  EXPECT_NEAR(b.dram_read_bytes / a.dram_read_bytes, 1.0, 0.01);
  EXPECT_NEAR(b.dram_write_bytes / a.dram_write_bytes, 1.0, 0.01);
}

TEST_F(ProfileGpuTest, EachKernelIsItsOwnRange) {
  Fixture& f = fx();
  f.flush();
  const Counters two = profiler_->profile([&] {
    f.copy16(f.small, f.small2);
    f.copy16(f.small2, f.small);
  });
  note(fmt::format("two {:.1f} MB copies: {}", kSmall / 1e6, to_string(two)));
  EXPECT_EQ(two.kernels, 2);
  EXPECT_GT(two.gpu_time_ns, 0);
  EXPECT_GE(two.l2_bytes, 4 * kSmall);
  const Counters none = profiler_->profile([] {});
  EXPECT_EQ(none.kernels, 0);
  EXPECT_EQ(none.dram_read_bytes, 0);
}

TEST_F(ProfileGpuTest, ActivityDurationMatchesTheProfiledTime) {
  std::string why;
  auto activity = KernelActivity::create(&why);
  ASSERT_TRUE(activity) << why;
  const Counters c = profile_copy();
  fx().flush();
  const std::vector<KernelActivity::Record> records = activity->record([] { fx().copy_big(); });
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, kCopyName);
  ASSERT_GT(records[0].end_ns, records[0].start_ns);
  const double traced_ns = static_cast<double>(records[0].end_ns - records[0].start_ns);

  // For comparison, CUDA events around the same launch (cold L2 too).
  gpu::EventTimer timer;
  fx().flush();
  timer.start(fx().stream);
  fx().copy_big();
  timer.stop(fx().stream);
  const double event_ns = timer.elapsed_ms() * 1e6;
  note(fmt::format(
      "copy duration: profiled gpu__time_duration {:.1f} us, activity {:.1f} us, events {:.1f} us; "
      "activity/profiled {:.4f}",
      c.gpu_time_ns / 1e3, traced_ns / 1e3, event_ns / 1e3, traced_ns / c.gpu_time_ns));
  EXPECT_NEAR(traced_ns / c.gpu_time_ns, 1.0, 0.10);

  // Several kernels come back in start order, and tracing is off again afterwards.
  const auto both = activity->record([] {
    fx().flush();
    fx().copy_big();
  });
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].name, "flashtune_l2_flush_read");
  EXPECT_EQ(both[1].name, kCopyName);
  EXPECT_LE(both[0].end_ns, both[1].start_ns);
  note(fmt::format("flush of {:.1f} MB: {:.1f} us (activity)", fx().scratch.size() / 1e6,
                   (both[0].end_ns - both[0].start_ns) / 1e3));
  EXPECT_TRUE(activity->record([] {}).empty());
}

TEST_F(ProfileGpuTest, UtilizationMetricsTakeReplayPasses) {
  profiler_.reset();
  std::vector<std::string> metrics = traffic_metrics();
  metrics.insert(metrics.end(), utilization_metrics().begin(), utilization_metrics().end());
  std::string why;
  const auto t0 = std::chrono::steady_clock::now();
  profiler_ = RangeProfiler::create(metrics, &why);
  const double create_ms = ms_since(t0);
  ASSERT_TRUE(profiler_) << why;
  EXPECT_GT(profiler_->passes(), 1);
  const auto t1 = std::chrono::steady_clock::now();
  const Counters c = profile_copy();
  note(fmt::format("traffic + utilization, {} passes (create {:.1f} ms, profile {:.1f} ms): {}",
                   profiler_->passes(), create_ms, ms_since(t1), to_string(c)));
  EXPECT_EQ(c.kernels, 1);
  for (const std::string& m : utilization_metrics()) {
    ASSERT_TRUE(c.extra.count(m)) << m;
    EXPECT_GE(c.extra.at(m), 0) << m;
    EXPECT_LE(c.extra.at(m), 100.5) << m;
  }
  EXPECT_NEAR(c.dram_read_bytes / kPayload, 1.0, 0.05);
}

// Not a check: what profiling costs, and whether an idle profiler or activity tracer slows timed launches.
TEST_F(ProfileGpuTest, CostOfProfiling) {
  Fixture& f = fx();
  auto timed_small_copy_us = [&] {
    gpu::EventTimer t;
    f.copy16(f.small, f.small2);  // warm
    t.start(f.stream);
    for (int i = 0; i < 50; ++i) f.copy16(f.small, f.small2);
    t.stop(f.stream);
    return t.elapsed_ms() * 1e3 / 50;
  };
  auto median_ms = [](auto&& call) {
    std::vector<double> ms;
    for (int i = 0; i < 5; ++i) {
      const auto t = std::chrono::steady_clock::now();
      call();
      ms.push_back(ms_since(t));
    }
    std::sort(ms.begin(), ms.end());
    return ms[2];
  };
  std::vector<std::string> lines;
  lines.push_back(fmt::format("profiler idle {:.2f} us", timed_small_copy_us()));
  Counters profiled, profiled_no_sweep;
  const double profile_ms =
      median_ms([&] { profiled = profiler_->profile([&] { f.copy16(f.small, f.small2); }); });
  profiler_->set_write_back_l2(false);
  const double profile_no_sweep_ms =
      median_ms([&] { profiled_no_sweep = profiler_->profile([&] { f.copy16(f.small, f.small2); }); });
  // Every profile() of the timing loop still measured the copy: one range, its 8 MB written to DRAM or L2.
  for (const Counters* c : {&profiled, &profiled_no_sweep}) {
    EXPECT_EQ(c->kernels, 1);
    EXPECT_GT(c->gpu_time_ns, 0);
    EXPECT_GE(c->l2_bytes, 8e6);
  }
  profiler_->set_write_back_l2(true);
  lines.push_back(fmt::format("after profiles {:.2f} us", timed_small_copy_us()));
  profiler_.reset();
  lines.push_back(fmt::format("no profiler {:.2f} us", timed_small_copy_us()));
  std::string why;
  auto activity = KernelActivity::create(&why);
  ASSERT_TRUE(activity) << why;
  std::vector<KernelActivity::Record> recorded;
  const double record_ms =
      median_ms([&] { recorded = activity->record([&] { f.copy16(f.small, f.small2); }); });
  ASSERT_EQ(recorded.size(), 1u);  // the one copy kernel, with a duration
  EXPECT_GT(recorded.front().end_ns, recorded.front().start_ns);
  lines.push_back(fmt::format("right after activity records {:.2f} us", timed_small_copy_us()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  lines.push_back(fmt::format("0.3 s later {:.2f} us", timed_small_copy_us()));
  activity.reset();
  lines.push_back(fmt::format("KernelActivity destroyed {:.2f} us", timed_small_copy_us()));
  const auto t0 = std::chrono::steady_clock::now();
  profiler_ = RangeProfiler::create(traffic_metrics(), &why);
  const double create_ms = ms_since(t0);
  ASSERT_TRUE(profiler_) << why;
  lines.push_back(fmt::format("profiler again {:.2f} us", timed_small_copy_us()));
  // Each of these is wall time of CUDA work that finished: finite and positive, or the calls did nothing.
  for (double ms : {profile_ms, profile_no_sweep_ms, record_ms, create_ms}) {
    EXPECT_TRUE(std::isfinite(ms));
    EXPECT_GT(ms, 0);
  }
  note(fmt::format("8 MB copy, event-timed mean of 50 back to back: {}", fmt::join(lines, ", ")));
  note(fmt::format(
      "wall: RangeProfiler::create {:.1f} ms; profile() of one 8 MB copy median {:.2f} ms ({:.2f} ms "
      "without the write-back sweep); KernelActivity::record of it median {:.2f} ms",
      create_ms, profile_ms, profile_no_sweep_ms, record_ms));
}

}  // namespace
}  // namespace flashtune::profile
