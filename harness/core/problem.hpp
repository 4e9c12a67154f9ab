#pragma once
// One attention problem: the shapes and modes a kernel instantiation is run on.
//
// Queries: batch x heads x seqlen rows; keys and values: batch x kv_heads x seqlen_k rows (grouped-query
// attention when kv_heads < heads: query head h reads key/value head h / (heads / kv_heads); kv_heads 1 is
// multi-query attention). The mask, for query i and key j, with offset = seqlen_k - seqlen (the queries are
// the last seqlen positions of the keys' sequence, bottom-right aligned as FlashAttention >= 2.1):
//   key j is attended  iff  j < seqlen_k
//                      and  (not causal            or j <= i + offset)
//                      and  (window_left  < 0      or j >= i + offset - window_left)
//                      and  (window_right < 0      or j <= i + offset + window_right)
// A query row with no attended key has O = 0 and LSE = -inf. softcap > 0 caps the scaled scores:
// s = softcap * tanh(scale * q.k / softcap).
//
// Variable lengths (layout thd): the batch's sequences are packed one after another, no padding: Q and O
// [total_q, heads, head_dim], K and V [total_k, kv_heads, head_dim]; sequence b has seqlens[b] queries and
// seqlens_k[b] keys (seqlens_k empty: as many as its queries), and the mask above applies to each sequence
// with its own lengths. batch is then the number of sequences, seqlen and seqlen_k the longest lengths. A
// problem of layout thd without seqlens (a runtime call: the lengths lie in device memory) keeps only those
// bounds.
//
// Block-sparse (sparse_block > 0): queries and keys are cut into blocks of sparse_block positions, and query
// block r attends key block c only where the layout (core/block_layout.hpp) keeps (r, c); the mask above
// applies as well. A query row whose layout row keeps no block attended by the mask has O = 0 and LSE = -inf
// like any row without keys. The layout is drawn from sparse_density and sparse_seed (a runtime call gives
// its own and keeps only the block size and the density).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.hpp"

namespace flashtune {

// How Q, K, V and O lie in memory, unit stride on head_dim either way: bhsd is [batch, heads, seqlen,
// head_dim]; bshd is [batch, seqlen, heads, head_dim] (the projections' output, attention on a view); thd is
// [total tokens, heads, head_dim], the variable-length sequences packed (cu_seqlens).
enum class Layout { bhsd, bshd, thd };
std::string_view to_string(Layout l);  // "bhsd"
std::optional<Layout> parse_layout(std::string_view s);

// Which pass of attention a problem times: the forward (O and LSE from Q, K, V) or the backward (dQ, dK, dV
// from Q, K, V, O, LSE and dO, recomputing P: issue 17's fa2_bwd).
enum class Pass { fwd, bwd };
std::string_view to_string(Pass p);  // "fwd"
std::optional<Pass> parse_pass(std::string_view s);

// Offset, in elements, of row `row` of head `head` of batch entry `b` in a packed tensor of `heads` heads of
// `rows` rows each.
constexpr std::int64_t element_offset(Layout l, std::int64_t b, std::int64_t head, std::int64_t row,
                                      std::int64_t heads, std::int64_t rows, std::int64_t head_dim) {
  return l == Layout::bshd ? ((b * rows + row) * heads + head) * head_dim
                           : ((b * heads + head) * rows + row) * head_dim;
}

struct AttentionProblem {
  int batch = 1;
  int heads = 1;   // query heads
  int seqlen = 1;  // queries per sequence
  int head_dim = 64;
  DType dtype = DType::bf16;
  bool causal = false;
  float softmax_scale = 0.0f;  // 0 means 1/sqrt(head_dim)
  int kv_heads = 0;            // key/value heads, dividing heads; 0 means heads
  int seqlen_k = 0;            // keys per sequence; 0 means seqlen
  int window_left = -1;        // keys attended before the aligned diagonal; -1: unbounded
  int window_right = -1;       // keys attended after it; -1: unbounded
  float softcap = 0.0f;        // 0: no cap
  Layout layout = Layout::bhsd;
  std::vector<int> seqlens;       // layout thd: each sequence's queries (batch entries; max = seqlen)
  std::vector<int> seqlens_k;     // layout thd: each sequence's keys (max = seqlen_k); empty: seqlens
  int sparse_block = 0;           // block-sparse: the layout's block, in queries and in keys; 0: dense
  float sparse_density = 0.0f;    // block-sparse: the fraction of layout blocks kept, in (0, 1]
  std::uint64_t sparse_seed = 0;  // block-sparse: the layout's draw (core/block_layout.hpp)
  Pass pass = Pass::fwd;

  float scale() const;
  int num_kv_heads() const { return kv_heads > 0 ? kv_heads : heads; }
  int keys() const { return seqlen_k > 0 ? seqlen_k : seqlen; }
  int group() const { return heads / num_kv_heads(); }  // query heads per key/value head
  bool windowed() const { return window_left >= 0 || window_right >= 0; }
  bool varlen() const { return layout == Layout::thd; }
  bool block_sparse() const { return sparse_block > 0; }
  // Sequence b's query and key counts (every sequence's are seqlen and keys() unless varlen with seqlens).
  int len_q(int b) const;
  int len_k(int b) const;
  std::int64_t total_q() const;  // query rows per head: the sum of len_q (batch * seqlen unless varlen)
  std::int64_t total_k() const;
  // Prefix sums of len_q (len_k): batch + 1 entries from 0, sequence b's rows [cu[b], cu[b + 1]).
  std::vector<int> cu_seqlens_q() const;
  std::vector<int> cu_seqlens_k() const;
  // Offset, in elements, of row `row` of sequence b, head `head` of Q/O (kv: of K/V) in packed tensors of
  // this problem's layout.
  std::int64_t offset(int b, int head, std::int64_t row, bool kv) const;
  // Whether only the FlashAttention benchmarks' problem remains: equal lengths, one key head per query head,
  // no window, no cap, dense, bhsd, the forward pass.
  bool plain() const;

  std::int64_t elements() const;     // of Q or O: heads * total_q() * head_dim
  std::int64_t kv_elements() const;  // of K or V: kv_heads * total_k() * head_dim
  std::int64_t rows() const;         // heads * total_q() (of O; LSE's length)
  // (query, key) pairs the mask attends, over the whole problem.
  double attended_pairs() const;
  // FLOPs as the FlashAttention benchmarks count them: 4*B*H*N^2*d, halved when causal, for equal lengths and
  // no window; otherwise 4*d times the attended pairs. The backward counts 2.5 times the forward's.
  double flops() const;
  // "B4 H16 N4096 d128 bf16 causal"; variants add "KV4", "Nk8192", "window 1024,0", "softcap 30", "bshd",
  // "thd T16384" (varlen: the total query rows, and "Tk..." when the keys' differ), "sparse 128 p0.25 s7"
  // (block-sparse: block, density, seed), " bwd" (the backward pass).
  std::string to_string() const;

  // The same problem with kv_heads and seqlen_k resolved (never 0): the form stored and compared.
  AttentionProblem resolved() const;
};

// Seqlens from text "q1,q2,...[;k1,k2,...]" (the store's and the trial protocol's form) and back; "" is none.
std::string seqlens_text(const AttentionProblem& p);
void parse_seqlens_text(std::string_view text, AttentionProblem& p);

// The lengths of a varlen batch drawn from [min_len, max_len] (uniform, std::mt19937_64 by modulo, so every
// standard library draws the same) until they sum to `total` tokens; the last is cut short to end on it.
std::vector<int> draw_seqlens(std::int64_t total, int min_len, int max_len, std::uint64_t seed);

// p as a varlen problem (layout thd) of these lengths: batch, seqlen and seqlen_k follow from them
// (seqlens_k empty: each sequence's keys are its queries). Not validated.
AttentionProblem varlen_problem(AttentionProblem p, std::vector<int> seqlens,
                                std::vector<int> seqlens_k = {});

// Equal after resolving kv_heads and seqlen_k.
bool same_problem(const AttentionProblem& a, const AttentionProblem& b);

// Throws flashtune::Error (invalid_argument) naming the field when a value is out of range.
void validate(const AttentionProblem& p);

}  // namespace flashtune
