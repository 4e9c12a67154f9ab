#pragma once
// The CUDA driver API as a table of function pointers, filled at run time from libcuda.so.1 (dlopen) through
// cuGetProcAddress_v2. Only harness/gpu .cpp files include this header: it is the one place that sees cuda.h.
//
// Each entry names a cudaTypedefs.h PFN_ type: the newest variant of that call at CUDA 12.0
// (kRequestedVersion), which is the version every symbol is requested at, so the ABI of the pointer and of
// its typedef agree (cuMemAlloc -> _v2, cuDevicePrimaryCtxRelease -> _v2, cuCtxSynchronize and
// cuEventElapsedTime -> the original ones). Use them as `driver().cuMemAlloc(...)`; cuda.h's renaming macros
// (cuMemAlloc -> cuMemAlloc_v2) apply to the member names and their uses alike.
#include <cuda.h>
#include <cudaTypedefs.h>

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "gpu/driver_api.hpp"

namespace flashtune::gpu::detail {

inline constexpr int kRequestedVersion = 12000;

// X(name, version of its PFN_ typedef)
#define FLASHTUNE_CUDA_DRIVER_CALLS(X)                 \
  X(cuInit, 2000)                                      \
  X(cuDriverGetVersion, 2020)                          \
  X(cuGetErrorName, 6000)                              \
  X(cuGetErrorString, 6000)                            \
  X(cuDeviceGet, 2000)                                 \
  X(cuDeviceGetCount, 2000)                            \
  X(cuDeviceGetName, 2000)                             \
  X(cuDeviceGetAttribute, 2000)                        \
  X(cuDeviceTotalMem, 3020)                            \
  X(cuDeviceGetUuid, 11040)                            \
  X(cuDevicePrimaryCtxRetain, 7000)                    \
  X(cuDevicePrimaryCtxRelease, 11000)                  \
  X(cuDevicePrimaryCtxGetState, 7000)                  \
  X(cuCtxSetCurrent, 4000)                             \
  X(cuCtxGetCurrent, 4000)                             \
  X(cuCtxGetDevice, 2000)                              \
  X(cuCtxSynchronize, 2000)                            \
  X(cuMemAlloc, 3020)                                  \
  X(cuMemFree, 3020)                                   \
  X(cuMemcpyHtoD, 3020)                                \
  X(cuMemcpyDtoH, 3020)                                \
  X(cuMemsetD16, 3020)                                 \
  X(cuMemsetD32, 3020)                                 \
  X(cuMemsetD16Async, 3020)                            \
  X(cuMemsetD32Async, 3020)                            \
  X(cuModuleLoadDataEx, 2010)                          \
  X(cuModuleUnload, 2000)                              \
  X(cuModuleGetFunction, 2000)                         \
  X(cuFuncGetAttribute, 2020)                          \
  X(cuFuncSetAttribute, 9000)                          \
  X(cuOccupancyMaxActiveBlocksPerMultiprocessor, 6050) \
  X(cuLaunchKernel, 4000)                              \
  X(cuStreamCreate, 2000)                              \
  X(cuStreamDestroy, 4000)                             \
  X(cuStreamSynchronize, 2000)                         \
  X(cuEventCreate, 2000)                               \
  X(cuEventDestroy, 4000)                              \
  X(cuEventRecord, 2000)                               \
  X(cuEventSynchronize, 2000)                          \
  X(cuEventElapsedTime, 2000)                          \
  X(cuTensorMapEncodeTiled, 12000)

struct DriverTable {
#define FLASHTUNE_CUDA_DRIVER_MEMBER(name, version) PFN_##name##_v##version name = nullptr;
  FLASHTUNE_CUDA_DRIVER_CALLS(FLASHTUNE_CUDA_DRIVER_MEMBER)
#undef FLASHTUNE_CUDA_DRIVER_MEMBER
};

// The loaded table, cuInit done. The first call loads (thread-safe); the outcome is kept, so a missing driver
// is looked for once. Throws Error(no_gpu) when libcuda.so.1 is missing, too old, or cuInit fails.
const DriverTable& driver();

// "CUDA_ERROR_INVALID_VALUE: invalid argument" (the driver's own name and description).
std::string describe(CUresult result);

// The DriverError for a failed call: "<call>(<context>): <NAME>: <description>[\n<detail>]".
DriverError driver_error(CUresult result, const char* call, std::string_view context = {},
                         ErrorKind kind = ErrorKind::driver, std::string_view detail = {});

// Every driver call goes through this: throws driver_error(...) unless result is CUDA_SUCCESS.
inline void check(CUresult result, const char* call, std::string_view context = {}) {
  if (result != CUDA_SUCCESS) throw driver_error(result, call, context);
}

// For destructors only: writes the failure to stderr and returns (never throws).
void log_failure(CUresult result, const char* call, std::string_view context = {}) noexcept;

// The CUdevice for a device ordinal. Throws Error(no_gpu) when there is no device, Error(invalid_argument)
// when the ordinal is out of range.
CUdevice device_handle(int ordinal);

}  // namespace flashtune::gpu::detail
