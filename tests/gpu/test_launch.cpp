#include "gpu/launch.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/driver_api.hpp"
#include "gpu/module.hpp"
#include "gpu/stream.hpp"
#include "gpu_test.hpp"

namespace flashtune::gpu {
namespace {

class Launch : public testing::GpuTest {
 protected:
  void SetUp() override {
    testing::GpuTest::SetUp();
    if (IsSkipped()) return;
    module_ = Module::load(std::span<const char>(testing::kAddOnePtx.data(), testing::kAddOnePtx.size()));
  }

  // Runs add_one over host[] and returns the result.
  std::vector<float> add_one(std::vector<float> host, Stream* stream) {
    DeviceBuffer buffer(host.size() * sizeof(float));
    buffer.upload(host.data(), buffer.size());
    std::uint64_t data = buffer.ptr();
    unsigned n = static_cast<unsigned>(host.size());
    void* args[] = {&data, &n};
    const LaunchShape shape{.grid = {(n + 255) / 256, 1, 1}, .block = {256, 1, 1}};
    launch(module_.kernel("add_one"), shape, args, stream, "add_one test");
    if (stream != nullptr) stream->synchronize();
    buffer.download(host.data(), buffer.size());
    return host;
  }

  Module module_;
};

std::vector<float> ramp(int n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i) * 0.5f;
  return v;
}

TEST_F(Launch, AddsOneOnTheDefaultStream) {
  const std::vector<float> in = ramp(1000);  // not a multiple of the block: the bounds check matters
  const std::vector<float> out = add_one(in, nullptr);
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], in[i] + 1.0f) << "at " << i;
}

TEST_F(Launch, AddsOneOnAStream) {
  Stream stream;
  const std::vector<float> in = ramp(1 << 20);
  const std::vector<float> out = add_one(in, &stream);
  for (std::size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], in[i] + 1.0f) << "at " << i;
}

TEST_F(Launch, PoisonedOutputIsOverwritten) {
  DeviceBuffer buffer(4096 * sizeof(float));
  buffer.zero();
  std::uint64_t data = buffer.ptr();
  unsigned n = 4096;
  void* args[] = {&data, &n};
  Kernel kernel = module_.kernel("add_one");
  launch(kernel, {.grid = {16, 1, 1}, .block = {256, 1, 1}}, args);
  launch(kernel, {.grid = {16, 1, 1}, .block = {256, 1, 1}}, args);
  std::vector<float> out(4096);
  buffer.download(out.data(), buffer.size());  // waits for both launches
  for (float v : out) ASSERT_EQ(v, 2.0f);
}

TEST_F(Launch, TooMuchDynamicSharedMemoryFailsNamingTheLaunch) {
  DeviceBuffer buffer(256 * sizeof(float));
  std::uint64_t data = buffer.ptr();
  unsigned n = 256;
  void* args[] = {&data, &n};
  const unsigned too_much = static_cast<unsigned>(device().smem_optin_per_block) + 1024;
  try {
    launch(module_.kernel("add_one"), {.grid = {1, 1, 1}, .block = {256, 1, 1}, .dynamic_smem = too_much},
           args);
    FAIL() << "a launch with " << too_much << " bytes of dynamic shared memory succeeded";
  } catch (const DriverError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.call(), "cuLaunchKernel");
    EXPECT_EQ(what.rfind("cuLaunchKernel(add_one grid=(1,1,1) block=(256,1,1) smem=", 0), 0u) << what;
    EXPECT_FALSE(e.poisons_context()) << what;
    std::printf("%s\n", what.c_str());
  }
  // The failed launch leaves the context usable.
  EXPECT_NO_THROW(context().synchronize());
}

TEST_F(Launch, TooManyThreadsPerBlockFails) {
  DeviceBuffer buffer(4);
  std::uint64_t data = buffer.ptr();
  unsigned n = 1;
  void* args[] = {&data, &n};
  EXPECT_THROW(
      launch(module_.kernel("add_one"), {.grid = {1, 1, 1}, .block = {2048, 1, 1}}, args, nullptr, "big"),
      Error);
  EXPECT_NO_THROW(context().synchronize());
}

}  // namespace
}  // namespace flashtune::gpu
