#include "tune/tuner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "core/error.hpp"
#include "jit/cache_key.hpp"
#include "jit/cubin_cache.hpp"
#include "jit/nvrtc_program.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/sram_budget.hpp"
#include "run/kernel_loader.hpp"
#include "space/enumerate.hpp"
#include "store/result_store.hpp"
#include "tune/async_compiler.hpp"
#include "tune/strategy.hpp"
#include "tune/trial_client.hpp"
#include "tune/trial_gate.hpp"
#include "tune/trial_protocol.hpp"

namespace flashtune::tune {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Budget {
  std::int64_t bytes = 0;  // resolved per-block limit
  std::string label;
  SramPlan plan;
};

struct Candidate {
  ParamValues params;
  std::size_t request = 0;  // index of its compile request
  KernelLaunch launch;
  std::string label;  // "fa2_fwd block_m=128 ... (d128 bf16)"
};

struct ProblemPlan {
  AttentionProblem problem;
  std::vector<Candidate> candidates;
  bool race = false;
};

// An ok trial of one (problem, budget) group: a contender for the top k.
struct Contender {
  std::int64_t trial_id = 0;
  double median_ms = 0;
  const Candidate* candidate = nullptr;
  int blocks_per_sm = 0;
};

SmLimits limits_of(const gpu::DeviceInfo& d) {
  SmLimits l = sm_limits_for(d.cc_major, d.cc_minor);
  l.registers = d.regs_per_sm;
  l.smem_bytes = d.smem_per_sm;
  l.smem_optin_per_block = d.smem_optin_per_block;
  l.smem_reserved_per_block = d.smem_reserved_per_block;
  l.threads = d.max_threads_per_sm;
  l.blocks = d.max_blocks_per_sm;
  return l;
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
  return t;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  return n == 0 ? 0 : (n % 2 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]));
}

class Sweep {
 public:
  Sweep(const space::SearchSpace& space, const TuneOptions& options, TuneObserver& observer)
      : space_(space),
        options_(options),
        observer_(observer),
        template_(find_template(space.template_id)),
        cubin_(options.cubin_dir.empty() ? jit::CubinCache() : jit::CubinCache(options.cubin_dir)) {
    strategy_ = space.strategy;
    if (options.strategy) strategy_.kind = *options.strategy;
    if (options.seed) strategy_.seed = *options.seed;
    if (options.random_budget) strategy_.budget = *options.random_budget;
  }

  TuneSummary run();

 private:
  void start_worker();
  void resolve_budgets();
  void plan_problems();
  bool answer_from_cache();
  void compile_only();
  void measure();
  void measure_problem(std::size_t pi);
  void finish_group(const ProblemPlan& plan, const Budget& budget, std::vector<Contender>& contenders);
  store::TrialRecord base_record(const ProblemPlan& plan, const Candidate& c, const Budget& b,
                                 const jit::CompileResult& r, const KernelFacts& f) const;
  KernelFacts facts_of(const Candidate& c, const jit::CompileResult& r) const;
  store::BestKey best_key(const AttentionProblem& p, const Budget& b) const;
  void count(const store::TrialRecord& t);
  void report(const std::string& phase, double best_tflops = 0, const std::string& best = {});

  const space::SearchSpace& space_;
  const TuneOptions& options_;
  TuneObserver& observer_;
  const KernelTemplate& template_;
  jit::CubinCache cubin_;
  space::StrategySettings strategy_;
  TuneSummary summary_;
  Clock::time_point start_ = Clock::now();

  std::unique_ptr<TrialClient> client_;
  std::optional<gpu::DeviceInfo> device_;
  SmLimits limits_;
  std::string arch_;
  std::string source_hash_;
  int nvrtc_ = 0;
  std::vector<Budget> budgets_;  // largest first
  std::vector<ProblemPlan> plans_;
  std::vector<jit::CompileRequest> requests_;
  std::vector<std::string> request_exprs_;
  std::unique_ptr<AsyncCompiler> compiler_;
  std::unique_ptr<store::ResultStore> store_;

  std::string reference_;  // the current problem's reference, as the worker reports it
  std::size_t trials_total_ = 0, trials_done_ = 0, verified_ = 0, timed_ = 0;
  double gpu_loop_s_ = 0;
  Clock::time_point gpu_start_;
};

void Sweep::report(const std::string& phase, double best_tflops, const std::string& best) {
  TuneProgress p;
  p.phase = phase;
  p.compiled = compiler_ ? compiler_->done() : 0;
  p.to_compile = requests_.size();
  p.verified = verified_;
  p.timed = timed_;
  p.trials_done = trials_done_;
  p.trials_total = trials_total_;
  p.best_tflops = best_tflops;
  p.best_label = best;
  if (trials_done_ > 0 && gpu_start_ != Clock::time_point{}) {
    const double per_trial = seconds_since(gpu_start_) / static_cast<double>(trials_done_);
    p.eta_s = per_trial * static_cast<double>(trials_total_ - trials_done_);
  }
  observer_.progress(p);
}

void Sweep::start_worker() {
  if (options_.compile_only) {
    summary_.no_gpu = "--compile-only";
    return;
  }
  client_ = std::make_unique<TrialClient>(
      options_.trial_worker.empty() ? default_trial_worker_command() : options_.trial_worker, cubin_.dir());
  TrialClient::Hello h = client_->hello();
  if (h.device) {
    device_ = *h.device;
    summary_.gpu = identity_of(*device_);
  } else {
    summary_.no_gpu = h.no_gpu;
    client_.reset();
  }
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
  std::map<std::string, std::size_t> request_of;  // name expression -> request index
  for (std::size_t pi = 0; pi < space_.problems.size(); ++pi) {
    ProblemPlan plan;
    plan.problem = space_.problems[pi];
    const ProblemVariant variant = variant_of(plan.problem);
    const space::Enumeration e = space::enumerate(space_, plan.problem);
    summary_.combinations = e.total;
    summary_.pruned_constraint += e.pruned.size();
    std::vector<const ParamValues*> valid;
    for (const ParamValues& v : e.kept) {
      if (template_.invalid_reason(v, variant)) {
        ++summary_.pruned_template;
      } else if (template_.smem_bytes(v, variant) > budgets_.front().plan.per_block_limit) {
        ++summary_.pruned_over_budget;
      } else {
        valid.push_back(&v);
      }
    }
    const Selection sel = select_configs(strategy_, valid.size(), pi);
    summary_.pruned_strategy += valid.size() - sel.order.size();
    plan.race = sel.race;
    for (std::size_t k : sel.order) {
      Candidate c;
      c.params = *valid[k];
      const std::string expr = template_.name_expression(c.params, variant);
      auto [it, inserted] = request_of.emplace(expr, requests_.size());
      if (inserted) {
        requests_.push_back(run::make_request(std::string(template_.source_file()), expr, arch_));
        request_exprs_.push_back(expr);
      }
      c.request = it->second;
      c.launch = template_.launch(c.params, plan.problem);
      c.label = fmt::format("{} {} ({})", template_.id(), to_string(c.params), to_string(variant));
      plan.candidates.push_back(std::move(c));
    }
    trials_total_ += plan.candidates.size() * budgets_.size();
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

KernelFacts Sweep::facts_of(const Candidate& c, const jit::CompileResult& r) const {
  KernelFacts f;
  f.compiled = r.ok;
  f.log = r.log;
  f.dynamic_smem = c.launch.dynamic_smem;
  f.threads = static_cast<int>(c.launch.threads);
  if (r.ok) {
    auto it = r.lowered_names.find(request_exprs_[c.request]);
    if (it != r.lowered_names.end())
      if (const jit::PtxasInfo* p = r.ptxas_for(it->second)) {
        f.registers = p->registers;
        f.spill_bytes = p->spill_store_bytes + p->spill_load_bytes;
        f.static_smem = p->static_smem_bytes;
      }
  }
  return f;
}

void Sweep::count(const store::TrialRecord& t) {
  ++summary_.trials_by_status[std::string(to_string(t.status))];
  ++summary_.trials;
  ++trials_done_;
  if (t.stop == "raced_out") ++summary_.raced_out;
}

void Sweep::compile_only() {
  for (std::size_t pi = 0; pi < plans_.size(); ++pi) {
    const ProblemPlan& plan = plans_[pi];
    for (const Candidate& c : plan.candidates) {
      const jit::CompileResult& r = compiler_->wait(c.request);
      report(fmt::format("compiling ({} of {} problems)", pi + 1, plans_.size()));
      const KernelFacts f = facts_of(c, r);
      for (const Budget& b : budgets_) {
        const Gate g = gate_trial(f, b.plan, space_.prune);
        ++summary_.trials_by_status[g.failed ? std::string(to_string(*g.failed)) : "needs_gpu"];
        ++summary_.trials;
      }
    }
  }
}

store::TrialRecord Sweep::base_record(const ProblemPlan& plan, const Candidate& c, const Budget& b,
                                      const jit::CompileResult& r, const KernelFacts& f) const {
  store::TrialRecord t;
  t.sweep_id = summary_.sweep_id;
  t.problem = plan.problem;
  t.smem_budget = b.bytes;
  t.template_id = std::string(template_.id());
  t.params = c.params;
  t.registers = f.registers;
  t.spill_bytes = f.spill_bytes;
  t.smem_bytes = f.smem_total();
  t.carveout_percent = b.plan.carveout_percent;
  t.compile_ms = r.compile_ms;
  t.cache_key = r.cache_key;
  return t;
}

void Sweep::measure_problem(std::size_t pi) {
  const ProblemPlan& plan = plans_[pi];
  const std::string phase = fmt::format("problem {}/{}: {}", pi + 1, plans_.size(), plan.problem.to_string());
  report(phase);
  const auto t_setup = Clock::now();
  reference_ = client_->set_problem(plan.problem, strategy_.seed, space_.measure.verify, 600).reference;
  summary_.setup_s += seconds_since(t_setup);

  const gpu::TimingOptions timing = timing_of(space_.measure);
  std::vector<std::vector<Contender>> contenders(budgets_.size());
  std::vector<double> best_ms(budgets_.size(), 0);
  std::string best_label;
  for (const Candidate& c : plan.candidates) {
    const auto t_wait = Clock::now();
    const jit::CompileResult& r = compiler_->wait(c.request);
    summary_.compile_wait_s += seconds_since(t_wait);
    const KernelFacts f = facts_of(c, r);
    std::map<int, store::TrialRecord> measured;  // by modeled blocks/SM: the GPU trials of this configuration
    for (std::size_t bi = 0; bi < budgets_.size(); ++bi) {
      const Budget& b = budgets_[bi];
      store::TrialRecord t = base_record(plan, c, b, r, f);
      const Gate g = gate_trial(f, b.plan, space_.prune);
      if (g.failed) {
        t.status = *g.failed;
        t.detail = g.detail;
      } else if (auto it = measured.find(g.fit.blocks_per_sm);
                 space_.measure.share_equal_occupancy && it != measured.end()) {
        const store::TrialRecord& m = it->second;
        t.status = m.status;
        t.detail = fmt::format("timed under the {} B budget (same {} blocks/SM){}{}", m.timed_budget,
                               g.fit.blocks_per_sm, m.detail.empty() ? "" : ": ", m.detail);
        t.blocks_per_sm = m.blocks_per_sm;
        t.carveout_percent = m.carveout_percent;
        t.verified = m.verified;
        t.o_rel_l2 = m.o_rel_l2;
        t.o_max_abs = m.o_max_abs;
        t.lse_max_abs = m.lse_max_abs;
        t.reference = m.reference;
        t.samples = m.samples;
        t.median_ms = m.median_ms;
        t.mean_ms = m.mean_ms;
        t.min_ms = m.min_ms;
        t.noise = m.noise;
        t.stop = m.stop;
        t.timed_budget = m.timed_budget;
        t.tflops = m.tflops;
        ++summary_.shared_trials;
      } else {
        run::TrialSpec spec;
        spec.kernel = {r.cache_key, r.lowered_names.at(request_exprs_[c.request]), c.label};
        spec.launch = c.launch;
        spec.smem_limit = b.plan.per_block_limit;
        spec.carveout_percent = b.plan.carveout_percent;
        spec.timing = timing;
        if (plan.race && best_ms[bi] > 0) {
          spec.timing.race_best_ms = best_ms[bi];
          spec.timing.race_margin = strategy_.race_margin;
        }
        spec.verify = space_.measure.verify;
        const run::TrialOutcome o = client_->run(spec, space_.measure.trial_timeout_s);
        ++summary_.gpu_trials;
        summary_.verify_s += o.verify_ms * 1e-3;
        summary_.time_s += o.time_ms * 1e-3;
        t.status = o.status;
        t.detail = o.detail;
        t.blocks_per_sm = o.blocks_per_sm;
        if (o.check) {
          ++verified_;
          t.verified = true;
          t.o_rel_l2 = o.check->o.rel_l2;
          t.o_max_abs = o.check->o.max_abs;
          t.lse_max_abs = o.check->lse.max_abs;
          t.reference = reference_;
        }
        if (o.timing) {
          ++timed_;
          t.samples = static_cast<int>(o.timing->samples_ms.size());
          t.median_ms = o.timing->median_ms;
          t.mean_ms = o.timing->mean_ms;
          t.min_ms = o.timing->min_ms;
          t.noise = o.timing->noise;
          t.stop = std::string(to_string(o.timing->stop));
          t.tflops = plan.problem.flops() / (o.timing->median_ms * 1e-3) / 1e12;
        }
        t.timed_budget = b.bytes;
        measured.emplace(g.fit.blocks_per_sm, t);
      }
      t.id = store_->add_trial(t);
      count(t);
      if (t.status == TrialStatus::ok && t.samples > 0) {
        contenders[bi].push_back({t.id, t.median_ms, &c, t.blocks_per_sm});
        if (best_ms[bi] == 0 || t.median_ms < best_ms[bi]) {
          best_ms[bi] = t.median_ms;
          if (bi == 0) best_label = to_string(c.params);
        }
      }
      report(phase, best_ms[0] > 0 ? plan.problem.flops() / (best_ms[0] * 1e-3) / 1e12 : 0, best_label);
    }
  }
  for (std::size_t bi = 0; bi < budgets_.size(); ++bi) finish_group(plan, budgets_[bi], contenders[bi]);
}

// The top k of one (problem, budget) group, re-measured interleaved at the budget's own carveout; the fastest
// by that median is the winner and goes to the best-configuration cache.
void Sweep::finish_group(const ProblemPlan& plan, const Budget& b, std::vector<Contender>& contenders) {
  if (contenders.empty()) {
    observer_.note(fmt::format("{} within {}: no configuration passed", plan.problem.to_string(), b.label));
    return;
  }
  std::sort(contenders.begin(), contenders.end(),
            [](const Contender& x, const Contender& y) { return x.median_ms < y.median_ms; });
  const std::size_t k =
      std::min<std::size_t>(contenders.size(), static_cast<std::size_t>(space_.measure.top_k));
  std::vector<double> final_ms(k);
  for (std::size_t i = 0; i < k; ++i) final_ms[i] = contenders[i].median_ms;
  bool remeasured = false;
  if (space_.measure.remeasure_rounds > 0 && k > 1) {
    std::vector<run::TrialSpec> specs;
    for (std::size_t i = 0; i < k; ++i) {
      const Candidate& c = *contenders[i].candidate;
      const jit::CompileResult& r = compiler_->wait(c.request);
      run::TrialSpec s;
      s.kernel = {r.cache_key, r.lowered_names.at(request_exprs_[c.request]), c.label};
      s.launch = c.launch;
      s.smem_limit = b.plan.per_block_limit;
      s.carveout_percent = b.plan.carveout_percent;
      specs.push_back(s);
    }
    const auto t0 = Clock::now();
    try {
      report("re-measuring the top " + std::to_string(k));
      const auto samples = client_->remeasure(specs, space_.measure.remeasure_rounds, space_.measure.flush_l2,
                                              space_.measure.trial_timeout_s * static_cast<double>(k));
      for (std::size_t i = 0; i < k; ++i) {
        final_ms[i] = median(samples.at(i));
        store_->set_remeasured(contenders[i].trial_id, final_ms[i]);
      }
      remeasured = true;
    } catch (const Error& e) {
      observer_.note(fmt::format("re-measuring {} within {} failed ({}); ranking by the screening medians",
                                 plan.problem.to_string(), b.label, e.what()));
    }
    summary_.remeasure_s += seconds_since(t0);
  }
  const std::size_t w =
      static_cast<std::size_t>(std::min_element(final_ms.begin(), final_ms.end()) - final_ms.begin());
  Winner win;
  win.problem = plan.problem;
  win.smem_budget = b.bytes;
  win.budget_label = b.label;
  win.params = contenders[w].candidate->params;
  win.median_ms = final_ms[w];
  win.screening_ms = contenders[w].median_ms;
  win.tflops = plan.problem.flops() / (win.median_ms * 1e-3) / 1e12;
  win.blocks_per_sm = contenders[w].blocks_per_sm;
  win.trial_id = contenders[w].trial_id;
  (void)remeasured;
  store::BestEntry e;
  e.key = best_key(plan.problem, b);
  e.problem = plan.problem;
  e.params = win.params;
  e.median_ms = win.median_ms;
  e.tflops = win.tflops;
  e.trial_id = win.trial_id;
  e.sweep_id = summary_.sweep_id;
  store_->put_best(e);
  summary_.winners.push_back(std::move(win));
}

void Sweep::measure() {
  store::SweepRecord s;
  s.space_file = space_.file.string();
  s.space_hash = space_.content_hash;
  s.template_id = std::string(template_.id());
  s.source_hash = source_hash_;
  s.strategy = std::string(space::to_string(strategy_.kind));
  s.arch = arch_;
  s.seed = strategy_.seed;
  s.has_gpu = true;
  s.gpu = *summary_.gpu;
  s.nvrtc_version = nvrtc_;
  summary_.sweep_id = store_->begin_sweep(s);
  gpu_start_ = Clock::now();
  try {
    for (std::size_t pi = 0; pi < plans_.size(); ++pi) measure_problem(pi);
  } catch (const std::exception& e) {
    summary_.wall_s = seconds_since(start_);
    nlohmann::json j = summary_.to_json();
    j["error"] = e.what();
    store_->finish_sweep(summary_.sweep_id, "failed", j.dump());
    throw;
  }
  summary_.restarts = static_cast<std::size_t>(client_->restarts());
}

TuneSummary Sweep::run() {
  summary_.space_file = space_.file.string();
  summary_.template_id = std::string(template_.id());
  summary_.strategy = std::string(space::to_string(strategy_.kind));
  summary_.seed = strategy_.seed;

  start_worker();
  limits_ = device_ ? limits_of(*device_) : sm_limits_for(9, 0);
  arch_ = !space_.arch.empty() ? space_.arch : device_ ? device_->arch() : "sm_90a";
  summary_.arch = arch_;
  source_hash_ = jit::source_hash(run::make_request(std::string(template_.source_file()), "", arch_));
  nvrtc_ = jit::nvrtc_version();
  resolve_budgets();
  plan_problems();

  if (device_) {
    store_ = std::make_unique<store::ResultStore>(options_.db.empty() ? store::ResultStore::default_path()
                                                                      : options_.db);
    summary_.db_path = store_->path().string();
    if (!options_.force && answer_from_cache()) {
      summary_.wall_s = seconds_since(start_);
      return summary_;
    }
  }

  compiler_ = std::make_unique<AsyncCompiler>(requests_, options_.jobs, cubin_);
  if (device_)
    measure();
  else
    compile_only();

  for (std::size_t i = 0; i < requests_.size(); ++i) {
    const jit::CompileResult& r = compiler_->wait(i);
    summary_.compile_errors += !r.ok;
    summary_.cache_hits += r.cache_hit;
    if (!r.cache_hit) summary_.nvrtc_cpu_s += r.compile_ms * 1e-3;
  }
  summary_.compile_wall_s = compiler_->wall_s();
  summary_.wall_s = seconds_since(start_);
  if (store_) store_->finish_sweep(summary_.sweep_id, "finished", summary_.to_json().dump());
  return summary_;
}

}  // namespace

TuneSummary tune(const space::SearchSpace& space, const TuneOptions& options, TuneObserver& observer) {
  return Sweep(space, options, observer).run();
}

}  // namespace flashtune::tune
