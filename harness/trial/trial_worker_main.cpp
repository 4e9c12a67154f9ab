// flashtune-trial-worker CUBIN_CACHE_DIR: the process that owns one GPU for a sweep (trial_protocol.hpp).
//
// The tuner never creates a CUDA context: it sends this worker one request per line and reads one reply per
// line. A kernel that faults poisons the CUDA context of its process; the worker then replies, exits with
// status 3, and the tuner starts a new one. A kernel that hangs is the tuner's to kill (its watchdog).
// Nothing but replies goes to stdout; diagnostics go to stderr. Exit status: 0 at end of input, 2 on bad
// usage, 3 after a poisoned context.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "gpu/driver_api.hpp"
#include "run/trial_runner.hpp"
#include "trial/trial_protocol.hpp"

namespace {

using nlohmann::json;
using namespace flashtune;

struct Worker {
  std::string cache_dir;
  std::unique_ptr<run::TrialRunner> runner;
  bool poisoned = false;

  json hello() {
    std::string why;
    if (!gpu::gpu_available(&why)) return json{{"ok", false}, {"no_gpu", true}, {"error", why}};
    if (!runner) runner = std::make_unique<run::TrialRunner>(cache_dir);
    return json{{"ok", true},
                {"device", trial::to_json(runner->device())},
                {"sm_clock_unavailable", runner->sm_clock_unavailable()}};
  }

  run::TrialRunner& gpu() {
    if (!runner) runner = std::make_unique<run::TrialRunner>(cache_dir);
    return *runner;
  }

  json handle(const json& request) {
    const std::string op = request.at("op").get<std::string>();
    if (op == "hello") return hello();
    if (op == "problem") {
      const auto t0 = std::chrono::steady_clock::now();
      gpu().set_problem(trial::problem_from_json(request.at("problem")),
                        request.at("seed").get<std::uint64_t>(), request.at("verify").get<bool>());
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      return json{{"ok", true}, {"reference", runner->problem()->reference_source()}, {"setup_ms", ms}};
    }
    if (op == "trial") {
      const run::TrialOutcome o = gpu().run(trial::spec_from_json(request.at("spec")));
      poisoned = o.context_poisoned;
      return json{{"ok", true}, {"outcome", trial::to_json(o)}};
    }
    if (op == "remeasure") {
      std::vector<run::TrialSpec> specs;
      for (const json& s : request.at("specs")) specs.push_back(trial::spec_from_json(s));
      return json{{"ok", true},
                  {"samples", gpu().remeasure(specs, request.at("rounds").get<int>(),
                                              request.at("flush_l2").get<bool>())}};
    }
    if (op == "profile")
      return json{{"ok", true},
                  {"profile", trial::to_json(gpu().profile(trial::spec_from_json(request.at("spec")),
                                                           request.value("utilization", false)))}};
    throw Error(ErrorKind::invalid_argument, "unknown op '" + op + "'");
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr,
                 "usage: flashtune-trial-worker CUBIN_CACHE_DIR  (requests on stdin, one JSON line each)\n");
    return 2;
  }
  std::ios::sync_with_stdio(false);
  Worker w{argv[1], nullptr};
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json reply;
    try {
      reply = w.handle(json::parse(line));
    } catch (const gpu::DriverError& e) {
      w.poisoned = e.poisons_context();
      reply = json{{"ok", false}, {"error", e.what()}, {"poisoned", w.poisoned}};
    } catch (const std::exception& e) {
      reply = json{{"ok", false}, {"error", e.what()}, {"poisoned", false}};
    }
    std::cout << reply.dump(-1, ' ', false, json::error_handler_t::replace) << '\n' << std::flush;
    if (w.poisoned) {
      std::fprintf(stderr, "flashtune-trial-worker: the CUDA context is poisoned; exiting for a restart\n");
      std::_Exit(3);  // no destructors: every CUDA call would fail now
    }
  }
  return 0;
}
