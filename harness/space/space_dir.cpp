// search_space_dir(): like kernel_template_dir() (core/paths.cpp), for the shipped YAML search spaces.
#include "core/paths.hpp"
#include "space/space_loader.hpp"

namespace flashtune::space {
namespace fs = std::filesystem;

fs::path search_space_dir() {
#ifdef FLASHTUNE_SOURCE_SPACE_DIR
  const fs::path source = FLASHTUNE_SOURCE_SPACE_DIR;
#else
  const fs::path source;
#endif
  return find_data_dir("FLASHTUNE_SPACE_DIR", "search_spaces", source, "fa2_fwd.yaml", "search spaces");
}

fs::path default_search_space() {
  return search_space_dir() / "fa2_fwd.yaml";
}

}  // namespace flashtune::space
