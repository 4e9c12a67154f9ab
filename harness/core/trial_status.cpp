#include "core/trial_status.hpp"

#include "core/enum_names.hpp"

namespace flashtune {
namespace {
constexpr EnumNames<TrialStatus, 7> kNames{{{
    {TrialStatus::ok, "ok"},
    {TrialStatus::compile_error, "compile_error"},
    {TrialStatus::resource_exceeded, "resource_exceeded"},
    {TrialStatus::launch_error, "launch_error"},
    {TrialStatus::incorrect, "incorrect"},
    {TrialStatus::timeout, "timeout"},
    {TrialStatus::crashed, "crashed"},
}}};
}  // namespace

std::string_view to_string(TrialStatus s) {
  return kNames.name(s, "unknown");
}

std::optional<TrialStatus> parse_trial_status(std::string_view s) {
  return kNames.parse(s);
}

}  // namespace flashtune
