// flashtune tune [SPACE.yaml]: sweep a search space (the default one when none is given), keep every trial,
// cache the winners per GPU. Without a GPU it compiles and resource-checks the sweep, then says that timing
// needs one (exit 3).
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/space_files.hpp"
#include "cli/validators.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "report/tune_progress.hpp"
#include "report/tune_report.hpp"
#include "space/space_loader.hpp"
#include "tune/tuner.hpp"

namespace flashtune::cli {
namespace {

struct TuneArgs {
  std::vector<std::string> spaces;
  std::string profile;
  std::string db;
  std::string json_path;
  std::string strategy;
  std::uint64_t seed = 0;
  int random_budget = -1;
  int jobs = 0;
  bool force = false;
  bool resume = false;
  bool compile_only = false;
  bool quiet = false;
  CLI::Option* seed_opt = nullptr;
};

int run_one(const TuneArgs& a, const std::filesystem::path& file) {
  space::SearchSpace space = load_checked_space(file);
  if (!a.profile.empty()) space.measure.profile = *space::parse_profile_mode(a.profile);
  tune::TuneOptions o;
  o.db = a.db;
  o.jobs = a.jobs;
  o.force = a.force;
  o.resume = a.resume;
  o.compile_only = a.compile_only;
  if (!a.strategy.empty()) o.strategy = space::parse_strategy(a.strategy);
  if (a.seed_opt->count() > 0) o.seed = a.seed;
  if (a.random_budget >= 0) o.random_budget = a.random_budget;

  report::TuneProgressPrinter progress(a.quiet);
  const tune::TuneSummary s = tune::tune(space, o, progress);
  progress.finish();
  report::print_tune_summary(s, std::cout);
  if (!a.json_path.empty()) {
    write_file(a.json_path, s.to_json().dump(2) + "\n");
  }
  if (!s.no_gpu.empty()) {
    std::cout << fmt::format(
        "\nNo GPU ({}): compiled and resource-checked {} kernels for {} ({} failed to compile); {} trials "
        "passed the resource checks and wait for a GPU.\nTiming and verification need a GPU: run flashtune "
        "tune on a "
        "machine with an NVIDIA GPU (compute capability 8.0 or newer).\n",
        s.no_gpu, s.kernels, s.arch, s.compile_errors,
        s.trials_by_status.contains("needs_gpu") ? s.trials_by_status.at("needs_gpu") : 0);
    return kNoGpu;
  }
  const std::size_t expected = s.problems * s.budgets;
  if (s.winners.size() < expected) {
    std::cerr << fmt::format(
        "flashtune: {} of {} (problem, SRAM budget) pairs have no passing configuration\n",
        expected - s.winners.size(), expected);
    return kTrialFailed;
  }
  return kOk;
}

// Every space in turn (all are loaded first, so a bad file stops the run before anything is measured); the
// exit code is the worst of them.
int run_tune(const TuneArgs& a) {
  std::vector<std::filesystem::path> files;
  for (const std::string& s : a.spaces) files.emplace_back(s);
  if (files.empty()) files.push_back(space::default_search_space());
  for (const auto& f : files) (void)load_checked_space(f);
  int worst = kOk;
  bool no_gpu = false;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (files.size() > 1) std::cout << fmt::format("{}== {} ==\n", i == 0 ? "" : "\n", files[i].string());
    const int rc = run_one(a, files[i]);
    no_gpu = no_gpu || rc == kNoGpu;  // without a GPU every space is still compiled and resource-checked
    if (rc != kNoGpu) worst = std::max(worst, rc);
  }
  return no_gpu ? kNoGpu : worst;
}

}  // namespace

void add_tune_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<TuneArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "sweep search spaces (search_spaces/fa2_fwd.yaml when none is given); cache the best per GPU");
  cmd->add_option("spaces", a->spaces, "search space files (YAML; docs/search-spaces.md), tuned in turn");
  cmd->add_option("--profile", a->profile, "hardware counters: none, all or top_k (overrides the space's)")
      ->check(CLI::IsMember({"none", "all", "top_k"}));
  cmd->add_option("--db", a->db, "results database (default $XDG_CACHE_HOME/flashtune/flashtune.db)");
  cmd->add_flag("--force", a->force, "measure even when the results cache has every answer");
  cmd->add_flag(
      "--resume", a->resume,
      "continue the newest unfinished sweep of this space (after a crash or kill) without repeating "
      "the trials it stored");
  cmd->add_flag("--compile-only", a->compile_only, "compile and resource-check only; never use the GPU");
  cmd->add_option("--strategy", a->strategy, "override the space's strategy")
      ->check(CLI::IsMember({"exhaustive", "random", "racing"}));
  a->seed_opt = cmd->add_option("--seed", a->seed, "override the space's seed (inputs and random draws)")
                    ->check(unsigned_integer());
  cmd->add_option("--random-budget", a->random_budget, "random strategy: configurations per problem")
      ->check(integer_in(0, 1'000'000));
  cmd->add_option("--jobs,-j", a->jobs, "compile worker processes (0: one per core)")
      ->check(integer_in(0, 1024));
  cmd->add_option("--json", a->json_path, "also write the summary as JSON to this file");
  cmd->add_flag("--quiet,-q", a->quiet, "no progress line");
  cmd->callback([a, &exit_code] { exit_code = run_tune(*a); });
}

}  // namespace flashtune::cli
