#pragma once
// A cached best configuration as JSON, and back: the one encoding that `flashtune export --format json|yaml`
// writes, `flashtune compare` reads and a deployable bundle's manifest carries (runtime/bundle.hpp).
//
//   {"name": .., "cc_major": .., "cc_minor": .., "sm_count": .., "smem_optin_per_block": .., "l2_bytes": ..,
//    "driver_version": .., "key": ..}                                                  <- gpu_json
//   {"template": .., "source_hash": .., "nvrtc_version": .., "problem": {dtype, head_dim, causal,
//    window_left, window_right, softcap, layout, kv_group, sparse_block, density_pct, seqlen_bucket,
//    seqlen_k_bucket, batch_heads_bucket, smem_budget}, "config": {name: value}, "median_ms": ..,
//    "tflops": .., "example_problem": {batch, heads, seqlen, kv_heads, seqlen_k, softcap, sparse_density,
//    sparse_seed}}                                                                     <- entry_json
#include <nlohmann/json.hpp>

#include "core/gpu_identity.hpp"
#include "store/records.hpp"

namespace flashtune::store {

nlohmann::ordered_json gpu_json(const GpuIdentity& gpu);
// {dtype, head_dim, causal, window_left, ..., sparse_block, density_pct, seqlen_bucket, ..., smem_budget}:
// entry_json's "problem"
nlohmann::ordered_json problem_key_json(const ProblemKey& k);
nlohmann::ordered_json entry_json(const BestEntry& e);

// The inverses. Throw nlohmann::json::exception for a missing key or a value of the wrong type, and
// Error(invalid_argument) for an unknown dtype; the caller names the file.
GpuIdentity gpu_from_json(const nlohmann::json& j);
BestEntry entry_from_json(const nlohmann::json& j, const GpuIdentity& gpu);

}  // namespace flashtune::store
