#pragma once
// One attention problem on the GPU, set up once for many trials: seeded inputs uploaded, the reference
// computed (when verifying), and the outputs NaN-poisoned before every verified launch.
//
//   ProblemSession s(problem, seed, /*verify=*/true, "sm_90a");   // needs a current Context
//   s.poison(); launch(kernel, shape, args(s.params())); sync;
//   verify::VerifyResult r = *s.check();
//
// The backward pass (problem.pass bwd) also gets dO (verify::make_d_o, from the same seed) and the forward's
// O and LSE of every head (compute_forward_state: O rounded to the dtype as a forward kernel stores it),
// uploaded once as inputs; its outputs are dQ, dK and dV, checked against the backward reference computed
// from that same O and LSE (compute_backward_reference).
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
  // Validates the problem (Error(invalid_argument)), allocates and uploads. The forward's reference is the
  // float64 CPU one for at most kCpuReferenceMaxPairs attended pairs per head, else the fp32 GPU one; the
  // backward's follows backward_check_plan (reference.hpp).
  ProblemSession(const AttentionProblem& problem, std::uint64_t seed, bool verify, const std::string& arch);

  const AttentionProblem& problem() const { return buffers_.problem(); }
  std::uint64_t seed() const { return seed_; }
  AttentionParams params() const { return buffers_.params(); }
  // Fills the outputs with NaN (synchronous): O and LSE, or the backward's dQ, dK and dV.
  void poison() { buffers_.poison(); }
  // Compares the outputs of the last launch with the reference; nullopt when not verifying.
  std::optional<verify::VerifyResult> check() const;
  // The reference the outputs are checked against: "cpu-float64", "gpu-fp32" or "none".
  std::string reference_source() const;
  // The backward's O and LSE inputs came from: "cpu-float64" or "gpu-fp32" ("" for the forward).
  const std::string& forward_source() const { return forward_source_; }

 private:
  void set_up_backward(const verify::HostInputs& inputs, bool verify, const std::string& arch);

  AttentionBuffers buffers_;
  std::uint64_t seed_;
  std::optional<Reference> reference_;                   // forward
  std::optional<GradientReference> gradient_reference_;  // backward
  std::string forward_source_;
};

}  // namespace flashtune::run
