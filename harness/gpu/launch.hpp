#pragma once
// Launching a kernel: the shape of a launch, and one cuLaunchKernel.
#include <string>
#include <string_view>

#include "gpu/kernel.hpp"
#include "gpu/stream.hpp"

namespace flashtune::gpu {

struct LaunchShape {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned dynamic_smem = 0;  // bytes

  unsigned long long blocks() const { return 1ull * grid[0] * grid[1] * grid[2]; }
  unsigned threads_per_block() const { return block[0] * block[1] * block[2]; }
  std::string to_string() const;  // "grid=(64,16,4) block=(128,1,1) smem=98304"
};

// Queues `kernel` on `stream` (the legacy default stream when null). `args` points at one pointer per kernel
// parameter, each pointing at the argument's value:
//   std::uint64_t out = buffer.ptr(); unsigned n = 1024;
//   void* args[] = {&out, &n};
//   launch(kernel, {.grid = {4, 1, 1}, .block = {256, 1, 1}}, args, &stream);
// Errors the driver finds at launch throw DriverError "cuLaunchKernel(<context or kernel name> grid=...
// block=... smem=...): ..."; CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES has kind resource_exceeded. Faults while the
// kernel runs surface later, at the next synchronizing call.
void launch(const Kernel& kernel, const LaunchShape& shape, void** args, Stream* stream = nullptr,
            std::string_view context = {});
// The same on a stream the caller owns (a CUstream: PyTorch's current stream, say; null: the legacy stream).
void launch_on(const Kernel& kernel, const LaunchShape& shape, void** args, CUstream_st* stream,
               std::string_view context = {});

}  // namespace flashtune::gpu
