#include "jit/cubin_cache.hpp"

#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/hash128.hpp"
#include "core/paths.hpp"
#include "core/private_dir.hpp"
#include "jit/cache_key.hpp"
#include "jit/compiler.hpp"
#include "jit/detail/json_codec.hpp"

namespace flashtune::jit {
namespace fs = std::filesystem;
namespace {

std::optional<std::string> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return std::nullopt;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return bytes;
}

// The checksum of an entry's metadata: every field but entry_hash itself, as canonical JSON (sorted keys).
std::string entry_hash(nlohmann::json meta) {
  meta.erase("entry_hash");
  Hash128 h;
  h.field("flashtune-cubin-entry", detail::dump_line(meta));
  return h.hex();
}

void refuse_unless_private(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (auto why = not_private_reason(dir))
    throw Error(ErrorKind::io, "refusing the cubin cache " + dir.string() + ": " + *why +
                                   "; another user could change what flashtune runs and reports (set "
                                   "FLASHTUNE_CACHE_DIR to a directory of your own)");
}

}  // namespace

CubinCache::CubinCache() : dir_(default_dir()), private_parent_(cache_dir()) {}

CubinCache::CubinCache(fs::path dir) : dir_(std::move(dir)) {}

fs::path CubinCache::default_dir() {
  return cache_dir() / "cubin";
}

std::optional<CompileResult> CubinCache::load(const std::string& key) const {
  if (key.empty()) return std::nullopt;
  if (!private_parent_.empty()) refuse_unless_private(private_parent_);
  refuse_unless_private(dir_);
  std::optional<std::string> meta = read_all(dir_ / (key + ".json"));
  if (!meta) return std::nullopt;
  try {
    const nlohmann::json j = nlohmann::json::parse(*meta);
    if (j.at("format").get<int>() != kCacheFormatVersion) return std::nullopt;
    if (j.at("entry_hash").get<std::string>() != entry_hash(j)) return std::nullopt;  // edited or damaged
    CompileResult result = detail::result_from_json(j);
    if (result.cache_key != key) return std::nullopt;
    if (result.ok) {
      std::optional<std::string> cubin = read_all(dir_ / (key + ".cubin"));
      if (!cubin) return std::nullopt;
      result.cubin.assign(cubin->begin(), cubin->end());
      if (result.cubin.size() != j.at("cubin_bytes").get<std::size_t>() ||
          detail::cubin_hash(result.cubin) != j.at("cubin_hash").get<std::string>())
        return std::nullopt;
    }
    result.cache_hit = true;
    return result;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a corrupt entry is a miss; the next store() overwrites it
  }
}

void CubinCache::store(const CompileResult& result) const {
  if (result.cache_key.empty())
    throw Error(ErrorKind::internal, "CubinCache::store: result has no cache key");
  if (!private_parent_.empty()) ensure_private_dir(private_parent_);
  ensure_private_dir(dir_);
  if (result.ok)
    write_file_atomically(dir_ / (result.cache_key + ".cubin"),
                          std::string_view(result.cubin.data(), result.cubin.size()));
  nlohmann::json meta = detail::result_to_json(result);
  meta["format"] = kCacheFormatVersion;
  meta["entry_hash"] = entry_hash(meta);
  write_file_atomically(dir_ / (result.cache_key + ".json"), detail::dump_line(meta) + "\n");
}

CompileResult compile_cached(const CompileRequest& request, const CubinCache& cache) {
  const std::string key = cache_key(request);
  if (std::optional<CompileResult> hit = cache.load(key)) return std::move(*hit);
  CompileResult result = compile(request);
  result.cache_key = key;
  cache.store(result);
  return result;
}

}  // namespace flashtune::jit
