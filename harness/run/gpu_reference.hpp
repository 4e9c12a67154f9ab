#pragma once
// The fp32 GPU reference (kernel_templates/reference/attention_reference.cuh) on a list of heads.
#include <span>
#include <string>
#include <vector>

#include "run/attention_buffers.hpp"

namespace flashtune::run {

struct GpuReferenceOutput {
  std::vector<float> o;    // [heads.size(), seqlen, head_dim]
  std::vector<float> lse;  // [heads.size(), seqlen]
};

// Runs the reference on the inputs already in `buffers` for the given batch*head indices. Its memory is its
// outputs: no scores are stored, whatever seqlen is.
GpuReferenceOutput gpu_reference(const AttentionBuffers& buffers, std::span<const int> heads,
                                 const std::string& arch);

}  // namespace flashtune::run
