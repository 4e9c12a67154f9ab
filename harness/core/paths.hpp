#pragma once
// Where flashtune finds its kernel templates and keeps its caches.
#include <filesystem>
#include <string>
#include <vector>

namespace flashtune {

// FLASHTUNE_KERNEL_DIR from the environment, else the installed copy (find_data_dir), else the source tree's
// kernel_templates/ (compiled in). Throws Error(not_found) listing what was tried, or naming the variable
// when it is set to a folder without the templates.
std::filesystem::path kernel_template_dir();

// FLASHTUNE_CACHE_DIR, else $XDG_CACHE_HOME/flashtune, else $HOME/.cache/flashtune, else
// /tmp/flashtune-cache-<uid>. Whoever creates or uses it checks it with ensure_private_dir().
std::filesystem::path cache_dir();

// The directory of the running executable (/proc/self/exe), used to find helper executables.
std::filesystem::path executable_dir();

// The directory of the file that holds flashtune's code: the executable, or the shared library
// (libflashtune_runtime.so, the Python extension) it was linked into (dladdr).
std::filesystem::path code_dir();

// A folder of shipped data that holds `marker`: $<env_var> when set (an error when it lacks `marker`), else
// ../share/flashtune/<share_name> next to the executable or to code_dir(), else share/flashtune/<share_name>
// in code_dir() (a Python package), else `source_dir` (the source tree's, compiled in). Throws
// Error(not_found) naming `what`, the variable and every place tried.
std::filesystem::path find_data_dir(const char* env_var, const char* share_name,
                                    const std::filesystem::path& source_dir, const char* marker,
                                    const char* what);

// A helper executable's command: {$<env_var>} when set, else executable_dir()/<name> when it is executable,
// else `build_path` (the build tree's, compiled in). Throws Error(not_found) listing the places tried.
std::vector<std::string> find_helper_command(const char* env_var, const char* name,
                                             const std::filesystem::path& build_path);

}  // namespace flashtune
