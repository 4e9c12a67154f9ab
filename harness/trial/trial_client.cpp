#include "trial/trial_client.hpp"

#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/worker_process.hpp"
#include "trial/trial_protocol.hpp"

namespace flashtune::trial {
namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> default_trial_worker_command() {
#ifdef FLASHTUNE_BUILD_TRIAL_WORKER
  const fs::path build = FLASHTUNE_BUILD_TRIAL_WORKER;
#else
  const fs::path build;
#endif
  return find_helper_command("FLASHTUNE_TRIAL_WORKER", "flashtune-trial-worker", build);
}

TrialClient::TrialClient(std::vector<std::string> argv, fs::path cubin_cache_dir,
                         WorkerProcess::Options worker)
    : argv_(std::move(argv)), worker_options_(std::move(worker)) {
  argv_.push_back(cubin_cache_dir.string());
}

TrialClient::~TrialClient() {
  stop(false);
}

std::string TrialClient::close() {
  if (!proc_) return "";
  std::string ended = proc_->finish(false);
  proc_.reset();
  return ended;
}

void TrialClient::stop(bool kill) noexcept {
  if (!proc_) return;
  try {
    proc_->finish(kill);
  } catch (...) {
  }
  proc_.reset();
}

void TrialClient::ensure_started() {
  if (proc_) return;
  proc_ = std::make_unique<WorkerProcess>(argv_, worker_options_);
  if (started_once_) ++restarts_;
  started_once_ = true;
  if (!problem_request_) return;
  // A fresh worker: set the current problem up again before anything else.
  const Reply r = call(*problem_request_, problem_timeout_s_);
  if (r.end != End::reply || !r.body.value("ok", false))
    throw Error(ErrorKind::internal,
                fmt::format("a restarted trial worker could not set the problem up: {}",
                            r.end == End::reply ? r.body.value("error", std::string("?")) : r.why));
}

TrialClient::Reply TrialClient::call(const json& request, double timeout_s) {
  ensure_started();
  Reply reply;
  const std::string line = request.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!proc_->send_line(line)) {
    reply.end = End::died;
    reply.why = proc_->finish(false);
    proc_.reset();
    return reply;
  }
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (true) {
    if (std::optional<std::string> got = proc_->take_line()) {
      try {
        reply.body = json::parse(*got);
        return reply;
      } catch (const json::exception&) {
        reply.end = End::died;
        reply.why = "garbled reply '" + got->substr(0, 200) + "'; " + proc_->finish(true);
        proc_.reset();
        return reply;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      reply.end = End::timeout;
      reply.why = fmt::format("no reply in {:.0f} s; killed ({})", timeout_s, proc_->finish(true));
      proc_.reset();
      return reply;
    }
    pollfd fd{proc_->stdout_fd(), POLLIN, 0};
    const int n = ::poll(&fd, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno != EINTR)
      throw Error(ErrorKind::internal, std::string("poll: ") + std::strerror(errno));
    if (n > 0 && !proc_->read_available() && (proc_->overflowed() || !proc_->has_line())) {
      reply.end = End::died;
      reply.why = proc_->overflowed()
                      ? "a reply line over the size limit; killed (" + proc_->finish(true) + ")"
                      : proc_->finish(false);
      proc_.reset();
      return reply;
    }
  }
}

TrialClient::Hello TrialClient::hello(double timeout_s) {
  const Reply r = call(json{{"op", "hello"}}, timeout_s);
  if (r.end != End::reply) throw Error(ErrorKind::internal, "trial worker: no answer to hello: " + r.why);
  Hello h;
  try {
    if (r.body.at("ok").get<bool>()) {
      h.device = device_from_json(r.body.at("device"));
      h.sm_clock_unavailable = r.body.value("sm_clock_unavailable", std::string());
    } else {
      h.no_gpu = r.body.value("error", std::string("no GPU"));
    }
  } catch (const json::exception& e) {
    throw Error(ErrorKind::internal, std::string("trial worker: bad hello reply: ") + e.what());
  }
  return h;
}

TrialClient::ProblemReady TrialClient::set_problem(const AttentionProblem& problem, std::uint64_t seed,
                                                   bool verify, double timeout_s) {
  problem_request_.reset();  // a worker started by this call must not set the problem up twice
  const json request{{"op", "problem"}, {"problem", to_json(problem)}, {"seed", seed}, {"verify", verify}};
  const Reply r = call(request, timeout_s);
  if (r.end != End::reply)
    throw Error(ErrorKind::internal,
                fmt::format("trial worker ended setting up {}: {}", problem.to_string(), r.why));
  if (!r.body.value("ok", false))
    throw Error(ErrorKind::driver, fmt::format("trial worker could not set up {}: {}", problem.to_string(),
                                               r.body.value("error", std::string("?"))));
  problem_request_ = request;
  problem_timeout_s_ = timeout_s;
  return ProblemReady{r.body.value("reference", std::string()), r.body.value("setup_ms", 0.0)};
}

run::TrialOutcome TrialClient::run(const run::TrialSpec& spec, double timeout_s) {
  const Reply r = call(json{{"op", "trial"}, {"spec", to_json(spec)}}, timeout_s);
  run::TrialOutcome o;
  if (r.end == End::died) {
    o.status = TrialStatus::crashed;
    o.detail = fmt::format("trial worker died during {} ({}); restarted", spec.label, r.why);
    return o;
  }
  if (r.end == End::timeout) {
    o.status = TrialStatus::timeout;
    o.detail = fmt::format("{}: {}", spec.label, r.why);
    return o;
  }
  try {
    if (!r.body.at("ok").get<bool>()) {
      o.status = r.body.value("poisoned", false) ? TrialStatus::crashed : TrialStatus::launch_error;
      o.detail = r.body.value("error", std::string("?"));
      if (r.body.value("poisoned", false)) stop(false);
      return o;
    }
    o = outcome_from_json(r.body.at("outcome"));
  } catch (const std::exception& e) {
    stop(true);
    o = {};
    o.status = TrialStatus::crashed;
    o.detail = std::string("trial worker: bad reply: ") + e.what();
    return o;
  }
  if (o.context_poisoned) stop(false);  // it exits by itself; reap it now
  return o;
}

std::vector<std::vector<double>> TrialClient::remeasure(const std::vector<run::TrialSpec>& specs, int rounds,
                                                        bool flush_l2, double timeout_s) {
  json list = json::array();
  for (const run::TrialSpec& s : specs) list.push_back(to_json(s));
  const Reply r =
      call(json{{"op", "remeasure"}, {"specs", list}, {"rounds", rounds}, {"flush_l2", flush_l2}}, timeout_s);
  if (r.end != End::reply)
    throw Error(ErrorKind::internal, "trial worker ended while re-measuring: " + r.why);
  if (!r.body.value("ok", false)) {
    if (r.body.value("poisoned", false)) stop(false);
    throw Error(ErrorKind::driver, "re-measuring failed: " + r.body.value("error", std::string("?")));
  }
  return r.body.at("samples").get<std::vector<std::vector<double>>>();
}

run::ProfileResult TrialClient::profile(const run::TrialSpec& spec, bool utilization, double timeout_s) {
  const Reply r =
      call(json{{"op", "profile"}, {"spec", to_json(spec)}, {"utilization", utilization}}, timeout_s);
  if (r.end != End::reply) throw Error(ErrorKind::internal, "trial worker ended while profiling: " + r.why);
  if (!r.body.value("ok", false)) {
    if (r.body.value("poisoned", false)) stop(false);
    throw Error(ErrorKind::driver,
                "profiling " + spec.label + " failed: " + r.body.value("error", std::string("?")));
  }
  try {
    return profile_from_json(r.body.at("profile"));
  } catch (const json::exception& e) {
    throw Error(ErrorKind::internal, std::string("trial worker: bad profile reply: ") + e.what());
  }
}

}  // namespace flashtune::trial
