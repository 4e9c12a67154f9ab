#pragma once
// The cubin cache key of a CompileRequest: everything that can change the compiled output.
#include <filesystem>
#include <string>
#include <vector>

#include "jit/compile_request.hpp"

namespace flashtune::jit {

// Bump when the cache's file format or the meaning of a key changes: every old entry then misses.
inline constexpr int kCacheFormatVersion = 1;

// The source file, then every header it reaches through `#include "..."`, recursively, each once. A quoted
// include is resolved against the including file's directory, then against request.include_dirs in order; one
// that is found nowhere is left out (cache_key() hashes its name instead). Angle-bracket includes are not
// followed. An over-approximation: includes inside comments or disabled #if blocks are followed too. Throws
// Error(not_found) when the source file itself is missing, Error(io) when a found file cannot be read.
std::vector<std::filesystem::path> source_dependencies(const CompileRequest& request);

// A 128-bit digest as 32 hex digits over: the format version, the NVRTC version (which also stands for the
// angle-bracket headers it ships or finds in the toolkit), the translation unit text (so the absolute source
// path), the bytes of the source and of every quoted header it includes (see source_dependencies), the names
// of quoted headers that were not found, all NVRTC options (arch, include dirs, extra options) and the name
// expressions. Moving the sources to another directory therefore changes the key. Throws like
// source_dependencies().
std::string cache_key(const CompileRequest& request);

// A 128-bit digest (32 hex digits) of the kernel source alone: the bytes and file names of the source and of
// every quoted header it reaches (source_dependencies), not their directories, options or the NVRTC version.
// It names a template's code in the results cache: editing the template or a header it includes changes it,
// moving the tree does not. Throws like source_dependencies().
std::string source_hash(const CompileRequest& request);

}  // namespace flashtune::jit
