#pragma once
// One `flashtune check` run (check_runner.hpp): its state and its stages. Internal to flashtune_check.
//   check_runner.cpp      setup (the worker's hello, the budget, the plan), the compile and verify stages
//   checker_sanitize.cpp  the memcheck and racecheck stages
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "check/check_plan.hpp"
#include "check/check_runner.hpp"
#include "check/top_configs.hpp"
#include "gpu/device_info.hpp"
#include "jit/compile_request.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/sram_budget.hpp"
#include "run/trial_runner.hpp"
#include "trial/trial_gate.hpp"
#include "trial/worker_session.hpp"

namespace flashtune::check::detail {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class Checker {
 public:
  Checker(const space::SearchSpace& space, const CheckOptions& options, trial::Observer& observer);
  CheckResult run();

 private:
  // check_runner.cpp
  void start_worker();
  void plan();
  void compile();
  void choose();
  void verify();
  bool runnable(const CheckConfig& c, const AttentionProblem& problem, std::string* why) const;
  run::TrialSpec spec_of(const CheckConfig& c, const AttentionProblem& problem) const;
  CheckCase make_case(const CheckConfig& c, CheckStage stage, std::string problem) const;
  void note(std::string message);
  void report(const std::string& phase);
  // checker_sanitize.cpp
  void sanitize(SanitizerTool tool);
  CheckCase sanitize_one(SanitizerTool tool, const CheckConfig& c, std::size_t index);

  const space::SearchSpace& space_;
  const CheckOptions& options_;
  trial::Observer& observer_;
  const KernelTemplate& template_;
  jit::CubinCache cubin_;
  CheckResult result_;
  Clock::time_point start_ = Clock::now();

  std::unique_ptr<trial::TrialClient> client_;
  std::optional<gpu::DeviceInfo> device_;
  std::vector<std::string> worker_argv_;
  SramPlan budget_;  // the largest of the space's budgets: the launches' limits
  CheckPlan plan_;
  std::vector<jit::CompileResult> compiled_;  // by plan_.requests
  std::vector<bool> chosen_;                  // by plan_.configs: verified and sanitized
  std::size_t verified_ = 0, trials_done_ = 0, trials_total_ = 0;
};

}  // namespace flashtune::check::detail
