#pragma once
// Search strategies: which of a problem's candidate configurations are tried, in which order, and whether a
// configuration stops being measured once it cannot win.
//   exhaustive  every candidate, each measured to the stopping rule
//   random      `budget` candidates drawn without replacement (all when budget is 0 or >= their number),
//               from the recorded seed: the same seed, space and problem give the same draw on any platform
//   racing      every candidate; each stops being measured once its fastest sample is slower than the best
//               median so far by more than race_margin (gpu::TimingOptions::race_best_ms)
#include <cstddef>
#include <cstdint>
#include <vector>

#include "space/search_space.hpp"

namespace flashtune::tune {

struct Selection {
  std::vector<std::size_t> order;  // indices into the candidates, in the order to try them
  bool race = false;
};

// `stream` separates independent draws of one sweep (the problem's index), so that each problem gets its own
// sample from the one seed.
Selection select_configs(const space::StrategySettings& strategy, std::size_t candidates,
                         std::uint64_t stream);

// A portable generator for the draws: SplitMix64 (the standard library's distributions differ between
// implementations; this does not).
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [0, n) without modulo bias; n > 0.
  std::uint64_t below(std::uint64_t n);

 private:
  std::uint64_t state_;
};

}  // namespace flashtune::tune
