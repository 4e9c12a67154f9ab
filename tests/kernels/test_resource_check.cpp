#include <gtest/gtest.h>

#include "kernels/resource_check.hpp"

namespace flashtune {
namespace {

TEST(ResourceCheck, RegistersLimitBlocks) {
  // 256 threads x 128 registers = 32768 of 65536: two blocks; shared memory allows three.
  const ResourceFit f = check_resources(128, 256, 64 * 1024);
  EXPECT_TRUE(f.fits);
  EXPECT_EQ(f.blocks_per_sm, 2);
  EXPECT_EQ(f.limited_by, "registers");
}

TEST(ResourceCheck, SharedMemoryLimitsBlocks) {
  const ResourceFit f = check_resources(64, 128, 100 * 1024);  // 233472 / (102400 + 1024) = 2
  EXPECT_EQ(f.blocks_per_sm, 2);
  EXPECT_EQ(f.limited_by, "shared memory");
}

TEST(ResourceCheck, RegisterAllocationIsRoundedPerWarp) {
  // 226 registers -> 7232 per warp, rounded up to 7424; 8 warps need 59392: one block of 256 threads.
  EXPECT_EQ(check_resources(226, 256, 0).blocks_per_sm, 1);
  EXPECT_EQ(check_resources(255, 1024, 0).blocks_per_sm, 0);
  EXPECT_FALSE(check_resources(255, 1024, 0).fits);
}

TEST(ResourceCheck, OverTheOptInLimitDoesNotFit) {
  const ResourceFit f = check_resources(64, 128, 240 * 1024);
  EXPECT_FALSE(f.fits);
  EXPECT_NE(f.limited_by.find("shared memory"), std::string::npos);
}

}  // namespace
}  // namespace flashtune
