#include "gpu/module.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <span>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "gpu/driver_api.hpp"
#include "gpu_test.hpp"

namespace flashtune::gpu {
namespace {

using ModuleTest = testing::GpuTest;

std::span<const char> add_one_ptx() {
  return {testing::kAddOnePtx.data(), testing::kAddOnePtx.size()};
}

TEST_F(ModuleTest, LoadsPtxAndReadsKernelFacts) {
  Module module = Module::load(add_one_ptx(), "add_one.ptx");
  EXPECT_NE(module.native(), nullptr);
  Kernel kernel = module.kernel("add_one");
  EXPECT_EQ(kernel.name(), "add_one");
  const KernelAttributes a = kernel.attributes();
  EXPECT_GT(a.num_regs, 0);
  EXPECT_LE(a.num_regs, 32);
  EXPECT_EQ(a.local_bytes_per_thread, 0);
  EXPECT_EQ(a.static_smem_bytes, 0);
  EXPECT_GE(a.max_threads_per_block, 256);
  // .target sm_80 and .version 8.0 both read 80 (the docs do not say clearly which one this is)
  EXPECT_EQ(a.ptx_version, 80);
  EXPECT_EQ(a.binary_version, device().cc_major * 10 + device().cc_minor);  // JIT-compiled for this device
  EXPECT_GT(a.max_dynamic_smem_bytes, 0);
  std::printf("add_one: %d registers, max %d threads, ptx %d, binary %d, dynamic smem limit %d\n", a.num_regs,
              a.max_threads_per_block, a.ptx_version, a.binary_version, a.max_dynamic_smem_bytes);
}

TEST_F(ModuleTest, LoadsNulTerminatedPtx) {
  std::string text(testing::kAddOnePtx);
  std::span<const char> with_nul(text.c_str(), text.size() + 1);
  Module module = Module::load(with_nul);
  EXPECT_NO_THROW(module.kernel("add_one"));
}

TEST_F(ModuleTest, OccupancyOfATinyKernel) {
  Module module = Module::load(add_one_ptx());
  Kernel kernel = module.kernel("add_one");
  const int blocks = kernel.max_active_blocks_per_sm(256, 0);
  EXPECT_GE(blocks, 1);
  EXPECT_LE(blocks * 256, device().max_threads_per_sm);
}

TEST_F(ModuleTest, DynamicSharedMemoryOptIn) {
  Module module = Module::load(add_one_ptx());
  Kernel kernel = module.kernel("add_one");
  const int most = device().smem_optin_per_block - kernel.attributes().static_smem_bytes;
  kernel.set_max_dynamic_smem(most);
  EXPECT_EQ(kernel.attributes().max_dynamic_smem_bytes, most);
  EXPECT_GE(kernel.max_active_blocks_per_sm(128, most), 1);
  try {
    kernel.set_max_dynamic_smem(device().smem_optin_per_block + 1024);
    FAIL() << "dynamic smem over the opt-in limit accepted";
  } catch (const DriverError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::resource_exceeded) << e.what();
    EXPECT_EQ(e.call(), "cuFuncSetAttribute");
    EXPECT_NE(std::string(e.what()).find("cuFuncSetAttribute(add_one"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(kernel.set_carveout_percent(100));
  EXPECT_THROW(kernel.set_carveout_percent(101), Error);
}

TEST_F(ModuleTest, BadPtxThrowsWithTheCallAndTheLog) {
  const std::string bad =
      ".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry broken() { nonsense; }\n";
  try {
    Module::load(std::span<const char>(bad.data(), bad.size()), "broken.ptx");
    FAIL() << "invalid PTX loaded";
  } catch (const DriverError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::driver);
    EXPECT_EQ(what.rfind("cuModuleLoadDataEx(PTX, broken.ptx", 0), 0u) << what;
    EXPECT_NE(what.find("CUDA_ERROR_"), std::string::npos) << what;
    EXPECT_FALSE(e.poisons_context());
    std::printf("%s\n", what.c_str());
  }
}

TEST_F(ModuleTest, UnknownKernelNameThrows) {
  Module module = Module::load(add_one_ptx());
  try {
    module.kernel("_Z7missingv");
    FAIL() << "a kernel that is not in the module was found";
  } catch (const DriverError& e) {
    EXPECT_EQ(e.call(), "cuModuleGetFunction");
    EXPECT_NE(std::string(e.what()).find("_Z7missingv"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("CUDA_ERROR_NOT_FOUND"), std::string::npos) << e.what();
  }
}

TEST_F(ModuleTest, EmptyImageIsInvalid) {
  try {
    Module::load(std::span<const char>());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
  }
}

TEST_F(ModuleTest, MovesOwnership) {
  Module a = Module::load(add_one_ptx());
  auto* native = a.native();
  Module b(std::move(a));
  EXPECT_EQ(b.native(), native);
  EXPECT_EQ(a.native(), nullptr);  // NOLINT(bugprone-use-after-move)
  Module c;
  c = std::move(b);
  EXPECT_EQ(c.native(), native);
  EXPECT_NO_THROW(c.kernel("add_one"));
}

}  // namespace
}  // namespace flashtune::gpu
