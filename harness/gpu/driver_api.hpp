#pragma once
// Whether a GPU can be used, and the error type of failed CUDA driver calls.
//
// flashtune never links libcuda: the driver is opened at run time (dlopen("libcuda.so.1")), so the binary
// starts, compiles and caches on a machine without an NVIDIA driver; only timing needs a GPU. The first use
// of any call in harness/gpu loads the driver and runs cuInit. Do that in the process that will own the GPU,
// after any fork: a process must not fork after cuInit and use CUDA in the child.
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace flashtune::gpu {

// True when libcuda.so.1 loads, cuInit succeeds and at least one device is visible. Otherwise false, with the
// reason in *why ("no NVIDIA driver: libcuda.so.1 could not be loaded (...); ..."). *why is cleared on
// success. Never throws.
bool gpu_available(std::string* why = nullptr) noexcept;

// The driver's CUDA version, e.g. 13000 for 13.0. Throws Error(no_gpu) without a driver.
int driver_version();

// A CUDA driver call failed. what() is "<call>(<context>): <CUDA_ERROR_NAME>: <description>", e.g.
// "cuLaunchKernel(add_one grid=(1,1,1) block=(32,1,1) smem=1048576): CUDA_ERROR_INVALID_VALUE: invalid
// argument". kind() is ErrorKind::driver, or resource_exceeded where the failure means "this configuration
// does not fit" (CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, a dynamic shared memory request over the device limit).
class DriverError : public Error {
 public:
  DriverError(ErrorKind kind, const std::string& what, int result, std::string call)
      : Error(kind, what), result_(result), call_(std::move(call)) {}

  int result() const noexcept { return result_; }  // the CUresult value
  const std::string& call() const noexcept { return call_; }
  // True for the sticky errors after which every later call fails in this process (illegal address, launch
  // failed, assert, ...): the trial worker must exit and be restarted.
  bool poisons_context() const noexcept;

 private:
  int result_;
  std::string call_;
};

}  // namespace flashtune::gpu
