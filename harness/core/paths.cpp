#include "core/paths.hpp"

#include <dlfcn.h>
#include <unistd.h>

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

fs::path code_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&code_dir), &info) != 0 && info.dli_fname != nullptr &&
      info.dli_fname[0] == '/') {
    std::error_code ec;
    const fs::path object = fs::canonical(info.dli_fname, ec);
    if (!ec) return object.parent_path();
  }
  return executable_dir();
}

fs::path find_data_dir(const char* env_var, const char* share_name, const fs::path& source_dir,
                       const char* marker, const char* what) {
  std::string tried;
  auto ok = [&](const fs::path& p) {
    tried += "\n  " + p.string();
    std::error_code ec;
    return fs::is_regular_file(p / marker, ec);
  };
  // A variable that is set but wrong is an error, not a reason to fall back to another copy silently.
  if (const char* d = env(env_var)) {
    if (ok(d)) return d;
    throw Error(ErrorKind::not_found, std::string(env_var) + "=" + d + ": no " + marker +
                                          " there (it should name the " + what +
                                          " folder; unset it to use the installed or built-in one)");
  }
  // Installed: P/bin/<exe> or P/lib/libflashtune_runtime.so next to P/share/flashtune; a Python package keeps
  // its data beside its extension module (flashtune/share/flashtune).
  for (const fs::path& base : {executable_dir() / "../share/flashtune", code_dir() / "../share/flashtune",
                               code_dir() / "share/flashtune"})
    if (fs::path p = base / share_name; ok(p)) return fs::weakly_canonical(p);
  if (!source_dir.empty() && ok(source_dir)) return source_dir;
  throw Error(ErrorKind::not_found,
              std::string(what) + " not found (set " + env_var + "); looked for " + marker + " in:" + tried);
}

std::vector<std::string> find_helper_command(const char* env_var, const char* name,
                                             const fs::path& build_path) {
  if (const char* e = env(env_var)) return {e};
  std::string tried;
  auto usable = [&](const fs::path& p) {
    tried += "\n  " + p.string();
    return ::access(p.c_str(), X_OK) == 0;
  };
  if (fs::path p = executable_dir() / name; usable(p)) return {p.string()};
  if (!build_path.empty() && usable(build_path)) return {build_path.string()};
  throw Error(ErrorKind::not_found, std::string(name) + " not found (set " + env_var + "); tried:" + tried);
}

fs::path kernel_template_dir() {
#ifdef FLASHTUNE_SOURCE_KERNEL_DIR
  const fs::path source = FLASHTUNE_SOURCE_KERNEL_DIR;
#else
  const fs::path source;
#endif
  return find_data_dir("FLASHTUNE_KERNEL_DIR", "kernel_templates", source, "fa2_fwd.cuh", "kernel templates");
}

fs::path cache_dir() {
  if (const char* d = env("FLASHTUNE_CACHE_DIR")) return d;
  if (const char* d = env("XDG_CACHE_HOME")) return fs::path(d) / "flashtune";
  if (const char* d = env("HOME")) return fs::path(d) / ".cache" / "flashtune";
  // Per user: /tmp is shared, and the directory is refused unless private (core/private_dir.hpp).
  return fs::path("/tmp") / ("flashtune-cache-" + std::to_string(::geteuid()));
}

}  // namespace flashtune
