#include "tune/strategy.hpp"

#include <numeric>
#include <utility>

namespace flashtune::tune {

std::uint64_t SplitMix64::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t SplitMix64::below(std::uint64_t n) {
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);  // reject the biased tail
  std::uint64_t x = next();
  while (x >= limit) x = next();
  return x % n;
}

Selection select_configs(const space::StrategySettings& strategy, std::size_t candidates,
                         std::uint64_t stream) {
  Selection s;
  s.order.resize(candidates);
  std::iota(s.order.begin(), s.order.end(), std::size_t{0});
  switch (strategy.kind) {
    case space::StrategyKind::exhaustive:
      break;
    case space::StrategyKind::racing:
      s.race = true;
      break;
    case space::StrategyKind::random: {
      const std::size_t k =
          strategy.budget <= 0 ? candidates
                               : std::min<std::size_t>(candidates, static_cast<std::size_t>(strategy.budget));
      SplitMix64 gen(strategy.seed ^ (0xD1B54A32D192ED03ull * (stream + 1)));
      for (std::size_t i = 0; i < k; ++i)  // a partial Fisher-Yates shuffle: the first k are the sample
        std::swap(s.order[i], s.order[i + gen.below(candidates - i)]);
      s.order.resize(k);
      break;
    }
  }
  return s;
}

}  // namespace flashtune::tune
