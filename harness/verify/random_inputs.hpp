#pragma once
// Seeded random Q, K, V on the host, already rounded to the problem's dtype (the exact bytes uploaded to the
// GPU and read by the CPU reference).
//
// Values are N(0, 1) draws (Box-Muller on std::mt19937_64 bits, tails cut at about 5.8 sigma) rounded to
// nearest even. No element is ever zero: a draw that would round to +-0 (possible in fp16 below 2^-25) is
// redrawn, so no tensor is all-zero and every row of Q/K/V carries signal. With N(0,1) Q and K and the
// default scale 1/sqrt(d), scores are roughly N(0,1), and |O| <= ~4.
//
// The result depends only on (problem shape, dtype, seed): work is split into fixed 1 Mi-element chunks whose
// generators are seeded from (seed, tensor, chunk), and the chunks are spread over std::threads, so the
// thread count does not change the values. Across libm implementations a float draw may differ in the last
// place; after rounding to 8 or 11 significand bits that almost never shows.
#include <cstdint>
#include <span>
#include <vector>

#include "core/dtype.hpp"
#include "core/problem.hpp"

namespace flashtune::verify {

struct HostInputs {
  // Q has problem.elements() values, K and V problem.kv_elements(), each in the problem's layout (bhsd:
  // [batch, heads, seqlen, head_dim]; bshd: [batch, seqlen, heads, head_dim]). The values are the same draws
  // in either layout's memory order: a layout changes which element a value is, not the distribution.
  std::vector<std::uint16_t> q, k, v;
  std::uint64_t seed = 0;  // the seed they were made from, recorded with every result
};

// Throws Error(invalid_argument) through validate() for an invalid problem.
HostInputs make_inputs(const AttentionProblem& p, std::uint64_t seed);

// dO of a backward problem (AttentionProblem::pass bwd): p.elements() values laid out like Q and O, drawn as
// Q is (never zero, N(0, 1)) from a fourth derived seed, independent of Q, K and V; make_inputs' draws do not
// change. Throws Error(invalid_argument) through validate() for an invalid problem.
std::vector<std::uint16_t> make_d_o(const AttentionProblem& p, std::uint64_t seed);

// Fills `out` with dtype-rounded, never-zero N(0,1) values derived from `seed` (same scheme as make_inputs;
// make_inputs uses a different derived seed for each of Q, K and V). `threads` = 0 uses all hardware threads.
void fill_normal(std::span<std::uint16_t> out, DType t, std::uint64_t seed, unsigned threads = 0);

}  // namespace flashtune::verify
