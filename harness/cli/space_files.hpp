#pragma once
// Loading the search spaces a command was given, all before any work starts: each file parsed and checked
// (space_loader.hpp), and its `arch:` checked against this NVRTC (jit/arch_check.hpp), so that a bad file
// stops the run with exit 5 and its file:line:column.
#include <filesystem>
#include <vector>

#include "space/search_space.hpp"

namespace flashtune::cli {

// Throws space::SpaceError for the first bad file.
space::SearchSpace load_checked_space(const std::filesystem::path& file);

}  // namespace flashtune::cli
