#include "space/search_space.hpp"

#include <fmt/format.h>

#include "core/enum_names.hpp"

namespace flashtune::space {

std::string SramBudget::label() const {
  if (is_max()) return "max";
  if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes / 1024);
  return fmt::format("{} B", bytes);
}

namespace {
constexpr EnumNames<StrategyKind, 3> kStrategies{{{
    {StrategyKind::exhaustive, "exhaustive"},
    {StrategyKind::random, "random"},
    {StrategyKind::racing, "racing"},
}}};
constexpr EnumNames<ProfileMode, 3> kProfileModes{{{
    {ProfileMode::none, "none"},
    {ProfileMode::all, "all"},
    {ProfileMode::top_k, "top_k"},
}}};
}  // namespace

std::string_view to_string(StrategyKind k) {
  return kStrategies.name(k);
}

std::optional<StrategyKind> parse_strategy(std::string_view s) {
  return kStrategies.parse(s);
}

std::string_view to_string(ProfileMode m) {
  return kProfileModes.name(m);
}

std::optional<ProfileMode> parse_profile_mode(std::string_view s) {
  return kProfileModes.parse(s);
}

std::size_t SearchSpace::size() const {
  std::size_t n = 1;
  for (const Parameter& p : parameters) n *= p.values.size();
  return n;
}

}  // namespace flashtune::space
