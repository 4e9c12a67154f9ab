#include "verify/random_inputs.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numbers>
#include <random>
#include <thread>

#include "verify/half_convert.hpp"

namespace flashtune::verify {
namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;  // elements per independently seeded chunk

// SplitMix64 finalizer: turns (seed, tensor, chunk) into well-spread, independent generator seeds.
std::uint64_t mix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// One chunk: Box-Muller pairs from 24-bit uniforms (u1 in (0, 1], u2 in [0, 1)), computed in float: the
// values are rounded to 8 or 11 significand bits afterwards, so float is ample and twice as fast as double.
void fill_chunk(std::span<std::uint16_t> out, DType t, std::uint64_t chunk_seed) {
  std::mt19937_64 gen(chunk_seed);
  constexpr float kTwoPi = 2.0f * std::numbers::pi_v<float>;
  std::size_t i = 0;
  auto put = [&](float z) {
    const std::uint16_t h = from_float(z, t);
    if ((h & 0x7FFFu) != 0 && i < out.size()) out[i++] = h;  // never zero: skip draws that round to +-0
  };
  while (i < out.size()) {
    const std::uint64_t a = gen();
    const float u1 = static_cast<float>((a >> 40) + 1) * 0x1p-24f;
    const float u2 = static_cast<float>((a >> 16) & 0xFFFFFFu) * 0x1p-24f;
    const float r = std::sqrt(-2.0f * std::log(u1));
    const float theta = kTwoPi * u2;
    put(r * std::cos(theta));
    put(r * std::sin(theta));
  }
}

struct Job {
  std::span<std::uint16_t> out;
  std::uint64_t seed;
};

// Runs every chunk of every job on `threads` workers pulling chunk numbers from one counter.
void run_jobs(std::span<const Job> jobs, DType t, unsigned threads) {
  std::vector<std::pair<std::size_t, std::size_t>> chunks;  // (job, chunk)
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const std::size_t n = (jobs[j].out.size() + kChunk - 1) / kChunk;
    for (std::size_t c = 0; c < n; ++c) chunks.emplace_back(j, c);
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t w = next++; w < chunks.size(); w = next++) {
      const auto [j, c] = chunks[w];
      const std::size_t begin = c * kChunk;
      const std::size_t len = std::min(kChunk, jobs[j].out.size() - begin);
      fill_chunk(jobs[j].out.subspan(begin, len), t, mix(jobs[j].seed ^ mix(c)));
    }
  };
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::size_t>(threads, chunks.size()));
  if (threads <= 1) {
    worker();
    return;
  }
  std::vector<std::jthread> pool;
  pool.reserve(threads - 1);
  for (unsigned k = 1; k < threads; ++k) pool.emplace_back(worker);
  worker();
}

}  // namespace

void fill_normal(std::span<std::uint16_t> out, DType t, std::uint64_t seed, unsigned threads) {
  const Job job{out, seed};
  run_jobs(std::span(&job, 1), t, threads);
}

HostInputs make_inputs(const AttentionProblem& p, std::uint64_t seed) {
  validate(p);
  HostInputs in;
  in.seed = seed;
  in.q.resize(static_cast<std::size_t>(p.elements()));
  in.k.resize(static_cast<std::size_t>(p.kv_elements()));
  in.v.resize(static_cast<std::size_t>(p.kv_elements()));
  // Distinct derived seeds per tensor, so Q, K and V are independent (and Q != K for the same seed).
  const Job jobs[] = {{in.q, mix(seed) ^ 0x51}, {in.k, mix(seed) ^ 0x4B}, {in.v, mix(seed) ^ 0x56}};
  run_jobs(jobs, p.dtype, 0);
  return in;
}

std::vector<std::uint16_t> make_d_o(const AttentionProblem& p, std::uint64_t seed) {
  validate(p);
  std::vector<std::uint16_t> d_o(static_cast<std::size_t>(p.elements()));
  const Job job{d_o, mix(seed) ^ 0x644F};  // "dO"
  run_jobs(std::span(&job, 1), p.dtype, 0);
  return d_o;
}

}  // namespace flashtune::verify
