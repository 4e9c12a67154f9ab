#include <fmt/format.h>
#include "tune/detail/sweep.hpp"

#include <algorithm>
#include <map>

#include "core/error.hpp"
#include "jit/cache_key.hpp"
#include "jit/nvrtc_program.hpp"
#include "run/kernel_loader.hpp"
#include "space/enumerate.hpp"
#include "trial/trial_protocol.hpp"
#include "tune/strategy.hpp"

namespace flashtune::tune::detail {

std::string trial_key(const AttentionProblem& p, std::int64_t smem_budget, const ParamValues& params) {
  return fmt::format("{} scale={} | {} | {}", p.to_string(), p.softmax_scale, smem_budget, to_string(params));
}

gpu::TimingOptions timing_of(const space::MeasureSettings& m) {
  gpu::TimingOptions t;
  t.warmup = m.warmup;
  t.min_samples = m.min_samples;
  t.max_samples = m.max_samples;
  t.min_gpu_time_s = m.min_time_s;
  t.max_noise = m.max_noise;
  t.timeout_s = m.timeout_s;
  t.flush_l2 = m.flush_l2;
  t.throttle_threshold = m.throttle_threshold;
  t.throttle_retries = m.throttle_retries;
  return t;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  return n == 0 ? 0 : (n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]));
}

void Sweep::start_worker() {
  if (options_.compile_only) {
    summary_.no_gpu = "--compile-only";
    return;
  }
  trial::WorkerSession s = trial::start_trial_worker(options_.trial_worker, cubin_.dir());
  client_ = std::move(s.client);
  device_ = s.device;
  if (device_)
    summary_.gpu = device_->identity();
  else
    summary_.no_gpu = s.no_gpu;
  summary_.sm_clock_note = device_ ? s.sm_clock_unavailable : "";
  if (!summary_.sm_clock_note.empty())
    observer_.note(
        fmt::format("the SM clock cannot be read ({}): trials are timed without the throttling "
                    "check, and their clock fraction is unknown",
                    s.sm_clock_unavailable));
}

void Sweep::resolve_budgets() {
  for (const space::SramBudget& b : space_.sram_budgets) {
    Budget r;
    r.label = b.label();
    r.bytes = b.is_max() ? limits_.smem_optin_per_block
                         : std::min<std::int64_t>(b.bytes, limits_.smem_optin_per_block);
    if (!b.is_max() && b.bytes > limits_.smem_optin_per_block)
      observer_.note(fmt::format("SRAM budget {} ({}) is over this GPU's {} B opt-in limit: clamped", r.label,
                                 b.where.to_string(), limits_.smem_optin_per_block));
    const bool duplicate =
        std::any_of(budgets_.begin(), budgets_.end(), [&](const Budget& o) { return o.bytes == r.bytes; });
    if (duplicate) {
      observer_.note(
          fmt::format("SRAM budget {} is the same {} B as another: measured once", r.label, r.bytes));
      continue;
    }
    r.plan = plan_sram_budget(r.bytes, limits_);
    budgets_.push_back(r);
  }
  std::sort(budgets_.begin(), budgets_.end(),
            [](const Budget& a, const Budget& b) { return a.bytes > b.bytes; });
  summary_.budgets = budgets_.size();
}

void Sweep::plan_problems() {
  requests_ = run::CompileRequests(arch_);
  for (std::size_t pi = 0; pi < space_.problems.size(); ++pi) {
    ProblemPlan plan;
    plan.problem = space_.problems[pi];
    const space::Enumeration e = space::enumerate(space_, plan.problem);
    summary_.combinations = e.total;
    summary_.pruned_constraint += e.pruned.size();
    std::vector<run::Instance> valid;
    for (const ParamValues& v : e.kept) {
      std::optional<run::Instance> inst = run::Instance::try_make(template_, v, plan.problem, nullptr);
      if (!inst) {
        ++summary_.pruned_template;
      } else if (inst->smem_bytes() > budgets_.front().plan.per_block_limit) {
        ++summary_.pruned_over_budget;
        plan.over_budget.push_back(
            {v, fmt::format(
                    "{} B of shared memory: over every SRAM budget (the largest allows {} B); not compiled",
                    inst->smem_bytes(), budgets_.front().plan.per_block_limit)});
      } else {
        valid.push_back(std::move(*inst));
      }
    }
    const Selection sel = select_configs(strategy_, valid.size(), pi);
    summary_.pruned_strategy += valid.size() - sel.order.size();
    plan.race = sel.race;
    for (std::size_t k : sel.order) {
      const std::size_t request = requests_.add(valid[k]);
      plan.candidates.push_back(Candidate{std::move(valid[k]), request});
    }
    trials_total_ += (plan.candidates.size() + plan.over_budget.size()) * budgets_.size();
    plans_.push_back(std::move(plan));
  }
  summary_.problems = plans_.size();
  summary_.kernels = requests_.size();
}

store::BestKey Sweep::best_key(const AttentionProblem& p, const Budget& b) const {
  return store::BestKey{*summary_.gpu, std::string(template_.id()), source_hash_, nvrtc_,
                        store::ProblemKey::of(p, b.bytes)};
}

bool Sweep::answer_from_cache() {
  std::vector<Winner> winners;
  for (const ProblemPlan& plan : plans_)
    for (const Budget& b : budgets_) {
      const std::optional<store::BestEntry> e = store_->find_best(best_key(plan.problem, b));
      if (!e) return false;
      Winner w;
      w.problem = plan.problem;
      w.smem_budget = b.bytes;
      w.budget_label = b.label;
      w.params = e->params;
      w.median_ms = e->median_ms;
      w.tflops = plan.problem.flops() / (e->median_ms * 1e-3) / 1e12;
      w.trial_id = e->trial_id;
      w.from_cache = true;
      winners.push_back(std::move(w));
    }
  summary_.winners = std::move(winners);
  summary_.from_cache = true;
  observer_.note(
      fmt::format("results cache: all {} (problem, budget) pairs answered for {} ({}); nothing to measure "
                  "(--force measures anyway)",
                  summary_.winners.size(), summary_.gpu->name, store_->path().string()));
  return true;
}

void Sweep::compile_only() {
  for (std::size_t pi = 0; pi < plans_.size(); ++pi) {
    const ProblemPlan& plan = plans_[pi];
    summary_.trials_by_status["resource_exceeded"] += plan.over_budget.size() * budgets_.size();
    summary_.trials += plan.over_budget.size() * budgets_.size();
    for (const Candidate& c : plan.candidates) {
      const jit::CompileResult& r = compiler_->wait(c.request);
      report(fmt::format("compiling ({} of {} problems)", pi + 1, plans_.size()));
      const std::vector<trial::KernelFacts> f = facts_of(c, r);
      for (const Budget& b : budgets_) {
        const trial::Gate g = trial::gate_trial(f, b.plan, space_.prune);
        ++summary_.trials_by_status[g.failed ? std::string(to_string(*g.failed)) : "needs_gpu"];
        ++summary_.trials;
      }
    }
  }
}

}  // namespace flashtune::tune::detail
