#include "run/reference.hpp"

#include <algorithm>

#include "run/gpu_reference.hpp"
#include "verify/cpu_reference.hpp"
#include "verify/half_convert.hpp"

namespace flashtune::run {
namespace {
// (query, key) pairs the GPU reference computes in all (each twice, in fp32 on CUDA cores): 2^34 pairs take
// about a second at head_dim 128.
constexpr double kMaxGpuReferencePairs = 17179869184.0;
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

}  // namespace flashtune::run
