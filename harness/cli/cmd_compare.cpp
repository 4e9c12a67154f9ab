// flashtune compare OLD NEW: the performance gate (docs/check.md). Each side is a results database or a JSON
// export; per problem SAME / FASTER / SLOWER / AMBIGUOUS (noise-aware), ADDED / REMOVED. Exit 7 when a
// problem is SLOWER, else 0.
#include <fmt/format.h>

#include <iostream>

#include "check/result_comparison.hpp"
#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/validators.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "report/compare_report.hpp"

namespace flashtune::cli {
namespace {

struct CompareArgs {
  std::string old_path, new_path;
  double threshold = 3;  // percent
  bool any_gpu = false;
  std::string json;
};

int run_compare(const CompareArgs& a) {
  check::ComparisonOptions o;
  o.threshold = a.threshold / 100;
  o.any_gpu = a.any_gpu;
  const check::Comparison c =
      check::compare(check::load_comparison_side(a.old_path), check::load_comparison_side(a.new_path), o);
  report::print_comparison(c, std::cout);
  if (!a.json.empty()) {
    write_file(a.json, report::comparison_json(c));
  }
  return c.regressed() ? kRegression : kOk;
}

}  // namespace

void add_compare_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "compare the best configurations of two results databases or JSON exports, per problem: SAME, "
      "FASTER, SLOWER, AMBIGUOUS (noise-aware), ADDED, REMOVED; exit 7 when one is SLOWER");
  cmd->add_option("old", a->old_path, "the baseline: a results database or `flashtune export --format json`")
      ->required();
  cmd->add_option("new", a->new_path, "the candidate: the same kinds")->required();
  cmd->add_option("--threshold", a->threshold,
                  "relative change in percent that is always SAME; beyond it noise decides")
      ->check(finite_in(0, 100))
      ->capture_default_str();
  cmd->add_flag("--any-gpu", a->any_gpu, "match problems across different GPUs");
  cmd->add_option("--json", a->json, "also write the comparison as JSON to this file");
  cmd->callback([a, &exit_code] { exit_code = run_compare(*a); });
}

}  // namespace flashtune::cli
