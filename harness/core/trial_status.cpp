#include "core/trial_status.hpp"

#include <array>
#include <utility>

namespace flashtune {
namespace {
constexpr std::array<std::pair<TrialStatus, std::string_view>, 7> kNames{{
    {TrialStatus::ok, "ok"},
    {TrialStatus::compile_error, "compile_error"},
    {TrialStatus::resource_exceeded, "resource_exceeded"},
    {TrialStatus::launch_error, "launch_error"},
    {TrialStatus::incorrect, "incorrect"},
    {TrialStatus::timeout, "timeout"},
    {TrialStatus::crashed, "crashed"},
}};
}  // namespace

std::string_view to_string(TrialStatus s) {
  for (const auto& [k, name] : kNames)
    if (k == s) return name;
  return "unknown";
}

std::optional<TrialStatus> parse_trial_status(std::string_view s) {
  for (const auto& [k, name] : kNames)
    if (name == s) return k;
  return std::nullopt;
}

}  // namespace flashtune
