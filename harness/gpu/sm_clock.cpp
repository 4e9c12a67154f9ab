#include "gpu/sm_clock.hpp"

#include <fmt/format.h>

#include <exception>

#include "core/error.hpp"
#include "gpu/detail/nvml_table.hpp"

namespace flashtune::gpu {

SmClock::SmClock(const std::string& uuid) : uuid_(uuid) {
  const detail::NvmlTable& t = detail::nvml();
  detail::check_nvml(t.nvmlInit_v2(), "nvmlInit_v2");
  try {  // from here on, a failure must undo nvmlInit_v2: the destructor does not run for a throwing
         // constructor
    detail::check_nvml(t.nvmlDeviceGetHandleByUUID(uuid.c_str(), &device_), "nvmlDeviceGetHandleByUUID",
                       uuid);
    unsigned mhz = 0;
    detail::check_nvml(t.nvmlDeviceGetMaxClockInfo(device_, detail::kNvmlClockSm, &mhz),
                       "nvmlDeviceGetMaxClockInfo", uuid);
    if (mhz == 0)
      throw Error(ErrorKind::driver,
                  fmt::format("nvmlDeviceGetMaxClockInfo({}): a maximum SM clock of 0 MHz", uuid));
    max_mhz_ = static_cast<int>(mhz);
  } catch (...) {
    detail::log_nvml_failure(t.nvmlShutdown(), "nvmlShutdown");
    throw;
  }
}

std::unique_ptr<SmClock> SmClock::open(const std::string& uuid, std::string* why) noexcept {
  try {
    auto clock = std::make_unique<SmClock>(uuid);
    if (why != nullptr) why->clear();
    return clock;
  } catch (const std::exception& e) {
    if (why != nullptr) *why = e.what();
  } catch (...) {
    if (why != nullptr) *why = "NVML unavailable: unknown error";
  }
  return nullptr;
}

SmClock::~SmClock() {
  detail::log_nvml_failure(detail::nvml().nvmlShutdown(), "nvmlShutdown");
}

int SmClock::current_mhz() const {
  unsigned mhz = 0;
  detail::check_nvml(detail::nvml().nvmlDeviceGetClockInfo(device_, detail::kNvmlClockSm, &mhz),
                     "nvmlDeviceGetClockInfo", uuid_);
  return static_cast<int>(mhz);
}

std::optional<double> SmClock::fraction() const noexcept {
  try {
    return static_cast<double>(current_mhz()) / static_cast<double>(max_mhz_);
  } catch (...) {
    return std::nullopt;
  }
}

ClockSampler SmClock::sampler() const {
  return [this] { return fraction(); };
}

}  // namespace flashtune::gpu
