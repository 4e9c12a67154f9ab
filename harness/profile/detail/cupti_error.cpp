#include "profile/detail/cupti_error.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace flashtune::profile::detail {

std::string result_name(CUptiResult result) {
  const char* name = nullptr;
  if (cuptiGetResultString(result, &name) != CUPTI_SUCCESS || name == nullptr || *name == '\0')
    return fmt::format("CUptiResult {}", static_cast<int>(result));
  return name;
}

CuptiError cupti_error(CUptiResult result, const char* call, std::string_view context, ErrorKind kind) {
  std::string what = fmt::format("{}({}): {}", call, context, result_name(result));
  if (std::optional<std::string> why = unavailable_reason(result)) what += " - " + *why;
  return CuptiError(kind, what, result);
}

void log_failure(CUptiResult result, const char* call) noexcept {
  if (result == CUPTI_SUCCESS) return;
  const char* name = nullptr;
  if (cuptiGetResultString(result, &name) != CUPTI_SUCCESS) name = nullptr;
  std::fprintf(stderr, "flashtune: warning: %s failed while releasing a CUPTI resource: %s (%d)\n", call,
               name != nullptr ? name : "?", static_cast<int>(result));
}

std::optional<std::string> unavailable_reason(CUptiResult result) {
  switch (result) {
    case CUPTI_ERROR_INSUFFICIENT_PRIVILEGES:
      return std::string(
          "the NVIDIA driver lets only administrators read GPU performance counters (ERR_NVGPUCTRPERM). "
          "Run as root, or give the binary CAP_SYS_ADMIN or CAP_PERFMON (in a container: --cap-add "
          "SYS_ADMIN), or allow every user: put 'options nvidia NVreg_RestrictProfilingToAdminUsers=0' in "
          "/etc/modprobe.d/nvidia-profiling.conf, rebuild the initramfs and reboot (see "
          "https://developer.nvidia.com/ERR_NVGPUCTRPERM)");
    case CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED:
      return std::string(
          "another profiler is attached to this process (ncu, nsys or another CUPTI client): only one can "
          "collect at a time; run flashtune without it");
    case CUPTI_ERROR_OLD_PROFILER_API_INITIALIZED:
      return std::string(
          "the legacy CUPTI profiler API is already in use in this process (another tool loaded into it?); "
          "run flashtune without it");
    case CUPTI_ERROR_VIRTUALIZED_DEVICE_NOT_SUPPORTED:
    case CUPTI_ERROR_VIRTUALIZED_DEVICE_INSUFFICIENT_PRIVILEGES:
      return std::string(
          "this is a virtual GPU (vGPU) whose profiling is not enabled: the host administrator must enable "
          "it "
          "for this VM (the vGPU plugin parameter enable_profiling=1)");
    case CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED:
      return std::string(
          "this is a MIG partition and CUPTI cannot read counters on it in this configuration: profile on a "
          "GPU with MIG disabled");
    case CUPTI_ERROR_CONFIDENTIAL_COMPUTING_NOT_SUPPORTED:
      return std::string("confidential computing is on for this GPU, and it forbids reading counters");
    case CUPTI_ERROR_CMP_DEVICE_NOT_SUPPORTED:
      return std::string("CUPTI does not support profiling on NVIDIA CMP (crypto mining) devices");
    case CUPTI_ERROR_SLI_DEVICE_NOT_SUPPORTED:
      return std::string("CUPTI cannot profile a GPU in SLI mode");
    case CUPTI_ERROR_WSL_DEVICE_NOT_SUPPORTED:
      return std::string("CUPTI cannot profile this GPU under WSL");
    case CUPTI_ERROR_NOT_SUPPORTED:
    case CUPTI_ERROR_INVALID_DEVICE:
      return std::string(
          "CUPTI's range profiler does not support this GPU (it needs compute capability 7.5 or newer)");
    case CUPTI_ERROR_NOT_COMPATIBLE:
      return std::string(
          "libcupti does not match the NVIDIA driver (a driver for this CUDA toolkit's version or newer is "
          "needed)");
    default:
      return std::nullopt;
  }
}

}  // namespace flashtune::profile::detail
