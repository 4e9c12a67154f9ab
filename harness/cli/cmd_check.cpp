// flashtune check [SPACE.yaml ...]: the CI correctness gate (docs/check.md). Every configuration of each
// space is compiled; with a GPU each (or the top K per problem) is verified on ragged and causal shapes, and
// with
// --sanitize run under compute-sanitizer. Exit 0 when everything is as the spaces expect, 6 when a case
// failed, 3 when a GPU was needed and there is none (the compile stage still ran), 5 for an invalid space.
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <iostream>

#include "check/check_runner.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/space_files.hpp"
#include "cli/validators.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "report/check_report.hpp"
#include "report/tune_progress.hpp"
#include "space/space_loader.hpp"

namespace flashtune::cli {
namespace {

struct CheckArgs {
  std::vector<std::string> spaces;
  bool compile_only = false;
  bool full_problems = false;
  int top = 0;
  int sample = 0;
  std::uint64_t seed = 0;
  CLI::Option* seed_opt = nullptr;
  std::string sanitize;
  CLI::Option* sanitize_opt = nullptr;
  std::string junit, json, db;
  int jobs = 0;
  bool quiet = false;
};

// Every *.yaml of the shipped spaces, by name.
std::vector<std::filesystem::path> shipped_spaces() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(space::search_space_dir()))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

int run_check_command(const CheckArgs& a) {
  check::CheckOptions o;
  o.compile_only = a.compile_only;
  o.full_problems = a.full_problems;
  o.top_k = a.top;
  o.sample = a.sample;
  o.seed = a.seed;
  if (a.seed_opt->count() > 0 && a.sample == 0)
    throw Error(ErrorKind::invalid_argument, "--seed draws the --sample: give --sample N with it");
  if (a.sanitize_opt->count() > 0)
    o.sanitize = check::parse_sanitizer_tools(a.sanitize == "all" ? "" : a.sanitize);
  o.db = a.db;
  o.jobs = a.jobs;
  if (a.compile_only && (a.top > 0 || !o.sanitize.empty() || a.full_problems))
    throw Error(ErrorKind::invalid_argument,
                "--top, --sanitize and --full-problems choose what runs on the GPU: they do not go with "
                "--compile-only");

  std::vector<std::filesystem::path> files;
  for (const std::string& s : a.spaces) files.emplace_back(s);
  if (files.empty()) files = shipped_spaces();
  std::vector<space::SearchSpace> spaces;
  for (const auto& f : files) spaces.push_back(load_checked_space(f));  // all valid before any work

  report::TuneProgressPrinter progress(a.quiet);
  check::CheckResult all;
  for (const space::SearchSpace& s : spaces) all.append(check::run_check(s, o, progress));
  progress.finish();
  report::print_check_summary(all, std::cout);
  if (!a.junit.empty()) write_file(a.junit, report::check_junit_xml(all));
  if (!a.json.empty()) write_file(a.json, report::check_json(all));
  if (all.failed()) return kCheckFailed;
  return all.no_gpu.empty() ? kOk : kNoGpu;
}

}  // namespace

void add_check_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<CheckArgs>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "the CI correctness gate: compile every configuration of the spaces (default: every shipped "
      "space), verify on ragged and causal shapes, optionally under compute-sanitizer");
  cmd->add_option("spaces", a->spaces, "search space files (default: every search_spaces/*.yaml)");
  cmd->add_flag("--compile-only", a->compile_only, "compile only; never use the GPU");
  cmd->add_option("--top", a->top,
                  "verify only the K best configurations per problem that the results store "
                  "knows for this GPU (default: every configuration)")
      ->check(integer_in(1, 1'000'000));
  // A flag with an optional value: --sanitize alone is "all"; a value only with '=' (--sanitize=memcheck), so
  // that a following space file is never taken for one.
  a->sanitize_opt =
      cmd->add_flag("--sanitize{all}", a->sanitize,
                    "run the chosen configurations under compute-sanitizer: memcheck and racecheck "
                    "(--sanitize), or some (--sanitize=memcheck)");
  cmd->add_flag("--full-problems", a->full_problems, "also verify on the space's own problems");
  cmd->add_option("--sample", a->sample,
                  "check at most N configurations per space, drawn with --seed (plus every one the space "
                  "expects not to compile); a note says how many of how many (default: all)")
      ->check(integer_in(1, 1'000'000));
  a->seed_opt = cmd->add_option("--seed", a->seed, "the seed of --sample (default 0); recorded in the note");
  cmd->add_option("--junit", a->junit, "write the cases as JUnit XML to this file");
  cmd->add_option("--json", a->json, "write the cases as JSON to this file");
  cmd->add_option("--db", a->db,
                  "results database for --top (default $XDG_CACHE_HOME/flashtune/flashtune.db)");
  cmd->add_option("--jobs,-j", a->jobs, "compile worker processes (0: one per core)")
      ->check(integer_in(0, 1024));
  cmd->add_flag("--quiet,-q", a->quiet, "no progress line");
  cmd->callback([a, &exit_code] { exit_code = run_check_command(*a); });
}

}  // namespace flashtune::cli
