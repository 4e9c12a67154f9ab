#pragma once
// The CUDA context current on the calling thread, as a library that runs on its caller's context sees it
// (flashtune::runtime: PyTorch's primary context, say), and the device it belongs to.
struct CUctx_st;

namespace flashtune::gpu {

struct CurrentContext {
  CUctx_st* context = nullptr;
  int ordinal = 0;  // its device
};

// Throws Error(no_gpu) without a driver, Error(invalid_argument) "no CUDA context is current on this thread"
// when there is none (cuCtxGetCurrent), DriverError naming cuCtxGetDevice when it cannot be asked.
CurrentContext current_context();

}  // namespace flashtune::gpu
