#include "runtime/attention_call.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include "attention_params.h"
#include "core/error.hpp"

namespace flashtune::runtime {
namespace {

constexpr std::int64_t kMaxRows = (std::int64_t{1} << 31) - 1;  // batch * heads * seqlen, as an int

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorKind::invalid_argument, "attention: " + what);
}

// What is wrong with pointer `p`, or nullopt.
std::optional<std::string> pointer_problem(const void* p, const char* name, int alignment = 16) {
  if (p == nullptr) return fmt::format("{} is a null pointer", name);
  if (reinterpret_cast<std::uintptr_t>(p) % alignment != 0)
    return fmt::format("{} ({}) is not {}-byte aligned", name, p, alignment);
  return std::nullopt;
}

void check_pointer(const void* p, const char* name, int alignment = 16) {
  if (auto why = pointer_problem(p, name, alignment)) bad(*why);
}

// The block-sparse lists of a call of q [.., seqlen, ..] and k [.., seqlen_k, ..].
void check_block_sparse(const BlockSparseArgs& s, std::int64_t seqlen, std::int64_t seqlen_k) {
  check_pointer(s.counts, "block_sparse.counts", alignof(int));
  check_pointer(s.cols, "block_sparse.cols", alignof(int));
  if (s.block < 16 || s.block > 4096 || s.block % 16 != 0)
    bad(fmt::format("block_sparse: block {} must be a multiple of 16 in 16..4096", s.block));
  const std::int64_t rows = (seqlen + s.block - 1) / s.block;
  const std::int64_t cols = (seqlen_k + s.block - 1) / s.block;
  if (s.rows != rows)
    bad(fmt::format("block_sparse: rows {} must be ceil(seqlen / block) = ceil({} / {}) = {}", s.rows, seqlen,
                    s.block, rows));
  if (s.cols_per_row < cols)
    bad(fmt::format(
        "block_sparse: cols_per_row {} must be at least ceil(seqlen_k / block) = ceil({} / {}) = {}",
        s.cols_per_row, seqlen_k, s.block, cols));
  if (!(s.density > 0.0f && s.density <= 1.0f))
    bad(fmt::format("block_sparse: density {} must be in (0, 1] (the fraction of blocks kept)", s.density));
}

std::string shape_text(const std::array<std::int64_t, 4>& s) {
  return fmt::format("[{}, {}, {}, {}]", s[0], s[1], s[2], s[3]);
}

Strides dense_strides(const std::array<std::int64_t, 4>& s) {
  return {s[1] * s[2] * s[3], s[2] * s[3], s[3], 1};
}

// The strides the kernels use: the given ones, a dimension of extent 1 taking its dense stride (any stride
// is right for it, and TMA wants a positive multiple of 16 bytes).
Strides effective_strides(const std::array<std::int64_t, 4>& shape, const std::optional<Strides>& given) {
  Strides s = dense_strides(shape);
  if (given)
    for (int i = 0; i < 4; ++i)
      if (shape[i] > 1) s[i] = (*given)[i];
  return s;
}

void check_strides(const std::array<std::int64_t, 4>& shape, const std::optional<Strides>& given,
                   const char* name) {
  const Strides st = effective_strides(shape, given);
  if (st == dense_strides(shape)) return;  // contiguous: always accepted
  if (st[3] != 1) bad(fmt::format("{} has stride {} on head_dim: it must be 1", name, st[3]));
  for (int i = 0; i < 3; ++i)
    if (st[i] <= 0 || st[i] % 8 != 0)
      bad(
          fmt::format("{} has strides {}: the batch, head and sequence strides must be positive multiples of "
                      "8 elements (16 bytes)",
                      name, shape_text(*given)));
}

void check_tensor(const TensorArg& t, const char* name) {
  check_pointer(t.data, name);
  for (int i = 0; i < 4; ++i)
    if (t.shape[i] < 1 || t.shape[i] > std::numeric_limits<int>::max())
      bad(fmt::format("{} has shape {}: every extent must be in 1..2^31-1 ([batch, heads, seqlen, head_dim])",
                      name, shape_text(t.shape)));
  // Rows first: the dense strides cannot overflow once batch * heads * seqlen < 2^31.
  if (t.shape[0] * t.shape[1] > kMaxRows / t.shape[2])
    bad(fmt::format("{} has shape {}: batch * heads * seqlen must be below 2^31", name, shape_text(t.shape)));
  check_strides(t.shape, t.strides, name);
}

bool contiguous(const std::array<std::int64_t, 4>& shape, const std::optional<Strides>& given) {
  return effective_strides(shape, given) == dense_strides(shape);
}

TensorStrides kernel_strides(const std::array<std::int64_t, 4>& shape, const std::optional<Strides>& given) {
  const Strides s = effective_strides(shape, given);
  return {s[0], s[1], s[2]};
}

}  // namespace

AttentionProblem problem_of(const AttentionCall& call) {
  check_tensor(call.q, "q");
  check_tensor(call.k, "k");
  check_tensor(call.v, "v");
  const auto& q = call.q.shape;
  const auto& k = call.k.shape;
  if (call.v.shape != k)
    bad(fmt::format("k {} and v {} must have the same shape", shape_text(k), shape_text(call.v.shape)));
  if (k[0] != q[0] || k[3] != q[3])
    bad(fmt::format("k {} must have q's {} batch and head_dim ([batch, kv_heads, seqlen_k, head_dim])",
                    shape_text(k), shape_text(q)));
  if (q[1] % k[1] != 0)
    bad(fmt::format("k's {} heads must divide q's {} (grouped-query attention)", k[1], q[1]));
  check_pointer(call.o, "o");
  check_strides(q, call.o_strides, "o");
  if (call.lse != nullptr && reinterpret_cast<std::uintptr_t>(call.lse) % alignof(float) != 0)
    bad("lse is not 4-byte aligned");
  if (call.dtype != DType::bf16 && call.dtype != DType::f16)
    bad(fmt::format("dtype {} is not bf16 or fp16", static_cast<int>(call.dtype)));
  if (!std::isfinite(call.scale) || call.scale < 0)
    bad(fmt::format("scale {} must be finite and >= 0 (0: 1/sqrt(head_dim))", call.scale));
  if (call.window_left < -1 || call.window_right < -1)
    bad(fmt::format("window ({}, {}) must be >= -1 on each side (-1: unbounded)", call.window_left,
                    call.window_right));
  if (!std::isfinite(call.softcap) || call.softcap < 0)
    bad(fmt::format("softcap {} must be finite and >= 0 (0: none)", call.softcap));
  if (call.varlen) {
    const VarlenArgs& v = *call.varlen;
    if (q[0] != 1)
      bad(fmt::format("varlen: q {} must be [1, heads, total_q, head_dim] (the sequences packed)",
                      shape_text(q)));
    check_pointer(v.cu_seqlens_q, "cu_seqlens_q");
    check_pointer(v.cu_seqlens_k, "cu_seqlens_k");
    if (v.batch < 1) bad(fmt::format("varlen: batch {} must be >= 1", v.batch));
    if (v.max_seqlen_q < 1 || v.max_seqlen_q > q[2])
      bad(fmt::format("varlen: max_seqlen_q {} must be in 1..{} (q's rows)", v.max_seqlen_q, q[2]));
    if (v.max_seqlen_k < 1 || v.max_seqlen_k > k[2])
      bad(fmt::format("varlen: max_seqlen_k {} must be in 1..{} (k's rows)", v.max_seqlen_k, k[2]));
    if (static_cast<std::int64_t>(v.batch) * q[1] > kMaxRows / v.max_seqlen_q)
      bad("varlen: batch * heads * max_seqlen_q must be below 2^31");
  }
  if (call.block_sparse) {
    if (call.varlen) bad("block_sparse: a block-sparse layout and varlen (packed sequences) do not combine");
    check_block_sparse(*call.block_sparse, q[2], k[2]);
  }
  AttentionProblem p;
  p.batch = static_cast<int>(q[0]);
  p.heads = static_cast<int>(q[1]);
  p.seqlen = static_cast<int>(q[2]);
  p.head_dim = static_cast<int>(q[3]);
  p.dtype = call.dtype;
  p.causal = call.causal;
  p.softmax_scale = call.scale;
  p.kv_heads = k[1] == q[1] ? 0 : static_cast<int>(k[1]);
  p.seqlen_k = k[2] == q[2] ? 0 : static_cast<int>(k[2]);
  p.window_left = call.window_left;
  p.window_right = call.window_right;
  p.softcap = call.softcap;
  const bool dense = contiguous(q, call.q.strides) && contiguous(k, call.k.strides) &&
                     contiguous(k, call.v.strides) && contiguous(q, call.o_strides);
  p.layout = dense ? Layout::bhsd : Layout::bshd;
  if (call.varlen) {
    p.layout = Layout::thd;
    p.batch = call.varlen->batch;
    p.seqlen = call.varlen->max_seqlen_q;
    p.seqlen_k = call.varlen->max_seqlen_k == p.seqlen ? 0 : call.varlen->max_seqlen_k;
  }
  if (call.block_sparse) {
    p.sparse_block = call.block_sparse->block;
    p.sparse_density = call.block_sparse->density;
  }
  return p;
}

AttentionProblem problem_of(const AttentionBackwardCall& call) {
  AttentionProblem p;
  try {
    p = problem_of(call.forward);
  } catch (const Error& e) {  // the same refusal, named as the backward's
    const std::string what = e.what();
    constexpr std::string_view kPrefix = "attention: ";
    throw Error(e.kind(),
                "attention_backward: " + (what.starts_with(kPrefix) ? what.substr(kPrefix.size()) : what));
  }
  const AttentionCall& f = call.forward;
  auto refuse = [](const std::string& what) {
    throw Error(ErrorKind::invalid_argument, "attention_backward: " + what);
  };
  if (f.lse == nullptr)
    refuse(
        "forward.lse is a null pointer: the backward reads the forward's LSE (ask the forward call for it)");
  const struct {
    const void* data;
    const std::optional<Strides>& strides;
    const std::array<std::int64_t, 4>& shape;
    const std::optional<Strides>& tensor_strides;
    const char* name;
    const char* tensor;
  } grads[] = {{call.d_o, call.d_o_strides, f.q.shape, f.o_strides, "d_o", "o"},
               {call.d_q, call.d_q_strides, f.q.shape, f.q.strides, "d_q", "q"},
               {call.d_k, call.d_k_strides, f.k.shape, f.k.strides, "d_k", "k"},
               {call.d_v, call.d_v_strides, f.v.shape, f.v.strides, "d_v", "v"}};
  for (const auto& g : grads) {
    if (auto why = pointer_problem(g.data, g.name)) refuse(*why);
    const Strides have = effective_strides(g.shape, g.strides);
    const Strides want = effective_strides(g.shape, g.tensor_strides);
    if (have != want)
      refuse(
          fmt::format("{} has strides {} but {} has {}: the kernels address {} by {}'s strides, so it must "
                      "be laid out as {}",
                      g.name, shape_text(have), g.tensor, shape_text(want), g.name, g.tensor, g.tensor));
  }
  p.pass = Pass::bwd;
  return p;
}

void set_strides(const AttentionCall& call, AttentionParams& params) {
  params.q_stride = kernel_strides(call.q.shape, call.q.strides);
  params.k_stride = kernel_strides(call.k.shape, call.k.strides);
  params.v_stride = kernel_strides(call.v.shape, call.v.strides);
  params.o_stride = kernel_strides(call.q.shape, call.o_strides);
  if (call.varlen) {
    params.q_stride.batch = params.k_stride.batch = params.v_stride.batch = params.o_stride.batch = 0;
    params.cu_seqlens_q = call.varlen->cu_seqlens_q;
    params.cu_seqlens_k = call.varlen->cu_seqlens_k;
    params.total_q = static_cast<int>(call.q.shape[2]);
    params.total_k = static_cast<int>(call.k.shape[2]);
  }
  if (call.block_sparse) {
    params.sparse_counts = call.block_sparse->counts;
    params.sparse_cols = call.block_sparse->cols;
    params.sparse_block = call.block_sparse->block;
    params.sparse_cols_per_row = call.block_sparse->cols_per_row;
  }
}

void set_pointers(const AttentionBackwardCall& call, AttentionParams& params) {
  const AttentionCall& f = call.forward;
  set_strides(f, params);
  params.q = f.q.data;
  params.k = f.k.data;
  params.v = f.v.data;
  params.o = f.o;
  params.lse = f.lse;
  params.d_o = call.d_o;
  params.d_q = call.d_q;
  params.d_k = call.d_k;
  params.d_v = call.d_v;
}

}  // namespace flashtune::runtime
