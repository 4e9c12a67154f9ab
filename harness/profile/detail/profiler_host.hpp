#pragma once
// CUPTI's profiler host API (cupti_profiler_host.h) as one RAII object: metric names checked and scheduled
// into a configuration image for a chip, and decoded counter data evaluated into metric values. It needs no
// GPU, no driver and no CUDA context: the chip name ("GH100") is enough. Only harness/profile .cpp files
// include this header.
#include <cupti_profiler_host.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace flashtune::profile::detail {

class ProfilerHost {
 public:
  // `availability` is the device's counter availability image (cuptiProfilerGetCounterAvailability), or empty
  // when there is no device. An unknown chip throws Error(invalid_argument) naming it and the chips this
  // CUPTI knows.
  explicit ProfilerHost(const std::string& chip, std::span<const std::uint8_t> availability = {});
  ~ProfilerHost();
  ProfilerHost(const ProfilerHost&) = delete;
  ProfilerHost& operator=(const ProfilerHost&) = delete;

  const std::string& chip() const noexcept { return chip_; }

  // Checks every name and schedules all of them together (one call: adding them one by one schedules each
  // on its own and needs more passes). Throws Error(invalid_argument) naming the first metric this chip does
  // not have or cannot collect ("dram__bytes_read" without a rollup such as ".sum"). Call once.
  void add_metrics(const std::vector<std::string>& metrics);

  // The configuration image of the added metrics (the schedule of their counters over replay passes).
  std::vector<std::uint8_t> config_image() const;

  // The replay passes a configuration image needs.
  static int passes(std::vector<std::uint8_t>& image);

  // The values of `metrics` (names as added) for range `range` of a decoded counter data image, in order.
  std::vector<double> evaluate(std::span<const std::uint8_t> counter_data, std::size_t range,
                               std::span<const char* const> metrics) const;

 private:
  std::string chip_;
  CUpti_Profiler_Host_Object* host_ = nullptr;
};

// The chips this CUPTI's host API knows ("GA100", "GH100", ...).
std::vector<std::string> supported_chips();

}  // namespace flashtune::profile::detail
