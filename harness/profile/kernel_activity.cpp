#include "profile/kernel_activity.hpp"

#include <cupti_activity.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "core/error.hpp"
#include "gpu/context.hpp"
#include "gpu/detail/driver_table.hpp"
#include "gpu/driver_api.hpp"
#include "profile/detail/cupti_error.hpp"

namespace flashtune::profile {
namespace {

using detail::check;

constexpr std::size_t kBufferBytes = 1 << 20;

struct KernelRecord {
  KernelActivity::Record record;
  std::uint32_t context_id = 0;
};

// Where CUPTI's completed buffers land: its callbacks are plain functions, called on CUPTI's threads or
// inside cuptiActivityFlushAll.
struct Sink {
  std::mutex mutex;
  std::vector<KernelRecord> kernels;
  std::size_t dropped = 0;
};

Sink& sink() {
  static Sink s;
  return s;
}

void CUPTIAPI buffer_requested(std::uint8_t** buffer, std::size_t* size, std::size_t* max_records) {
  *buffer = static_cast<std::uint8_t*>(std::aligned_alloc(ACTIVITY_RECORD_ALIGNMENT, kBufferBytes));
  *size = *buffer != nullptr ? kBufferBytes : 0;
  *max_records = 0;  // as many as fit
}

void CUPTIAPI buffer_completed(CUcontext, std::uint32_t, std::uint8_t* buffer, std::size_t,
                               std::size_t valid) {
  try {
    std::vector<KernelRecord> found;
    CUpti_Activity* r = nullptr;
    while (cuptiActivityGetNextRecord(buffer, valid, &r) == CUPTI_SUCCESS) {
      if (r->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL && r->kind != CUPTI_ACTIVITY_KIND_KERNEL) continue;
      const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(r);
      found.push_back({{k->name != nullptr ? k->name : "", k->start, k->end}, k->contextId});
    }
    std::lock_guard lock(sink().mutex);
    sink().kernels.insert(sink().kernels.end(), found.begin(), found.end());
  } catch (...) {
    std::lock_guard lock(sink().mutex);
    ++sink().dropped;
  }
  std::free(buffer);
}

// The callbacks are registered once per process; the outcome is kept.
CUptiResult register_buffers() {
  static const CUptiResult result = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
  return result;
}

CUcontext current_context() {
  CUcontext ctx = nullptr;
  gpu::detail::check(gpu::detail::driver().cuCtxGetCurrent(&ctx), "cuCtxGetCurrent");
  if (ctx == nullptr)
    throw Error(
        ErrorKind::invalid_argument,
        "KernelActivity::record: no CUDA context is current on this thread (make a gpu::Context first)");
  return ctx;
}

std::mutex& record_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

std::unique_ptr<KernelActivity> KernelActivity::create(std::string* why_not) {
  auto fail = [&](std::string why) -> std::unique_ptr<KernelActivity> {
    if (why_not != nullptr) *why_not = std::move(why);
    return nullptr;
  };
  if (why_not != nullptr) why_not->clear();
  std::string no_gpu;
  if (!gpu::gpu_available(&no_gpu)) return fail(no_gpu);
  try {
    check(register_buffers(), "cuptiActivityRegisterCallbacks");
    // Switched on and off once: another tracer in the process refuses it here rather than in record().
    std::lock_guard lock(record_mutex());
    check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), "cuptiActivityEnable",
          "CONCURRENT_KERNEL");
    check(cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), "cuptiActivityDisable",
          "CONCURRENT_KERNEL");
  } catch (const detail::CuptiError& e) {
    if (detail::unavailable_reason(e.result())) return fail(e.what());
    throw;
  }
  return std::unique_ptr<KernelActivity>(new KernelActivity());
}

KernelActivity::~KernelActivity() = default;

std::vector<KernelActivity::Record> KernelActivity::record(const std::function<void()>& launch) {
  std::lock_guard serialize(record_mutex());
  const CUcontext ctx = current_context();
  std::uint32_t context_id = 0;
  check(cuptiGetContextId(ctx, &context_id), "cuptiGetContextId");
  gpu::Context::synchronize();  // earlier kernels are not this launch's
  check(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED), "cuptiActivityFlushAll", "before");
  {
    std::lock_guard lock(sink().mutex);
    sink().kernels.clear();
    sink().dropped = 0;
  }

  check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), "cuptiActivityEnable",
        "CONCURRENT_KERNEL");
  bool enabled = true;
  auto disable = [&] {
    enabled = false;
    return cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
  };
  try {
    launch();
    gpu::Context::synchronize();
    check(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED), "cuptiActivityFlushAll");
    check(disable(), "cuptiActivityDisable", "CONCURRENT_KERNEL");
  } catch (...) {
    if (enabled) detail::log_failure(disable(), "cuptiActivityDisable");
    throw;
  }

  std::vector<KernelRecord> kernels;
  std::size_t dropped = 0;
  {
    std::lock_guard lock(sink().mutex);
    kernels.swap(sink().kernels);
    dropped = sink().dropped;
  }
  if (dropped > 0)
    throw Error(ErrorKind::internal,
                fmt::format("KernelActivity::record: {} CUPTI activity buffers could not be read", dropped));
  std::vector<Record> out;
  for (KernelRecord& k : kernels)
    if (k.context_id == context_id) out.push_back(std::move(k.record));
  std::stable_sort(out.begin(), out.end(),
                   [](const Record& a, const Record& b) { return a.start_ns < b.start_ns; });
  return out;
}

}  // namespace flashtune::profile
