// flashtune-bench: Google Benchmark over the cached best configuration of each template on the benchmark
// shapes.
//
// For each template (--templates, default fa2_fwd,hopper_fwd) and each shape (bf16, 16384 tokens, hidden
// 2048: d in --d, N in --n, causal and not), the results cache (--db, default the tuner's) gives the best
// stored configuration for this GPU (runtime::best_config, the fallback rule included). Its kernels are
// compiled through the cubin cache, launched under the SRAM budget they won (dynamic shared-memory limit and
// carveout, as the tuner ran them: kernels/sram_budget.hpp), verified once against the reference on
// NaN-poisoned outputs, then timed: each benchmark iteration is one launch between CUDA events after an L2
// flush (run::TrialRunner::remeasure, in batches of Case::kBatch samples), reported as Google Benchmark's
// manual time. Counters: TFLOPS (4*B*H*N^2*d, halved when causal) from the median sample, as bench/peers.py
// computes the peers', and median_ms. The usual Google Benchmark flags work (--benchmark_format=json,
// --benchmark_out=FILE, --benchmark_repetitions=N); --warmup N and --samples N give the peers' protocol
// (bench/peers.py --bench: N untimed launches, then exactly N timed ones).
//
//   flashtune-bench --db results.db --d 128 --n 4096,8192 --benchmark_out=bench.json
//   --benchmark_out_format=json
//
// Without a GPU it says so and registers nothing (exit 0): the numbers come from the H100 runs
// (scripts/gpu-perf.sh).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "gpu/driver_api.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/sram_budget.hpp"
#include "run/device_limits.hpp"
#include "run/instance.hpp"
#include "run/kernel_loader.hpp"
#include "run/trial_runner.hpp"
#include "runtime/best_config.hpp"

namespace flashtune::bench {
namespace {

struct Options {
  std::string db;
  std::vector<std::string> templates = {"fa2_fwd", "hopper_fwd"};
  std::vector<int> head_dims = {64, 128};
  std::vector<int> seqlens = {512, 1024, 2048, 4096, 8192, 16384};
  std::vector<int> causal = {0, 1};
  int warmup = 0;   // untimed launches (each after an L2 flush) before the samples
  int samples = 0;  // timed launches per benchmark (Google Benchmark's iterations); 0: its min_time rule
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<int> split_ints(const std::string& flag, const std::string& s) {
  std::vector<int> out;
  for (const std::string& item : split(s)) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (end == item.c_str() || *end != '\0' || v <= 0 || v > (1 << 20))
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: '{}' is not a positive integer", flag, item));
    out.push_back(static_cast<int>(v));
  }
  return out;
}

// Takes our flags out of argv (Google Benchmark gets the rest).
Options parse_options(int* argc, char** argv) {
  Options o;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const std::string& name) -> std::optional<std::string> {
      if (a.rfind(name + "=", 0) == 0) return a.substr(name.size() + 1);
      if (a == name) {
        if (i + 1 >= *argc) throw Error(ErrorKind::invalid_argument, name + " needs a value");
        return std::string(argv[++i]);
      }
      return std::nullopt;
    };
    if (auto v = value("--db")) {
      o.db = *v;
    } else if (auto t = value("--templates")) {
      o.templates = split(*t);
    } else if (auto d = value("--d")) {
      o.head_dims = split_ints("--d", *d);
    } else if (auto n = value("--n")) {
      o.seqlens = split_ints("--n", *n);
    } else if (auto w = value("--warmup")) {
      o.warmup = *w == "0" ? 0 : split_ints("--warmup", *w).front();
    } else if (auto r = value("--samples")) {
      o.samples = split_ints("--samples", *r).front();
    } else if (auto c = value("--causal")) {
      if (*c == "both")
        o.causal = {0, 1};
      else if (*c == "yes")
        o.causal = {1};
      else if (*c == "no")
        o.causal = {0};
      else
        throw Error(ErrorKind::invalid_argument, "--causal: both, yes or no");
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  return o;
}

// One benchmark: a template's best configuration on one problem, compiled and verified at registration.
class Case {
 public:
  // Samples per TrialRunner::remeasure call: its set-up (budget attributes, one untimed launch) is paid once
  // per batch, not per sample.
  static constexpr int kBatch = 16;

  Case(std::shared_ptr<run::TrialRunner> runner, const KernelTemplate& t, const store::BestEntry& best,
       const AttentionProblem& problem, int warmup)
      : runner_(std::move(runner)), problem_(problem), params_(best.params), warmup_(warmup) {
    const run::Instance inst = run::Instance::make(t, params_, problem);
    const jit::CompileResult r =
        jit::compile_cached(inst.compile_request(runner_->device().arch()), jit::CubinCache());
    if (!r.ok) throw Error(ErrorKind::compile, fmt::format("{}: {}", inst.label(), r.log));
    spec_ =
        inst.trial_spec(r, plan_sram_budget(best.key.problem.smem_budget, run::limits_of(runner_->device())));
    spec_.time = false;
  }

  const std::string& label() const { return spec_.label; }

  void run(benchmark::State& state) {
    try {
      runner_->set_problem(problem_, 20261124, /*verify=*/true);
      const run::TrialOutcome o = runner_->run(spec_);  // poisoned outputs, checked against the reference
      if (o.status != TrialStatus::ok) {
        state.SkipWithError(fmt::format("{}: {} {}", spec_.label, to_string(o.status), o.detail).c_str());
        return;
      }
      if (warmup_ > 0) runner_->remeasure({spec_}, warmup_, /*flush_l2=*/true);  // untimed
      std::vector<double> batch, all;
      for (auto _ : state) {
        if (batch.empty()) batch = runner_->remeasure({spec_}, kBatch, /*flush_l2=*/true).front();
        const double ms = batch.back();
        batch.pop_back();
        state.SetIterationTime(ms * 1e-3);
        all.push_back(ms);
      }
      std::nth_element(all.begin(), all.begin() + all.size() / 2, all.end());
      const double median_ms = all[all.size() / 2];
      state.counters["median_ms"] = median_ms;
      state.counters["TFLOPS"] = problem_.flops() / (median_ms * 1e-3) / 1e12;
      state.SetLabel(to_string(params_));
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  }

 private:
  std::shared_ptr<run::TrialRunner> runner_;
  AttentionProblem problem_;
  ParamValues params_;
  int warmup_ = 0;
  run::TrialSpec spec_;
};

int register_cases(const Options& o) {
  std::string why;
  if (!gpu::gpu_available(&why)) {
    std::cerr << "flashtune-bench: no GPU (" << why
              << "): nothing to time; the numbers come from a GPU run\n";
    return 0;
  }
  auto runner = std::make_shared<run::TrialRunner>(jit::CubinCache::default_dir());
  int registered = 0;
  for (const std::string& id : o.templates) {
    const KernelTemplate* t = nullptr;
    try {
      t = &find_template(id);
    } catch (const Error& e) {
      std::cerr << "flashtune-bench: " << e.what() << "\n";
      continue;
    }
    for (int d : o.head_dims)
      for (int causal : o.causal)
        for (int n : o.seqlens) {
          const AttentionProblem p{.batch = 16384 / n,
                                   .heads = 2048 / d,
                                   .seqlen = n,
                                   .head_dim = d,
                                   .dtype = DType::bf16,
                                   .causal = causal != 0};
          const std::string name = fmt::format("{}/d{}/{}/N{}", id, d, causal ? "causal" : "full", n);
          runtime::BestConfigQuery q;
          q.template_id = id;
          q.db = o.db;
          const std::optional<store::BestEntry> best = runtime::best_config(p, q);
          if (!best) {
            std::cerr << fmt::format("flashtune-bench: {}: not tuned on this GPU (no cached best in {})\n",
                                     name, o.db.empty() ? "the default results cache" : o.db);
            continue;
          }
          auto c = std::make_shared<Case>(runner, *t, *best, p, o.warmup);
          benchmark::internal::Benchmark* b =
              benchmark::RegisterBenchmark(name.c_str(), [c](benchmark::State& s) { c->run(s); });
          b->UseManualTime()->Unit(benchmark::kMillisecond);
          if (o.samples > 0) b->Iterations(o.samples);
          ++registered;
        }
  }
  return registered;
}

}  // namespace
}  // namespace flashtune::bench

int main(int argc, char** argv) {
  try {
    const flashtune::bench::Options o = flashtune::bench::parse_options(&argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    if (flashtune::bench::register_cases(o) == 0) return 0;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "flashtune-bench: " << e.what() << "\n";
    return 1;
  }
}
