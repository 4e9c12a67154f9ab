#include "jit/cubin_cache.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>

#include "core/error.hpp"
#include "core/paths.hpp"
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

// A name no other thread or process uses: pid, a per-process counter and a random tag.
fs::path temp_name(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  static const unsigned tag = std::random_device{}();
  return fs::path(target.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) +
                  "." + std::to_string(tag));
}

// Writes `bytes` to a temporary file beside `target`, then renames it over `target`.
void write_atomically(const fs::path& target, const char* data, std::size_t size) {
  const fs::path tmp = temp_name(target);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data, static_cast<std::streamsize>(size));
    out.close();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(ErrorKind::io, "cannot write cache file " + tmp.string());
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(ErrorKind::io, "cannot rename cache file into " + target.string() + ": " + ec.message());
  }
}

}  // namespace

CubinCache::CubinCache(fs::path dir) : dir_(std::move(dir)) {}

fs::path CubinCache::default_dir() {
  return cache_dir() / "cubin";
}

std::optional<CompileResult> CubinCache::load(const std::string& key) const {
  if (key.empty()) return std::nullopt;
  std::optional<std::string> meta = read_all(dir_ / (key + ".json"));
  if (!meta) return std::nullopt;
  try {
    const nlohmann::json j = nlohmann::json::parse(*meta);
    if (j.at("format").get<int>() != kCacheFormatVersion) return std::nullopt;
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
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw Error(ErrorKind::io, "cannot create cubin cache directory " + dir_.string() + ": " + ec.message());
  if (result.ok)
    write_atomically(dir_ / (result.cache_key + ".cubin"), result.cubin.data(), result.cubin.size());
  nlohmann::json meta = detail::result_to_json(result);
  meta["format"] = kCacheFormatVersion;
  const std::string text = detail::dump_line(meta) + "\n";
  write_atomically(dir_ / (result.cache_key + ".json"), text.data(), text.size());
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
