#pragma once
// The SM clock of one GPU, read through NVML (libnvidia-ml.so.1, opened at run time like the driver: never
// linked), for the timing loop's throttling check (gpu/clock_check.hpp).
//
//   std::string why;
//   std::unique_ptr<SmClock> clock = SmClock::open(device.uuid, &why);  // nullptr without NVML, never throws
//   time_kernel(stream, run, options, &flush, clock ? clock->sampler() : ClockSampler{});
//
// Without NVML (no NVIDIA driver, a container without it, a device NVML does not know) there is no clock:
// measurements then have an unknown clock fraction and are never re-measured for throttling.
#include <memory>
#include <optional>
#include <string>

#include "gpu/clock_check.hpp"

struct nvmlDevice_st;

namespace flashtune::gpu {

class SmClock {
 public:
  // Initializes NVML (nvmlInit_v2), finds the device by its UUID (DeviceInfo::uuid, "GPU-5f3c...") and reads
  // its maximum SM clock. Throws Error(no_gpu) when libnvidia-ml.so.1 cannot be loaded or finds no driver,
  // Error(driver) naming the NVML call that failed ("nvmlDeviceGetHandleByUUID(GPU-...): Not Found
  // (nvmlReturn_t 6)").
  explicit SmClock(const std::string& uuid);
  // The same, never throwing: nullptr when NVML cannot be used, with the reason in *why.
  static std::unique_ptr<SmClock> open(const std::string& uuid, std::string* why = nullptr) noexcept;
  ~SmClock();  // nvmlShutdown; a failure is logged, never thrown
  SmClock(const SmClock&) = delete;
  SmClock& operator=(const SmClock&) = delete;

  const std::string& uuid() const { return uuid_; }
  // The maximum SM clock in MHz (nvmlDeviceGetMaxClockInfo(NVML_CLOCK_SM): the boost clock), read once.
  int max_mhz() const { return max_mhz_; }
  // The SM clock now in MHz (nvmlDeviceGetClockInfo(NVML_CLOCK_SM)). Throws Error(driver) when the read
  // fails.
  int current_mhz() const;
  // current_mhz() / max_mhz(); nullopt when the read fails (never throws).
  std::optional<double> fraction() const noexcept;
  // fraction(), as time_kernel takes it. The sampler refers to this object: it must not outlive it.
  ClockSampler sampler() const;

 private:
  std::string uuid_;
  nvmlDevice_st* device_ = nullptr;
  int max_mhz_ = 0;
};

}  // namespace flashtune::gpu
