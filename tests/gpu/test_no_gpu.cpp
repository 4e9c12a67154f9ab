// What harness/gpu does on any machine, with or without a GPU: this binary passes on both kinds. On a machine
// without an NVIDIA driver (the build machine) every entry point must fail with Error(no_gpu) and a reason,
// never crash; where a GPU is present the same calls succeed.
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "gpu/context.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "gpu/launch.hpp"
#include "gpu/sm_clock.hpp"

namespace flashtune::gpu {
namespace {

template <typename F>
void expect_no_gpu(F&& f, const char* what) {
  try {
    f();
    ADD_FAILURE() << what << " succeeded without a GPU";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::no_gpu) << what << ": " << e.what();
  }
}

TEST(GpuAvailable, GivesAReasonExactlyWhenFalse) {
  std::string why = "stale";
  if (gpu_available(&why)) {
    EXPECT_TRUE(why.empty()) << why;
  } else {
    EXPECT_TRUE(why.find("libcuda") != std::string::npos || why.find("device") != std::string::npos) << why;
  }
  EXPECT_EQ(gpu_available(), gpu_available(nullptr));  // the answer is kept
}

TEST(GpuAvailable, EveryEntryPointFailsWithNoGpuWhenFalse) {
  std::string why;
  if (gpu_available(&why)) {
    EXPECT_NO_THROW(query_device(0));
    EXPECT_GE(device_count(), 1);
    return;  // not GTEST_SKIP: this is a unit test, and passes on both kinds of machine
  }
  expect_no_gpu([] { query_device(0); }, "query_device(0)");
  expect_no_gpu([] { device_count(); }, "device_count()");
  expect_no_gpu([] { driver_version(); }, "driver_version()");
  expect_no_gpu([] { Context ctx(0); }, "Context(0)");
  expect_no_gpu([] { DeviceBuffer buffer(64); }, "DeviceBuffer(64)");
  try {
    query_device(0);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), why);  // the same reason everywhere
  }
}

// No device has this UUID: without NVML the library is missing (this build machine), with it the device is
// not found; either way the clock is unavailable with a reason that names the library or the failing call,
// and open() never throws.
TEST(SmClock, AnUnknownDeviceOrNoNvmlIsUnavailableWithAReason) {
  const std::string nobody = "GPU-00000000-0000-0000-0000-000000000000";
  std::string why = "stale";
  EXPECT_EQ(SmClock::open(nobody, &why), nullptr);
  const bool names_it = why.find("libnvidia-ml.so.1") != std::string::npos ||
                        why.find("nvmlInit_v2") != std::string::npos ||
                        why.find("nvmlDeviceGetHandleByUUID(" + nobody + ")") != std::string::npos;
  EXPECT_TRUE(names_it) << why;
  try {
    SmClock clock(nobody);
    ADD_FAILURE() << "a clock for " << nobody;
  } catch (const Error& e) {
    EXPECT_TRUE(e.kind() == ErrorKind::no_gpu || e.kind() == ErrorKind::driver) << e.what();
    EXPECT_EQ(std::string(e.what()), why);  // the same reason, typed
  }
}

TEST(GpuAvailable, EmptyObjectsNeedNoDriver) {
  DeviceBuffer empty;
  EXPECT_EQ(empty.ptr(), 0u);
  EXPECT_EQ(empty.size(), 0u);
  DeviceBuffer none(0);  // a zero-byte buffer allocates nothing
  EXPECT_EQ(none.ptr(), 0u);
}

TEST(DeviceInfo, ArchUsesTheArchSpecificTargetFromHopperOn) {
  DeviceInfo d;
  d.cc_major = 9, d.cc_minor = 0;
  EXPECT_EQ(d.arch(), "sm_90a");
  d.cc_major = 10, d.cc_minor = 0;
  EXPECT_EQ(d.arch(), "sm_100a");
  d.cc_major = 12, d.cc_minor = 0;
  EXPECT_EQ(d.arch(), "sm_120a");
  d.cc_major = 8, d.cc_minor = 0;
  EXPECT_EQ(d.arch(), "sm_80");
  d.cc_major = 8, d.cc_minor = 6;
  EXPECT_EQ(d.arch(), "sm_86");
}

TEST(DeviceInfo, PeakDramBandwidthOfAnH100) {
  DeviceInfo d;
  d.mem_clock_khz = 2619000;  // H100 SXM5 80GB HBM3
  d.mem_bus_width = 5120;
  EXPECT_NEAR(d.peak_dram_bytes_per_s(), 3.352e12, 0.001e12);
}

TEST(LaunchShape, Describes) {
  LaunchShape s{.grid = {64, 16, 4}, .block = {128, 1, 1}, .dynamic_smem = 98304};
  EXPECT_EQ(s.to_string(), "grid=(64,16,4) block=(128,1,1) smem=98304");
  EXPECT_EQ(s.blocks(), 64u * 16 * 4);
  EXPECT_EQ(s.threads_per_block(), 128u);
  LaunchShape one;
  EXPECT_EQ(one.to_string(), "grid=(1,1,1) block=(1,1,1) smem=0");
}

TEST(DriverError, KnowsTheStickyErrors) {
  DriverError illegal(ErrorKind::driver, "cuCtxSynchronize(): CUDA_ERROR_ILLEGAL_ADDRESS", 700,
                      "cuCtxSynchronize");
  EXPECT_TRUE(illegal.poisons_context());
  EXPECT_EQ(illegal.result(), 700);
  EXPECT_EQ(illegal.call(), "cuCtxSynchronize");
  EXPECT_EQ(illegal.kind(), ErrorKind::driver);
  DriverError invalid(ErrorKind::driver, "cuLaunchKernel(): CUDA_ERROR_INVALID_VALUE", 1, "cuLaunchKernel");
  EXPECT_FALSE(invalid.poisons_context());
  const Error& base = invalid;  // caught as the one flashtune error type
  EXPECT_STREQ(base.what(), "cuLaunchKernel(): CUDA_ERROR_INVALID_VALUE");
}

}  // namespace
}  // namespace flashtune::gpu
