#pragma once
// Device tensors of one attention problem: Q, K, V (inputs), O and LSE (outputs, poisoned before every run),
// and a varlen problem's cu_seqlens_q / cu_seqlens_k (int32, uploaded once).
#include "attention_params.h"
#include "core/problem.hpp"
#include "gpu/device_buffer.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::run {

class AttentionBuffers {
 public:
  explicit AttentionBuffers(const AttentionProblem& p);

  void upload(const verify::HostInputs& in);
  // Fills O with the dtype's NaN and LSE with fp32 NaN, so an element the kernel does not write fails the
  // check.
  void poison();
  AttentionParams params() const;

  const AttentionProblem& problem() const { return problem_; }
  const gpu::DeviceBuffer& o() const { return o_; }
  const gpu::DeviceBuffer& lse() const { return lse_; }

 private:
  AttentionProblem problem_;
  gpu::DeviceBuffer q_, k_, v_, o_, lse_;
  gpu::DeviceBuffer cu_q_, cu_k_;  // varlen only
};

}  // namespace flashtune::run
