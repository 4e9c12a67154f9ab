#include "gpu/driver_api.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdio>
#include <iterator>

#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {
namespace detail {
namespace {

struct DriverState {
  DriverTable table;
  bool ok = false;
  std::string failure;  // why the driver cannot be used, when !ok
};

std::string name_of(const DriverTable& t, CUresult result) {
  const char* name = nullptr;
  if (t.cuGetErrorName == nullptr || t.cuGetErrorName(result, &name) != CUDA_SUCCESS || name == nullptr) {
    return fmt::format("CUDA_ERROR_{}", static_cast<int>(result));
  }
  return name;
}

std::string description_of(const DriverTable& t, CUresult result) {
  const char* text = nullptr;
  if (t.cuGetErrorString == nullptr || t.cuGetErrorString(result, &text) != CUDA_SUCCESS || text == nullptr) {
    return "unknown error";
  }
  return text;
}

DriverState load() {
  DriverState s;
  // The handle is never closed: function pointers into it live until the process exits.
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    s.failure = fmt::format(
        "no NVIDIA driver: libcuda.so.1 could not be loaded ({}); compiling works, timing needs a GPU",
        why != nullptr ? why : "unknown reason");
    return s;
  }
  auto get_proc = reinterpret_cast<PFN_cuGetProcAddress_v12000>(dlsym(lib, "cuGetProcAddress_v2"));
  if (get_proc == nullptr) {
    s.failure =
        "NVIDIA driver too old: libcuda.so.1 has no cuGetProcAddress_v2 (a driver for CUDA 12.0 or newer is "
        "needed); compiling works, timing needs a GPU";
    return s;
  }
  // The first symbol that did not resolve, and how.
  const char* missing = nullptr;
  CUresult missing_result = CUDA_SUCCESS;
  CUdriverProcAddressQueryResult missing_status = CU_GET_PROC_ADDRESS_SUCCESS;
  auto resolve = [&](const char* symbol, void** slot) {
    CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    CUresult r = get_proc(symbol, slot, kRequestedVersion, CU_GET_PROC_ADDRESS_LEGACY_STREAM, &status);
    if (r != CUDA_SUCCESS || status != CU_GET_PROC_ADDRESS_SUCCESS || *slot == nullptr) {
      *slot = nullptr;
      if (missing == nullptr) missing = symbol, missing_result = r, missing_status = status;
    }
  };
#define FLASHTUNE_CUDA_DRIVER_RESOLVE(name, version) resolve(#name, reinterpret_cast<void**>(&s.table.name));
  FLASHTUNE_CUDA_DRIVER_CALLS(FLASHTUNE_CUDA_DRIVER_RESOLVE)
#undef FLASHTUNE_CUDA_DRIVER_RESOLVE
  if (missing != nullptr) {
    if (missing_result == CUDA_ERROR_STUB_LIBRARY) {
      s.failure =
          "no NVIDIA driver: libcuda.so.1 is the CUDA toolkit's stub library, not a driver (check "
          "LD_LIBRARY_PATH); compiling works, timing needs a GPU";
    } else if (missing_result != CUDA_SUCCESS) {
      s.failure = fmt::format(
          "NVIDIA driver unusable: cuGetProcAddress({}) failed with CUresult {}; compiling works, timing "
          "needs a "
          "GPU",
          missing, static_cast<int>(missing_result));
    } else {
      s.failure = fmt::format(
          "NVIDIA driver too old: it has no {} for CUDA {}.{} ({}); compiling works, timing needs a GPU",
          missing, kRequestedVersion / 1000, kRequestedVersion % 1000 / 10,
          missing_status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT ? "version not sufficient"
                                                                       : "symbol not found");
    }
    return s;
  }
  if (CUresult r = s.table.cuInit(0); r != CUDA_SUCCESS) {
    s.failure =
        fmt::format("no usable GPU: cuInit failed: {}: {}", name_of(s.table, r), description_of(s.table, r));
    return s;
  }
  s.ok = true;
  return s;
}

const DriverState& state() {
  static const DriverState s = load();
  return s;
}

}  // namespace

const DriverTable& driver() {
  const DriverState& s = state();
  if (!s.ok) throw Error(ErrorKind::no_gpu, s.failure);
  return s.table;
}

std::string describe(CUresult result) {
  const DriverTable& t = state().table;
  return fmt::format("{}: {}", name_of(t, result), description_of(t, result));
}

DriverError driver_error(CUresult result, const char* call, std::string_view context, ErrorKind kind,
                         std::string_view detail) {
  std::string what = fmt::format("{}({}): {}", call, context, describe(result));
  if (!detail.empty()) fmt::format_to(std::back_inserter(what), "\n{}", detail);
  return DriverError(kind, what, static_cast<int>(result), call);
}

void log_failure(CUresult result, const char* call, std::string_view context) noexcept {
  if (result == CUDA_SUCCESS) return;
  try {
    std::fprintf(stderr, "flashtune: warning: %s(%.*s) failed while releasing a resource: %s\n", call,
                 static_cast<int>(context.size()), context.data(), describe(result).c_str());
  } catch (...) {
    std::fprintf(stderr, "flashtune: warning: %s failed while releasing a resource: CUresult %d\n", call,
                 static_cast<int>(result));
  }
}

CUdevice device_handle(int ordinal) {
  const DriverTable& d = driver();
  int count = 0;
  check(d.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (count == 0) throw Error(ErrorKind::no_gpu, "no CUDA device: the driver reports 0 devices");
  if (ordinal < 0 || ordinal >= count) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("device ordinal {} out of range: {} device(s) visible", ordinal, count));
  }
  CUdevice dev = 0;
  check(d.cuDeviceGet(&dev, ordinal), "cuDeviceGet", fmt::format("ordinal {}", ordinal));
  return dev;
}

}  // namespace detail

bool gpu_available(std::string* why) noexcept {
  try {
    const detail::DriverState& s = detail::state();
    if (!s.ok) {
      if (why != nullptr) *why = s.failure;
      return false;
    }
    int count = 0;
    if (CUresult r = s.table.cuDeviceGetCount(&count); r != CUDA_SUCCESS || count == 0) {
      if (why != nullptr) {
        *why = r != CUDA_SUCCESS ? "no usable GPU: cuDeviceGetCount failed: " + detail::describe(r)
                                 : std::string("no CUDA device: the driver reports 0 devices");
      }
      return false;
    }
    if (why != nullptr) why->clear();
    return true;
  } catch (const std::exception& e) {  // out of memory while formatting, at worst
    if (why != nullptr) *why = e.what();
    return false;
  } catch (...) {
    return false;
  }
}

int driver_version() {
  int version = 0;
  detail::check(detail::driver().cuDriverGetVersion(&version), "cuDriverGetVersion");
  return version;
}

bool DriverError::poisons_context() const noexcept {
  switch (static_cast<CUresult>(result_)) {
    case CUDA_ERROR_ECC_UNCORRECTABLE:
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_LAUNCH_TIMEOUT:
    case CUDA_ERROR_CONTEXT_IS_DESTROYED:
    case CUDA_ERROR_ASSERT:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_LAUNCH_FAILED:
      return true;
    default:
      return false;
  }
}

}  // namespace flashtune::gpu
