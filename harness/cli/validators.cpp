#include "cli/validators.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace flashtune::cli {

CLI::Validator integer_in(std::int64_t lo, std::int64_t hi) {
  const std::string want = fmt::format("an integer in {}..{}", lo, hi);
  return CLI::Validator(
      [lo, hi, want](std::string& text) -> std::string {
        std::string_view s = text;
        if (!s.empty() && s.front() == '+') s.remove_prefix(1);
        std::int64_t v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi)
          return fmt::format("must be {}, got '{}'", want, text);
        return {};
      },
      want);
}

CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                         [](char c) { return c >= '0' && c <= '9'; });
        if (!digits || ec != std::errc() || end != text.data() + text.size())
          return fmt::format("must be an integer in 0..{}, got '{}'", UINT64_MAX, text);
        return {};
      },
      "an unsigned 64-bit integer");
}

CLI::Validator finite_in(double lo, double hi) {
  const std::string want = fmt::format("a number in [{}, {}]", lo, hi);
  return CLI::Validator(
      [lo, hi, want](std::string& text) -> std::string {
        double v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) ||
            v < lo || v > hi)
          return fmt::format("must be {}, got '{}'", want, text);
        return {};
      },
      want);
}

}  // namespace flashtune::cli
