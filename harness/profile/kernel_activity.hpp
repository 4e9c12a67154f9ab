#pragma once
// Exact kernel durations from CUPTI's Activity API (CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL): the GPU's own
// start and end timestamps of each kernel, with no launch overhead and no event resolution limit (CUDA events
// over-report kernels under ~50 us). Tracing is on only inside record(), so timed launches elsewhere are not
// traced (tracing adds about 1 us per launch).
//
//   std::string why;
//   auto a = KernelActivity::create(&why);
//   for (const auto& r : a->record([&] { launch(kernel, shape, args, &stream); }))
//     total_ns += r.end_ns - r.start_ns;
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace flashtune::profile {

class KernelActivity {
 public:
  // Registers the activity buffers with CUPTI (once per process) and checks that kernel tracing can be
  // switched on. Returns nullptr with *why_not (if given) set when it cannot: no GPU, another tracer or
  // profiler attached (nsys, ncu), an unsupported configuration. Throws Error for other CUPTI failures.
  static std::unique_ptr<KernelActivity> create(std::string* why_not);
  ~KernelActivity();
  KernelActivity(const KernelActivity&) = delete;
  KernelActivity& operator=(const KernelActivity&) = delete;

  struct Record {
    std::string name;                        // the kernel's (mangled) name
    std::uint64_t start_ns = 0, end_ns = 0;  // GPU timestamps (0 when CUPTI could not collect them)
  };

  // Waits for the work already queued, enables kernel records, runs `launch`, synchronizes the current
  // context, flushes the records and disables tracing again (also when `launch` throws). Returns the records
  // of the kernels the current context ran meanwhile, in start order. Calls from several threads are
  // serialized. Throws Error on CUPTI failures, gpu::DriverError for a kernel fault.
  std::vector<Record> record(const std::function<void()>& launch);

 private:
  KernelActivity() = default;
};

}  // namespace flashtune::profile
