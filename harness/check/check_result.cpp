#include "check/check_result.hpp"

#include <algorithm>

#include "core/enum_names.hpp"

namespace flashtune::check {
namespace {

constexpr EnumNames<CheckStage, 4> kStages{{{
    {CheckStage::compile, "compile"},
    {CheckStage::verify, "verify"},
    {CheckStage::memcheck, "memcheck"},
    {CheckStage::racecheck, "racecheck"},
}}};

constexpr EnumNames<CheckOutcome, 5> kOutcomes{{{
    {CheckOutcome::pass, "pass"},
    {CheckOutcome::fail, "fail"},
    {CheckOutcome::expected_failure, "expected_failure"},
    {CheckOutcome::unexpected_pass, "unexpected_pass"},
    {CheckOutcome::skipped, "skipped"},
}}};

}  // namespace

FLASHTUNE_ENUM_NAME_FUNCTIONS(CheckStage, kStages, parse_check_stage)
FLASHTUNE_ENUM_NAME_FUNCTIONS(CheckOutcome, kOutcomes, parse_check_outcome)

std::size_t CheckResult::count(CheckOutcome o) const {
  return static_cast<std::size_t>(
      std::count_if(cases.begin(), cases.end(), [&](const CheckCase& c) { return c.outcome == o; }));
}

std::size_t CheckResult::count(CheckOutcome o, CheckStage s) const {
  return static_cast<std::size_t>(std::count_if(
      cases.begin(), cases.end(), [&](const CheckCase& c) { return c.outcome == o && c.stage == s; }));
}

bool CheckResult::failed() const {
  return count(CheckOutcome::fail) > 0 || count(CheckOutcome::unexpected_pass) > 0;
}

void CheckResult::append(CheckResult other) {
  for (CheckCase& c : other.cases) cases.push_back(std::move(c));
  for (std::string& s : other.spaces) spaces.push_back(std::move(s));
  for (std::string& n : other.notes) notes.push_back(std::move(n));
  if (no_gpu.empty()) no_gpu = std::move(other.no_gpu);
  wall_s += other.wall_s;
}

}  // namespace flashtune::check
