#include <gtest/gtest.h>

#include <cstdio>
#include <utility>

#include "core/error.hpp"
#include "gpu/context.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "gpu_test.hpp"

namespace flashtune::gpu {
namespace {

using Device = testing::GpuTest;

TEST_F(Device, InfoIsSane) {
  const DeviceInfo& d = device();
  EXPECT_EQ(d.ordinal, 0);
  EXPECT_FALSE(d.name.empty());
  EXPECT_GE(d.cc_major, 7);
  EXPECT_GT(d.sm_count, 0);
  EXPECT_GT(d.l2_bytes, 0);
  EXPECT_GE(d.smem_optin_per_block, 48 * 1024);
  EXPECT_GE(d.smem_optin_per_block, d.smem_per_block_default);
  EXPECT_GE(d.smem_per_sm, d.smem_optin_per_block);
  EXPECT_EQ(d.warp_size, 32);
  EXPECT_GT(d.regs_per_sm, 0);
  EXPECT_GE(d.max_threads_per_block, 1024);
  EXPECT_GT(d.max_blocks_per_sm, 0);
  EXPECT_GT(d.total_mem_bytes, 1LL << 30);
  EXPECT_GE(d.driver_version, 12000);
  EXPECT_EQ(d.driver_version, driver_version());
  EXPECT_GE(d.sm_clock_khz, 0);  // informational: 0 where the driver does not report it
  EXPECT_GE(d.mem_bus_width, 0);
  EXPECT_EQ(d.uuid.rfind("GPU-", 0), 0u) << d.uuid;
  EXPECT_EQ(d.uuid.size(), 40u) << d.uuid;  // GPU- and 36 characters
  EXPECT_EQ(d.arch().rfind("sm_", 0), 0u);
  RecordProperty("device", d.to_string());
  std::printf("device: %s, arch %s, L2 %lld B, smem opt-in %d B, SM clock %d kHz, %.0f GB/s peak, uuid %s\n",
              d.to_string().c_str(), d.arch().c_str(), d.l2_bytes, d.smem_optin_per_block, d.sm_clock_khz,
              d.peak_dram_bytes_per_s() / 1e9, d.uuid.c_str());
}

TEST_F(Device, H100FactsWhenOnAnH100) {
  const DeviceInfo& d = device();
  if (d.cc_major != 9 || d.cc_minor != 0)
    GTEST_SKIP() << d.name << " is sm_" << d.cc_major << d.cc_minor << ", not an sm_90 (H100/H200)";
  EXPECT_EQ(d.arch(), "sm_90a");
  EXPECT_EQ(d.smem_optin_per_block, 232448);  // 227 KiB
  EXPECT_EQ(d.max_threads_per_sm, 2048);
}

TEST_F(Device, CountAndOrdinalRange) {
  const int n = device_count();
  EXPECT_GE(n, 1);
  try {
    query_device(n);
    FAIL() << "ordinal " << n << " accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument) << e.what();
  }
  EXPECT_THROW(Context bad(-1), Error);
}

TEST_F(Device, ContextsAreRetainedAndMovable) {
  {
    Context second(0);  // a second reference to the same primary context
    EXPECT_EQ(second.native(), context().native());
    Context moved(std::move(second));
    EXPECT_EQ(second.native(),
              nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    EXPECT_EQ(moved.native(), context().native());
    EXPECT_NO_THROW(moved.synchronize());
  }  // one release: the fixture's reference keeps the context alive and current
  EXPECT_NO_THROW(DeviceBuffer(256));  // allocates in the current context
  EXPECT_NO_THROW(context().synchronize());
}

}  // namespace
}  // namespace flashtune::gpu
