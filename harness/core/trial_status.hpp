#pragma once
// How one trial (one configuration on one problem) ended. The detail text is kept beside it.
#include <optional>
#include <string_view>

namespace flashtune {

enum class TrialStatus { ok, compile_error, resource_exceeded, launch_error, incorrect, timeout, crashed };

std::string_view to_string(TrialStatus s);
std::optional<TrialStatus> parse_trial_status(std::string_view s);

}  // namespace flashtune
