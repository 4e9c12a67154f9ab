#pragma once
// The tuner's end of a trial worker (flashtune-trial-worker, trial_protocol.hpp): the tuner process never
// touches the GPU and survives its worker. A worker that dies during a trial makes that trial `crashed`; one
// that does not answer within the watchdog's time is killed and the trial is a `timeout`. Either way the next
// call starts a fresh worker and sets the current problem up in it again.
//
//   TrialClient client(default_trial_worker_command(), cubin_cache.dir());
//   TrialClient::Hello h = client.hello();           // h.device, or h.no_gpu saying why not
//   client.set_problem(problem, seed, true, 600);
//   run::TrialOutcome o = client.run(spec, 60);      // never throws for a bad kernel
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/problem.hpp"
#include "core/worker_process.hpp"
#include "gpu/device_info.hpp"
#include "run/trial_runner.hpp"

namespace flashtune::trial {

// {$FLASHTUNE_TRIAL_WORKER} when set, else executable_dir()/flashtune-trial-worker, else the build tree's.
// Throws Error(not_found) listing what was tried.
std::vector<std::string> default_trial_worker_command();

class TrialClient {
 public:
  // `argv` is the worker command; the cubin cache directory is appended as its last argument. Nothing starts
  // until the first call. `worker` applies to every worker started (its stderr, its exit grace).
  TrialClient(std::vector<std::string> argv, std::filesystem::path cubin_cache_dir,
              WorkerProcess::Options worker = {});
  ~TrialClient();  // noexcept: closes the worker's stdin, waits a moment, kills it if needed
  TrialClient(const TrialClient&) = delete;
  TrialClient& operator=(const TrialClient&) = delete;

  struct Hello {
    std::optional<gpu::DeviceInfo> device;
    std::string no_gpu;  // why there is no device, when device is empty
    // With a device: why its SM clock cannot be read (no NVML), "" when it can.
    std::string sm_clock_unavailable;
  };
  // Starts the worker and asks for its GPU. Throws Error(internal) when the worker cannot be started or
  // answers nonsense.
  Hello hello(double timeout_s = 120);

  struct ProblemReady {
    std::string reference;  // which reference the worker checks against
    double setup_ms = 0;    // inputs + reference, in the worker
  };
  // Sets the problem up in the worker, and again in every worker started later. Throws Error when the worker
  // fails to (the message is the worker's), dies or times out.
  ProblemReady set_problem(const AttentionProblem& problem, std::uint64_t seed, bool verify,
                           double timeout_s);

  // One trial with a watchdog of timeout_s. Worker death: status crashed, detail "trial worker died (...)";
  // no answer in time: the worker is killed, status timeout. Throws only when a new worker cannot be started
  // and set up.
  run::TrialOutcome run(const run::TrialSpec& spec, double timeout_s);

  // Interleaved re-measurement (TrialRunner::remeasure) with a watchdog. Throws Error on failure; the worker
  // is replaced for the next call.
  std::vector<std::vector<double>> remeasure(const std::vector<run::TrialSpec>& specs, int rounds,
                                             bool flush_l2, double timeout_s);

  // One profiled launch (TrialRunner::profile) with a watchdog. Throws Error when the worker fails, dies or
  // times out (it is replaced for the next call); counters that cannot be read are available == false.
  run::ProfileResult profile(const run::TrialSpec& spec, bool utilization, double timeout_s);

  int restarts() const { return restarts_; }  // workers started after the first

  // Ends the running worker as the destructor does (closes its stdin, waits up to the exit grace, then kills
  // it) and says how it ended ("exit status 86"); "" when no worker was running (one that died during a call
  // is described in that call's result). A later call starts a new worker.
  std::string close();

 private:
  enum class End { reply, died, timeout };
  struct Reply {
    End end = End::reply;
    nlohmann::json body;
    std::string why;  // how the worker ended, for died/timeout
  };
  Reply call(const nlohmann::json& request, double timeout_s);
  void ensure_started();
  void stop(bool kill) noexcept;

  std::vector<std::string> argv_;
  WorkerProcess::Options worker_options_;
  std::unique_ptr<WorkerProcess> proc_;
  bool started_once_ = false;
  int restarts_ = 0;
  std::optional<nlohmann::json> problem_request_;  // re-sent to every new worker
  double problem_timeout_s_ = 600;
};

}  // namespace flashtune::trial
