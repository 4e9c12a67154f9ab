#pragma once
// A directory of compiled kernels keyed by cache_key(): <dir>/<key>.cubin (the bytes) and <dir>/<key>.json
// (the metadata: ok, log, lowered names, ptxas facts, compile_ms, the cubin's size and checksum). Failed
// compiles are kept too (a .json with ok == false and no .cubin), so that a sweep does not recompile known
// failures.
//
// Safe to share between threads and processes: every file is written to a unique temporary name and renamed
// into place, so a reader sees a whole file or none. The .json is renamed last and names the cubin's
// checksum, so an entry whose cubin is missing, truncated or from another writer is a miss, as is an
// unreadable or corrupt .json. The .json also carries a checksum of itself (entry_hash), so an edited fact
// (registers, spills) is a miss too.
//
// The directory must be private (core/private_dir.hpp): store() creates it with mode 0700, and load() and
// store() refuse one that another user owns or can write (Error(io) saying why), since its facts decide what
// is pruned, run and reported.
#include <filesystem>
#include <optional>
#include <string>

#include "jit/compile_request.hpp"

namespace flashtune::jit {

class CubinCache {
 public:
  // The cache in `dir`, created on the first store(). Default: flashtune::cache_dir() / "cubin", where
  // cache_dir() is created private as well.
  CubinCache();
  explicit CubinCache(std::filesystem::path dir);

  static std::filesystem::path default_dir();
  const std::filesystem::path& dir() const { return dir_; }

  // The stored result for `key`, with cache_hit = true and cache_key = key; nullopt when there is no whole,
  // consistent entry. Never throws for a bad entry; throws Error(io) for a directory that is not private.
  std::optional<CompileResult> load(const std::string& key) const;

  // Stores `result` under result.cache_key (must be non-empty). Throws Error(io) when the directory or a file
  // cannot be written; a partial write never becomes visible.
  void store(const CompileResult& result) const;

 private:
  std::filesystem::path dir_;
  std::filesystem::path private_parent_;  // cache_dir() for the default cache: it must be private too
};

// key = cache_key(request); the cached result if there is one (cache_hit = true), else compile() and store it
// (cache_hit = false). Throws what cache_key(), compile() and store() throw.
CompileResult compile_cached(const CompileRequest& request, const CubinCache& cache);

}  // namespace flashtune::jit
