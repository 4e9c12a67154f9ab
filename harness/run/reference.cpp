#include "run/reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "run/gpu_reference.hpp"
#include "run/gpu_reference_bwd.hpp"
#include "verify/cpu_reference.hpp"
#include "verify/half_convert.hpp"

namespace flashtune::run {
namespace {
// (query, key) pairs the GPU reference computes in all (each twice, in fp32 on CUDA cores): 2^34 pairs take
// about a second at head_dim 128.
constexpr double kMaxGpuReferencePairs = 17179869184.0;

// Rounds reference rows (each head of `heads` in order, its len_q rows of head_dim values, and their LSE)
// into the kernels' tensors: O in p.layout as the dtype, LSE as fp32.
template <typename T>
void scatter_forward(const AttentionProblem& p, std::span<const int> heads, const std::vector<T>& o,
                     const std::vector<T>& lse, ForwardState& st) {
  const std::vector<int> cu = p.cu_seqlens_q();
  const auto d = static_cast<std::size_t>(p.head_dim);
  std::size_t row = 0;  // of o and lse
  for (int bh : heads) {
    const int b = bh / p.heads, h = bh % p.heads;
    for (int i = 0; i < p.len_q(b); ++i, ++row) {
      const auto at = static_cast<std::size_t>(p.offset(b, h, i, false));
      for (std::size_t c = 0; c < d; ++c)
        st.o[at + c] = verify::from_float(static_cast<float>(o[row * d + c]), p.dtype);
      const std::int64_t r = p.varlen() ? std::int64_t{h} * p.total_q() + cu[b] + i
                                        : (std::int64_t{b} * p.heads + h) * p.seqlen + i;
      st.lse[static_cast<std::size_t>(r)] = static_cast<float>(lse[row]);
    }
  }
}

// The rows of `heads` (query heads, or with kv key/value heads) of a gradient shaped like Q (like K): bhsd
// downloads the heads one by one (only they cross the bus), the other layouts all of it, then the rows.
std::vector<std::uint16_t> download_rows(const gpu::DeviceBuffer& buffer, const AttentionProblem& p,
                                         std::span<const int> heads, bool kv) {
  if (p.layout == Layout::bhsd) {
    const std::size_t head_elems = static_cast<std::size_t>(kv ? p.keys() : p.seqlen) * p.head_dim;
    std::vector<std::uint16_t> out(heads.size() * head_elems);
    for (std::size_t i = 0; i < heads.size(); ++i)
      buffer.download(out.data() + i * head_elems, head_elems * 2,
                      static_cast<std::size_t>(heads[i]) * head_elems * 2);
    return out;
  }
  std::vector<std::uint16_t> all(static_cast<std::size_t>(kv ? p.kv_elements() : p.elements()));
  buffer.download(all.data(), all.size() * 2, 0);
  return kv ? verify::gather_kv_heads<std::uint16_t>(all, p, heads)
            : verify::gather_heads<std::uint16_t>(all, p, heads, p.head_dim);
}
}  // namespace

Reference compute_reference(const AttentionBuffers& buffers, const verify::HostInputs& inputs,
                            std::uint64_t seed, const std::string& arch) {
  const AttentionProblem& p = buffers.problem();
  Reference ref;
  const double pairs_per_head = p.attended_pairs() / (static_cast<double>(p.batch) * p.heads);
  if (pairs_per_head <= kCpuReferenceMaxPairs) {
    ref.heads = verify::heads_to_check(p, seed, 4);
    verify::ReferenceOutput out = verify::cpu_attention(p, inputs, ref.heads);
    ref.o = std::move(out.o);
    ref.lse = std::move(out.lse);
    ref.source = "cpu-float64";
    return ref;
  }
  const int max_heads =
      static_cast<int>(std::clamp(kMaxGpuReferencePairs / std::max(pairs_per_head, 1.0), 1.0, 3.0));
  ref.heads = verify::heads_to_check(p, seed, max_heads);
  GpuReferenceOutput out = gpu_reference(buffers, ref.heads, arch);
  ref.o.assign(out.o.begin(), out.o.end());
  ref.lse.assign(out.lse.begin(), out.lse.end());
  ref.source = "gpu-fp32";
  return ref;
}

verify::VerifyResult check_against(const Reference& ref, const AttentionBuffers& buffers) {
  const AttentionProblem& p = buffers.problem();
  if (p.varlen()) {  // a head's rows are the sequence's: all of O and LSE, then the checked heads' rows
    std::vector<std::uint16_t> all_o(static_cast<std::size_t>(p.elements()));
    std::vector<float> all_lse(static_cast<std::size_t>(p.rows()));
    buffers.o().download(all_o.data(), all_o.size() * 2, 0);
    buffers.lse().download(all_lse.data(), all_lse.size() * sizeof(float), 0);
    const verify::ErrorStats o_stats =
        verify::compare(verify::gather_heads<std::uint16_t>(all_o, p, ref.heads, p.head_dim), p.dtype, ref.o);
    const verify::ErrorStats lse_stats =
        verify::compare(verify::gather_heads<float>(all_lse, p, ref.heads, 1), ref.lse);
    return verify::judge(o_stats, lse_stats, p, ref.heads);
  }
  // Only the checked heads cross the bus: a few MB instead of all of O.
  const std::size_t head_elems = static_cast<std::size_t>(p.seqlen) * p.head_dim;
  const std::size_t rows = static_cast<std::size_t>(p.seqlen);
  std::vector<std::uint16_t> o(ref.heads.size() * head_elems);
  std::vector<float> lse(ref.heads.size() * rows);
  for (std::size_t i = 0; i < ref.heads.size(); ++i) {
    const auto bh = static_cast<std::size_t>(ref.heads[i]);
    if (p.layout == Layout::bhsd)
      buffers.o().download(o.data() + i * head_elems, head_elems * 2, bh * head_elems * 2);
    buffers.lse().download(lse.data() + i * rows, rows * sizeof(float), bh * rows * sizeof(float));
  }
  if (p.layout != Layout::bhsd) {  // a head's rows are strided: all of O, then the checked heads' rows
    std::vector<std::uint16_t> all(static_cast<std::size_t>(p.elements()));
    buffers.o().download(all.data(), all.size() * 2, 0);
    o = verify::gather_heads<std::uint16_t>(all, p, ref.heads, p.head_dim);
  }
  const verify::ErrorStats o_stats = verify::compare(o, p.dtype, ref.o);
  const verify::ErrorStats lse_stats = verify::compare(lse, ref.lse);
  return verify::judge(o_stats, lse_stats, p, ref.heads);
}

bool forward_state_on_cpu(const AttentionProblem& p) {
  return p.attended_pairs() <= kCpuForwardMaxPairs && static_cast<double>(p.elements()) <= kCpuMaxElements;
}

namespace {
std::vector<int> every_head(const AttentionProblem& p) {
  std::vector<int> heads(static_cast<std::size_t>(p.batch) * p.heads);
  for (std::size_t i = 0; i < heads.size(); ++i) heads[i] = static_cast<int>(i);
  return heads;
}

ForwardState empty_state(const AttentionProblem& p) {
  ForwardState st;
  st.o.assign(static_cast<std::size_t>(p.elements()), 0);
  st.lse.assign(static_cast<std::size_t>(p.rows()), -std::numeric_limits<float>::infinity());
  return st;
}
}  // namespace

ForwardState cpu_forward_state(const AttentionProblem& p, const verify::HostInputs& inputs) {
  ForwardState st = empty_state(p);
  const std::vector<int> heads = every_head(p);
  const verify::ReferenceOutput out = verify::cpu_attention(p, inputs, heads);
  scatter_forward(p, heads, out.o, out.lse, st);
  st.source = "cpu-float64";
  return st;
}

ForwardState compute_forward_state(const AttentionBuffers& buffers, const verify::HostInputs& inputs,
                                   const std::string& arch) {
  const AttentionProblem& p = buffers.problem();
  if (forward_state_on_cpu(p)) return cpu_forward_state(p, inputs);
  ForwardState st = empty_state(p);
  const std::vector<int> heads = every_head(p);
  const int total = static_cast<int>(heads.size());
  // Every head, a launch of at most ~2^34 pairs (about a second) and 256 MiB of fp32 O at a time.
  const double pairs_per_head = std::max(p.attended_pairs() / total, 1.0);
  const double head_floats = static_cast<double>(p.seqlen) * p.head_dim;
  const auto per_launch = static_cast<int>(std::clamp(
      std::min(std::floor(kMaxGpuReferencePairs / pairs_per_head), std::floor(67108864.0 / head_floats)), 1.0,
      static_cast<double>(total)));
  for (int first = 0; first < total; first += per_launch) {
    const std::span<const int> chunk(heads.data() + first,
                                     static_cast<std::size_t>(std::min(per_launch, total - first)));
    const GpuReferenceOutput out = gpu_reference(buffers, chunk, arch);
    scatter_forward(p, chunk, out.o, out.lse, st);
  }
  st.source = "gpu-fp32";
  return st;
}

BackwardCheckPlan backward_check_plan(const AttentionProblem& p, std::uint64_t seed) {
  const double per_group =
      std::max(p.attended_pairs() / (static_cast<double>(p.batch) * p.num_kv_heads()), 1.0);
  BackwardCheckPlan plan;
  plan.cpu = per_group <= kCpuBackwardMaxPairs && static_cast<double>(p.elements()) <= kCpuMaxElements;
  const double budget = plan.cpu ? kCpuBackwardMaxPairs : kMaxGpuBackwardPairs;
  const double most = plan.cpu ? 4.0 : 2.0;
  plan.kv_heads = verify::kv_heads_to_check(
      p, seed, static_cast<int>(std::clamp(std::floor(budget / per_group), 1.0, most)));
  return plan;
}

GradientReference cpu_gradient_reference(const AttentionProblem& p, const verify::HostInputs& inputs,
                                         std::span<const std::uint16_t> d_o, const ForwardState& fwd,
                                         const BackwardCheckPlan& plan) {
  GradientReference ref;
  ref.kv_heads = plan.kv_heads;
  ref.q_heads = group_query_heads(p, ref.kv_heads);
  const verify::BackwardReference full =
      verify::cpu_attention_backward(p, inputs, d_o, ref.kv_heads, fwd.view());
  ref.dq = verify::gather_heads<double>(full.dq, p, ref.q_heads, p.head_dim);
  ref.dk = verify::gather_kv_heads<double>(full.dk, p, ref.kv_heads);
  ref.dv = verify::gather_kv_heads<double>(full.dv, p, ref.kv_heads);
  ref.source = "cpu-float64";
  return ref;
}

GradientReference compute_backward_reference(const AttentionBuffers& buffers,
                                             const verify::HostInputs& inputs,
                                             std::span<const std::uint16_t> d_o, const ForwardState& fwd,
                                             std::uint64_t seed, const std::string& arch) {
  const AttentionProblem& p = buffers.problem();
  const BackwardCheckPlan plan = backward_check_plan(p, seed);
  if (plan.cpu) return cpu_gradient_reference(p, inputs, d_o, fwd, plan);
  GradientReference ref;
  ref.kv_heads = plan.kv_heads;
  ref.q_heads = group_query_heads(p, ref.kv_heads);
  const verify::ForwardOutputs view = fwd.view();
  const GpuBackwardOutput out = gpu_reference_backward(buffers, d_o, ref.kv_heads, arch, &view);
  ref.dq.assign(out.dq.begin(), out.dq.end());
  ref.dk.assign(out.dk.begin(), out.dk.end());
  ref.dv.assign(out.dv.begin(), out.dv.end());
  ref.source = "gpu-fp32";
  return ref;
}

verify::VerifyResult judge_gradients(const GradientReference& ref, const AttentionProblem& p,
                                     std::span<const std::uint16_t> dq, std::span<const std::uint16_t> dk,
                                     std::span<const std::uint16_t> dv) {
  const verify::GradientTolerance tol = verify::gradient_tolerance_for(p.dtype);
  const verify::BackwardStats stats{.dq = verify::compare_gradient(dq, p.dtype, ref.dq, tol),
                                    .dk = verify::compare_gradient(dk, p.dtype, ref.dk, tol),
                                    .dv = verify::compare_gradient(dv, p.dtype, ref.dv, tol)};
  return verify::judge_backward(stats, p, ref.kv_heads);
}

verify::VerifyResult check_backward(const GradientReference& ref, const AttentionBuffers& buffers) {
  const AttentionProblem& p = buffers.problem();
  return judge_gradients(ref, p, download_rows(buffers.d_q(), p, ref.q_heads, false),
                         download_rows(buffers.d_k(), p, ref.kv_heads, true),
                         download_rows(buffers.d_v(), p, ref.kv_heads, true));
}

}  // namespace flashtune::run
