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

FLASHTUNE_ENUM_NAME_FUNCTIONS(StrategyKind, kStrategies, parse_strategy)
FLASHTUNE_ENUM_NAME_FUNCTIONS(ProfileMode, kProfileModes, parse_profile_mode)

std::size_t SearchSpace::size() const {
  std::size_t n = 1;
  for (const Parameter& p : parameters) n *= p.values.size();
  return n;
}

}  // namespace flashtune::space
