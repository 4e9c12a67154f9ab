#pragma once
// Device tensors of one attention problem: Q, K, V (inputs), O and LSE (outputs, poisoned before every run),
// a varlen problem's cu_seqlens_q / cu_seqlens_k (int32, uploaded once), and a block-sparse problem's
// layout (core/block_layout.hpp): the kernels' lists and, for the GPU reference, the [rows, cols] bytes.
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
  // Block-sparse: the layout as [rows, layout_cols()] bytes, 1 where kept (empty when dense).
  const gpu::DeviceBuffer& layout() const { return layout_; }
  int layout_cols() const { return layout_cols_; }

 private:
  AttentionProblem problem_;
  gpu::DeviceBuffer q_, k_, v_, o_, lse_;
  gpu::DeviceBuffer cu_q_, cu_k_;                           // varlen only
  gpu::DeviceBuffer sparse_counts_, sparse_cols_, layout_;  // block-sparse only
  int sparse_cols_per_row_ = 0;
  int layout_cols_ = 0;
};

}  // namespace flashtune::run
