#include "runtime/bundle.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/hash128.hpp"
#include "store/best_config_rule.hpp"
#include "store/best_entry_json.hpp"

namespace flashtune::runtime {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kMaxManifestBytes = std::size_t{64} << 20;
constexpr std::size_t kMaxCubinBytes = std::size_t{256} << 20;

[[noreturn]] void bad_manifest(const fs::path& file, const std::string& why) {
  throw Error(ErrorKind::io,
              fmt::format("{}: not a usable flashtune bundle manifest: {}", file.string(), why));
}

// A cubin path must stay inside the bundle: "cubins/<name>.cubin", nothing else.
bool safe_cubin_path(const std::string& p) {
  const fs::path rel(p);
  if (rel.is_absolute() || !rel.has_filename() || rel.parent_path() != "cubins") return false;
  return rel.filename() != ".." && rel.filename() != "." && rel.extension() == ".cubin";
}

BundleEntry entry_of(const nlohmann::json& j, const GpuIdentity& gpu) {
  BundleEntry e;
  e.best = store::entry_from_json(j, gpu);
  e.cubin = j.at("cubin").get<std::string>();
  e.cubin_bytes = j.at("cubin_bytes").get<std::size_t>();
  e.cubin_digest = j.at("cubin_digest").get<std::string>();
  for (const auto& [expr, lowered] : j.at("kernels").items())
    e.lowered_names[expr] = lowered.get<std::string>();
  return e;
}

std::string driver_text(int v) {
  return fmt::format("{}.{}", v / 1000, v % 1000 / 10);
}

}  // namespace

Bundle read_bundle(const fs::path& dir) {
  const fs::path file = dir / "manifest.json";
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw Error(ErrorKind::not_found,
                fmt::format("{} is not a flashtune bundle: no manifest.json there (flashtune export --format "
                            "bundle -o DIR writes one)",
                            dir.string()));
  const std::string text = read_regular_file(file, kMaxManifestBytes, "bundle manifest");
  Bundle b;
  b.dir = dir;
  try {
    const nlohmann::json doc = nlohmann::json::parse(text);
    if (!doc.is_object() || !doc.contains("flashtune_bundle")) bad_manifest(file, "no flashtune_bundle key");
    const int version = doc.at("flashtune_bundle").get<int>();
    if (version < 1 || version > kBundleVersion)
      bad_manifest(file,
                   fmt::format("format {}, this flashtune reads formats 1 to {} (export the bundle again "
                               "with this version)",
                               version, kBundleVersion));
    b.generated_by = doc.at("generated_by").get<std::string>();
    b.gpu = store::gpu_from_json(doc.at("gpu"));
    b.arch = doc.at("gpu").at("arch").get<std::string>();
    for (const nlohmann::json& j : doc.at("entries")) {
      BundleEntry e = entry_of(j, b.gpu);
      if (!safe_cubin_path(e.cubin))
        bad_manifest(file, fmt::format("cubin path \"{}\" is not cubins/*.cubin", e.cubin));
      if (e.lowered_names.empty())
        bad_manifest(file, fmt::format("entry {} names no kernels", e.best.key.to_string()));
      b.entries.push_back(std::move(e));
    }
  } catch (const nlohmann::json::exception& e) {
    bad_manifest(file, e.what());
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::io) throw;
    bad_manifest(file, e.what());
  }
  return b;
}

void check_bundle_gpu(const Bundle& bundle, const GpuIdentity& gpu) {
  if (bundle.gpu == gpu) return;
  const GpuIdentity& a = bundle.gpu;
  std::vector<std::string> diff;
  if (a.name != gpu.name) diff.push_back("another GPU model");
  if (a.cc_major != gpu.cc_major || a.cc_minor != gpu.cc_minor)
    diff.push_back(
        fmt::format("compute capability {}.{} vs {}.{}", a.cc_major, a.cc_minor, gpu.cc_major, gpu.cc_minor));
  if (a.sm_count != gpu.sm_count) diff.push_back(fmt::format("{} SMs vs {}", a.sm_count, gpu.sm_count));
  if (a.smem_optin_per_block != gpu.smem_optin_per_block || a.l2_bytes != gpu.l2_bytes)
    diff.push_back("other shared memory or L2 sizes");
  if (a.driver_version != gpu.driver_version)
    diff.push_back(
        fmt::format("driver {} vs {}", driver_text(a.driver_version), driver_text(gpu.driver_version)));
  throw Error(ErrorKind::invalid_argument,
              fmt::format("bundle {} was made for {}; this GPU is {} ({}): tune and export a bundle on this "
                          "machine (flashtune export --format bundle)",
                          bundle.dir.string(), a.to_string(), gpu.to_string(), fmt::join(diff, ", ")));
}

const BundleEntry* bundle_entry_for(const Bundle& bundle, const std::string& template_id,
                                    const AttentionProblem& problem) {
  std::vector<store::BestEntry> candidates;
  std::vector<const BundleEntry*> owners;
  for (const BundleEntry& e : bundle.entries)
    if (e.best.key.template_id == template_id) {
      candidates.push_back(e.best);
      owners.push_back(&e);
    }
  if (candidates.empty()) return nullptr;
  // The writer keeps one source version per template: the wanted key takes it from the entries.
  const store::BestKey& first = candidates.front().key;
  const store::BestKey wanted{bundle.gpu, template_id, first.source_hash, first.nvrtc_version,
                              store::ProblemKey::of(problem, 0)};
  const store::BestEntry* best = store::choose_best(candidates, wanted);
  return best == nullptr ? nullptr : owners[static_cast<std::size_t>(best - candidates.data())];
}

std::vector<char> read_bundle_cubin(const Bundle& bundle, const BundleEntry& entry) {
  const fs::path file = bundle.dir / entry.cubin;
  const std::string bytes = read_regular_file(file, kMaxCubinBytes, "bundle cubin");
  Hash128 h;
  h.bytes(bytes.data(), bytes.size());
  if (bytes.size() != entry.cubin_bytes || h.hex() != entry.cubin_digest)
    throw Error(ErrorKind::io,
                fmt::format("bundle cubin {} is altered or truncated: {} bytes with digest {}, the "
                            "manifest says {} bytes with digest {}",
                            file.string(), bytes.size(), h.hex(), entry.cubin_bytes, entry.cubin_digest));
  return {bytes.begin(), bytes.end()};
}

std::vector<std::string> describe_entries(const Bundle& bundle) {
  std::vector<std::string> out;
  for (const BundleEntry& e : bundle.entries) {
    const store::ProblemKey& k = e.best.key.problem;
    std::string key = k.to_string();  // "bf16 d128 causal n4096 bh64 smem232448": the budget left out
    key.erase(key.rfind(" smem"));
    out.push_back(fmt::format("{} {}", e.best.key.template_id, key));
  }
  return out;
}

}  // namespace flashtune::runtime
