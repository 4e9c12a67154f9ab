// The `problems:` section. Each entry is a map whose fields may be lists; the entry expands to the product of
// its fields, dtype varying slowest, then head_dim, causal, seqlen, and the rest (tokens, batch, hidden,
// heads, scale, then the variant's: kv_heads, seqlen_k, window_left, window_right, softcap, layout,
// sparse_block, sparse_density, sparse_seed, pass):
//
//   - {tokens: 16384, hidden: 2048, dtype: bf16, head_dim: [64, 128], seqlen: [1024, 4096]}
//     # B16 H32 N1024 d64, B4 H32 N4096 d64, B16 H16 N1024 d128, B4 H16 N4096 d128
//
// batch comes from `batch` or from `tokens` (= batch * seqlen), heads from `heads` or from `hidden`
// (= heads * head_dim). The variant's fields (core/problem.hpp) default to the plain problem: kv_heads =
// heads, seqlen_k = seqlen, window_left = window_right = -1 (unbounded), softcap 0, layout bhsd.
//
//   - {batch: 1, heads: 32, kv_heads: [8, 1], seqlen: 1, seqlen_k: [4096, 16384], head_dim: 128}   # decode
//
// Variable lengths (layout thd): `lengths` gives the batch's sequences instead of seqlen, tokens and batch,
// either as a list or drawn (core/problem.hpp's draw_seqlens, the seed recorded in the file); `lengths_k`
// the keys' (a list as long, default: the queries'). It is one value, not expanded:
//
//   - {heads: 16, head_dim: 128, causal: true, lengths: {total: 16384, min: 128, max: 8192, seed: 1}}
//   - {heads: 8, head_dim: 64, lengths: [1, 17, 0, 300], lengths_k: [100, 17, 5, 300]}
//
// Block-sparse: `sparse_block` (positions per layout block, a multiple of the configurations' tiles) with
// `sparse_density` (the fraction of blocks kept, in (0, 1]) and `sparse_seed` (the layout's draw,
// core/block_layout.hpp; default 0):
//
//   - {batch: 1, heads: 16, seqlen: 16384, head_dim: 128, sparse_block: 128, sparse_density: [0.1, 0.25,
//   0.5]}
//
// The pass (`pass: bwd`, default fwd) says which one a problem times: fa2_bwd's problems are backward ones.
//
// Every expanded problem must pass flashtune::validate and appear once.
#include <climits>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.hpp"
#include "space/detail/section_readers.hpp"

namespace flashtune::space::detail {
namespace {

constexpr std::size_t kMaxProblems = 10000;
constexpr std::uint64_t kMaxRows = std::uint64_t{1} << 31;  // validate()'s limit on batch * heads * seqlen

// The fields in expansion order: the first varies slowest.
constexpr std::string_view kFields[] = {
    "dtype",  "head_dim",     "causal",         "seqlen",      "tokens",      "batch",        "hidden",
    "heads",  "scale",        "kv_heads",       "seqlen_k",    "window_left", "window_right", "softcap",
    "layout", "sparse_block", "sparse_density", "sparse_seed", "pass"};
enum Slot {
  dtype,
  head_dim,
  causal,
  seqlen,
  tokens,
  batch,
  hidden,
  heads,
  scale,
  kv_heads,
  seqlen_k,
  window_left,
  window_right,
  softcap,
  layout,
  sparse_block,
  sparse_density,
  sparse_seed,
  pass,
  kSlots
};

struct Choice {
  Value at;
  std::int64_t i = 0;  // integer fields, dtype (as DType), causal (0/1), layout (as Layout), pass (as Pass)
  double x = 0;        // scale, softcap, sparse_density
};

struct Expanded {
  AttentionProblem problem;
  SourceLocation where;  // of the entry
};

constexpr std::int64_t kMaxSequences = 1 << 20;  // --batch's bound

std::vector<int> read_length_list(const YamlReader& r, const Value& v, std::string_view what) {
  std::vector<int> out;
  for (const Value& e : r.list(v, what)) out.push_back(static_cast<int>(r.integer(e, what, 0, INT_MAX)));
  if (out.empty()) r.fail(v.where, fmt::format("{}: at least one sequence", what));
  if (static_cast<std::int64_t>(out.size()) > kMaxSequences)
    r.fail(v.where, fmt::format("{}: {} sequences, at most {}", what, out.size(), kMaxSequences));
  return out;
}

// `lengths` and `lengths_k` of an entry (empty when it has none).
std::pair<std::vector<int>, std::vector<int>> read_lengths(const YamlReader& r, const Fields& fields) {
  const Field* f = fields.find("lengths");
  const Field* fk = fields.find("lengths_k");
  if (f == nullptr) {
    if (fk != nullptr) r.fail(fk->key_where, "problem: lengths_k needs lengths");
    return {};
  }
  std::vector<int> q;
  if (f->value.node.IsMap()) {
    const Fields draw = r.map(f->value, "problem lengths");
    r.allow_only(draw, "problem lengths", {"total", "min", "max", "seed"});
    auto get = [&](std::string_view key, std::int64_t lo, std::int64_t hi) -> std::int64_t {
      const Field* e = draw.find(key);
      if (e == nullptr) r.fail(f->value.where, fmt::format("problem lengths: {} is required", key));
      return r.integer(e->value, fmt::format("problem lengths {}", key), lo, hi);
    };
    const std::int64_t total = get("total", 1, INT_MAX);
    const int min_len = static_cast<int>(get("min", 1, INT_MAX));
    const int max_len = static_cast<int>(get("max", min_len, INT_MAX));
    const auto seed = static_cast<std::uint64_t>(get("seed", 0, INT64_MAX));
    if ((total + min_len - 1) / min_len > kMaxSequences)
      r.fail(f->value.where,
             fmt::format("problem lengths: total {} in sequences of at least {} may need more than "
                         "{} sequences",
                         total, min_len, kMaxSequences));
    q = draw_seqlens(total, min_len, max_len, seed);
  } else {
    q = read_length_list(r, f->value, "problem lengths");
  }
  std::vector<int> k;
  if (fk != nullptr) {
    k = read_length_list(r, fk->value, "problem lengths_k");
    if (k.size() != q.size())
      r.fail(fk->value.where,
             fmt::format("problem lengths_k: {} sequences, lengths has {}", k.size(), q.size()));
  }
  return {q, k};
}

std::vector<Choice> read_field(const YamlReader& r, Slot slot, const Value& v) {
  const std::string what = fmt::format("problem {}", kFields[slot]);
  std::vector<Choice> out;
  for (const Value& e : r.one_or_list(v, what)) {
    Choice c{e};
    switch (slot) {
      case dtype: {
        const std::string s = r.string(e, what);
        const std::optional<DType> t = parse_dtype(s);
        if (!t) r.fail(e.where, fmt::format("{}: expected bf16 or fp16, got '{}'", what, s));
        c.i = static_cast<std::int64_t>(*t);
        break;
      }
      case causal:
        c.i = r.boolean(e, what) ? 1 : 0;
        break;
      case scale:
        c.x = r.number(e, what);
        if (c.x < 0 || c.x > 1e6)
          r.fail(e.where, fmt::format("{} must be in [0, 1e6] (0 = 1/sqrt(d))", what));
        break;
      case softcap:
        c.x = r.number(e, what);
        if (!(c.x >= 0 && c.x <= 1e6))
          r.fail(e.where, fmt::format("{} must be in [0, 1e6] (0 = none)", what));
        break;
      case layout: {
        const std::string s = r.string(e, what);
        const std::optional<Layout> l = parse_layout(s);
        if (!l || *l == Layout::thd)
          r.fail(e.where,
                 fmt::format("{}: expected bhsd or bshd (thd comes with lengths), got '{}'", what, s));
        c.i = static_cast<std::int64_t>(*l);
        break;
      }
      case window_left:
      case window_right:
        c.i = r.integer(e, what, -1, INT_MAX);
        break;
      case sparse_density:
        c.x = r.number(e, what);
        if (!(c.x > 0 && c.x <= 1)) r.fail(e.where, fmt::format("{} must be in (0, 1]", what));
        break;
      case sparse_seed:
        c.i = r.integer(e, what, 0, INT64_MAX);
        break;
      case pass: {
        const std::string text = r.string(e, what);
        const std::optional<Pass> ps = parse_pass(text);
        if (!ps) r.fail(e.where, fmt::format("{}: expected fwd or bwd, got '{}'", what, text));
        c.i = static_cast<std::int64_t>(*ps);
        break;
      }
      default:
        c.i = r.integer(e, what, 1, INT_MAX);
        break;
    }
    out.push_back(std::move(c));
  }
  return out;
}

void expand_entry(const YamlReader& r, const Value& entry, const KernelTemplate& t,
                  std::vector<Expanded>& out) {
  const Fields fields = r.map(entry, "problem");
  r.allow_only(fields, "problem",
               {"tokens", "hidden",  "batch",     "heads",        "seqlen",         "head_dim",     "dtype",
                "causal", "scale",   "kv_heads",  "seqlen_k",     "window_left",    "window_right", "softcap",
                "layout", "lengths", "lengths_k", "sparse_block", "sparse_density", "sparse_seed",  "pass"});
  const auto [lengths, lengths_k] = read_lengths(r, fields);
  const bool varlen = !lengths.empty();
  auto needs_one = [&](std::string_view a, std::string_view b) {
    const bool has_a = fields.find(a) != nullptr, has_b = fields.find(b) != nullptr;
    if (has_a && has_b) r.fail(entry.where, fmt::format("problem: give {} or {}, not both", a, b));
    if (!has_a && !has_b) r.fail(entry.where, fmt::format("problem: {} or {} is required", a, b));
  };
  if (varlen) {
    for (std::string_view key : {"tokens", "batch", "seqlen", "seqlen_k", "layout"})
      if (fields.find(key) != nullptr)
        r.fail(entry.where,
               fmt::format("problem: {} does not go with lengths (varlen: they follow from them)", key));
  } else {
    needs_one("tokens", "batch");
    if (fields.find("seqlen") == nullptr) r.fail(entry.where, "problem: seqlen (or lengths) is required");
  }
  needs_one("hidden", "heads");
  if (fields.find("head_dim") == nullptr) r.fail(entry.where, "problem: head_dim is required");
  if ((fields.find("sparse_block") == nullptr) != (fields.find("sparse_density") == nullptr))
    r.fail(entry.where, "problem: sparse_block and sparse_density come together (block-sparse)");
  if (fields.find("sparse_seed") != nullptr && fields.find("sparse_block") == nullptr)
    r.fail(entry.where, "problem: sparse_seed needs sparse_block and sparse_density");

  std::vector<Choice> choices[kSlots];
  std::size_t count = 1;
  for (int s = 0; s < kSlots; ++s) {
    if (const Field* f = fields.find(kFields[s])) choices[s] = read_field(r, static_cast<Slot>(s), f->value);
    count *= std::max<std::size_t>(choices[s].size(), 1);
    if (count > kMaxProblems)
      r.fail(entry.where, fmt::format("problem: expands to more than {} problems", kMaxProblems));
  }

  std::size_t index[kSlots] = {};
  for (std::size_t n = 0; n < count; ++n) {
    auto has = [&](Slot s) { return !choices[s].empty(); };
    auto pick = [&](Slot s) -> const Choice& { return choices[s][index[s]]; };
    AttentionProblem p;
    if (varlen)
      p = varlen_problem(p, lengths, lengths_k);
    else
      p.seqlen = static_cast<int>(pick(seqlen).i);
    p.head_dim = static_cast<int>(pick(head_dim).i);
    if (has(dtype)) p.dtype = static_cast<DType>(pick(dtype).i);
    if (has(causal)) p.causal = pick(causal).i != 0;
    if (has(scale)) p.softmax_scale = static_cast<float>(pick(scale).x);
    if (has(kv_heads)) p.kv_heads = static_cast<int>(pick(kv_heads).i);
    if (has(seqlen_k)) p.seqlen_k = static_cast<int>(pick(seqlen_k).i);
    if (has(window_left)) p.window_left = static_cast<int>(pick(window_left).i);
    if (has(window_right)) p.window_right = static_cast<int>(pick(window_right).i);
    if (has(softcap)) p.softcap = static_cast<float>(pick(softcap).x);
    if (has(layout)) p.layout = static_cast<Layout>(pick(layout).i);
    if (has(sparse_block)) p.sparse_block = static_cast<int>(pick(sparse_block).i);
    if (has(sparse_density)) p.sparse_density = static_cast<float>(pick(sparse_density).x);
    if (has(sparse_seed)) p.sparse_seed = static_cast<std::uint64_t>(pick(sparse_seed).i);
    if (has(pass)) p.pass = static_cast<Pass>(pick(pass).i);
    if (varlen) {
      // batch came with the lengths
    } else if (has(tokens)) {
      const Choice& t = pick(tokens);
      if (t.i % p.seqlen != 0)
        r.fail(t.at.where, fmt::format("problem: tokens {} is not a multiple of seqlen {}", t.i, p.seqlen));
      p.batch = static_cast<int>(t.i / p.seqlen);
    } else {
      p.batch = static_cast<int>(pick(batch).i);
    }
    if (has(hidden)) {
      const Choice& h = pick(hidden);
      if (h.i % p.head_dim != 0)
        r.fail(h.at.where,
               fmt::format("problem: hidden {} is not a multiple of head_dim {}", h.i, p.head_dim));
      p.heads = static_cast<int>(h.i / p.head_dim);
    } else {
      p.heads = static_cast<int>(pick(heads).i);
    }
    // validate() multiplies batch * heads * seqlen in int64, which overflows for fields near INT_MAX
    // (2^30 * 2^30 * 16 wraps to 0 rows): the same limit, checked here without overflow first.
    const std::uint64_t batch_heads =
        static_cast<std::uint64_t>(p.batch) * static_cast<std::uint64_t>(p.heads);
    if (batch_heads > kMaxRows || batch_heads * static_cast<std::uint64_t>(p.seqlen) > kMaxRows)
      r.fail(entry.where, fmt::format("problem {}: batch*heads*seqlen must fit in 2^31 rows", p.to_string()));
    try {
      validate(p);
    } catch (const Error& e) {
      r.fail(entry.where, fmt::format("problem {}: {}", p.to_string(), e.what()));
    }
    if (auto why = unsupported_reason(t, t.default_config(variant_of(p)), p))
      r.fail(entry.where, fmt::format("problem {}: {}", p.to_string(), *why));
    out.push_back({p, entry.where});

    for (int s = kSlots; s-- > 0;) {  // odometer: the last slot varies fastest
      if (choices[s].empty()) continue;
      if (++index[s] < choices[s].size()) break;
      index[s] = 0;
    }
  }
}

}  // namespace

std::vector<AttentionProblem> read_problems(const YamlReader& r, const Field& section,
                                            const KernelTemplate& t) {
  std::vector<Expanded> all;
  for (const Value& entry : r.list(section.value, "problems")) {
    const std::size_t first = all.size();
    expand_entry(r, entry, t, all);
    if (all.size() > kMaxProblems)
      r.fail(entry.where, fmt::format("problems: more than {} problems", kMaxProblems));
    for (std::size_t i = first; i < all.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (same_problem(all[i].problem, all[j].problem))
          r.fail(entry.where,
                 fmt::format("duplicate problem {} (also from {}:{})", all[i].problem.to_string(),
                             all[j].where.line, all[j].where.column));
  }
  std::vector<AttentionProblem> out;
  for (const Expanded& e : all) out.push_back(e.problem);
  return out;
}

}  // namespace flashtune::space::detail
