#pragma once
// The printers of `flashtune check` (check/check_result.hpp): a text summary for people, JUnit XML for CI
// systems, JSON for tools (and its reader, so that a saved result can be read back).
//
//   print_check_summary(result, std::cout);
//   std::ofstream("check.xml") << check_junit_xml(result);
//   CheckResult again = parse_check_json(check_json(result));
#include <ostream>
#include <string>
#include <string_view>

#include "check/check_result.hpp"

namespace flashtune::report {

// Per space and stage the count of each outcome (a table), then every fail and unexpected pass with its
// detail (at most `detail_lines` lines each), the expected failures in one line each, and the verdict:
// "check: PASSED
// (...)" or "check: FAILED (...)".
void print_check_summary(const check::CheckResult& r, std::ostream& out, std::size_t detail_lines = 6);

// <testsuites name="flashtune check" tests= failures= errors="0" skipped= time=> with one <testsuite
// name=SPACE> per space and one <testcase classname=TEMPLATE name="STAGE CONFIGURATION[ on PROBLEM]" time=>
// per case: a fail or unexpected pass has a <failure message=FIRST LINE type=STAGE>DETAIL</failure>, a
// skipped case <skipped message=WHY/>, an expected failure passes with its detail in <system-out>.
std::string check_junit_xml(const check::CheckResult& r);

// {"flashtune_check": 1, "spaces": [...], "no_gpu": "", "notes": [...], "wall_s": s, "counts": {"pass": n,
// ...}, "failed": bool, "cases": [{"space", "template", "configuration", "problem", "stage", "outcome",
// "detail", "seconds"}]}, indented.
std::string check_json(const check::CheckResult& r);
// Throws Error(invalid_argument) for text that is not such a document.
check::CheckResult parse_check_json(std::string_view text);

}  // namespace flashtune::report
