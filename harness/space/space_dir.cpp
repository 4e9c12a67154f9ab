// search_space_dir(): like kernel_template_dir() (core/paths.cpp), for the shipped YAML search spaces.
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "space/space_loader.hpp"

namespace flashtune::space {
namespace fs = std::filesystem;

fs::path search_space_dir() {
  std::string tried;
  auto ok = [&](const fs::path& p) {
    tried += "\n  " + p.string();
    std::error_code ec;
    return fs::is_regular_file(p / "fa2_fwd.yaml", ec);
  };
  if (const char* d = std::getenv("FLASHTUNE_SPACE_DIR"); d != nullptr && *d != '\0') {
    if (ok(d)) return d;
  }
  if (fs::path p = executable_dir() / "../share/flashtune/search_spaces"; ok(p))
    return fs::weakly_canonical(p);
#ifdef FLASHTUNE_SOURCE_SPACE_DIR
  if (fs::path p = FLASHTUNE_SOURCE_SPACE_DIR; ok(p)) return p;
#endif
  throw Error(ErrorKind::not_found,
              "search spaces not found (set FLASHTUNE_SPACE_DIR); looked for fa2_fwd.yaml in:" + tried);
}

fs::path default_search_space() {
  return search_space_dir() / "fa2_fwd.yaml";
}

}  // namespace flashtune::space
