#pragma once
// Device tensors of one attention problem: Q, K, V (inputs), O and LSE, a varlen problem's cu_seqlens_q /
// cu_seqlens_k (int32, uploaded once), and a block-sparse problem's layout (core/block_layout.hpp): the
// kernels' lists and, for the GPU reference, the [rows, cols] bytes.
//
// The forward pass (AttentionProblem::pass fwd) writes O and LSE: they are the outputs, poisoned before every
// run. The backward pass (pass bwd) reads O and LSE, the forward's outputs (uploaded once: upload_forward),
// and dO (shaped like O: upload_d_o), and writes dQ (shaped like Q), dK and dV (like K and V): those are its
// outputs, poisoned instead. buffer_plan() is the same plan without a GPU.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "attention_params.h"
#include "core/problem.hpp"
#include "gpu/device_buffer.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::run {

// Bytes of each tensor of p's buffers (0: not allocated) and which of them poison() fills with NaN.
struct BufferPlan {
  std::size_t q = 0, k = 0, v = 0, o = 0, lse = 0;  // O and LSE: written by the forward, read by the backward
  std::size_t d_o = 0, d_q = 0, d_k = 0, d_v = 0;   // the backward only
  std::vector<std::string_view> poisoned;           // {"O", "LSE"} or, backward, {"dQ", "dK", "dV"}
};
BufferPlan buffer_plan(const AttentionProblem& p);

class AttentionBuffers {
 public:
  explicit AttentionBuffers(const AttentionProblem& p);

  void upload(const verify::HostInputs& in);
  // The backward's inputs: dO (p.elements() dtype values laid out like O), and the forward's O (the same) and
  // LSE (p.rows() fp32 values). Throw Error(invalid_argument) for a forward problem or wrong sizes.
  void upload_d_o(std::span<const std::uint16_t> d_o);
  void upload_forward(std::span<const std::uint16_t> o, std::span<const float> lse);
  // Fills the outputs with NaN (the dtype's for O, dQ, dK, dV; fp32 for LSE), so that an element the kernel
  // does not write fails the check: O and LSE for the forward, dQ, dK and dV for the backward.
  void poison();
  // The pointers of every buffer (d_o, d_q, d_k, d_v: the backward's; null for the forward).
  AttentionParams params() const;

  const AttentionProblem& problem() const { return problem_; }
  const gpu::DeviceBuffer& o() const { return o_; }
  const gpu::DeviceBuffer& lse() const { return lse_; }
  const gpu::DeviceBuffer& d_q() const { return d_q_; }
  const gpu::DeviceBuffer& d_k() const { return d_k_; }
  const gpu::DeviceBuffer& d_v() const { return d_v_; }
  // Block-sparse: the layout as [rows, layout_cols()] bytes, 1 where kept (empty when dense).
  const gpu::DeviceBuffer& layout() const { return layout_; }
  int layout_cols() const { return layout_cols_; }

 private:
  AttentionBuffers(const AttentionProblem& p, const BufferPlan& plan);

  AttentionProblem problem_;
  gpu::DeviceBuffer q_, k_, v_, o_, lse_;
  gpu::DeviceBuffer d_o_, d_q_, d_k_, d_v_;                 // backward only
  gpu::DeviceBuffer cu_q_, cu_k_;                           // varlen only
  gpu::DeviceBuffer sparse_counts_, sparse_cols_, layout_;  // block-sparse only
  int sparse_cols_per_row_ = 0;
  int layout_cols_ = 0;
};

}  // namespace flashtune::run
