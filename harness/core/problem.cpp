#include "core/problem.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/enum_names.hpp"
#include "core/error.hpp"

namespace flashtune {
namespace {
constexpr EnumNames<Layout, 2> kLayouts{{{{Layout::bhsd, "bhsd"}, {Layout::bshd, "bshd"}}}};
}  // namespace

FLASHTUNE_ENUM_NAME_FUNCTIONS(Layout, kLayouts, parse_layout)

float AttentionProblem::scale() const {
  return softmax_scale != 0.0f ? softmax_scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
}

bool AttentionProblem::plain() const {
  return num_kv_heads() == heads && keys() == seqlen && !windowed() && softcap == 0.0f &&
         layout == Layout::bhsd;
}

std::int64_t AttentionProblem::elements() const {
  return static_cast<std::int64_t>(batch) * heads * seqlen * head_dim;
}

std::int64_t AttentionProblem::kv_elements() const {
  return static_cast<std::int64_t>(batch) * num_kv_heads() * keys() * head_dim;
}

std::int64_t AttentionProblem::rows() const {
  return static_cast<std::int64_t>(batch) * heads * seqlen;
}

double AttentionProblem::attended_pairs() const {
  const std::int64_t offset = static_cast<std::int64_t>(keys()) - seqlen;
  double pairs = 0;
  for (std::int64_t i = 0; i < seqlen; ++i) {
    std::int64_t hi = keys() - 1;
    std::int64_t lo = 0;
    if (causal) hi = std::min(hi, i + offset);
    if (window_right >= 0) hi = std::min(hi, i + offset + window_right);
    if (window_left >= 0) lo = std::max(lo, i + offset - window_left);
    pairs += static_cast<double>(std::max<std::int64_t>(0, hi - lo + 1));
  }
  return pairs * batch * heads;
}

double AttentionProblem::flops() const {
  if (keys() == seqlen && !windowed()) {
    const double f = 4.0 * batch * heads * static_cast<double>(seqlen) * seqlen * head_dim;
    return causal ? f / 2 : f;
  }
  return 4.0 * head_dim * attended_pairs();
}

std::string AttentionProblem::to_string() const {
  std::string s = fmt::format("B{} H{}", batch, heads);
  if (num_kv_heads() != heads) s += fmt::format(" KV{}", num_kv_heads());
  s += fmt::format(" N{}", seqlen);
  if (keys() != seqlen) s += fmt::format(" Nk{}", keys());
  s += fmt::format(" d{} {}", head_dim, flashtune::to_string(dtype));
  if (causal) s += " causal";
  if (windowed()) s += fmt::format(" window {},{}", window_left, window_right);
  if (softcap != 0.0f) s += fmt::format(" softcap {}", softcap);
  if (layout != Layout::bhsd) s += fmt::format(" {}", flashtune::to_string(layout));
  return s;
}

AttentionProblem AttentionProblem::resolved() const {
  AttentionProblem p = *this;
  p.kv_heads = num_kv_heads();
  p.seqlen_k = keys();
  return p;
}

bool same_problem(const AttentionProblem& a, const AttentionProblem& b) {
  const AttentionProblem x = a.resolved(), y = b.resolved();
  return x.batch == y.batch && x.heads == y.heads && x.seqlen == y.seqlen && x.head_dim == y.head_dim &&
         x.dtype == y.dtype && x.causal == y.causal && x.softmax_scale == y.softmax_scale &&
         x.kv_heads == y.kv_heads && x.seqlen_k == y.seqlen_k && x.window_left == y.window_left &&
         x.window_right == y.window_right && x.softcap == y.softcap && x.layout == y.layout;
}

void validate(const AttentionProblem& p) {
  auto bad = [](const char* field, long long v, const char* want) {
    throw Error(ErrorKind::invalid_argument, fmt::format("{} = {} is invalid: {}", field, v, want));
  };
  if (p.batch < 1) bad("batch", p.batch, "must be >= 1");
  if (p.heads < 1) bad("heads", p.heads, "must be >= 1");
  if (p.seqlen < 1) bad("seqlen", p.seqlen, "must be >= 1");
  if (p.head_dim != 64 && p.head_dim != 96 && p.head_dim != 128 && p.head_dim != 256)
    bad("head_dim", p.head_dim, "must be 64, 96, 128 or 256");
  if (!std::isfinite(p.softmax_scale) || p.softmax_scale < 0)
    throw Error(ErrorKind::invalid_argument, "softmax_scale must be finite and >= 0 (0 = 1/sqrt(d))");
  if (p.kv_heads < 0) bad("kv_heads", p.kv_heads, "must be >= 1 (0: as many as heads)");
  if (p.heads % p.num_kv_heads() != 0)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("kv_heads = {} is invalid: it must divide heads = {}", p.kv_heads, p.heads));
  if (p.seqlen_k < 0) bad("seqlen_k", p.seqlen_k, "must be >= 1 (0: as many as seqlen)");
  if (p.window_left < -1) bad("window_left", p.window_left, "must be >= 0, or -1 for unbounded");
  if (p.window_right < -1) bad("window_right", p.window_right, "must be >= 0, or -1 for unbounded");
  if (!std::isfinite(p.softcap) || p.softcap < 0)
    throw Error(ErrorKind::invalid_argument, "softcap must be finite and >= 0 (0 = none)");
  // Each extent < 2^31; their products are compared by division, never formed past 64 bits.
  auto fits = [](const char* what, int a, int b, int c) {
    const std::int64_t ab = static_cast<std::int64_t>(a) * b;
    if (ab > (std::int64_t{1} << 31) / c)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{} = {}*{}*{} is invalid: must fit in 2^31 rows", what, a, b, c));
  };
  fits("batch*heads*seqlen", p.batch, p.heads, p.seqlen);
  fits("batch*kv_heads*seqlen_k", p.batch, p.num_kv_heads(), p.keys());
}

}  // namespace flashtune
