#include "process_runtime.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "gpu/context.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "runtime/runtime.hpp"
#include "tensor_check.hpp"

namespace flashtune::python {
namespace {

// Retains the primary context on a thread of its own, so that no caller's thread has its current context
// changed; the gpu::Context is never destroyed (the retain lasts until the process ends).
PrimaryContext retain_primary(int ordinal) {
  gpu::Context* context = nullptr;
  std::exception_ptr failure;
  std::thread([&] {
    try {
      context = new gpu::Context(ordinal);
    } catch (...) {
      failure = std::current_exception();
    }
  }).join();
  if (failure) std::rethrow_exception(failure);
  return {context->native(), gpu::context_id(context->native())};
}

}  // namespace

const PrimaryContext& primary_context(int ordinal) {
  static std::mutex mutex;
  static auto* contexts = new std::map<int, PrimaryContext>();  // leaked: see the header
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = contexts->find(ordinal); it != contexts->end()) return it->second;
  std::string why;
  if (!gpu::gpu_available(&why)) throw Error(ErrorKind::no_gpu, why);
  const int count = gpu::device_count();
  if (ordinal >= count)
    throw ArgumentError(ArgumentError::Type::device, "q",
                        fmt::format("is on cuda:{}, but the driver sees {} device{} (CUDA_VISIBLE_DEVICES "
                                    "applies)",
                                    ordinal, count, count == 1 ? "" : "s"));
  return contexts->emplace(ordinal, retain_primary(ordinal)).first->second;
}

DeviceScope::DeviceScope(int ordinal)
    : scope_(primary_context(ordinal).context, primary_context(ordinal).id) {
  if (!scope_.ok())
    throw Error(
        ErrorKind::driver,
        fmt::format("could not make the primary context of cuda:{} current (cuCtxSetCurrent)", ordinal));
}

namespace {

// The runtimes made so far (never destroyed: see the header) and the bundle new ones run.
struct Runtimes {
  std::mutex mutex;
  std::map<std::string, runtime::Runtime*> by_template;
  std::filesystem::path bundle;
  bool bundle_read = false;  // FLASHTUNE_BUNDLE, read when the first runtime is made

  runtime::Runtime* make(const std::string& template_id) const {
    runtime::RuntimeOptions options;
    if (!template_id.empty()) options.templates = {template_id};
    options.bundle = bundle;
    return new runtime::Runtime(std::move(options));
  }
  void read_environment() {
    if (bundle_read) return;
    if (const char* b = std::getenv("FLASHTUNE_BUNDLE"); b != nullptr && *b != '\0') bundle = b;
    bundle_read = true;
  }
};

Runtimes& runtimes() {
  static auto* r = new Runtimes();  // leaked: see the header
  return *r;
}

}  // namespace

runtime::Runtime& runtime_for(const std::string& template_id) {
  Runtimes& r = runtimes();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.read_environment();
  if (auto it = r.by_template.find(template_id); it != r.by_template.end()) return *it->second;
  return *r.by_template.emplace(template_id, r.make(template_id)).first->second;
}

void load_bundle(const std::filesystem::path& bundle) {
  Runtimes& r = runtimes();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.bundle_read = true;  // an explicit choice wins over FLASHTUNE_BUNDLE
  const std::filesystem::path before = r.bundle;
  r.bundle = bundle;
  runtime::Runtime* fresh = nullptr;
  try {
    fresh = r.make("");  // reads the bundle now: a bad one is refused here, and nothing changes
  } catch (...) {
    r.bundle = before;
    throw;
  }
  r.by_template.clear();  // the old runtimes stay alive (a call may be using one), unused from now on
  r.by_template.emplace("", fresh);
}

std::filesystem::path loaded_bundle() {
  Runtimes& r = runtimes();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.read_environment();
  return r.bundle;
}

}  // namespace flashtune::python
