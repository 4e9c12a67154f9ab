#pragma once
// One attention problem on the GPU, set up once for many trials: seeded inputs uploaded, the reference
// computed (when verifying), and the outputs NaN-poisoned before every verified launch.
//
//   ProblemSession s(problem, seed, /*verify=*/true, "sm_90a");   // needs a current Context
//   s.poison(); launch(kernel, shape, args(s.params())); sync;
//   verify::VerifyResult r = *s.check();
#include <cstdint>
#include <optional>
#include <string>

#include "attention_params.h"
#include "core/problem.hpp"
#include "run/attention_buffers.hpp"
#include "run/reference.hpp"
#include "verify/error_metrics.hpp"

namespace flashtune::run {

class ProblemSession {
 public:
  // Validates the problem (Error(invalid_argument)), allocates and uploads. The reference is the float64 CPU
  // one for at most kCpuReferenceMaxPairs attended pairs per head, else the fp32 GPU one (reference.hpp).
  ProblemSession(const AttentionProblem& problem, std::uint64_t seed, bool verify, const std::string& arch);

  const AttentionProblem& problem() const { return buffers_.problem(); }
  std::uint64_t seed() const { return seed_; }
  AttentionParams params() const { return buffers_.params(); }
  // Fills O and LSE with NaN (synchronous).
  void poison() { buffers_.poison(); }
  // Compares the outputs of the last launch with the reference; nullopt when not verifying.
  std::optional<verify::VerifyResult> check() const;
  // "cpu-float64", "gpu-fp32" or "none".
  std::string reference_source() const { return reference_ ? reference_->source : "none"; }

 private:
  AttentionBuffers buffers_;
  std::uint64_t seed_;
  std::optional<Reference> reference_;
};

}  // namespace flashtune::run
