#pragma once
// Time stamps as the results store keeps them: UTC, ISO 8601, whole seconds.
#include <chrono>
#include <string>

namespace flashtune::store {

// "2026-11-24T03:13:21Z"
std::string iso8601_utc(std::chrono::system_clock::time_point t);
std::string utc_now();

}  // namespace flashtune::store
