// flashtune bench: verify and time a template's configurations on one problem (one configuration, or the
// default grid of its search space). Without a GPU it still compiles and resource-checks them, then says that
// timing needs a GPU (exit 3).
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/compile_table.hpp"
#include "cli/exit_codes.hpp"
#include "cli/instances.hpp"
#include "cli/options.hpp"
#include "cli/validators.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "jit/cubin_cache.hpp"
#include "report/bench_json.hpp"
#include "report/progress.hpp"
#include "report/table.hpp"
#include "run/bench.hpp"
#include "run/precompile.hpp"
#include "run/trial_runner.hpp"

namespace flashtune::cli {
namespace {

struct BenchArgs {
  ProblemOptions problem;
  ConfigOptions config;
  std::string json_path;
  std::uint64_t seed = run::BenchOptions{}.seed;
  bool no_verify = false;
  bool quiet = false;
  int jobs = 0;
  int min_samples = gpu::TimingOptions{}.min_samples;
  double max_noise = gpu::TimingOptions{}.max_noise;
};

std::vector<std::string> result_row(const run::BenchResult& r) {
  const std::string label = to_string(r.instance.params());
  const std::string err = r.check ? fmt::format("{:.1e}", r.check->o.rel_l2) : "-";
  if (r.status != TrialStatus::ok || !r.timing)
    return {label,
            std::string(to_string(r.status)),
            "-",
            "-",
            "-",
            err,
            std::to_string(r.registers),
            std::to_string(r.blocks_per_sm)};
  return {label,
          "ok",
          fmt::format("{:.4f}", r.timing->median_ms),
          fmt::format("{:.1f}", r.tflops),
          fmt::format("{:.2f}%", 100 * r.timing->noise),
          err,
          std::to_string(r.registers),
          std::to_string(r.blocks_per_sm)};
}

int run_bench(const BenchArgs& a) {
  const AttentionProblem problem = a.problem.resolve();
  const std::vector<run::Instance> instances = command_instances(a.config, problem);
  if (instances.empty())
    throw Error(ErrorKind::invalid_argument,
                fmt::format("the default grid of {} admits no configuration on {}", a.config.template_id,
                            problem.to_string()));

  std::string why_no_gpu;
  const bool have_gpu = gpu::gpu_available(&why_no_gpu);
  const std::string arch = have_gpu ? gpu::query_device(0).arch() : "sm_90a";
  require_arch(a.config.kernel_template(), arch);
  // Compile everything first, in parallel worker processes, before this process creates a CUDA context.
  report::Progress cprog(fmt::format("compiling {} configurations for {}", instances.size(), arch), a.quiet);
  const auto compiled = run::precompile(instances, arch, a.jobs, limits_of_arch(arch),
                                        [&](auto d, auto t) { cprog.update(d, t); });
  cprog.finish();
  if (!have_gpu) {
    compile_table(compiled).print(std::cout);
    int ok = 0;
    for (const auto& c : compiled) ok += c.result.ok && c.fit.fits;
    std::cout << fmt::format(
        "\nNo GPU: {}.\nCompiled and resource-checked {} configurations for {} ({} compile and fit an SM). "
        "Timing and verification need a GPU.\n",
        why_no_gpu, compiled.size(), arch, ok);
    return kNoGpu;
  }

  run::BenchOptions opts;
  opts.seed = a.seed;
  opts.verify = !a.no_verify;
  opts.timing.min_samples = a.min_samples;
  opts.timing.max_noise = a.max_noise;
  std::cerr << fmt::format("problem {} ({:.1f} GFLOP), seed {}\n", problem.to_string(), problem.flops() / 1e9,
                           a.seed);
  run::TrialRunner runner(jit::CubinCache::default_dir());
  runner.set_problem(problem, opts.seed, opts.verify);
  std::vector<run::BenchResult> results;
  report::Progress prog("benchmarking", a.quiet);
  for (std::size_t i = 0; i < compiled.size(); ++i) {
    results.push_back(run::bench_instance(runner, compiled[i], opts));
    prog.update(i + 1, compiled.size());
  }
  prog.finish();

  report::Table t(
      {"configuration", "status", "median ms", "TFLOP/s", "noise", "O rel err", "regs", "blocks/SM"});
  const run::BenchResult* best = nullptr;
  int failed = 0;
  for (const auto& r : results) {
    t.add_row(result_row(r));
    if (r.status != TrialStatus::ok)
      ++failed;
    else if (r.timing && (!best || r.timing->median_ms < best->timing->median_ms))
      best = &r;
  }
  std::cout << fmt::format("{} {} on {} ({}), reference {}\n", a.config.template_id, problem.to_string(),
                           runner.device().name, arch,
                           runner.problem() ? runner.problem()->reference_source() : "none");
  t.print(std::cout);
  if (best)
    std::cout << fmt::format("\nbest: {}  {:.4f} ms  {:.1f} TFLOP/s\n", to_string(best->instance.params()),
                             best->timing->median_ms, best->tflops);
  for (const auto& r : results)
    if (r.status != TrialStatus::ok)
      std::cerr << fmt::format("{}: {}: {}\n", r.instance.label(), to_string(r.status), r.detail);
  if (!a.json_path.empty()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : results) j.push_back(report::to_json(r));
    write_file(a.json_path, j.dump(2) + "\n");
  }
  return failed > 0 ? kTrialFailed : kOk;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "verify and time a template's configurations on one problem (the default grid of its search space "
      "unless one is given with --param)");
  args->problem.add_to(*cmd);
  args->config.add_to(*cmd);
  cmd->add_option("--json", args->json_path, "also write the results as JSON to this file");
  cmd->add_option("--seed", args->seed, "seed of the random inputs")
      ->check(unsigned_integer())
      ->capture_default_str();
  cmd->add_flag("--no-verify", args->no_verify, "skip the comparison with the reference");
  cmd->add_option("--jobs,-j", args->jobs, "compile worker processes (0: one per core)")
      ->check(integer_in(0, 1024));
  cmd->add_option("--min-samples", args->min_samples, "timing: at least this many samples")
      ->check(integer_in(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--max-noise", args->max_noise, "timing: stop when stdev/mean is below this")
      ->check(finite_in(1e-6, 1))
      ->capture_default_str();
  cmd->add_flag("--quiet,-q", args->quiet, "no progress output");
  cmd->callback([args, &exit_code] { exit_code = run_bench(*args); });
}

}  // namespace flashtune::cli
