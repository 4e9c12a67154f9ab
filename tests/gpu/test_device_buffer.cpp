#include "gpu/device_buffer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "gpu/stream.hpp"
#include "gpu_test.hpp"

namespace flashtune::gpu {
namespace {

using Buffer = testing::GpuTest;

TEST_F(Buffer, UploadDownloadRoundTrip) {
  std::vector<std::uint32_t> host(1 << 18);
  std::iota(host.begin(), host.end(), 0x12345u);
  DeviceBuffer buffer(host.size() * sizeof(std::uint32_t));
  EXPECT_NE(buffer.ptr(), 0u);
  EXPECT_EQ(buffer.size(), host.size() * 4);
  buffer.upload(host.data(), buffer.size());
  std::vector<std::uint32_t> back(host.size(), 0);
  buffer.download(back.data(), buffer.size());
  EXPECT_EQ(back, host);
}

TEST_F(Buffer, PartialCopiesStayInRange) {
  DeviceBuffer buffer(256);
  std::vector<char> host(512, 'x');
  buffer.upload(host.data(), 100);
  try {
    buffer.upload(host.data(), 257);
    FAIL() << "upload past the end accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
  }
  EXPECT_THROW(buffer.download(host.data(), 512), Error);
}

TEST_F(Buffer, FillU16PoisonReadsBack) {
  DeviceBuffer buffer(4096 * 2);
  buffer.zero();
  buffer.fill_u16(0x7fff);  // bf16 NaN
  std::vector<std::uint16_t> back(4096, 0);
  buffer.download(back.data(), buffer.size());
  for (std::uint16_t v : back) ASSERT_EQ(v, 0x7fff);
}

TEST_F(Buffer, FillU32AndZero) {
  DeviceBuffer buffer(1024 * 4);
  buffer.fill_u32(0x7fc00000u);  // fp32 NaN
  std::vector<float> back(1024, 0.0f);
  buffer.download(back.data(), buffer.size());
  for (float v : back) ASSERT_TRUE(v != v);
  buffer.zero();
  buffer.download(back.data(), buffer.size());
  for (float v : back) ASSERT_EQ(v, 0.0f);
}

TEST_F(Buffer, AsyncFillsAreOrderedOnTheirStream) {
  DeviceBuffer buffer(1 << 20);
  Stream stream;
  buffer.fill_u32_async(0xdeadbeefu, stream);
  buffer.fill_u16_async(0xabcd, stream);
  stream.synchronize();
  std::vector<std::uint16_t> back(buffer.size() / 2);
  buffer.download(back.data(), buffer.size());
  for (std::uint16_t v : back) ASSERT_EQ(v, 0xabcd);
}

TEST_F(Buffer, FillNeedsWholeWords) {
  DeviceBuffer odd(6);
  EXPECT_NO_THROW(odd.fill_u16(1));
  try {
    odd.fill_u32(1);
    FAIL() << "fill_u32 of 6 bytes accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
  }
}

TEST_F(Buffer, MovesOwnership) {
  DeviceBuffer a(1024);
  const std::uint64_t p = a.ptr();
  DeviceBuffer b(std::move(a));
  EXPECT_EQ(b.ptr(), p);
  EXPECT_EQ(a.ptr(), 0u);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  DeviceBuffer c(16);
  c = std::move(b);  // frees c's old memory
  EXPECT_EQ(c.ptr(), p);
  EXPECT_EQ(c.size(), 1024u);
}

TEST_F(Buffer, TooLargeAnAllocationIsResourceExceeded) {
  try {
    DeviceBuffer huge(std::size_t{1} << 50);  // 1 PiB
    FAIL() << "a 1 PiB allocation succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::resource_exceeded) << e.what();
    EXPECT_NE(std::string(e.what()).find("cuMemAlloc"), std::string::npos);
  }
}

}  // namespace
}  // namespace flashtune::gpu
