#include "cli/space_files.hpp"

#include "jit/arch_check.hpp"
#include "space/space_error.hpp"
#include "space/space_loader.hpp"

namespace flashtune::cli {

space::SearchSpace load_checked_space(const std::filesystem::path& file) {
  space::SearchSpace s = space::load_search_space(file);
  if (!s.arch.empty())
    if (auto why = jit::arch_problem(s.arch)) throw space::SpaceError(s.arch_where, "arch: " + *why);
  return s;
}

}  // namespace flashtune::cli
