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

void Sweep::report(const std::string& phase, double best_tflops, const std::string& best) {
  trial::Progress p;
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

std::vector<trial::KernelFacts> Sweep::facts_of(const Candidate& c, const jit::CompileResult& r) const {
  return trial::kernel_facts(c.instance.name_expressions(), c.instance.launches(), r);
}

run::TrialSpec Sweep::spec_of(const Candidate& c, const jit::CompileResult& r, const Budget& b) const {
  return c.instance.trial_spec(r, b.plan);
}

bool Sweep::profile_into(store::TrialRecord& t, const run::TrialSpec& spec, bool utilization) {
  if (!counters_readable_) return false;
  const auto t0 = Clock::now();
  run::ProfileResult p;
  try {
    p = client_->profile(spec, utilization, space_.measure.trial_timeout_s);
  } catch (const Error& e) {
    observer_.note(fmt::format("profiling {} failed ({}); its counters are left out", spec.label, e.what()));
    summary_.profile_s += seconds_since(t0);
    return false;
  }
  summary_.profile_s += seconds_since(t0);
  if (!p.available) {
    counters_readable_ = false;
    summary_.profile_note = p.why;
    observer_.note("hardware counters cannot be read: " + p.why + "\nThe sweep goes on without them.");
    return false;
  }
  nlohmann::json extra =
      t.counters_json.empty() ? nlohmann::json::object() : nlohmann::json::parse(t.counters_json);
  for (const auto& [name, value] : p.extra) extra[name] = value;
  t.counters_json = extra.empty() ? "" : extra.dump();
  if (utilization) return true;
  t.profiled = true;
  t.dram_read_bytes = p.dram_read_bytes;
  t.dram_write_bytes = p.dram_write_bytes;
  t.l2_bytes = p.l2_bytes;
  t.profiled_ns = p.gpu_time_ns;
  t.activity_ns = p.activity_ns;
  return true;
}

void Sweep::store_over_budget(const ProblemPlan& plan) {
  for (const OverBudget& o : plan.over_budget)
    for (const Budget& b : budgets_) {
      if (auto it = done_.find(trial_key(plan.problem, b.bytes, o.params)); it != done_.end()) {
        count(it->second);
        continue;
      }
      store::TrialRecord t;
      t.sweep_id = summary_.sweep_id;
      t.problem = plan.problem;
      t.smem_budget = b.bytes;
      t.template_id = std::string(template_.id());
      t.params = o.params;
      t.status = TrialStatus::resource_exceeded;
      t.detail = o.detail;
      t.carveout_percent = b.plan.carveout_percent;
      t.id = store_->add_trial(t);
      count(t);
    }
}

bool Sweep::resume_sweep() {
  for (const store::SweepRecord& old : store_->sweeps()) {  // newest first
    if (old.status == "finished" || old.space_hash != space_.content_hash ||
        old.template_id != template_.id() || old.source_hash != source_hash_ || old.nvrtc_version != nvrtc_ ||
        !old.has_gpu || old.gpu.key() != summary_.gpu->key() ||
        old.strategy != space::to_string(strategy_.kind) || old.seed != strategy_.seed)
      continue;
    summary_.sweep_id = old.id;
    for (store::TrialRecord& t : store_->trials(old.id)) {
      const std::string key = trial_key(t.problem, t.smem_budget, t.params);
      done_.emplace(key, std::move(t));
    }
    summary_.resumed_trials = done_.size();
    observer_.note(
        fmt::format("resuming sweep {} (started {}, {}): {} trials stored before are not run again", old.id,
                    old.started_at, old.status, done_.size()));
    return true;
  }
  observer_.note("--resume: no unfinished sweep of this space on this GPU; starting a new one");
  return false;
}

void Sweep::count(const store::TrialRecord& t) {
  ++summary_.trials_by_status[std::string(to_string(t.status))];
  ++summary_.trials;
  ++trials_done_;
}

store::TrialRecord Sweep::base_record(const ProblemPlan& plan, const Candidate& c, const Budget& b,
                                      const jit::CompileResult& r,
                                      const std::vector<trial::KernelFacts>& facts) const {
  store::TrialRecord t;
  t.sweep_id = summary_.sweep_id;
  t.problem = plan.problem;
  t.smem_budget = b.bytes;
  t.template_id = std::string(template_.id());
  t.params = c.params();
  for (const trial::KernelFacts& f :
       facts) {  // the heaviest kernel's registers and shared memory, all spills
    t.registers = std::max(t.registers, f.registers);
    t.spill_bytes += f.spill_bytes;
    t.smem_bytes = std::max(t.smem_bytes, f.smem_total());
  }
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

  store_over_budget(plan);
  const gpu::TimingOptions timing = timing_of(space_.measure);
  std::vector<std::vector<Contender>> contenders(budgets_.size());
  std::vector<double> best_ms(budgets_.size(), 0);
  std::string best_label;
  for (const Candidate& c : plan.candidates) {
    const auto t_wait = Clock::now();
    const jit::CompileResult& r = compiler_->wait(c.request);
    summary_.compile_wait_s += seconds_since(t_wait);
    const std::vector<trial::KernelFacts> f = facts_of(c, r);
    std::map<int, store::TrialRecord> measured;  // by modeled blocks/SM: the GPU trials of this configuration
    for (std::size_t bi = 0; bi < budgets_.size(); ++bi) {
      const Budget& b = budgets_[bi];
      store::TrialRecord t = base_record(plan, c, b, r, f);
      const trial::Gate g = trial::gate_trial(f, b.plan, space_.prune);
      const auto resumed = done_.find(trial_key(plan.problem, b.bytes, c.params()));
      if (resumed != done_.end()) {
        // Stored before the sweep was interrupted: not run again. A measurement of this budget's own launch
        // still stands in for budgets of equal occupancy.
        t = resumed->second;
        if (!g.failed && t.timed_budget == b.bytes && t.samples > 0) measured.emplace(g.fit.blocks_per_sm, t);
      } else if (g.failed) {
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
        t.clock_fraction = m.clock_fraction;
        t.tflops = m.tflops;
        t.profiled = m.profiled;
        t.dram_read_bytes = m.dram_read_bytes;
        t.dram_write_bytes = m.dram_write_bytes;
        t.l2_bytes = m.l2_bytes;
        t.profiled_ns = m.profiled_ns;
        t.activity_ns = m.activity_ns;
        t.counters_json = m.counters_json;
        ++summary_.shared_trials;
      } else {
        run::TrialSpec spec = spec_of(c, r, b);
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
          t.clock_fraction = o.timing->clock_fraction;
          summary_.throttle_repeats += static_cast<std::size_t>(o.timing->throttle_repeats);
          summary_.raced_out += o.timing->stop == gpu::StopReason::raced_out;
          t.tflops = plan.problem.flops() / (o.timing->median_ms * 1e-3) / 1e12;
        }
        t.timed_budget = b.bytes;
        if (t.status == TrialStatus::ok && space_.measure.profile == space::ProfileMode::all &&
            profile_into(t, spec, false))
          ++summary_.profiled;
        measured.emplace(g.fit.blocks_per_sm, t);
      }
      if (resumed == done_.end()) t.id = store_->add_trial(t);
      count(t);
      if (t.status == TrialStatus::ok && t.samples > 0) {
        contenders[bi].push_back({t.id, t.median_ms, &c, t.blocks_per_sm, t});
        if (best_ms[bi] == 0 || t.median_ms < best_ms[bi]) {
          best_ms[bi] = t.median_ms;
          if (bi == 0) best_label = to_string(c.params());
        }
      }
      report(phase, best_ms[0] > 0 ? plan.problem.flops() / (best_ms[0] * 1e-3) / 1e12 : 0, best_label);
    }
  }
  for (std::size_t bi = 0; bi < budgets_.size(); ++bi) finish_group(plan, budgets_[bi], contenders[bi]);

  // The top k's SM and tensor-pipe utilization, all of this problem's groups in one batch.
  if (!pending_utilization_.empty())
    report("profiling utilization of the top " + std::to_string(space_.measure.top_k));
  for (PendingUtilization& u : pending_utilization_)
    if (profile_into(u.counters, u.spec, true)) store_->set_counters(u.trial_id, u.counters);
  pending_utilization_.clear();
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
  if (space_.measure.remeasure_rounds > 0 && k > 1) {
    std::vector<run::TrialSpec> specs;
    for (std::size_t i = 0; i < k; ++i) {
      const Candidate& c = *contenders[i].candidate;
      const jit::CompileResult& r = compiler_->wait(c.request);
      specs.push_back(spec_of(c, r, b));
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
    } catch (const Error& e) {
      observer_.note(fmt::format("re-measuring {} within {} failed ({}); ranking by the screening medians",
                                 plan.problem.to_string(), b.label, e.what()));
    }
    summary_.remeasure_s += seconds_since(t0);
  }
  // The top k get their traffic counters now (profile: top_k), and wait for their utilization profile
  // (profile_utilization) until the problem's last group is done: switching CUPTI's metric set is slow.
  for (std::size_t i = 0; i < k; ++i) {
    Contender& con = contenders[i];
    const run::TrialSpec spec = spec_of(*con.candidate, compiler_->wait(con.candidate->request), b);
    if (space_.measure.profile == space::ProfileMode::top_k && !con.counters.profiled &&
        profile_into(con.counters, spec, false)) {
      store_->set_counters(con.trial_id, con.counters);
      ++summary_.profiled;
    }
    if (space_.measure.profile_utilization)
      pending_utilization_.push_back({con.trial_id, spec, con.counters});
  }
  const std::size_t w =
      static_cast<std::size_t>(std::min_element(final_ms.begin(), final_ms.end()) - final_ms.begin());
  Winner win;
  win.problem = plan.problem;
  win.smem_budget = b.bytes;
  win.budget_label = b.label;
  win.params = contenders[w].candidate->params();
  win.median_ms = final_ms[w];
  win.screening_ms = contenders[w].median_ms;
  win.tflops = plan.problem.flops() / (win.median_ms * 1e-3) / 1e12;
  win.blocks_per_sm = contenders[w].blocks_per_sm;
  win.trial_id = contenders[w].trial_id;
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
  if (!options_.resume || !resume_sweep()) summary_.sweep_id = store_->begin_sweep(s);
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

}  // namespace flashtune::tune::detail
