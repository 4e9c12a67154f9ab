// print_check_summary: what `flashtune check` prints at the end.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "report/check_report.hpp"
#include "report/table.hpp"

namespace flashtune::report {
namespace {

using check::CheckCase;
using check::CheckOutcome;
using check::CheckStage;

constexpr CheckStage kStages[] = {CheckStage::compile, CheckStage::verify, CheckStage::memcheck,
                                  CheckStage::racecheck};

void print_detail(const std::string& detail, std::size_t max_lines, std::ostream& out) {
  std::istringstream in(detail);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    if (n++ == max_lines) {
      out << "      ...\n";
      break;
    }
    out << "      " << line << '\n';
  }
}

std::string case_name(const CheckCase& c) {
  return c.problem.empty()
             ? fmt::format("{} {} {}", to_string(c.stage), c.template_id, c.configuration)
             : fmt::format("{} {} {} on {}", to_string(c.stage), c.template_id, c.configuration, c.problem);
}

}  // namespace

void print_check_summary(const check::CheckResult& r, std::ostream& out, std::size_t detail_lines) {
  Table t({"space", "stage", "pass", "fail", "expected failure", "unexpected pass", "skipped"});
  for (const std::string& space : r.spaces)
    for (CheckStage stage : kStages) {
      std::size_t n[5] = {};
      bool any = false;
      for (const CheckCase& c : r.cases)
        if (c.space == space && c.stage == stage) {
          ++n[static_cast<int>(c.outcome)];
          any = true;
        }
      if (any)
        t.add_row({space, std::string(to_string(stage)), std::to_string(n[0]), std::to_string(n[1]),
                   std::to_string(n[2]), std::to_string(n[3]), std::to_string(n[4])});
    }
  t.print(out);

  bool header = false;
  for (const CheckCase& c : r.cases) {
    if (c.outcome != CheckOutcome::fail && c.outcome != CheckOutcome::unexpected_pass) continue;
    if (!header) out << "\nfailures:\n";
    header = true;
    out << fmt::format("  {} {}\n", c.outcome == CheckOutcome::fail ? "FAIL" : "UNEXPECTED PASS",
                       case_name(c));
    print_detail(c.detail, detail_lines, out);
  }
  header = false;
  for (const CheckCase& c : r.cases) {
    if (c.outcome != CheckOutcome::expected_failure) continue;
    if (!header) out << "\nexpected failures:\n";
    header = true;
    const std::string first = c.detail.substr(0, c.detail.find('\n'));
    out << fmt::format("  {}: {}\n", case_name(c), first.substr(0, 160));
  }

  const std::size_t bad = r.count(CheckOutcome::fail) + r.count(CheckOutcome::unexpected_pass);
  out << fmt::format(
      "\ncheck: {} ({} cases: {} pass, {} fail, {} expected failures, {} unexpected passes, {} skipped; "
      "{:.1f} s)\n",
      bad > 0 ? "FAILED" : "PASSED", r.cases.size(), r.count(CheckOutcome::pass), r.count(CheckOutcome::fail),
      r.count(CheckOutcome::expected_failure), r.count(CheckOutcome::unexpected_pass),
      r.count(CheckOutcome::skipped), r.wall_s);
  if (!r.no_gpu.empty())
    out << fmt::format("No GPU ({}): only the compile stage ran; verification needs a GPU.\n", r.no_gpu);
}

}  // namespace flashtune::report
