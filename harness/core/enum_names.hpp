#pragma once
// The names of an enum's values written once, as a table that to_string and parse both read: a new value
// needs one line, and the two directions cannot disagree.
//
//   constexpr EnumNames<Verdict, 2> kNames{{{{Verdict::same, "SAME"}, {Verdict::faster, "FASTER"}}}};
//   kNames.name(Verdict::same)   // "SAME" ("?" for a value the table lacks)
//   kNames.parse("FASTER")       // Verdict::faster (nullopt for an unknown name)
// and FLASHTUNE_ENUM_NAME_FUNCTIONS below defines an enum's to_string and parse function from its table.
#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace flashtune {

template <typename E, std::size_t N>
struct EnumNames {
  std::array<std::pair<E, std::string_view>, N> entries;

  constexpr std::string_view name(E e, std::string_view unknown = "?") const {
    for (const auto& [value, text] : entries)
      if (value == e) return text;
    return unknown;
  }
  constexpr std::optional<E> parse(std::string_view s) const {
    for (const auto& [value, text] : entries)
      if (text == s) return value;
    return std::nullopt;
  }
};

}  // namespace flashtune

// Defines the two functions an enum's header declares, `std::string_view to_string(Enum)` and
// `std::optional<Enum> parse_fn(std::string_view)`, from its EnumNames table (in the namespace of the
// declarations):
//   FLASHTUNE_ENUM_NAME_FUNCTIONS(CheckStage, kStages, parse_check_stage)
#define FLASHTUNE_ENUM_NAME_FUNCTIONS(Enum, table, parse_fn) \
  std::string_view to_string(Enum value) {                   \
    return table.name(value);                                \
  }                                                          \
  std::optional<Enum> parse_fn(std::string_view text) {      \
    return table.parse(text);                                \
  }
