#include "space/search_space.hpp"

#include <fmt/format.h>

namespace flashtune::space {

std::string SramBudget::label() const {
  if (is_max()) return "max";
  if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{} B", bytes);
}

std::string_view to_string(StrategyKind k) {
  switch (k) {
    case StrategyKind::exhaustive:
      return "exhaustive";
    case StrategyKind::random:
      return "random";
    case StrategyKind::racing:
      return "racing";
  }
  return "?";
}

std::optional<StrategyKind> parse_strategy(std::string_view s) {
  for (StrategyKind k : {StrategyKind::exhaustive, StrategyKind::random, StrategyKind::racing})
    if (to_string(k) == s) return k;
  return std::nullopt;
}

std::string_view to_string(ProfileMode m) {
  switch (m) {
    case ProfileMode::none:
      return "none";
    case ProfileMode::all:
      return "all";
    case ProfileMode::top_k:
      return "top_k";
  }
  return "?";
}

std::optional<ProfileMode> parse_profile_mode(std::string_view s) {
  for (ProfileMode m : {ProfileMode::none, ProfileMode::all, ProfileMode::top_k})
    if (to_string(m) == s) return m;
  return std::nullopt;
}

std::size_t SearchSpace::size() const {
  std::size_t n = 1;
  for (const Parameter& p : parameters) n *= p.values.size();
  return n;
}

}  // namespace flashtune::space
