#include "core/paths.hpp"

#include <cstdlib>
#include <string>

#include "core/error.hpp"

namespace flashtune {
namespace fs = std::filesystem;

namespace {
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}
}  // namespace

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

fs::path kernel_template_dir() {
  std::string tried;
  auto ok = [&](const fs::path& p) {
    tried += "\n  " + p.string();
    std::error_code ec;
    return fs::is_regular_file(p / "fa2_fwd.cuh", ec);
  };
  if (const char* d = env("FLASHTUNE_KERNEL_DIR")) {
    if (ok(d)) return d;
  }
  if (fs::path p = executable_dir() / "../share/flashtune/kernel_templates"; ok(p))
    return fs::weakly_canonical(p);
#ifdef FLASHTUNE_SOURCE_KERNEL_DIR
  if (fs::path p = FLASHTUNE_SOURCE_KERNEL_DIR; ok(p)) return p;
#endif
  throw Error(ErrorKind::not_found,
              "kernel templates not found (set FLASHTUNE_KERNEL_DIR); looked for fa2_fwd.cuh in:" + tried);
}

fs::path cache_dir() {
  if (const char* d = env("FLASHTUNE_CACHE_DIR")) return d;
  if (const char* d = env("XDG_CACHE_HOME")) return fs::path(d) / "flashtune";
  if (const char* d = env("HOME")) return fs::path(d) / ".cache" / "flashtune";
  return "/tmp/flashtune-cache";
}

}  // namespace flashtune
