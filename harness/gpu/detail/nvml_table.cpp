#include "gpu/detail/nvml_table.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "core/error.hpp"

namespace flashtune::gpu::detail {
namespace {

struct NvmlState {
  NvmlTable table;
  std::string failure;  // why NVML cannot be used; "" when the table is complete
};

template <typename F>
void resolve(void* lib, const char* symbol, F** slot, const char** missing) {
  *slot = reinterpret_cast<F*>(dlsym(lib, symbol));
  if (*slot == nullptr && *missing == nullptr) *missing = symbol;
}

NvmlState load() {
  NvmlState s;
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    s.failure = fmt::format("NVML unavailable: libnvidia-ml.so.1 could not be loaded ({})",
                            why != nullptr ? why : "unknown reason");
    return s;
  }
  const char* missing = nullptr;
  NvmlTable& t = s.table;
  resolve(lib, "nvmlInit_v2", &t.nvmlInit_v2, &missing);
  resolve(lib, "nvmlShutdown", &t.nvmlShutdown, &missing);
  resolve(lib, "nvmlErrorString", &t.nvmlErrorString, &missing);
  resolve(lib, "nvmlDeviceGetHandleByUUID", &t.nvmlDeviceGetHandleByUUID, &missing);
  resolve(lib, "nvmlDeviceGetClockInfo", &t.nvmlDeviceGetClockInfo, &missing);
  resolve(lib, "nvmlDeviceGetMaxClockInfo", &t.nvmlDeviceGetMaxClockInfo, &missing);
  if (missing != nullptr) s.failure = fmt::format("NVML unavailable: libnvidia-ml.so.1 has no {}", missing);
  return s;
}

const NvmlState& state() {
  static const NvmlState s = load();
  return s;
}

std::string description_of(nvmlReturn_t result) {
  const NvmlTable& t = state().table;
  const char* text = t.nvmlErrorString != nullptr ? t.nvmlErrorString(result) : nullptr;
  return fmt::format("{} (nvmlReturn_t {})", text != nullptr ? text : "unknown error", result);
}

}  // namespace

const NvmlTable& nvml() {
  const NvmlState& s = state();
  if (!s.failure.empty()) throw Error(ErrorKind::no_gpu, s.failure);
  return s.table;
}

void check_nvml(nvmlReturn_t result, const char* call, std::string_view context) {
  if (result == kNvmlSuccess) return;
  const bool no_driver = result == kNvmlErrorDriverNotLoaded || result == kNvmlErrorLibraryNotFound;
  throw Error(no_driver ? ErrorKind::no_gpu : ErrorKind::driver,
              fmt::format("{}({}): {}", call, context, description_of(result)));
}

void log_nvml_failure(nvmlReturn_t result, const char* call) noexcept {
  if (result == kNvmlSuccess) return;
  try {
    std::fprintf(stderr, "flashtune: warning: %s failed: %s\n", call, description_of(result).c_str());
  } catch (...) {
    std::fprintf(stderr, "flashtune: warning: %s failed: nvmlReturn_t %d\n", call, result);
  }
}

}  // namespace flashtune::gpu::detail
