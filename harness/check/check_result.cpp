#include "check/check_result.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace flashtune::check {
namespace {

constexpr std::array<std::pair<CheckStage, std::string_view>, 4> kStages = {{
    {CheckStage::compile, "compile"},
    {CheckStage::verify, "verify"},
    {CheckStage::memcheck, "memcheck"},
    {CheckStage::racecheck, "racecheck"},
}};

constexpr std::array<std::pair<CheckOutcome, std::string_view>, 5> kOutcomes = {{
    {CheckOutcome::pass, "pass"},
    {CheckOutcome::fail, "fail"},
    {CheckOutcome::expected_failure, "expected_failure"},
    {CheckOutcome::unexpected_pass, "unexpected_pass"},
    {CheckOutcome::skipped, "skipped"},
}};

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [value, name] : table)
    if (value == e) return name;
  return "?";
}

template <typename E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view s) {
  for (const auto& [value, name] : table)
    if (name == s) return value;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(CheckStage s) {
  return name_of(kStages, s);
}
std::optional<CheckStage> parse_check_stage(std::string_view s) {
  return value_of(kStages, s);
}
std::string_view to_string(CheckOutcome o) {
  return name_of(kOutcomes, o);
}
std::optional<CheckOutcome> parse_check_outcome(std::string_view s) {
  return value_of(kOutcomes, s);
}

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
