#pragma once
// Shared by the GPU tests: a fixture that skips without a GPU and keeps one context current for the whole
// binary, and a tiny hand-written PTX kernel.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "gpu/context.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"

namespace flashtune::gpu::testing {

// add_one(float* data, unsigned n): data[i] += 1 for every i < n. PTX 8.0 for sm_80: the driver compiles it
// for the device at load time (cuModuleLoadData accepts PTX).
inline constexpr std::string_view kAddOnePtx = R"(.version 8.0
.target sm_80
.address_size 64

.visible .entry add_one(
  .param .u64 add_one_data,
  .param .u32 add_one_n
)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .f32 %f<3>;
  .reg .b64 %rd<5>;

  ld.param.u64 %rd1, [add_one_data];
  ld.param.u32 %r1, [add_one_n];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  setp.ge.u32 %p1, %r5, %r1;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd2, %rd1;
  mul.wide.u32 %rd3, %r5, 4;
  add.s64 %rd4, %rd2, %rd3;
  ld.global.f32 %f1, [%rd4];
  add.f32 %f2, %f1, 0f3F800000;
  st.global.f32 [%rd4], %f2;
DONE:
  ret;
}
)";

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
    context().make_current();
  }

  // Device 0's primary context, retained once for the whole test binary (released at exit).
  static Context& context() {
    static Context ctx(0);
    return ctx;
  }
  static const DeviceInfo& device() {
    static const DeviceInfo info = query_device(0);
    return info;
  }
};

}  // namespace flashtune::gpu::testing
