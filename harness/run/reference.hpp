#pragma once
// The reference answer for one problem, computed once and checked against every configuration's output.
// Small problems (at most kCpuReferenceMaxPairs attended (query, key) pairs per head: seqlen 1024 dense) use
// the float64 CPU reference; larger ones the fp32 GPU reference. Both cover a seeded choice of heads (first,
// last, random others), not every head.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "run/attention_buffers.hpp"
#include "verify/cpu_reference_bwd.hpp"
#include "verify/error_metrics.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::run {

inline constexpr double kCpuReferenceMaxPairs = 1024.0 * 1024.0;

struct Reference {
  std::vector<int> heads;   // batch*head indices checked
  std::vector<double> o;    // [heads, seqlen, head_dim]
  std::vector<double> lse;  // [heads, seqlen]
  std::string source;       // "cpu-float64" or "gpu-fp32"
};

Reference compute_reference(const AttentionBuffers& buffers, const verify::HostInputs& inputs,
                            std::uint64_t seed, const std::string& arch);

// Downloads O and LSE of the checked heads and compares them with the reference.
verify::VerifyResult check_against(const Reference& ref, const AttentionBuffers& buffers);

// ---- The backward pass (AttentionProblem::pass bwd) ----

// The forward's outputs of a backward problem: inputs of its kernels (AttentionBuffers::upload_forward), of
// every head. O is rounded to the dtype as a forward kernel stores it (from the reference's float64 or fp32
// value, through fp32), laid out like Q; LSE is fp32, [batch, heads, seqlen] (varlen [heads, total_q]), -inf
// for a row without keys. From the float64 CPU forward reference when the whole problem attends at most
// kCpuForwardMaxPairs pairs (and has at most kCpuMaxElements elements), else from the fp32 GPU one (its
// launches cut to ~2^34 pairs each).
inline constexpr double kCpuForwardMaxPairs = 4.0 * 1024 * 1024;
inline constexpr double kCpuMaxElements = 16.0 * 1024 * 1024;
struct ForwardState {
  std::vector<std::uint16_t> o;
  std::vector<float> lse;
  std::string source;  // "cpu-float64" or "gpu-fp32"
  verify::ForwardOutputs view() const { return {o, lse}; }
};
ForwardState compute_forward_state(const AttentionBuffers& buffers, const verify::HostInputs& inputs,
                                   const std::string& arch);
// Whether compute_forward_state takes the CPU path, and that path alone (no GPU needed).
bool forward_state_on_cpu(const AttentionProblem& p);
ForwardState cpu_forward_state(const AttentionProblem& p, const verify::HostInputs& inputs);

// Where a backward check runs and what it covers. A key/value head's dK and dV need all of its group's query
// rows, so the check goes by whole groups: a seeded choice of key/value heads (verify::kv_heads_to_check:
// first, last, random others) with dQ of their query heads. The float64 CPU reference when one group attends
// at most kCpuBackwardMaxPairs (query, key) pairs (seqlen 1024 dense with a group of 4, or seqlen 2048
// without grouping) and the problem has at most kCpuMaxElements elements: as many key/value heads as fit in
// that many pairs, 1 to 4. Otherwise the fp32 GPU reference (run/gpu_reference_bwd.hpp), 1 or 2 key/value
// heads within kMaxGpuBackwardPairs pairs (about a second at head_dim 128).
inline constexpr double kCpuBackwardMaxPairs = 4.0 * 1024 * 1024;
inline constexpr double kMaxGpuBackwardPairs = 8589934592.0;  // 2^33
struct BackwardCheckPlan {
  bool cpu = true;
  std::vector<int> kv_heads;  // flat batch * kv_heads + kv_head, ascending
};
BackwardCheckPlan backward_check_plan(const AttentionProblem& p, std::uint64_t seed);

// The reference gradients of the checked heads, computed from the same O and LSE the kernel reads.
struct GradientReference {
  std::vector<int> kv_heads;  // the key/value heads checked (BackwardCheckPlan)
  std::vector<int> q_heads;   // their groups' query heads (group_query_heads' order)
  std::vector<double> dq;     // [q_heads, rows, head_dim] (varlen: each head's len_q rows)
  std::vector<double> dk;     // [kv_heads, keys, head_dim] (varlen: len_k rows)
  std::vector<double> dv;
  std::string source;  // "cpu-float64" or "gpu-fp32"
};
GradientReference compute_backward_reference(const AttentionBuffers& buffers,
                                             const verify::HostInputs& inputs,
                                             std::span<const std::uint16_t> d_o, const ForwardState& fwd,
                                             std::uint64_t seed, const std::string& arch);
// The CPU path of compute_backward_reference for the plan's key/value heads (plan.cpu; no GPU needed).
GradientReference cpu_gradient_reference(const AttentionProblem& p, const verify::HostInputs& inputs,
                                         std::span<const std::uint16_t> d_o, const ForwardState& fwd,
                                         const BackwardCheckPlan& plan);

// Downloads dQ of the checked query heads and dK, dV of the checked key/value heads and judges them
// (judge_gradients).
verify::VerifyResult check_backward(const GradientReference& ref, const AttentionBuffers& buffers);
// A kernel's gradients against the reference: dq, dk, dv are the dtype values of the reference's rows (its
// q_heads' and kv_heads', in order), each judged on its own (verify::judge_backward; the worst gradient is
// the result's o).
verify::VerifyResult judge_gradients(const GradientReference& ref, const AttentionProblem& p,
                                     std::span<const std::uint16_t> dq, std::span<const std::uint16_t> dk,
                                     std::span<const std::uint16_t> dv);

}  // namespace flashtune::run
