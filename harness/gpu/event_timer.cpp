#include "gpu/event_timer.hpp"

#include <utility>

#include "gpu/detail/driver_table.hpp"
#include "gpu/stream.hpp"

namespace flashtune::gpu {

EventTimer::EventTimer() {
  const detail::DriverTable& d = detail::driver();
  detail::check(d.cuEventCreate(&start_, CU_EVENT_DEFAULT), "cuEventCreate", "start");
  if (CUresult r = d.cuEventCreate(&stop_, CU_EVENT_DEFAULT); r != CUDA_SUCCESS) {
    destroy();
    detail::check(r, "cuEventCreate", "stop");
  }
}

EventTimer::~EventTimer() {
  destroy();
}

EventTimer::EventTimer(EventTimer&& other) noexcept
    : start_(std::exchange(other.start_, nullptr)), stop_(std::exchange(other.stop_, nullptr)) {}

EventTimer& EventTimer::operator=(EventTimer&& other) noexcept {
  if (this != &other) {
    destroy();
    start_ = std::exchange(other.start_, nullptr);
    stop_ = std::exchange(other.stop_, nullptr);
  }
  return *this;
}

void EventTimer::start(Stream& stream) {
  detail::check(detail::driver().cuEventRecord(start_, stream.native()), "cuEventRecord", "start");
}

void EventTimer::stop(Stream& stream) {
  detail::check(detail::driver().cuEventRecord(stop_, stream.native()), "cuEventRecord", "stop");
}

double EventTimer::elapsed_ms() const {
  const detail::DriverTable& d = detail::driver();
  detail::check(d.cuEventSynchronize(stop_), "cuEventSynchronize", "stop");
  float ms = 0.0f;
  detail::check(d.cuEventElapsedTime(&ms, start_, stop_), "cuEventElapsedTime");
  return static_cast<double>(ms);
}

void EventTimer::destroy() noexcept {
  if (start_ == nullptr && stop_ == nullptr) return;
  const detail::DriverTable& d = detail::driver();
  if (start_ != nullptr) detail::log_failure(d.cuEventDestroy(start_), "cuEventDestroy", "start");
  if (stop_ != nullptr) detail::log_failure(d.cuEventDestroy(stop_), "cuEventDestroy", "stop");
  start_ = nullptr;
  stop_ = nullptr;
}

}  // namespace flashtune::gpu
