#pragma once
// A deployable bundle: the tuned winners of one GPU, compiled, in a folder a program can ship. The runtime
// runs a bundle with no NVRTC, no results database and no kernel sources present (RuntimeOptions::bundle).
//
//   DIR/manifest.json   {"flashtune_bundle": 2, "generated_by": "flashtune 0.1.0",
//                        "gpu": {<store::gpu_json>, "arch": "sm_90a"},
//                        "entries": [{<store::entry_json>, "cubin": "cubins/<digest>.cubin",
//                                     "cubin_bytes": N, "cubin_digest": "<Hash128 hex>",
//                                     "kernels": {"<name expression>": "<lowered name>"}}]}
//   DIR/cubins/<digest>.cubin
//
//   const Bundle b = read_bundle(dir);          // Error(io) naming the file for anything wrong in it
//   check_bundle_gpu(b, device.identity());     // Error(invalid_argument): made for another GPU or driver
//   if (const BundleEntry* e = bundle_entry_for(b, "hopper_fwd", problem)) load(read_bundle_cubin(b, *e));
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/gpu_identity.hpp"
#include "core/problem.hpp"
#include "store/records.hpp"

namespace flashtune::runtime {

// 2: entries carry the attention variant (store::entry_json). Format 1 (the plain problem only) is still
// read.
inline constexpr int kBundleVersion = 2;

struct BundleEntry {
  store::BestEntry best;  // what was tuned: template, source hash, NVRTC, problem bucket, configuration
  std::string cubin;      // relative to the bundle: "cubins/<digest>.cubin"
  std::size_t cubin_bytes = 0;
  std::string cubin_digest;                          // Hash128 of the cubin's bytes
  std::map<std::string, std::string> lowered_names;  // name expression -> lowered name in the cubin
};

struct Bundle {
  std::filesystem::path dir;
  GpuIdentity gpu;
  std::string arch;  // the cubins' architecture, "sm_90a"
  std::string generated_by;
  std::vector<BundleEntry> entries;
};

// Reads DIR/manifest.json. Throws Error(not_found) when there is none, Error(io) naming the file for one
// that is not a bundle manifest, of another version, or whose entries are incomplete; the cubins are checked
// when read (read_bundle_cubin).
Bundle read_bundle(const std::filesystem::path& dir);

// Throws Error(invalid_argument) unless `gpu` is the GPU the bundle was made for (its whole identity, driver
// included): "bundle DIR was made for <gpu>; this GPU is <gpu> (<what differs>): ...".
void check_bundle_gpu(const Bundle& bundle, const GpuIdentity& gpu);

// The entry for `problem` among those of `template_id`, chosen by the results store's rule (the exact
// bucket, else the nearest: store/best_config_rule.hpp); nullptr when the bundle has none for its dtype,
// head_dim and causality.
const BundleEntry* bundle_entry_for(const Bundle& bundle, const std::string& template_id,
                                    const AttentionProblem& problem);

// The entry's cubin, its size and digest checked. Throws Error(io) naming the file when it is missing,
// truncated or altered.
std::vector<char> read_bundle_cubin(const Bundle& bundle, const BundleEntry& entry);

// One line per entry, for `flashtune info` and error messages: "hopper_fwd bf16 d128 causal n4096 bh64".
std::vector<std::string> describe_entries(const Bundle& bundle);

}  // namespace flashtune::runtime
