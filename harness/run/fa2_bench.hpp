#pragma once
// One problem, many FA2 configurations: inputs and the reference are made once; each configuration is
// compiled (through the cache), launched on NaN-poisoned outputs, verified, then timed.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/problem.hpp"
#include "core/trial_status.hpp"
#include "gpu/timing.hpp"
#include "kernels/fa2_config.hpp"
#include "verify/error_metrics.hpp"

namespace flashtune::run {

struct BenchOptions {
  std::uint64_t seed = 20261122;  // inputs and the choice of checked heads; recorded in every result
  bool verify = true;
  bool time = true;
  gpu::TimingOptions timing;
  int device = 0;
};

struct BenchResult {
  Fa2Instance instance;
  AttentionProblem problem;
  TrialStatus status = TrialStatus::ok;
  std::string detail;  // the reason when status != ok
  // Resources: ptxas facts and the driver's view.
  int registers = -1;
  int spill_bytes = 0;
  int smem_bytes = 0;
  int blocks_per_sm = 0;
  double compile_ms = 0;
  bool cache_hit = false;
  std::optional<verify::VerifyResult> check;
  std::string reference;  // which reference checked it
  std::optional<gpu::TimingStats> timing;
  double tflops = 0;  // problem.flops() / median time
  std::uint64_t seed = 0;
};

class Fa2Bench {
 public:
  // Creates the context, uploads seeded inputs and computes the reference (when verifying).
  Fa2Bench(const AttentionProblem& problem, const BenchOptions& options);
  ~Fa2Bench();
  Fa2Bench(const Fa2Bench&) = delete;
  Fa2Bench& operator=(const Fa2Bench&) = delete;

  // Never throws for a bad configuration: compile errors, launch errors and wrong answers become the status.
  BenchResult run(const Fa2Config& config);

  const std::string& arch() const;
  const std::string& reference_source() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace flashtune::run
