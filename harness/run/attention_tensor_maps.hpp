#pragma once
// The TMA tensor maps a template asks for (KernelTemplate::tensor_maps), built over one problem's buffers,
// in the request's boxes with a 128-byte swizzle: for the plain problem each of Q, K, V, O viewed as
// [batch*heads, seqlen, head_dim] 16-bit elements (rank 3, packed); for the general one
// (variant_of(p).general: grouped heads, seqlen_k != seqlen, strided tensors) as [batch, heads, rows,
// head_dim] by AttentionParams' strides (rank 4; K and V with kv_heads and seqlen_k). The result is laid out
// as the kernel's parameter struct expects (128-byte maps in request order), so `maps.data()` is the kernel
// argument.
#include <span>
#include <vector>

#include "attention_params.h"
#include "core/problem.hpp"
#include "gpu/tensor_map.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune::run {

// Throws Error(invalid_argument) or gpu::DriverError (cuTensorMapEncodeTiled) when a map cannot be built.
std::vector<gpu::TensorMap> attention_tensor_maps(const std::vector<TensorMapRequest>& requests,
                                                  const AttentionParams& params,
                                                  const AttentionProblem& problem);

// The same into `out` (at least requests.size() maps; Error(internal) otherwise), allocating nothing: the
// runtime's launch path.
void attention_tensor_maps(std::span<const TensorMapRequest> requests, const AttentionParams& params,
                           const AttentionProblem& problem, std::span<gpu::TensorMap> out);

}  // namespace flashtune::run
