#include "check/check_runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "check/detail/checker.hpp"
#include "core/error.hpp"
#include "jit/compile_pool.hpp"
#include "run/device_limits.hpp"
#include "store/result_store.hpp"
#include "trial/trial_protocol.hpp"

namespace flashtune::check {
namespace detail {
namespace {

// "registers 168, spills 0 B, static shared memory 0 B" over the request's kernels.
std::string compile_facts(const std::vector<std::string>& exprs, const jit::CompileResult& r) {
  int registers = -1, spills = 0, smem = 0;
  for (const std::string& e : exprs) {
    auto it = r.lowered_names.find(e);
    if (it == r.lowered_names.end()) continue;
    if (const jit::PtxasInfo* p = r.ptxas_for(it->second)) {
      registers = std::max(registers, p->registers);
      spills += p->spill_store_bytes + p->spill_load_bytes;
      smem = std::max(smem, p->static_smem_bytes);
    }
  }
  return fmt::format("registers {}, spills {} B, static shared memory {} B{}", registers, spills, smem,
                     r.cache_hit ? " (cubin cache)" : "");
}

}  // namespace

Checker::Checker(const space::SearchSpace& space, const CheckOptions& options, trial::Observer& observer)
    : space_(space),
      options_(options),
      observer_(observer),
      template_(find_template(space.template_id)),
      cubin_(options.cubin_dir.empty() ? jit::CubinCache() : jit::CubinCache(options.cubin_dir)) {}

void Checker::note(std::string message) {
  observer_.note(message);
  result_.notes.push_back(std::move(message));
}

void Checker::report(const std::string& phase) {
  trial::Progress p;
  p.phase = phase;
  p.compiled = compiled_.size();
  p.to_compile = plan_.requests.size();
  p.verified = verified_;
  p.trials_done = trials_done_;
  p.trials_total = trials_total_;
  observer_.progress(p);
}

CheckCase Checker::make_case(const CheckConfig& c, CheckStage stage, std::string problem) const {
  CheckCase k;
  k.space = space_.file.string();
  k.template_id = plan_.template_id;
  k.configuration = c.label;
  k.problem = std::move(problem);
  k.stage = stage;
  return k;
}

void Checker::start_worker() {
  if (options_.compile_only) return;
  trial::WorkerSession s = trial::start_trial_worker(options_.trial_worker, cubin_.dir());
  worker_argv_ = std::move(s.argv);
  client_ = std::move(s.client);
  device_ = s.device;
  if (!device_) result_.no_gpu = s.no_gpu;
}

void Checker::plan() {
  const SmLimits limits = device_ ? run::limits_of(*device_) : sm_limits_for(9, 0);
  std::int64_t largest = 0;
  for (const space::SramBudget& b : space_.sram_budgets)
    largest = std::max<std::int64_t>(
        largest, b.is_max() ? limits.smem_optin_per_block
                            : std::min<std::int64_t>(b.bytes, limits.smem_optin_per_block));
  budget_ = plan_sram_budget(largest, limits);
  PlanOptions o;
  o.gpu = device_.has_value();
  o.full_problems = options_.full_problems;
  o.arch = !space_.arch.empty() ? space_.arch : device_ ? device_->arch() : "sm_90a";
  o.smem_limit = budget_.per_block_limit;
  o.sample = options_.sample;
  o.seed = options_.seed;
  plan_ = plan_check(space_, o);
  if (plan_.sampled_out > 0)
    note(fmt::format("{}: --sample {} --seed {}: {} of {} configurations checked",
                     space_.file.filename().string(), options_.sample, options_.seed, plan_.configs.size(),
                     plan_.configs.size() + plan_.sampled_out));
}

void Checker::compile() {
  report("compiling");
  jit::CompilePool pool(options_.jobs > 0
                            ? options_.jobs
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  std::vector<jit::CompileResult> results =
      pool.compile(plan_.requests, cubin_, [&](std::size_t done, std::size_t total) {
        trial::Progress p;
        p.phase = "compiling";
        p.compiled = done;
        p.to_compile = total;
        observer_.progress(p);
      });
  compiled_ = std::move(results);
  for (const CheckConfig& c : plan_.configs) {
    const jit::CompileResult& r = compiled_[c.request];
    CheckCase k = make_case(c, CheckStage::compile, "");
    k.seconds = r.cache_hit ? 0 : r.compile_ms * 1e-3;  // the time this run spent
    if (r.ok) {
      k.outcome = c.expect_compile_error ? CheckOutcome::unexpected_pass : CheckOutcome::pass;
      k.detail = compile_facts(c.instance.name_expressions(), r);
      if (c.expect_compile_error)
        k.detail = fmt::format("compiled, but check.expect_compile_error '{}' ({}) says it does not; {}",
                               space_.check.expect_compile_error->expr.text(),
                               space_.check.expect_compile_error->where.to_string(), k.detail);
    } else {
      k.outcome = c.expect_compile_error ? CheckOutcome::expected_failure : CheckOutcome::fail;
      k.detail = trial::compile_error_summary(r.log);
    }
    result_.cases.push_back(std::move(k));
  }
}

void Checker::choose() {
  chosen_.assign(plan_.configs.size(), true);
  if (options_.top_k <= 0) return;
  const std::filesystem::path db = options_.db.empty() ? store::ResultStore::default_path() : options_.db;
  if (!std::filesystem::exists(db)) {
    note(fmt::format("--top {}: no results store at {}: checking every configuration", options_.top_k,
                     db.string()));
    return;
  }
  const store::ResultStore store(db, store::ResultStore::Access::read_only);
  const TopConfigs top = top_configs(store, device_->identity(), space_, options_.top_k);
  for (const std::string& n : top.notes) note(n);
  for (std::size_t i = 0; i < plan_.configs.size(); ++i)
    chosen_[i] = top.chosen(plan_.configs[i].params(), plan_.configs[i].variant());
}

bool Checker::runnable(const CheckConfig& c, const AttentionProblem& problem, std::string* why) const {
  const jit::CompileResult& r = compiled_[c.request];
  if (!r.ok) {
    *why = c.expect_compile_error ? "does not compile (expected)" : "does not compile";
    return false;
  }
  // The space's prune limits (spills, registers, blocks per SM) are tuning policy, not correctness: only what
  // cannot launch under the budget is left out.
  const trial::Gate g = trial::gate_trial(
      trial::kernel_facts(c.instance.name_expressions(), c.instance.for_problem(problem).launches(), r),
      budget_, space::PruneSettings{});
  if (g.failed) {
    *why = fmt::format("{}: {}", to_string(*g.failed), g.detail);
    return false;
  }
  return true;
}

run::TrialSpec Checker::spec_of(const CheckConfig& c, const AttentionProblem& problem) const {
  run::TrialSpec spec = c.instance.for_problem(problem).trial_spec(compiled_[c.request], budget_);
  spec.verify = true;
  spec.time = false;
  return spec;
}

void Checker::verify() {
  trials_total_ = 0;
  for (const AttentionProblem& q : plan_.problems)
    for (std::size_t i = 0; i < plan_.configs.size(); ++i)
      trials_total_ += chosen_[i] && plan_.configs[i].variant() == variant_of(q);
  for (const AttentionProblem& q : plan_.problems) {
    const std::string phase = fmt::format("verifying on {}", q.to_string());
    bool set_up = false;
    for (std::size_t i = 0; i < plan_.configs.size(); ++i) {
      const CheckConfig& c = plan_.configs[i];
      if (!chosen_[i] || c.variant() != variant_of(q)) continue;
      CheckCase k = make_case(c, CheckStage::verify, q.to_string());
      const bool expected =
          space_.check.expect_incorrect && expectation_holds(*space_.check.expect_incorrect, c.params(), q);
      if (!runnable(c, q, &k.detail)) {
        k.outcome = CheckOutcome::skipped;
      } else {
        if (!set_up) {
          client_->set_problem(q, space_.strategy.seed, true, 600);
          set_up = true;
        }
        const auto t0 = Clock::now();
        const run::TrialOutcome o = client_->run(spec_of(c, q), space_.measure.trial_timeout_s);
        k.seconds = seconds_since(t0);
        verified_ += o.check.has_value();
        if (o.status == TrialStatus::ok) {
          k.outcome = expected ? CheckOutcome::unexpected_pass : CheckOutcome::pass;
          if (o.check) k.detail = o.check->detail;
          if (expected)
            k.detail = fmt::format("verified, but check.expect_incorrect '{}' says it is not; {}",
                                   space_.check.expect_incorrect->expr.text(), k.detail);
        } else if (o.status == TrialStatus::incorrect) {
          k.outcome = expected ? CheckOutcome::expected_failure : CheckOutcome::fail;
          k.detail = "incorrect: " + o.detail;
        } else {
          k.outcome = CheckOutcome::fail;
          k.detail = fmt::format("{}: {}", to_string(o.status), o.detail);
        }
      }
      ++trials_done_;
      result_.cases.push_back(std::move(k));
      report(phase);
    }
  }
}

CheckResult Checker::run() {
  result_.spaces.push_back(space_.file.string());
  start_worker();
  plan();
  compile();
  if (device_) {
    choose();
    verify();
    if (!options_.sanitize.empty()) {
      client_.reset();  // the sanitized workers own the GPU alone
      for (SanitizerTool t : options_.sanitize) sanitize(t);
    }
  }
  result_.wall_s = seconds_since(start_);
  return result_;
}

}  // namespace detail

CheckResult run_check(const space::SearchSpace& space, const CheckOptions& options,
                      trial::Observer& observer) {
  return detail::Checker(space, options, observer).run();
}

}  // namespace flashtune::check
