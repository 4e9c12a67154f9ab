#pragma once
// One call of the runtime: device pointers with their shapes and strides, as a caller (C++ or a framework
// through DLPack) describes its tensors, and the check that turns it into an AttentionProblem.
//
//   AttentionCall c{.q = {q_ptr, {B, H, N, d}}, .k = {k_ptr, {B, Hkv, Nk, d}}, .v = {v_ptr, {B, Hkv, Nk, d}},
//                   .o = o_ptr, .dtype = DType::bf16, .causal = true};
//   AttentionProblem p = problem_of(c);   // Error(invalid_argument) naming the argument that is wrong
//
// Shapes are logical [batch, heads, seqlen, head_dim]; strides (in elements) say where the elements are, so a
// [B, N, H, d] projection is passed as its [B, H, N, d] view (strides {N*H*d, d, H*d, 1}), not copied.
#include <array>
#include <cstdint>
#include <optional>

#include "core/dtype.hpp"
#include "core/problem.hpp"

namespace flashtune {
struct AttentionParams;  // kernel_templates/common/attention_params.h: not a public header
}  // namespace flashtune

namespace flashtune::runtime {

using Strides = std::array<std::int64_t, 4>;

struct TensorArg {
  const void* data = nullptr;
  std::array<std::int64_t, 4> shape{};  // [batch, heads, seqlen, head_dim]
  std::optional<Strides> strides;       // in elements; nullopt: contiguous
};

// Variable lengths: the batch's sequences packed one after another, no padding. q is then [1, heads, total_q,
// head_dim] (its rows the sequences' queries in order), k and v [1, kv_heads, total_k, head_dim], O as q, and
// lse [heads, total_q]. cu_seqlens_q / cu_seqlens_k are batch + 1 int32 prefix sums from 0 in device memory
// (never read on the host); max_seqlen_q / max_seqlen_k must be at least every sequence's length (they size
// the grid: rows past them are not computed).
struct VarlenArgs {
  const int* cu_seqlens_q = nullptr;
  const int* cu_seqlens_k = nullptr;
  int batch = 0;  // sequences
  int max_seqlen_q = 0;
  int max_seqlen_k = 0;
};

// Block-sparse attention: queries and keys cut into blocks of `block` positions (the last of each maybe
// short); query block r attends key blocks cols[r * cols_per_row + i], i < counts[r], ascending, besides the
// causal and window masks, the same layout for every batch entry and head (core/block_layout.hpp's
// SparseLists). A query row that attends no key gets O = 0 and LSE = -inf. counts ([rows] int32) and cols
// ([rows, cols_per_row] int32, row-major) lie in device memory and are never read on the host: counts[r] must
// be at most cols_per_row and row r's first counts[r] columns ascending, each in 0..cols_per_row - 1 (columns
// past the keys are never read). block must be a multiple of the chosen configuration's query and key tiles
// (the selection leaves out the candidates whose tiles do not divide it). density, the fraction of the
// layout's blocks kept, chooses the tuned configuration only (calls whose densities round to the same percent
// share a plan).
struct BlockSparseArgs {
  const int* counts = nullptr;  // [rows]: key blocks kept per query block
  const int* cols = nullptr;    // [rows, cols_per_row]: their indices, each row's first counts[r] ascending
  int block = 0;                // positions per block, queries and keys: a multiple of 16 in 16..4096
  int rows = 0;                 // ceil(seqlen / block)
  int cols_per_row = 0;         // at least ceil(seqlen_k / block)
  float density = 0;            // the fraction of blocks kept, in (0, 1]
};

struct AttentionCall {
  TensorArg q;        // [batch, heads, seqlen, head_dim]
  TensorArg k;        // [batch, kv_heads, seqlen_k, head_dim]: kv_heads divides heads (GQA; 1: MQA)
  TensorArg v;        // the shape of k
  void* o = nullptr;  // [batch, heads, seqlen, head_dim] of dtype
  std::optional<Strides> o_strides;  // nullopt: contiguous
  float* lse = nullptr;  // [batch, heads, seqlen] fp32 (natural log, scale included), or null: not returned
  DType dtype = DType::bf16;
  bool causal = false;               // with seqlen_k != seqlen aligned bottom-right (core/problem.hpp)
  float scale = 0;                   // softmax scale; 0 means 1/sqrt(head_dim)
  int window_left = -1;              // keys before the (aligned) diagonal a query sees; -1: unbounded
  int window_right = -1;             // keys after it; -1: unbounded
  float softcap = 0;                 // > 0: scores capped as softcap * tanh(score / softcap); 0: none
  std::optional<VarlenArgs> varlen;  // packed sequences of their own lengths (see VarlenArgs)
  std::optional<BlockSparseArgs>
      block_sparse;  // a block-sparse layout (see BlockSparseArgs); not with varlen
};

// The problem `call` describes. Throws Error(invalid_argument) naming the argument: a null pointer; a shape
// with an extent below 1 or past int; k and v of different shapes, or a batch or head_dim other than q's, or
// kv_heads not dividing heads; a stride other than 1 on head_dim, or another stride that is not a positive
// multiple of 8 elements (16 bytes: the tensor-core loads and TMA need it); a pointer not 16-byte aligned; a
// dtype other than bf16 and fp16; a scale that is negative or not finite; a window below -1; a softcap that
// is negative or not finite; 2^31 rows or more in a tensor; varlen with a batch extent other than 1, a null
// or unaligned cu_seqlens, a batch below 1 or a max_seqlen outside 1..total rows; block_sparse with varlen,
// null or not 4-byte aligned counts or cols, a block that is not a multiple of 16 in 16..4096, rows other
// than ceil(seqlen / block), cols_per_row below ceil(seqlen_k / block), a density outside (0, 1] (the problem
// then has sparse_block and sparse_density, sparse_seed 0: the layout is the call's). The layout is thd with
// varlen, else bhsd when every tensor is contiguous, else bshd (which stands for any strides: the kernels
// take the call's). head_dim is left to the templates (selection.hpp), grid limits to the chosen
// configuration (runtime.cpp).
AttentionProblem problem_of(const AttentionCall& call);

// The backward of one forward call: dQ, dK and dV of O = attention(q, k, v) given dO (the gradient of a loss
// with respect to O), from the forward's inputs and outputs (the attention matrix is recomputed, not kept).
//
//   AttentionCall fwd{.q = ..., .k = ..., .v = ..., .o = o, .lse = lse, .dtype = DType::bf16, .causal =
//   true}; rt.attention(fwd, stream); rt.attention_backward({.forward = fwd, .d_o = d_o, .d_q = d_q, .d_k =
//   d_k, .d_v = d_v}, stream);
//
// The kernels address each gradient by its tensor's strides: dQ is laid out as q, dK as k, dV as v, and dO as
// o. So each gradient's strides (nullopt: contiguous, as o_strides) must be its tensor's, an extent of 1
// aside (any stride fits it). With grouped heads, dK and dV are per key/value head (k's shape): the group's
// query heads are summed.
struct AttentionBackwardCall {
  // The forward call as it was made: q, k, v, its output o (with o_strides), its LSE (lse: required, fp32
  // [batch, heads, seqlen]), dtype, causal, scale, window. Read only. The backward templates (fa2_bwd today)
  // compute no softcap, varlen or block_sparse: such a call is refused when the runtime selects a template
  // (Error(invalid_argument) saying what fa2_bwd does not support).
  AttentionCall forward;
  const void* d_o = nullptr;           // [batch, heads, seqlen, head_dim] of dtype, laid out as o
  std::optional<Strides> d_o_strides;  // nullopt: contiguous
  void* d_q = nullptr;                 // written: q's shape, laid out as q
  std::optional<Strides> d_q_strides;
  void* d_k = nullptr;  // written: k's shape ([batch, kv_heads, seqlen_k, head_dim]), laid out as k
  std::optional<Strides> d_k_strides;
  void* d_v = nullptr;  // written: v's shape, laid out as v
  std::optional<Strides> d_v_strides;
};

// The backward problem of `call` (problem_of(call.forward) with pass bwd). Throws Error(invalid_argument)
// ("attention_backward: ...") naming the argument: what problem_of refuses in the forward call; a null
// forward.lse; a null or unaligned d_o, d_q, d_k or d_v; gradient strides that are not their tensor's (dO:
// o's, dQ: q's, dK: k's, dV: v's). Whether a template computes the problem's backward is the selection's
// (runtime.hpp).
AttentionProblem problem_of(const AttentionBackwardCall& call);

// The call's strides as the kernels take them (AttentionParams: q, k, v, o), contiguous where not given;
// varlen, the prefix sums and the total rows (batch strides 0); block-sparse, the layout's lists. Expects a
// call problem_of accepted.
void set_strides(const AttentionCall& call, AttentionParams& params);

// The backward call's pointers and strides (set_strides of the forward call; the gradients share their
// tensors' strides): q, k, v, o, lse, d_o, d_q, d_k, d_v. Expects a call problem_of accepted.
void set_pointers(const AttentionBackwardCall& call, AttentionParams& params);

}  // namespace flashtune::runtime
