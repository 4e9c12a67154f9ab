#include "verify/attention_rows.hpp"

#include <algorithm>
#include <random>
#include <set>

#include "verify/half_convert.hpp"

namespace flashtune::verify {

std::vector<double> head_rows(std::span<const std::uint16_t> x, const AttentionProblem& p, int b, int head,
                              bool kv) {
  const auto d = static_cast<std::size_t>(p.head_dim);
  const int rows = kv ? p.len_k(b) : p.len_q(b);
  std::vector<double> out(static_cast<std::size_t>(rows) * d);
  for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r) {
    const auto at = static_cast<std::size_t>(p.offset(b, head, static_cast<std::int64_t>(r), kv));
    for (std::size_t c = 0; c < d; ++c) out[r * d + c] = to_float(x[at + c], p.dtype);
  }
  return out;
}

KeyRange attended_keys(const AttentionProblem& p, std::int64_t n, std::int64_t nk, std::int64_t i) {
  const std::int64_t offset = nk - n;
  KeyRange r{0, nk};
  if (p.causal) r.hi = std::min(r.hi, i + offset + 1);
  if (p.window_right >= 0) r.hi = std::min(r.hi, i + offset + p.window_right + 1);
  if (p.window_left >= 0) r.lo = std::max<std::int64_t>(0, i + offset - p.window_left);
  return r;
}

std::vector<int> seeded_choice(int total, std::uint64_t seed, int max_count) {
  std::vector<int> all;
  if (total <= max_count) {
    for (int i = 0; i < total; ++i) all.push_back(i);
    return all;
  }
  std::set<int> chosen{0};
  if (max_count >= 2) chosen.insert(total - 1);
  std::mt19937_64 gen(seed);
  // Modulo rather than std::uniform_int_distribution, whose algorithm differs between standard libraries: the
  // same seed picks the same indices everywhere (the bias of 2^64 mod (total - 2) is irrelevant here).
  while (static_cast<int>(chosen.size()) < max_count) {
    chosen.insert(1 + static_cast<int>(gen() % static_cast<std::uint64_t>(total - 2)));
  }
  return {chosen.begin(), chosen.end()};
}

}  // namespace flashtune::verify
