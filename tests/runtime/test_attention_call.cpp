// runtime::problem_of: a call's tensors become an AttentionProblem, and every malformed call is refused with
// a message that names the argument.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstdint>
#include <limits>

#include "attention_params.h"
#include "core/error.hpp"
#include "runtime/attention_call.hpp"

namespace flashtune::runtime {
namespace {

// Fake, 16-byte aligned device addresses: problem_of never dereferences them.
const void* address(std::uintptr_t a) {
  return reinterpret_cast<const void*>(a);
}

AttentionCall good_call() {
  AttentionCall c;
  c.q = {address(0x10000), {2, 3, 100, 64}};
  c.k = {address(0x20000), {2, 3, 100, 64}};
  c.v = {address(0x30000), {2, 3, 100, 64}};
  c.o = const_cast<void*>(address(0x40000));
  c.dtype = DType::f16;
  c.causal = true;
  return c;
}

// problem_of(c)'s refusal (an AttentionCall or an AttentionBackwardCall), or "accepted".
template <class Call>
std::string refusal(const Call& c) {
  try {
    (void)problem_of(c);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    return e.what();
  }
  return "accepted";
}

TEST(AttentionCall, AContiguousCallBecomesItsProblem) {
  const AttentionProblem p = problem_of(good_call());
  EXPECT_EQ(p.batch, 2);
  EXPECT_EQ(p.heads, 3);
  EXPECT_EQ(p.seqlen, 100);
  EXPECT_EQ(p.head_dim, 64);
  EXPECT_EQ(p.dtype, DType::f16);
  EXPECT_TRUE(p.causal);
  AttentionCall explicit_strides = good_call();
  explicit_strides.q.strides = {3 * 100 * 64, 100 * 64, 64, 1};
  EXPECT_NO_THROW((void)problem_of(explicit_strides));
}

// Grouped heads, more keys than queries, a window and a cap: the problem carries them; contiguous tensors are
// the bhsd layout.
TEST(AttentionCall, TheVariantsBecomeTheProblem) {
  AttentionCall c = good_call();
  c.q.shape = {2, 8, 16, 128};
  c.k.shape = c.v.shape = {2, 2, 4096, 128};
  c.window_left = 1024;
  c.window_right = 0;
  c.softcap = 30;
  const AttentionProblem p = problem_of(c);
  EXPECT_EQ(p.heads, 8);
  EXPECT_EQ(p.num_kv_heads(), 2);
  EXPECT_EQ(p.seqlen, 16);
  EXPECT_EQ(p.keys(), 4096);
  EXPECT_EQ(p.window_left, 1024);
  EXPECT_EQ(p.window_right, 0);
  EXPECT_EQ(p.softcap, 30.0f);
  EXPECT_EQ(p.layout, Layout::bhsd);
  EXPECT_NO_THROW(validate(p));
  AttentionParams a{};
  set_strides(c, a);
  EXPECT_EQ(a.q_stride.batch, 8 * 16 * 128);
  EXPECT_EQ(a.k_stride.head, 4096 * 128);
  EXPECT_EQ(a.o_stride.row, 128);
}

// [B, N, H, d] memory passed as its [B, H, N, d] view: no copy, the strides reach the kernels, and the
// problem is of the bshd family; a dimension of extent 1 takes its dense stride whatever it was given.
TEST(AttentionCall, StridedViewsKeepTheirStrides) {
  AttentionCall c = good_call();
  const Strides bshd = {100 * 3 * 64, 64, 3 * 64, 1};
  c.q.strides = c.k.strides = c.v.strides = c.o_strides = bshd;
  EXPECT_EQ(problem_of(c).layout, Layout::bshd);
  AttentionParams a{};
  set_strides(c, a);
  for (const TensorStrides& s : {a.q_stride, a.k_stride, a.v_stride, a.o_stride}) {
    EXPECT_EQ(s.batch, 100 * 3 * 64);
    EXPECT_EQ(s.head, 64);
    EXPECT_EQ(s.row, 3 * 64);
  }
  // Only o strided: still not the packed layout.
  c = good_call();
  c.o_strides = bshd;
  EXPECT_EQ(problem_of(c).layout, Layout::bshd);
  // One head: its stride is irrelevant (torch reports anything there), the tensor is contiguous.
  c = good_call();
  for (TensorArg* t : {&c.q, &c.k, &c.v}) {
    t->shape[1] = 1;
    t->strides = Strides{100 * 64, 3, 64, 1};
  }
  EXPECT_EQ(problem_of(c).layout, Layout::bhsd);
  set_strides(c, a);
  EXPECT_EQ(a.k_stride.head, 100 * 64);
}

TEST(AttentionCall, EachMalformedArgumentIsNamed) {
  AttentionCall c = good_call();
  c.k.data = nullptr;
  EXPECT_NE(refusal(c).find("k is a null pointer"), std::string::npos) << refusal(c);
  c = good_call();
  c.v.data = address(0x30004);
  EXPECT_NE(refusal(c).find("v (0x30004) is not 16-byte aligned"), std::string::npos) << refusal(c);
  c = good_call();
  c.o = nullptr;
  EXPECT_NE(refusal(c).find("o is a null pointer"), std::string::npos) << refusal(c);
  c = good_call();
  c.q.shape[2] = 0;
  EXPECT_NE(refusal(c).find("q has shape [2, 3, 0, 64]"), std::string::npos) << refusal(c);
  c = good_call();
  c.k.shape[2] = 50;
  EXPECT_NE(refusal(c).find("must have the same shape"), std::string::npos) << refusal(c);
  c = good_call();
  c.q.strides = {3 * 100 * 64, 100 * 64, 64, 2};
  EXPECT_NE(refusal(c).find("q has stride 2 on head_dim"), std::string::npos) << refusal(c);
  c = good_call();
  c.v.strides = {3 * 100 * 64, 64, 3 * 64 + 4, 1};
  EXPECT_NE(refusal(c).find("v has strides [19200, 64, 196, 1]: the batch, head and sequence strides must be "
                            "positive multiples of 8"),
            std::string::npos)
      << refusal(c);
  c = good_call();
  c.o_strides = {3 * 100 * 64, 0, 64, 1};
  EXPECT_NE(refusal(c).find("o has strides"), std::string::npos) << refusal(c);
  c = good_call();
  c.k.shape[1] = 2;
  EXPECT_NE(refusal(c).find("k [2, 2, 100, 64] and v [2, 3, 100, 64] must have the same shape"),
            std::string::npos)
      << refusal(c);
  c.v.shape[1] = 2;
  EXPECT_NE(refusal(c).find("k's 2 heads must divide q's 3"), std::string::npos) << refusal(c);
  c = good_call();
  c.k.shape[3] = c.v.shape[3] = 128;
  EXPECT_NE(refusal(c).find("must have q's [2, 3, 100, 64] batch and head_dim"), std::string::npos)
      << refusal(c);
  c = good_call();
  c.window_left = -2;
  EXPECT_NE(refusal(c).find("window (-2, -1) must be >= -1"), std::string::npos) << refusal(c);
  c = good_call();
  c.softcap = -1;
  EXPECT_NE(refusal(c).find("softcap -1 must be finite and >= 0"), std::string::npos) << refusal(c);
  c = good_call();
  c.scale = -1.0f;
  EXPECT_NE(refusal(c).find("scale -1 must be finite"), std::string::npos) << refusal(c);
  c = good_call();
  c.lse = reinterpret_cast<float*>(0x50002);
  EXPECT_NE(refusal(c).find("lse is not 4-byte aligned"), std::string::npos) << refusal(c);
  c = good_call();
  for (TensorArg* t : {&c.q, &c.k, &c.v}) t->shape = {1 << 20, 1 << 12, 1, 64};
  EXPECT_NE(refusal(c).find("q has shape [1048576, 4096, 1, 64]: batch * heads * seqlen must be below 2^31"),
            std::string::npos)
      << refusal(c);
  c = good_call();
  c.dtype = static_cast<DType>(99);
  EXPECT_NE(refusal(c).find("dtype 99 is not bf16 or fp16"), std::string::npos) << refusal(c);
  c = good_call();
  c.q.shape[3] = 1;
  for (TensorArg* t : {&c.k, &c.v}) t->shape[3] = 1;
  c.q.strides = std::array<std::int64_t, 4>{3 * 100, 100, 1, 7};  // head_dim 1: its stride is never used
  EXPECT_EQ(refusal(c), "accepted");
}

// A block-sparse layout of 64-position blocks over 100 queries and 300 keys: 2 rows, at least 5 columns.
AttentionCall sparse_call() {
  AttentionCall c = good_call();
  c.k.shape[2] = c.v.shape[2] = 300;
  c.block_sparse = BlockSparseArgs{.counts = reinterpret_cast<const int*>(0x50000),
                                   .cols = reinterpret_cast<const int*>(0x60004),  // int32: 4-byte aligned
                                   .block = 64,
                                   .rows = 2,
                                   .cols_per_row = 5,
                                   .density = 0.4f};
  return c;
}

TEST(AttentionCall, ABlockSparseCallBecomesItsProblemAndParams) {
  const AttentionCall c = sparse_call();
  const AttentionProblem p = problem_of(c);
  EXPECT_TRUE(p.block_sparse());
  EXPECT_EQ(p.sparse_block, 64);
  EXPECT_EQ(p.sparse_density, 0.4f);
  EXPECT_EQ(p.sparse_seed, 0u);  // the layout is the call's, not drawn
  EXPECT_EQ(p.keys(), 300);
  EXPECT_NO_THROW(validate(p));
  AttentionParams a{};
  set_strides(c, a);
  EXPECT_EQ(a.sparse_counts, c.block_sparse->counts);
  EXPECT_EQ(a.sparse_cols, c.block_sparse->cols);
  EXPECT_EQ(a.sparse_block, 64);
  EXPECT_EQ(a.sparse_cols_per_row, 5);
  // Wider lists than the key blocks, a layout of one block per sequence, every block kept.
  AttentionCall wide = sparse_call();
  wide.block_sparse->cols_per_row = 9;
  EXPECT_EQ(refusal(wide), "accepted");
  AttentionCall one = sparse_call();
  one.block_sparse->block = 4096;
  one.block_sparse->rows = one.block_sparse->cols_per_row = 1;
  one.block_sparse->density = 1.0f;
  EXPECT_EQ(refusal(one), "accepted");
  // A dense call leaves the sparse parameters null.
  AttentionParams dense{};
  set_strides(good_call(), dense);
  EXPECT_EQ(dense.sparse_counts, nullptr);
  EXPECT_FALSE(problem_of(good_call()).block_sparse());
}

TEST(AttentionCall, EachMalformedBlockSparseArgumentIsNamed) {
  AttentionCall c = sparse_call();
  c.block_sparse->counts = nullptr;
  EXPECT_NE(refusal(c).find("block_sparse.counts is a null pointer"), std::string::npos) << refusal(c);
  c = sparse_call();
  c.block_sparse->cols = nullptr;
  EXPECT_NE(refusal(c).find("block_sparse.cols is a null pointer"), std::string::npos) << refusal(c);
  c = sparse_call();
  c.block_sparse->cols = reinterpret_cast<const int*>(0x60002);
  EXPECT_NE(refusal(c).find("block_sparse.cols (0x60002) is not 4-byte aligned"), std::string::npos)
      << refusal(c);
  for (int block : {0, -64, 8, 72, 8192}) {
    c = sparse_call();
    c.block_sparse->block = block;
    EXPECT_NE(
        refusal(c).find(fmt::format("block_sparse: block {} must be a multiple of 16 in 16..4096", block)),
        std::string::npos)
        << refusal(c);
  }
  c = sparse_call();
  c.block_sparse->rows = 1;
  EXPECT_NE(refusal(c).find("block_sparse: rows 1 must be ceil(seqlen / block) = ceil(100 / 64) = 2"),
            std::string::npos)
      << refusal(c);
  c.block_sparse->rows = 3;
  EXPECT_NE(refusal(c).find("rows 3 must be"), std::string::npos) << refusal(c);
  c = sparse_call();
  c.block_sparse->cols_per_row = 4;
  EXPECT_NE(refusal(c).find("block_sparse: cols_per_row 4 must be at least ceil(seqlen_k / block) = "
                            "ceil(300 / 64) = 5"),
            std::string::npos)
      << refusal(c);
  for (float density : {0.0f, -0.5f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    c = sparse_call();
    c.block_sparse->density = density;
    EXPECT_NE(refusal(c).find("must be in (0, 1] (the fraction of blocks kept)"), std::string::npos)
        << refusal(c);
  }
  // Packed sequences have no block layout of their own.
  c = sparse_call();
  for (TensorArg* t : {&c.q, &c.k, &c.v}) t->shape[0] = 1;
  c.varlen = VarlenArgs{.cu_seqlens_q = reinterpret_cast<const int*>(0x70000),
                        .cu_seqlens_k = reinterpret_cast<const int*>(0x70000),
                        .batch = 2,
                        .max_seqlen_q = 50,
                        .max_seqlen_k = 50};
  EXPECT_NE(
      refusal(c).find("block_sparse: a block-sparse layout and varlen (packed sequences) do not combine"),
      std::string::npos)
      << refusal(c);
}

// ---- the backward: AttentionBackwardCall

// The backward of good_call() with grouped heads (3 query heads over 1 key/value head, 300 keys), its LSE
// and gradients at fake addresses, every gradient contiguous like its tensor.
AttentionBackwardCall good_backward() {
  AttentionBackwardCall b;
  b.forward = good_call();
  b.forward.k.shape = b.forward.v.shape = {2, 1, 300, 64};
  b.forward.lse = reinterpret_cast<float*>(0x50000);
  b.d_o = address(0x60000);
  b.d_q = const_cast<void*>(address(0x70000));
  b.d_k = const_cast<void*>(address(0x80000));
  b.d_v = const_cast<void*>(address(0x90000));
  return b;
}

TEST(AttentionBackwardCall, BecomesTheForwardsProblemOfPassBwd) {
  const AttentionBackwardCall b = good_backward();
  const AttentionProblem p = problem_of(b);
  EXPECT_EQ(p.pass, Pass::bwd);
  AttentionProblem forward = problem_of(b.forward);
  EXPECT_EQ(forward.pass, Pass::fwd);
  forward.pass = Pass::bwd;
  EXPECT_TRUE(same_problem(p, forward)) << p.to_string() << " vs " << forward.to_string();
  EXPECT_EQ(p.num_kv_heads(), 1);
  EXPECT_EQ(p.keys(), 300);
  EXPECT_TRUE(p.causal);
  EXPECT_NO_THROW(validate(p));
  AttentionParams a{};
  set_pointers(b, a);
  EXPECT_EQ(a.q, b.forward.q.data);
  EXPECT_EQ(a.k, b.forward.k.data);
  EXPECT_EQ(a.v, b.forward.v.data);
  EXPECT_EQ(a.o, b.forward.o);
  EXPECT_EQ(a.lse, b.forward.lse);
  EXPECT_EQ(a.d_o, b.d_o);
  EXPECT_EQ(a.d_q, b.d_q);
  EXPECT_EQ(a.d_k, b.d_k);
  EXPECT_EQ(a.d_v, b.d_v);
  EXPECT_EQ(a.q_stride.head, 100 * 64);
  EXPECT_EQ(a.k_stride.batch, 300 * 64);
  EXPECT_EQ(a.o_stride.row, 64);
}

// Strided tensors: each gradient given its tensor's strides is accepted (the kernels address it by them); an
// extent of 1 may have any stride on either side.
TEST(AttentionBackwardCall, GradientsTakeTheirTensorsStrides) {
  AttentionBackwardCall b = good_backward();
  const Strides q_bshd = {100 * 3 * 64, 64, 3 * 64, 1};
  const Strides kv_bshd = {300 * 64, 64, 64, 1};  // one key/value head: its stride is moot
  b.forward.q.strides = b.forward.o_strides = b.d_q_strides = b.d_o_strides = q_bshd;
  b.forward.k.strides = b.forward.v.strides = kv_bshd;
  b.d_k_strides = Strides{300 * 64, 8, 64, 1};  // another stride on the extent-1 head dimension
  b.d_v_strides = std::nullopt;                 // contiguous: the same as kv_bshd
  const AttentionProblem p = problem_of(b);
  EXPECT_EQ(p.layout, Layout::bshd);
  AttentionParams a{};
  set_pointers(b, a);
  EXPECT_EQ(a.q_stride.row, 3 * 64);
  EXPECT_EQ(a.o_stride.head, 64);
}

TEST(AttentionBackwardCall, EachMalformedArgumentIsNamed) {
  // The forward's refusals, named as the backward's.
  AttentionBackwardCall b = good_backward();
  b.forward.k.data = nullptr;
  EXPECT_EQ(refusal(b), "attention_backward: k is a null pointer");
  b = good_backward();
  b.forward.softcap = -1;
  EXPECT_NE(refusal(b).find("attention_backward: softcap -1 must be finite"), std::string::npos)
      << refusal(b);
  b = good_backward();
  b.forward.lse = nullptr;
  EXPECT_NE(refusal(b).find("attention_backward: forward.lse is a null pointer: the backward reads the "
                            "forward's LSE"),
            std::string::npos)
      << refusal(b);
  b = good_backward();
  b.forward.lse = reinterpret_cast<float*>(0x50002);
  EXPECT_NE(refusal(b).find("attention_backward: lse is not 4-byte aligned"), std::string::npos)
      << refusal(b);
  // Null and unaligned gradients.
  for (const char* name : {"d_o", "d_q", "d_k", "d_v"}) {
    b = good_backward();
    const std::string n = name;
    if (n == "d_o") b.d_o = nullptr;
    if (n == "d_q") b.d_q = nullptr;
    if (n == "d_k") b.d_k = nullptr;
    if (n == "d_v") b.d_v = nullptr;
    EXPECT_EQ(refusal(b), fmt::format("attention_backward: {} is a null pointer", name));
  }
  b = good_backward();
  b.d_k = const_cast<void*>(address(0x80008));
  EXPECT_EQ(refusal(b), "attention_backward: d_k (0x80008) is not 16-byte aligned");
  // A gradient laid out otherwise than its tensor: the kernels would write (or read) it at the wrong places.
  b = good_backward();
  b.forward.q.strides = Strides{100 * 3 * 64, 64, 3 * 64, 1};
  EXPECT_EQ(refusal(b),
            "attention_backward: d_q has strides [19200, 6400, 64, 1] but q has [19200, 64, 192, 1]: the "
            "kernels address d_q by q's strides, so it must be laid out as q");
  b = good_backward();
  b.d_o_strides = Strides{100 * 3 * 64, 64, 3 * 64, 1};
  EXPECT_NE(refusal(b).find("d_o has strides [19200, 64, 192, 1] but o has [19200, 6400, 64, 1]"),
            std::string::npos)
      << refusal(b);
  b = good_backward();
  b.d_v_strides = Strides{300 * 64 * 2, 300 * 64, 64, 1};
  EXPECT_NE(refusal(b).find("d_v has strides [38400, 19200, 64, 1] but v has [19200, 19200, 64, 1]"),
            std::string::npos)
      << refusal(b);
  b = good_backward();
  b.forward.k.strides = b.forward.v.strides = Strides{300 * 64, 64, 64, 1};  // the same as contiguous here
  EXPECT_EQ(refusal(b), "accepted");
}

}  // namespace
}  // namespace flashtune::runtime
