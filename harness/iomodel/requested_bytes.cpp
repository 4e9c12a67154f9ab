// The templates' data-movement contract (io_model.hpp), per (batch, head) in exact integers.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "block_range.h"
#include "block_sparse.h"
#include "core/error.hpp"
#include "iomodel/detail/tiling.hpp"
#include "iomodel/io_model.hpp"

namespace flashtune::iomodel {
namespace {

constexpr std::array<std::string_view, 4> kTemplates = {"standard_attn", "fa1_fwd", "fa2_fwd", "fa2_bwd"};

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

std::int64_t block_param(const ModelInputs& in, const char* name) {
  const auto it = in.params.find(name);
  if (it == in.params.end() || it->second <= 0)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("io model of {}: {} is {} (needs a positive value)", in.template_id, name,
                            it == in.params.end() ? "missing" : std::to_string(it->second)));
  return it->second;
}

}  // namespace

bool models_template(std::string_view template_id) {
  return std::find(kTemplates.begin(), kTemplates.end(), template_id) != kTemplates.end();
}

namespace detail {

Tiling tiling_of(const ModelInputs& in) {
  if (!models_template(in.template_id))
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("io model: unknown template '{}' (known: standard_attn, fa1_fwd, fa2_fwd, fa2_bwd)",
                    in.template_id));
  const AttentionProblem& p = in.problem;
  if (p.seqlen < 1 || p.head_dim < 1 || p.batch < 1 || p.heads < 1)
    throw Error(ErrorKind::invalid_argument, fmt::format("io model: invalid problem {}", p.to_string()));
  const bool backward = in.template_id == "fa2_bwd";
  if (backward != (p.pass == Pass::bwd))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("io model: {} of {}: {} computes the {} pass", p.to_string(), in.template_id,
                            in.template_id, backward ? "bwd" : "fwd"));
  if (backward && (p.varlen() || p.block_sparse() || p.softcap != 0.0f))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("io model: {} of fa2_bwd is not modelled (fa2_bwd runs neither variable lengths, "
                            "block-sparse layouts nor softcap)",
                            p.to_string()));
  if (!p.plain() && in.template_id != "fa2_fwd" && !backward)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("io model: {} of {} is not modelled (the model of {} covers the plain problem; "
                            "fa2_fwd's covers the variants)",
                            p.to_string(), in.template_id, in.template_id));
  Tiling t;
  t.n = p.seqlen;
  t.d = p.head_dim;
  t.e = static_cast<std::int64_t>(element_bytes(p.dtype));
  t.bm = block_param(in, "block_m");
  t.bn = block_param(in, "block_n");
  t.tr = ceil_div(t.n, t.bm);
  t.tc = ceil_div(t.n, t.bn);
  t.heads = static_cast<double>(p.batch) * p.heads;
  t.nk = p.keys();
  t.group = p.group();
  t.mask = KeyMask{p.keys(), p.keys() - p.seqlen, p.window_left, p.window_right};
  if (const auto s = in.params.find("splits"); s != in.params.end() && s->second > 1) t.splits = s->second;
  if (const auto m = in.params.find("dq_mode"); m != in.params.end()) t.dq_mode = static_cast<int>(m->second);
  if (p.block_sparse()) {
    if (p.sparse_block % t.bm != 0 || p.sparse_block % t.bn != 0)
      throw Error(
          ErrorKind::invalid_argument,
          fmt::format("io model: the block-sparse block {} is not a multiple of block_m {} and block_n {}",
                      p.sparse_block, t.bm, t.bn));
    t.sparse = std::make_shared<const SparseLists>(sparse_lists(block_layout(p)));
    t.sparse_block = p.sparse_block;
  }
  return t;
}

HeadBytes fa2_requested(const Tiling& t, bool causal) {
  // Summed over query tiles: the K (and V) rows each tile loads, blocks [first, last) of KeyMask's range (the
  // plain problem: key_blocks from 0), a ragged last block only its rows up to seqlen_k.
  std::int64_t key_rows = 0;
  const auto [bm, bn] = std::array{static_cast<int>(t.bm), static_cast<int>(t.bn)};
  for (int i = 0; i < t.tr; ++i) {
    const int first = t.mask.first_block(i * bm, bm, bn, causal);
    const int last = t.mask.last_block(i * bm, bm, bn, causal);
    if (t.sparse) {  // the layout row's key tiles inside [first, last), as the kernel walks them
      const SparseKeyBlocks s = sparse_key_blocks(t.sparse->counts.data(), t.sparse->cols.data(),
                                                  t.sparse->cols_per_row, t.sparse_block, i * bm, bn);
      for (int j = s.position(first); j < s.position(last); ++j) {
        const std::int64_t k0 = static_cast<std::int64_t>(s.key_block(j)) * bn;
        key_rows += std::min<std::int64_t>(t.nk, k0 + bn) - k0;
      }
    } else if (last > first) {
      key_rows += std::min<std::int64_t>(t.nk, static_cast<std::int64_t>(last) * bn) - first * bn;
    }
  }
  HeadBytes b{.read = t.n * t.d * t.e + 2 * key_rows * t.d * t.e, .write = t.n * t.d * t.e + t.n * 4};
  if (t.splits > 1) {  // every split writes its fp32 partial O and LSE; fa2_combine reads them all
    const std::int64_t partials = t.splits * t.n * (t.d + 1) * 4;
    b.write += partials;
    b.read += partials;
  }
  return b;
}

StandardParts standard_requested(const Tiling& t) {
  const std::int64_t nn = t.n * t.n;
  return {.scores = {.read = t.tc * t.n * t.d * t.e + t.tr * t.n * t.d * t.e, .write = nn * 4},
          .softmax = {.read = nn * 4, .write = nn * t.e + t.n * 4},
          .pv = {.read = nn * t.e + t.tr * t.n * t.d * t.e, .write = t.n * t.d * t.e}};
}

Fa1Parts fa1_requested(const Tiling& t, bool causal) {
  Fa1Parts parts;
  parts.main_loop.read = 2 * t.n * t.d * t.e;  // K and V, once
  for (std::int64_t i = 0; i < t.tr; ++i) {
    const std::int64_t first = i * t.bm;
    const std::int64_t rows = std::min(t.bm, t.n - first);
    const std::int64_t last = first + rows - 1;
    const std::int64_t visits = causal ? last / t.bn + 1 : t.tc;  // key blocks j with j·bn <= last
    const std::int64_t oml = rows * t.d * 4 + 2 * rows * 4;       // O (fp32), m, l of this block
    parts.main_loop.read += visits * rows * t.d * t.e + (visits - 1) * oml;
    parts.main_loop.write += visits * oml;
  }
  parts.final_pass = {.read = t.n * t.d * 4 + 2 * t.n * 4, .write = t.n * t.d * t.e + t.n * 4};
  return parts;
}

}  // namespace detail

Traffic requested_bytes(const ModelInputs& in) {
  const detail::Tiling t = detail::tiling_of(in);
  const AttentionProblem& p = in.problem;
  const bool causal = p.causal;
  if (in.template_id == "fa2_fwd" && p.varlen() && !p.seqlens.empty()) {
    // Each sequence its own tiling (its lengths, its mask), times the heads; the tiles past a sequence's
    // end exit without a byte.
    Traffic sum{};
    for (int b = 0; b < p.batch; ++b) {
      detail::Tiling s = t;
      s.n = p.len_q(b);
      s.nk = p.len_k(b);
      s.tr = ceil_div(s.n, s.bm);
      s.tc = ceil_div(s.nk, s.bn);
      s.mask = KeyMask{p.len_k(b), p.len_k(b) - p.len_q(b), p.window_left, p.window_right};
      sum = sum + detail::times_heads(detail::fa2_requested(s, causal), p.heads);
    }
    return sum;
  }
  if (in.template_id == "fa2_fwd") return detail::times_heads(detail::fa2_requested(t, causal), t.heads);
  if (in.template_id == "fa2_bwd") {
    const detail::Fa2BwdParts b = detail::fa2_bwd_requested(t, causal);
    const double kv_heads = t.heads / t.group;
    return detail::times_heads(b.preprocess, kv_heads) + detail::times_heads(b.main_loop, kv_heads) +
           detail::times_heads(b.convert, kv_heads);
  }
  if (in.template_id == "standard_attn") {
    const detail::StandardParts s = detail::standard_requested(t);
    return detail::times_heads(s.scores, t.heads) + detail::times_heads(s.softmax, t.heads) +
           detail::times_heads(s.pv, t.heads);
  }
  const detail::Fa1Parts f = detail::fa1_requested(t, causal);
  return detail::times_heads(f.main_loop, t.heads) + detail::times_heads(f.final_pass, t.heads);
}

}  // namespace flashtune::iomodel
