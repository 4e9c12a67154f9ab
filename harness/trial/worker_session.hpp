#pragma once
// The first step of every command that measures (tune, check): start the trial worker and ask for its GPU.
// With one, the session holds the client and the device; without (no driver, no device), the worker is gone
// and `no_gpu` says why, so that the command still does its compile-time work.
//
//   WorkerSession s = start_trial_worker(options.trial_worker, cubin.dir());
//   if (!s.client) note("no GPU: " + s.no_gpu);
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gpu/device_info.hpp"
#include "trial/trial_client.hpp"

namespace flashtune::trial {

struct WorkerSession {
  std::vector<std::string> argv;        // the worker's command (sanitizers wrap it)
  std::unique_ptr<TrialClient> client;  // null without a GPU
  std::optional<gpu::DeviceInfo> device;
  std::string no_gpu;                // why there is no GPU, when there is none
  std::string sm_clock_unavailable;  // with a GPU: why its SM clock cannot be read (no NVML); "" when it can
};

// `argv` empty: default_trial_worker_command(). Throws what TrialClient's constructor throws (a worker that
// cannot be started).
WorkerSession start_trial_worker(const std::vector<std::string>& argv,
                                 const std::filesystem::path& cubin_dir);

}  // namespace flashtune::trial
