#pragma once
// A directory that only its owner can change: flashtune's caches (compiled kernels and their resource facts,
// the results database) decide what is run and reported, so a cache that another local user can write is
// refused, not trusted.
#include <filesystem>
#include <optional>
#include <string>

namespace flashtune {

// Creates `dir` and its missing parents with mode 0700 when it does not exist, then checks it. Throws
// Error(io) when it cannot be created, is not a directory, is owned by another user, or is writable by group
// or others; the message names the directory, says why, and how to fix it.
void ensure_private_dir(const std::filesystem::path& dir);

// Why an existing `dir` is not private (the checks above), or nullopt when it is.
std::optional<std::string> not_private_reason(const std::filesystem::path& dir);

}  // namespace flashtune
