#include "runtime/bundle_writer.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/hash128.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/kernel_template.hpp"
#include "run/instance.hpp"
#include "runtime/best_config.hpp"
#include "runtime/bundle.hpp"
#include "store/best_entry_json.hpp"

namespace flashtune::runtime {
namespace fs = std::filesystem;
namespace {

// DIR may be new, empty, or a bundle: anything else is somebody's folder.
void check_target(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir, ec))
    throw Error(ErrorKind::io, fmt::format("bundle folder {} is not a folder", dir.string()));
  if (fs::exists(dir / "manifest.json", ec)) return;
  if (fs::directory_iterator(dir, ec) != fs::directory_iterator())
    throw Error(ErrorKind::io,
                fmt::format("bundle folder {} is not empty and holds no bundle: choose a new or "
                            "empty folder",
                            dir.string()));
}

std::string current_source_hash(const std::string& template_id, const GpuIdentity& gpu) {
  return best_key_for(AttentionProblem{}, gpu, template_id, 0).source_hash;
}

}  // namespace

BundleWriteReport write_bundle(const std::vector<store::BestEntry>& entries, const fs::path& dir) {
  std::set<std::string> gpus;
  for (const store::BestEntry& e : entries) gpus.insert(e.key.gpu.key());
  if (gpus.size() != 1)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("a bundle holds one GPU: found {} (use --gpu)", gpus.size()));
  const GpuIdentity gpu = entries.front().key.gpu;
  const std::string arch = arch_name(gpu.cc_major, gpu.cc_minor);
  check_target(dir);

  BundleWriteReport report;
  std::map<std::string, std::string> hashes;  // template -> its current source hash
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  std::map<std::string, std::string> written;  // digest -> file
  for (const store::BestEntry& e : entries) {
    const std::string& id = e.key.template_id;
    if (!hashes.contains(id)) hashes[id] = current_source_hash(id, gpu);
    if (e.key.source_hash != hashes[id]) {
      report.left_out.push_back(fmt::format("{}: tuned on another source of {} (src={}, now {}): tune again",
                                            e.key.to_string(), id, e.key.source_hash, hashes[id]));
      continue;
    }
    const run::Instance inst = run::Instance::make(find_template(id), e.params, e.problem);
    const jit::CompileResult compiled = jit::compile_cached(inst.compile_request(arch), jit::CubinCache());
    if (!compiled.ok)
      throw Error(ErrorKind::compile, fmt::format("{}: NVRTC failed:\n{}", inst.label(), compiled.log));
    nlohmann::ordered_json kernels = nlohmann::ordered_json::object();
    for (const std::string& expr : inst.name_expressions()) {
      const auto lowered = compiled.lowered_names.find(expr);
      if (lowered == compiled.lowered_names.end())
        throw Error(ErrorKind::internal, fmt::format("{}: no lowered name for {}", inst.label(), expr));
      kernels[expr] = lowered->second;
    }
    Hash128 h;
    h.bytes(compiled.cubin.data(), compiled.cubin.size());
    const std::string digest = h.hex();
    const std::string file = "cubins/" + digest + ".cubin";
    if (!written.contains(digest)) {
      fs::create_directories(dir / "cubins");
      write_file_atomically(dir / file, std::string_view(compiled.cubin.data(), compiled.cubin.size()));
      written[digest] = file;
    }
    nlohmann::ordered_json j = store::entry_json(e);
    j["cubin"] = file;
    j["cubin_bytes"] = compiled.cubin.size();
    j["cubin_digest"] = digest;
    j["kernels"] = std::move(kernels);
    list.push_back(std::move(j));
  }
  if (list.empty())
    throw Error(ErrorKind::invalid_argument,
                fmt::format("no entry can go into the bundle:\n  {}", fmt::join(report.left_out, "\n  ")));
  nlohmann::ordered_json gpu_doc = store::gpu_json(gpu);
  gpu_doc["arch"] = arch;
  const nlohmann::ordered_json doc = {{"flashtune_bundle", kBundleVersion},
                                      {"generated_by", "flashtune " FLASHTUNE_VERSION},
                                      {"gpu", std::move(gpu_doc)},
                                      {"entries", std::move(list)}};
  write_file_atomically(dir / "manifest.json", doc.dump(2) + "\n");
  // An earlier bundle's cubins that the new manifest does not name.
  std::set<std::string> kept;
  for (const auto& [digest, file] : written) kept.insert(fs::path(file).filename().string());
  std::error_code ec;
  for (const fs::directory_entry& f : fs::directory_iterator(dir / "cubins", ec))
    if (!kept.contains(f.path().filename().string())) fs::remove(f.path(), ec);
  report.entries = doc.at("entries").size();
  report.cubins = written.size();
  return report;
}

}  // namespace flashtune::runtime
