#include "core/problem.hpp"

#include <cmath>

#include <fmt/format.h>

#include "core/error.hpp"

namespace flashtune {

float AttentionProblem::scale() const {
  return softmax_scale != 0.0f ? softmax_scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
}

std::int64_t AttentionProblem::elements() const {
  return static_cast<std::int64_t>(batch) * heads * seqlen * head_dim;
}

std::int64_t AttentionProblem::rows() const {
  return static_cast<std::int64_t>(batch) * heads * seqlen;
}

double AttentionProblem::flops() const {
  const double f = 4.0 * batch * heads * static_cast<double>(seqlen) * seqlen * head_dim;
  return causal ? f / 2 : f;
}

std::string AttentionProblem::to_string() const {
  return fmt::format("B{} H{} N{} d{} {}{}", batch, heads, seqlen, head_dim, flashtune::to_string(dtype),
                     causal ? " causal" : "");
}

void validate(const AttentionProblem& p) {
  auto bad = [](const char* field, long long v, const char* want) {
    throw Error(ErrorKind::invalid_argument, fmt::format("{} = {} is invalid: {}", field, v, want));
  };
  if (p.batch < 1) bad("batch", p.batch, "must be >= 1");
  if (p.heads < 1) bad("heads", p.heads, "must be >= 1");
  if (p.seqlen < 1) bad("seqlen", p.seqlen, "must be >= 1");
  if (p.head_dim != 64 && p.head_dim != 128) bad("head_dim", p.head_dim, "the templates support 64 and 128");
  if (!std::isfinite(p.softmax_scale) || p.softmax_scale < 0)
    throw Error(ErrorKind::invalid_argument, "softmax_scale must be finite and >= 0 (0 = 1/sqrt(d))");
  // batch*heads fits in 64 bits (each < 2^31); times seqlen it might not: compare by division.
  const std::int64_t bh = static_cast<std::int64_t>(p.batch) * p.heads;
  if (bh > (std::int64_t{1} << 31) / p.seqlen)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("batch*heads*seqlen = {}*{}*{} is invalid: must fit in 2^31 rows", p.batch,
                            p.heads, p.seqlen));
}

}  // namespace flashtune
