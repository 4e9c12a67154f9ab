#include "core/private_dir.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.hpp"

namespace flashtune {
namespace fs = std::filesystem;

std::optional<std::string> not_private_reason(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return fmt::format("cannot stat it: {}", std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return std::string("it is not a directory");
  if (st.st_uid != ::geteuid())
    return fmt::format("it is owned by uid {}, not by you (uid {})", st.st_uid, ::geteuid());
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return fmt::format("it is writable by {} (mode {:04o}; chmod go-w it)",
                       (st.st_mode & S_IWOTH) != 0 ? "every user" : "its group", st.st_mode & 07777);
  return std::nullopt;
}

void ensure_private_dir(const fs::path& dir) {
  // Every missing component is created 0700 (as XDG asks of ~/.cache), so that a worker process that creates
  // <cache>/cubin first cannot leave <cache> open to others.
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST)
      throw Error(ErrorKind::io, fmt::format("cannot create the cache directory {}: {}", it->string(),
                                             std::strerror(errno)));
  if (auto why = not_private_reason(dir))
    throw Error(ErrorKind::io,
                fmt::format("refusing the cache directory {}: {}; another user could change what "
                            "flashtune runs and reports (set FLASHTUNE_CACHE_DIR to a directory "
                            "of your own)",
                            dir.string(), *why));
}

}  // namespace flashtune
