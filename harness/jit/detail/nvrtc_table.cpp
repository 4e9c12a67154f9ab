#include "jit/detail/nvrtc_table.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flashtune::jit::detail {
namespace {

struct Loaded {
  NvrtcTable table;
  std::string failure;  // empty when loaded
};

// Opens `path` and resolves every call; the reason when it cannot. `flags` adds RTLD_NOLOAD to take only a
// copy the process has loaded already.
std::string try_load(const std::string& path, NvrtcTable& t, int flags = 0) {
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | flags);  // never closed: pointers live until exit
  if (lib == nullptr) {
    const char* why = dlerror();
    return why != nullptr ? why : path + ": cannot be loaded";
  }
#define FLASHTUNE_NVRTC_RESOLVE(name)                             \
  t.name = reinterpret_cast<decltype(t.name)>(dlsym(lib, #name)); \
  if (t.name == nullptr) return path + ": no symbol " #name " (an NVRTC older than 12.0?)";
  FLASHTUNE_NVRTC_CALLS(FLASHTUNE_NVRTC_RESOLVE)
#undef FLASHTUNE_NVRTC_RESOLVE
  return {};
}

Loaded load() {
  Loaded l;
  std::vector<std::string> candidates;
  const char* env = std::getenv("FLASHTUNE_NVRTC_LIBRARY");
  const bool from_env = env != nullptr && *env != '\0';
  if (from_env) {
    candidates.push_back(env);
  } else {
    candidates.push_back(FLASHTUNE_NVRTC_PATH);
    candidates.push_back(FLASHTUNE_NVRTC_SONAME);
  }
  // An NVRTC the process has loaded already (PyTorch's, say) comes first: a second copy of the same soname
  // would share the first one's libnvrtc-builtins, which belongs to its own build.
  if (!from_env && try_load(FLASHTUNE_NVRTC_SONAME, l.table, RTLD_NOLOAD).empty()) return l;
  std::string tried;
  for (const std::string& c : candidates) {
    const std::string why = try_load(c, l.table);
    if (why.empty()) return l;
    tried += "\n  " + why;
  }
  l.table = {};
  l.failure =
      std::string("NVRTC is not available, so nothing can be compiled here") +
      (from_env ? " (FLASHTUNE_NVRTC_LIBRARY is set)" : "") + "; tried:" + tried +
      "\ninstall the CUDA Toolkit's NVRTC or set FLASHTUNE_NVRTC_LIBRARY to libnvrtc.so; a deployable "
      "bundle (flashtune export --format bundle) runs without it";
  return l;
}

}  // namespace

const NvrtcTable& nvrtc() {
  static const Loaded loaded = load();
  if (!loaded.failure.empty()) throw Error(ErrorKind::not_found, loaded.failure);
  return loaded.table;
}

}  // namespace flashtune::jit::detail
