#pragma once
// Reading search spaces from YAML (docs/search-spaces.md is the format). Everything is checked at load
// time, so that a bad file fails before any compile: unknown or duplicate keys, values outside the
// template's bounds, constraint syntax and unknown identifiers, problems that do not divide or validate.
// Every failure is a SpaceError naming file:line:column and what was expected:
//
//   SearchSpace s = load_search_space("search_spaces/fa2_fwd.yaml");
//   load_search_space("x.yaml");
//   // SpaceError: "x.yaml:3:5: parameter 'warps': pow2 bounds must be powers of two, got 3"
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "space/search_space.hpp"
#include "space/space_error.hpp"

namespace flashtune::space {

// The largest search space file read: the shipped ones are a few KiB.
inline constexpr std::size_t kMaxSpaceFileBytes = std::size_t{1} << 20;

// Reads and parses `file`; locations name the path as given. Throws SpaceError, also when the file cannot
// be read, is not a regular file (a FIFO, /dev/zero) or is larger than kMaxSpaceFileBytes (then the location
// is the file alone).
SearchSpace load_search_space(const std::filesystem::path& file);

// Parses YAML text; `file_name` is used in locations and as SearchSpace::file.
SearchSpace parse_search_space(std::string_view yaml_text, const std::string& file_name);

// The folder of the shipped search spaces: FLASHTUNE_SPACE_DIR from the environment, else
// ../share/flashtune/search_spaces next to the executable, else the source tree's search_spaces/ (compiled
// in). Throws Error(not_found) listing what was tried.
std::filesystem::path search_space_dir();

// search_space_dir() / "fa2_fwd.yaml".
std::filesystem::path default_search_space();

}  // namespace flashtune::space
