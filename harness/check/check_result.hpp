#pragma once
// What `flashtune check` found: one case per configuration and stage (compile), per configuration and check
// problem (verify), or per configuration and sanitizer tool (memcheck, racecheck). Plain data; the printers
// (report/check_report.hpp: text, JUnit XML, JSON) render it.
//
//   CheckResult r = run_check(space, options, observer);
//   r.count(CheckOutcome::fail);   // 0: the gate passes
//   r.failed();                    // any fail or unexpected_pass
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flashtune::check {

enum class CheckStage { compile, verify, memcheck, racecheck };
std::string_view to_string(CheckStage s);  // "compile", "verify", "memcheck", "racecheck"
std::optional<CheckStage> parse_check_stage(std::string_view s);

enum class CheckOutcome {
  pass,              // as the space expects: it worked
  fail,              // it should have worked and did not
  expected_failure,  // the space's `check:` said it fails, and it failed that way
  unexpected_pass,   // the space's `check:` said it fails, and it worked: the expectation is stale
  skipped,           // not run (detail says why: it did not compile, it exceeds the budget's resources)
};
std::string_view to_string(CheckOutcome o);  // "pass", "fail", "expected_failure", ...
std::optional<CheckOutcome> parse_check_outcome(std::string_view s);

struct CheckCase {
  std::string space;          // the search space file
  std::string template_id;    // "fa2_fwd"
  std::string configuration;  // "block_m=64 block_n=64 stages=2 warps=4 (d64 bf16)"
  std::string problem;        // "B2 H3 N17 d64 bf16 causal"; "" for the compile stage
  CheckStage stage = CheckStage::compile;
  CheckOutcome outcome = CheckOutcome::pass;
  std::string
      detail;  // why it failed (the compile log's first errors, the verifier's, the sanitizer's), or facts
  double seconds = 0;
};

struct CheckResult {
  std::vector<CheckCase> cases;  // spaces in the order checked; within one, compile cases first
  std::vector<std::string> spaces;
  std::string no_gpu;  // why the GPU stages did not run when they were asked for; "" otherwise
  std::vector<std::string> notes;
  double wall_s = 0;

  std::size_t count(CheckOutcome o) const;
  std::size_t count(CheckOutcome o, CheckStage s) const;
  // Any fail or unexpected_pass: the gate fails.
  bool failed() const;
  // Appends another space's result (cases, spaces, notes; the first no_gpu kept; wall times added).
  void append(CheckResult other);
};

}  // namespace flashtune::check
