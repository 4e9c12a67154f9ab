#include "gpu/l2_flush.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

#include "core/error.hpp"
#include "gpu/current_context.hpp"
#include "gpu/detail/driver_table.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/launch.hpp"
#include "gpu/stream.hpp"

namespace flashtune::gpu {
namespace {

constexpr char kKernelName[] = "flashtune_l2_flush_read";

// flashtune_l2_flush_read(const uint4* data, uint64 count, uint32 never): grid-stride read of count 16-byte
// vectors (ld.global.cg: cached in L2 only), XOR-folded; stores the fold to data[0] only when never != 0,
// which it never is.
constexpr char kPtx[] = R"(.version 8.0
.target sm_80
.address_size 64

.visible .entry flashtune_l2_flush_read(
  .param .u64 flush_data,
  .param .u64 flush_count,
  .param .u32 flush_never
)
{
  .reg .pred %p<4>;
  .reg .b32 %r<12>;
  .reg .b64 %rd<10>;

  ld.param.u64 %rd1, [flush_data];
  ld.param.u64 %rd2, [flush_count];
  ld.param.u32 %r1, [flush_never];
  cvta.to.global.u64 %rd1, %rd1;
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mov.u32 %r5, %nctaid.x;
  mul.wide.u32 %rd3, %r2, %r3;
  cvt.u64.u32 %rd4, %r4;
  add.s64 %rd3, %rd3, %rd4;
  mul.wide.u32 %rd5, %r5, %r3;
  mov.u32 %r6, 0;
  setp.ge.u64 %p1, %rd3, %rd2;
  @%p1 bra FOLDED;
READ:
  shl.b64 %rd6, %rd3, 4;
  add.s64 %rd7, %rd1, %rd6;
  ld.global.cg.v4.u32 {%r7, %r8, %r9, %r10}, [%rd7];
  xor.b32 %r6, %r6, %r7;
  xor.b32 %r6, %r6, %r8;
  xor.b32 %r6, %r6, %r9;
  xor.b32 %r6, %r6, %r10;
  add.s64 %rd3, %rd3, %rd5;
  setp.lt.u64 %p2, %rd3, %rd2;
  @%p2 bra READ;
FOLDED:
  setp.eq.u32 %p3, %r1, 0;
  @%p3 bra DONE;
  st.global.u32 [%rd1], %r6;
DONE:
  ret;
}
)";

constexpr unsigned kThreads = 256;
constexpr unsigned kMaxBlocks = 4096;

// A context's identity that no later context shares (current_context.hpp).
std::pair<CUcontext, unsigned long long> context_key(CUcontext ctx) {
  return {ctx, context_id(ctx)};
}

// The flush kernel of the current context, loaded on first use. Modules are never unloaded: the driver frees
// them with their context (unloading at exit could run after the context is gone).
CUfunction flush_kernel() {
  const detail::DriverTable& d = detail::driver();
  CUcontext ctx = nullptr;
  detail::check(d.cuCtxGetCurrent(&ctx), "cuCtxGetCurrent");
  if (ctx == nullptr)
    throw Error(ErrorKind::invalid_argument, "flush_l2_read_only: no CUDA context is current on this thread");
  static std::mutex mutex;
  static std::map<std::pair<CUcontext, unsigned long long>, CUfunction> loaded;
  std::lock_guard lock(mutex);
  const auto key = context_key(ctx);
  if (auto it = loaded.find(key); it != loaded.end()) return it->second;
  CUmodule module = nullptr;
  detail::check(d.cuModuleLoadDataEx(&module, kPtx, 0, nullptr, nullptr), "cuModuleLoadDataEx", kKernelName);
  CUfunction function = nullptr;
  detail::check(d.cuModuleGetFunction(&function, module, kKernelName), "cuModuleGetFunction", kKernelName);
  loaded.emplace(key, function);
  return function;
}

}  // namespace

void flush_l2_read_only(Stream& stream, DeviceBuffer& scratch) {
  std::uint64_t count = scratch.size() / 16;
  if (count == 0)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("flush_l2_read_only: a scratch buffer of {} bytes (at least 16 needed; 2x the L2 "
                            "to flush it)",
                            scratch.size()));
  const Kernel kernel(flush_kernel(), kKernelName);
  std::uint64_t data = scratch.ptr();
  std::uint32_t never = 0;
  void* args[] = {&data, &count, &never};
  const auto blocks =
      static_cast<unsigned>(std::min<std::uint64_t>((count + kThreads - 1) / kThreads, kMaxBlocks));
  launch(kernel, LaunchShape{{blocks, 1, 1}, {kThreads, 1, 1}, 0}, args, &stream, "flush_l2_read_only");
}

}  // namespace flashtune::gpu
