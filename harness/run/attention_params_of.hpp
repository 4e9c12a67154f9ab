#pragma once
// AttentionParams (the kernels' argument) from an AttentionProblem: the sizes, the mask and softcap fields,
// the exponent scale, and the strides of packed tensors in the problem's layout. The pointers (q, k, v, o,
// lse, workspace, and varlen's cu_seqlens) are left null for the caller to set; a caller with strided tensors
// overwrites the strides. Varlen (layout thd): total_q from the problem's seqlens, batch strides 0.
//
//   AttentionParams a = run::attention_params_of(problem);
//   a.q = q_ptr; ...
#include "attention_params.h"
#include "core/problem.hpp"

namespace flashtune::run {

AttentionParams attention_params_of(const AttentionProblem& p);

// Strides of a packed tensor of `heads` heads of `rows` rows each, in layout `layout` (thd: rows of all the
// sequences, batch stride 0).
TensorStrides packed_strides(Layout layout, int heads, int rows, int head_dim);

}  // namespace flashtune::run
