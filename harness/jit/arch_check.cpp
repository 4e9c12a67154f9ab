#include "jit/arch_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "jit/nvrtc_program.hpp"

namespace flashtune::jit {

std::optional<std::string> arch_problem(const std::string& arch) {
  std::string_view s = arch;
  if (!s.starts_with("sm_"))
    return fmt::format("'{}' is not an architecture: expected sm_<digits> with an optional a or f (sm_90a)",
                       arch);
  s.remove_prefix(3);
  if (!s.empty() && (s.back() == 'a' || s.back() == 'f')) s.remove_suffix(1);
  int number = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    return fmt::format("'{}' is not an architecture: expected sm_<digits> with an optional a or f (sm_90a)",
                       arch);
  const std::vector<std::string> known = supported_archs();
  const std::string base = fmt::format("sm_{}", number);
  if (std::find(known.begin(), known.end(), base) == known.end())
    return fmt::format("{} is not an architecture NVRTC {} compiles for (it knows {})", arch,
                       nvrtc_version_string(), fmt::join(known, ", "));
  if (number < 80)
    return fmt::format("{} is too old: the kernel templates need sm_80 or newer (bf16 mma.sync)", arch);
  return std::nullopt;
}

}  // namespace flashtune::jit
