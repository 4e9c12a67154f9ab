#pragma once
// TrialRunner's CUPTI objects (trial_profiling.cpp): the range profiler of the current metric set and the
// activity tracer, created on the first profile(). Internal to flashtune_run.
#include <memory>
#include <string>

#include "profile/kernel_activity.hpp"
#include "profile/range_profiler.hpp"
#include "run/trial_runner.hpp"

namespace flashtune::run {

struct TrialRunner::Profiling {
  bool tried = false;
  std::string why_not;  // set once counters turned out to be unreadable
  bool utilization = false;
  std::unique_ptr<profile::RangeProfiler> profiler;
  std::unique_ptr<profile::KernelActivity> activity;
  std::string activity_why_not;
};

}  // namespace flashtune::run
