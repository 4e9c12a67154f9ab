#pragma once
// NVML (the NVIDIA Management Library, libnvidia-ml.so.1) as a table of function pointers, opened at run time
// (dlopen) like the driver (driver_table.hpp): flashtune neither links it nor needs nvml.h. Only harness/gpu
// .cpp files include this header. The few types and values used are NVML's own (nvml.h), declared here.
#include <string_view>

struct nvmlDevice_st;

namespace flashtune::gpu::detail {

using nvmlReturn_t = int;     // nvml.h's enum nvmlReturn_t
using nvmlClockType_t = int;  // nvml.h's enum nvmlClockType_t
using nvmlDevice_t = nvmlDevice_st*;

inline constexpr nvmlReturn_t kNvmlSuccess = 0;                // NVML_SUCCESS
inline constexpr nvmlReturn_t kNvmlErrorDriverNotLoaded = 9;   // NVML_ERROR_DRIVER_NOT_LOADED
inline constexpr nvmlReturn_t kNvmlErrorLibraryNotFound = 12;  // NVML_ERROR_LIBRARY_NOT_FOUND
inline constexpr nvmlClockType_t kNvmlClockSm = 1;             // NVML_CLOCK_SM

// The calls flashtune makes, by their exported names (nvmlInit_v2 is what nvml.h's nvmlInit maps to).
struct NvmlTable {
  nvmlReturn_t (*nvmlInit_v2)() = nullptr;
  nvmlReturn_t (*nvmlShutdown)() = nullptr;
  const char* (*nvmlErrorString)(nvmlReturn_t result) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetHandleByUUID)(const char* uuid, nvmlDevice_t* device) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetClockInfo)(nvmlDevice_t device, nvmlClockType_t type, unsigned* mhz) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetMaxClockInfo)(nvmlDevice_t device, nvmlClockType_t type,
                                            unsigned* mhz) = nullptr;
};

// The loaded table. The first call loads the library (thread-safe) and the outcome is kept; the handle is
// never closed. nvmlInit_v2 / nvmlShutdown are the caller's. Throws Error(no_gpu) when libnvidia-ml.so.1
// cannot be loaded or lacks one of the calls.
const NvmlTable& nvml();

// Every NVML call goes through this: unless result is NVML_SUCCESS, throws Error "<call>(<context>): <NVML's
// description> (nvmlReturn_t <n>)", of kind no_gpu for a missing driver (NVML_ERROR_DRIVER_NOT_LOADED,
// NVML_ERROR_LIBRARY_NOT_FOUND), else driver.
void check_nvml(nvmlReturn_t result, const char* call, std::string_view context = {});

// For destructors only: writes a failure to stderr and returns (never throws).
void log_nvml_failure(nvmlReturn_t result, const char* call) noexcept;

}  // namespace flashtune::gpu::detail
