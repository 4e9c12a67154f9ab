#pragma once
// Where flashtune finds its kernel templates and keeps its caches.
#include <filesystem>

namespace flashtune {

// FLASHTUNE_KERNEL_DIR from the environment, else ../share/flashtune/kernel_templates next to the executable,
// else the source tree's kernel_templates/ (compiled in). Throws Error(not_found) listing what was tried.
std::filesystem::path kernel_template_dir();

// FLASHTUNE_CACHE_DIR, else $XDG_CACHE_HOME/flashtune, else $HOME/.cache/flashtune, else
// /tmp/flashtune-cache.
std::filesystem::path cache_dir();

// The directory of the running executable (/proc/self/exe), used to find helper executables.
std::filesystem::path executable_dir();

}  // namespace flashtune
