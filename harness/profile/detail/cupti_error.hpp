#pragma once
// Checking CUPTI calls. Only harness/profile .cpp files include this header (it includes cupti_result.h).
//
// Every failed call becomes a CuptiError (a flashtune::Error): "<call>(<context>): <CUPTI_ERROR_NAME>", the
// name as cuptiGetResultString gives it. Results that mean "this process cannot read counters here"
// (permissions, another profiler, vGPU, MIG, ...) have an explanation with the fix: unavailable_reason().
#include <cupti_result.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace flashtune::profile::detail {

class CuptiError : public Error {
 public:
  CuptiError(ErrorKind kind, const std::string& what, CUptiResult result)
      : Error(kind, what), result_(result) {}
  CUptiResult result() const noexcept { return result_; }

 private:
  CUptiResult result_;
};

// "CUPTI_ERROR_INSUFFICIENT_PRIVILEGES" (cuptiGetResultString), or "CUptiResult 35" when CUPTI has no name.
std::string result_name(CUptiResult result);

// The error for a failed call: "<call>(<context>): <NAME>", plus the explanation of unavailable_reason() when
// there is one.
CuptiError cupti_error(CUptiResult result, const char* call, std::string_view context = {},
                       ErrorKind kind = ErrorKind::driver);

// Every CUPTI call goes through this: throws cupti_error(...) unless result is CUPTI_SUCCESS.
inline void check(CUptiResult result, const char* call, std::string_view context = {}) {
  if (result != CUPTI_SUCCESS) throw cupti_error(result, call, context);
}

// For destructors only: writes the failure to stderr and returns (never throws).
void log_failure(CUptiResult result, const char* call) noexcept;

// What a result that means "hardware counters (or tracing) cannot be used in this process on this machine"
// says, and how to fix it; nullopt for every other result (bugs, bad arguments, transient failures).
std::optional<std::string> unavailable_reason(CUptiResult result);

}  // namespace flashtune::profile::detail
