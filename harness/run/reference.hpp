#pragma once
// The reference answer for one problem, computed once and checked against every configuration's output.
// Small problems (at most kCpuReferenceMaxPairs attended (query, key) pairs per head: seqlen 1024 dense) use
// the float64 CPU reference; larger ones the fp32 GPU reference. Both cover a seeded choice of heads (first,
// last, random others), not every head.
#include <cstdint>
#include <string>
#include <vector>

#include "run/attention_buffers.hpp"
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

}  // namespace flashtune::run
