#pragma once
// One `tune` run (tuner.hpp): its state and its steps. Internal to flashtune_tune.
//   sweep_plan.cpp     the trial worker's hello, the budgets, problems -> candidates -> compile requests, the
//                      results-cache check, the compile-only path
//   sweep_measure.cpp  per problem: compile facts -> gates -> trials -> the top k re-measured -> the winner
//   tuner.cpp          run(): the order of the steps
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gpu/device_info.hpp"
#include "gpu/timing_stats.hpp"
#include "jit/compile_request.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/sram_budget.hpp"
#include "run/instance.hpp"
#include "store/records.hpp"
#include "store/result_store.hpp"
#include "trial/trial_gate.hpp"
#include "trial/worker_session.hpp"
#include "tune/async_compiler.hpp"
#include "tune/tuner.hpp"

namespace flashtune::tune::detail {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Budget {
  std::int64_t bytes = 0;  // resolved per-block limit
  std::string label;
  SramPlan plan;
};

struct Candidate {
  run::Instance instance;   // the configuration on the plan's problem
  std::size_t request = 0;  // index of its compile request (all the template's kernels)
  const ParamValues& params() const { return instance.params(); }
};

// A configuration whose shared memory is over every budget: never compiled, stored as resource_exceeded.
struct OverBudget {
  ParamValues params;
  std::string detail;
};

struct ProblemPlan {
  AttentionProblem problem;
  std::vector<Candidate> candidates;
  std::vector<OverBudget> over_budget;
  bool race = false;
};

// An ok trial of one (problem, budget) group: a contender for the top k.
struct Contender {
  std::int64_t trial_id = 0;
  double median_ms = 0;
  const Candidate* candidate = nullptr;
  int blocks_per_sm = 0;
  store::TrialRecord counters;  // its hardware-counter fields (profiled ... counters_json), as stored
};

// A top-k trial waiting for its utilization profile (batched per problem: switching CUPTI's metric set is
// slow).
struct PendingUtilization {
  std::int64_t trial_id = 0;
  run::TrialSpec spec;
  store::TrialRecord counters;
};

// What identifies a trial within a sweep: the problem, the resolved budget and the parameters.
std::string trial_key(const AttentionProblem& p, std::int64_t smem_budget, const ParamValues& params);
gpu::TimingOptions timing_of(const space::MeasureSettings& m);
double median(std::vector<double> xs);

class Sweep {
 public:
  Sweep(const space::SearchSpace& space, const TuneOptions& options, trial::Observer& observer);
  TuneSummary run();

 private:
  // sweep_plan.cpp
  void start_worker();
  void resolve_budgets();
  void plan_problems();
  bool answer_from_cache();
  void compile_only();
  // sweep_measure.cpp
  void measure();
  void measure_problem(std::size_t pi);
  void finish_group(const ProblemPlan& plan, const Budget& budget, std::vector<Contender>& contenders);
  store::TrialRecord base_record(const ProblemPlan& plan, const Candidate& c, const Budget& b,
                                 const jit::CompileResult& r, const std::vector<trial::KernelFacts>& f) const;
  std::vector<trial::KernelFacts> facts_of(const Candidate& c, const jit::CompileResult& r) const;
  run::TrialSpec spec_of(const Candidate& c, const jit::CompileResult& r, const Budget& b) const;
  store::BestKey best_key(const AttentionProblem& p, const Budget& b) const;
  void count(const store::TrialRecord& t);
  void store_over_budget(const ProblemPlan& plan);
  // A sweep to continue (--resume): loads its trials into done_; false when there is none.
  bool resume_sweep();
  // One profiled launch into t's counter fields (traffic), or with `utilization` its SM and tensor-pipe
  // utilization merged into t.counters_json; false when counters are unavailable.
  bool profile_into(store::TrialRecord& t, const run::TrialSpec& spec, bool utilization);
  void report(const std::string& phase, double best_tflops = 0, const std::string& best = {});

  const space::SearchSpace& space_;
  const TuneOptions& options_;
  trial::Observer& observer_;
  const KernelTemplate& template_;
  jit::CubinCache cubin_;
  space::StrategySettings strategy_;
  TuneSummary summary_;
  Clock::time_point start_ = Clock::now();

  std::unique_ptr<trial::TrialClient> client_;
  std::optional<gpu::DeviceInfo> device_;
  SmLimits limits_;
  std::string arch_;
  std::string source_hash_;
  int nvrtc_ = 0;
  std::vector<Budget> budgets_;  // largest first
  std::vector<ProblemPlan> plans_;
  run::CompileRequests requests_;
  std::unique_ptr<AsyncCompiler> compiler_;
  std::unique_ptr<store::ResultStore> store_;

  std::string reference_;          // the current problem's reference, as the worker reports it
  bool counters_readable_ = true;  // until the worker says it cannot read hardware counters
  std::vector<PendingUtilization> pending_utilization_;
  // --resume: the trials the resumed sweep stored before, by trial_key().
  std::map<std::string, store::TrialRecord> done_;
  std::size_t trials_total_ = 0, trials_done_ = 0, verified_ = 0, timed_ = 0;
  Clock::time_point gpu_start_;
};

}  // namespace flashtune::tune::detail
