#include "profile/range_profiler.hpp"

#include <cupti_activity.h>  // cuptiGetDeviceId
#include <cupti_profiler_target.h>
#include <cupti_range_profiler.h>
#include <cupti_target.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <mutex>

#include "core/error.hpp"
#include "gpu/context.hpp"
#include "gpu/detail/driver_table.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "gpu/l2_flush.hpp"
#include "gpu/stream.hpp"
#include "profile/detail/cupti_error.hpp"
#include "profile/detail/profiler_host.hpp"

namespace flashtune::profile {
namespace {

using detail::check;

constexpr char kDramWrite[] = "dram__bytes_write.sum";

// cuptiProfilerInitialize, for as long as any RangeProfiler lives: CUPTI's profiler is per process.
class ProfilerSession {
 public:
  ProfilerSession() {
    std::lock_guard lock(mutex_);
    if (users_ == 0) {
      CUpti_Profiler_Initialize_Params p{CUpti_Profiler_Initialize_Params_STRUCT_SIZE};
      check(cuptiProfilerInitialize(&p), "cuptiProfilerInitialize");
    }
    ++users_;
  }
  ~ProfilerSession() {
    std::lock_guard lock(mutex_);
    if (--users_ == 0) {
      CUpti_Profiler_DeInitialize_Params p{CUpti_Profiler_DeInitialize_Params_STRUCT_SIZE};
      detail::log_failure(cuptiProfilerDeInitialize(&p), "cuptiProfilerDeInitialize");
    }
  }
  ProfilerSession(const ProfilerSession&) = delete;
  ProfilerSession& operator=(const ProfilerSession&) = delete;

 private:
  static inline std::mutex mutex_;
  static inline int users_ = 0;
};

CUcontext current_context(const char* who) {
  CUcontext ctx = nullptr;
  gpu::detail::check(gpu::detail::driver().cuCtxGetCurrent(&ctx), "cuCtxGetCurrent");
  if (ctx == nullptr)
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("{}: no CUDA context is current on this thread (make a gpu::Context first)", who));
  return ctx;
}

// Why cuptiProfilerDeviceSupported says no, or "" when the device is supported.
std::string unsupported_because(const CUpti_Profiler_DeviceSupported_Params& p) {
  // UNKNOWN: CUPTI could not tell; go ahead (Enable / Start say no later if it really is).
  if (p.isSupported == CUPTI_PROFILER_CONFIGURATION_SUPPORTED ||
      p.isSupported == CUPTI_PROFILER_CONFIGURATION_UNKNOWN)
    return {};
  std::vector<std::string> why;
  auto no = [](CUpti_Profiler_Support_Level l) {
    return l == CUPTI_PROFILER_CONFIGURATION_UNSUPPORTED || l == CUPTI_PROFILER_CONFIGURATION_DISABLED;
  };
  if (no(p.architecture))
    why.push_back(
        "the GPU's architecture is not supported (the range profiler needs compute capability 7.5+)");
  if (no(p.sli)) why.push_back("the GPU is in SLI mode");
  if (p.vGpu == CUPTI_PROFILER_CONFIGURATION_DISABLED)
    why.push_back(
        "this vGPU's profiling is disabled: the host administrator must enable it for the VM (vGPU plugin "
        "parameter enable_profiling=1)");
  else if (no(p.vGpu))
    why.push_back("this virtual GPU (vGPU) does not support profiling");
  if (no(p.confidentialCompute)) why.push_back("confidential computing is on");
  if (no(p.cmp)) why.push_back("NVIDIA CMP devices cannot be profiled");
  if (no(p.wsl)) why.push_back("profiling is not supported under WSL here");
  if (why.empty()) why.push_back("CUPTI reports the configuration as not supported (MIG partition?)");
  return fmt::format("CUPTI cannot read counters on this GPU: {}", fmt::join(why, "; "));
}

}  // namespace

struct RangeProfiler::Impl {
  ProfilerSession cupti;  // first member: initialized first, deinitialized last
  std::vector<std::string> metrics;
  std::vector<const char*> names;  // into metrics
  CUcontext ctx = nullptr;
  std::unique_ptr<detail::ProfilerHost> host;
  std::vector<std::uint8_t> config;
  int passes = 0;
  // The read-only sweep that ends each session (write_back_l2), on a stream and scratch buffer of its own.
  std::unique_ptr<gpu::Stream> stream;
  gpu::DeviceBuffer scratch;
  bool write_back_l2 = true;
  CUpti_RangeProfiler_Object* object = nullptr;
  std::vector<std::uint8_t> counter_data;
  bool counter_data_fresh = false;  // initialized and not used by a session since

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  ~Impl() {
    if (object == nullptr) return;
    CUpti_RangeProfiler_Disable_Params p{CUpti_RangeProfiler_Disable_Params_STRUCT_SIZE};
    p.pRangeProfilerObject = object;
    detail::log_failure(cuptiRangeProfilerDisable(&p), "cuptiRangeProfilerDisable");
  }

  // Resets the counter data image to no ranges (the configuration keeps pointing at it).
  void initialize_counter_data() {
    CUpti_RangeProfiler_CounterDataImage_Initialize_Params i{
        CUpti_RangeProfiler_CounterDataImage_Initialize_Params_STRUCT_SIZE};
    i.pRangeProfilerObject = object;
    i.counterDataSize = counter_data.size();
    i.pCounterData = counter_data.data();
    check(cuptiRangeProfilerCounterDataImageInitialize(&i), "cuptiRangeProfilerCounterDataImageInitialize");
    counter_data_fresh = true;
  }

  // Auto range (each kernel its own range), kernel replay (CUPTI replays each kernel for every pass), one
  // nesting level. Set once per profiler object, as CUPTI's samples do; sessions only start and stop.
  void set_config() {
    CUpti_RangeProfiler_SetConfig_Params c{CUpti_RangeProfiler_SetConfig_Params_STRUCT_SIZE};
    c.pRangeProfilerObject = object;
    c.configSize = config.size();
    c.pConfig = config.data();
    c.counterDataImageSize = counter_data.size();
    c.pCounterDataImage = counter_data.data();
    c.range = CUPTI_AutoRange;
    c.replayMode = CUPTI_KernelReplay;
    c.maxRangesPerPass = kMaxKernels + 1;
    c.numNestingLevels = 1;
    c.minNestingLevel = 1;
    c.passIndex = 0;
    c.targetNestingLevel = 1;
    check(cuptiRangeProfilerSetConfig(&c), "cuptiRangeProfilerSetConfig");
  }

  bool sweeps() const {
    return write_back_l2 && std::find(metrics.begin(), metrics.end(), kDramWrite) != metrics.end();
  }

  // One profiling session: `launch`, then (when sweeps()) the read-only sweep that writes back what the
  // launch left dirty; decoded into the counter data image. Returns the number of ranges.
  std::size_t session(const std::function<void()>& launch) {
    if (current_context("RangeProfiler::profile") != ctx)
      throw Error(ErrorKind::invalid_argument,
                  "RangeProfiler::profile: another CUDA context is current than the one it was created on");
    gpu::Context::synchronize();  // earlier work (the caller's L2 flush) completes outside the ranges
    if (!counter_data_fresh) initialize_counter_data();  // the previous session's ranges are decoded: reset
    counter_data_fresh = false;

    CUpti_RangeProfiler_Start_Params start{CUpti_RangeProfiler_Start_Params_STRUCT_SIZE};
    start.pRangeProfilerObject = object;
    check(cuptiRangeProfilerStart(&start), "cuptiRangeProfilerStart");
    CUpti_RangeProfiler_Stop_Params stop{CUpti_RangeProfiler_Stop_Params_STRUCT_SIZE};
    stop.pRangeProfilerObject = object;
    CUpti_RangeProfiler_DecodeData_Params decode{CUpti_RangeProfiler_DecodeData_Params_STRUCT_SIZE};
    decode.pRangeProfilerObject = object;
    try {
      launch();
      // Auto range runs the kernels one after the other, so this sweep follows all of the launch's.
      if (sweeps()) gpu::flush_l2_read_only(*stream, scratch);
    } catch (...) {
      detail::log_failure(cuptiRangeProfilerStop(&stop), "cuptiRangeProfilerStop");
      detail::log_failure(cuptiRangeProfilerDecodeData(&decode), "cuptiRangeProfilerDecodeData");
      throw;
    }
    check(cuptiRangeProfilerStop(&stop), "cuptiRangeProfilerStop");
    if (stop.isAllPassSubmitted == 0)
      throw Error(ErrorKind::internal, "cuptiRangeProfilerStop: kernel replay left passes unsubmitted");
    gpu::Context::synchronize();  // a kernel fault is a DriverError (poisons_context), not a CUPTI one

    check(cuptiRangeProfilerDecodeData(&decode), "cuptiRangeProfilerDecodeData");
    if (decode.numOfRangeDropped > 0)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("RangeProfiler::profile: {} kernels were not profiled: one launch may queue at "
                              "most {} kernels",
                              decode.numOfRangeDropped, kMaxKernels));
    CUpti_RangeProfiler_GetCounterDataInfo_Params info{
        CUpti_RangeProfiler_GetCounterDataInfo_Params_STRUCT_SIZE};
    info.pCounterDataImage = counter_data.data();
    info.counterDataImageSize = counter_data.size();
    check(cuptiRangeProfilerGetCounterDataInfo(&info), "cuptiRangeProfilerGetCounterDataInfo");
    return info.numTotalRanges;
  }
};

RangeProfiler::RangeProfiler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RangeProfiler::~RangeProfiler() = default;

int RangeProfiler::passes() const {
  return impl_->passes;
}
const std::string& RangeProfiler::chip() const {
  return impl_->host->chip();
}
const std::vector<std::string>& RangeProfiler::metrics() const {
  return impl_->metrics;
}
void RangeProfiler::set_write_back_l2(bool on) {
  impl_->write_back_l2 = on;
}
bool RangeProfiler::write_back_l2() const {
  return impl_->write_back_l2;
}

std::unique_ptr<RangeProfiler> RangeProfiler::create(const std::vector<std::string>& metrics,
                                                     std::string* why_not) {
  auto fail = [&](std::string why) -> std::unique_ptr<RangeProfiler> {
    if (why_not != nullptr) *why_not = std::move(why);
    return nullptr;
  };
  if (why_not != nullptr) why_not->clear();
  if (metrics.empty()) throw Error(ErrorKind::invalid_argument, "RangeProfiler::create: no metrics");
  std::string no_gpu;
  if (!gpu::gpu_available(&no_gpu)) return fail(no_gpu);
  const CUcontext ctx = current_context("RangeProfiler::create");

  try {
    auto m = std::make_unique<Impl>();
    m->metrics = metrics;
    for (const std::string& name : m->metrics) m->names.push_back(name.c_str());
    m->ctx = ctx;

    std::uint32_t device = 0;
    check(cuptiGetDeviceId(ctx, &device), "cuptiGetDeviceId");
    CUpti_Profiler_DeviceSupported_Params s{CUpti_Profiler_DeviceSupported_Params_STRUCT_SIZE};
    s.cuDevice = gpu::detail::device_handle(static_cast<int>(device));
    s.api = CUPTI_PROFILER_RANGE_PROFILING;
    check(cuptiProfilerDeviceSupported(&s), "cuptiProfilerDeviceSupported");
    if (std::string why = unsupported_because(s); !why.empty()) return fail(why);

    CUpti_Device_GetChipName_Params c{CUpti_Device_GetChipName_Params_STRUCT_SIZE};
    c.deviceIndex = device;
    check(cuptiDeviceGetChipName(&c), "cuptiDeviceGetChipName");
    const std::string chip = c.pChipName != nullptr ? c.pChipName : "";
    if (const std::vector<std::string> known = detail::supported_chips();
        std::find(known.begin(), known.end(), chip) == known.end())
      return fail(fmt::format(
          "this CUPTI's profiler does not know the GPU's chip '{}' (a GPU newer than the CUDA toolkit?); it "
          "knows {}",
          chip, fmt::join(known, " ")));

    // Counter availability: where counters restricted to administrators show up
    // (CUPTI_ERROR_INSUFFICIENT_PRIVILEGES).
    CUpti_Profiler_GetCounterAvailability_Params a{CUpti_Profiler_GetCounterAvailability_Params_STRUCT_SIZE};
    a.ctx = ctx;
    check(cuptiProfilerGetCounterAvailability(&a), "cuptiProfilerGetCounterAvailability", "size");
    std::vector<std::uint8_t> availability(a.counterAvailabilityImageSize);
    a.pCounterAvailabilityImage = availability.data();
    check(cuptiProfilerGetCounterAvailability(&a), "cuptiProfilerGetCounterAvailability");

    m->host = std::make_unique<detail::ProfilerHost>(chip, availability);
    m->host->add_metrics(m->metrics);
    m->config = m->host->config_image();
    m->passes = detail::ProfilerHost::passes(m->config);

    // The sweep's stream and scratch buffer; one sweep now, outside any session, loads its kernel and
    // leaves only clean lines in the L2.
    m->stream = std::make_unique<gpu::Stream>();
    const long long l2 = gpu::query_device(static_cast<int>(device)).l2_bytes;
    m->scratch = gpu::DeviceBuffer(static_cast<std::size_t>(2 * std::max(l2, 1LL << 20) + 15) / 16 * 16);
    gpu::flush_l2_read_only(*m->stream, m->scratch);
    m->stream->synchronize();

    CUpti_RangeProfiler_Enable_Params e{CUpti_RangeProfiler_Enable_Params_STRUCT_SIZE};
    e.ctx = ctx;
    check(cuptiRangeProfilerEnable(&e), "cuptiRangeProfilerEnable");
    m->object = e.pRangeProfilerObject;

    CUpti_RangeProfiler_GetCounterDataSize_Params d{
        CUpti_RangeProfiler_GetCounterDataSize_Params_STRUCT_SIZE};
    d.pRangeProfilerObject = m->object;
    d.pMetricNames = m->names.data();
    d.numMetrics = m->names.size();
    d.maxNumOfRanges = kMaxKernels + 1;  // + the sweep
    d.maxNumRangeTreeNodes = kMaxKernels + 1;
    check(cuptiRangeProfilerGetCounterDataSize(&d), "cuptiRangeProfilerGetCounterDataSize");
    m->counter_data.resize(d.counterDataSize);
    m->initialize_counter_data();
    m->set_config();

    // A first session, thrown away: CUPTI writes ~15-25 MB of its own device buffers in the first session
    // of a profiler, after the caller's flush, and their write-back would land in the first profile().
    Impl& w = *m;
    w.session([&] { gpu::flush_l2_read_only(*w.stream, w.scratch); });
    return std::unique_ptr<RangeProfiler>(new RangeProfiler(std::move(m)));
  } catch (const detail::CuptiError& e) {
    if (detail::unavailable_reason(e.result())) return fail(e.what());
    throw;
  }
}

Counters RangeProfiler::profile(const std::function<void()>& launch) {
  Impl& m = *impl_;
  const bool swept = m.sweeps();
  std::size_t ranges = m.session(launch);
  Counters counters;
  if (swept && ranges > 0) --ranges;  // the last range is the sweep
  for (std::size_t r = 0; r < ranges; ++r)
    add_kernel(counters, m.metrics, m.host->evaluate(m.counter_data, r, m.names));
  if (swept) {
    // Only its DRAM writes count: the launch's dirty lines written back. Its reads, L2 bytes and time are
    // the sweep's own.
    const char* write[] = {kDramWrite};
    counters.dram_write_bytes += m.host->evaluate(m.counter_data, ranges, write).at(0);
  }
  return counters;
}

}  // namespace flashtune::profile
