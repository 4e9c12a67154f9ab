#pragma once
// Exports of the best-configuration cache: YAML or JSON documents (any number of GPUs and templates, grouped
// by GPU) and a self-contained C++17 header for one GPU, whose constexpr lookup applies the same fallback
// rule as ResultStore::best_config (store/best_config_rule.hpp).
//
//   const std::string text = export_best(db.best_entries(), ExportFormat::yaml);
//
// Each format lives in its own file (export_json.cpp, export_yaml.cpp, export_header.cpp), dispatched by
// export_format.cpp.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/records.hpp"

namespace flashtune::report {

enum class ExportFormat { yaml, json, header };

std::optional<ExportFormat> parse_export_format(std::string_view s);  // "yaml" | "json" | "header"
std::string_view to_string(ExportFormat f);

// Renders best configurations. JSON and YAML:
//   {flashtune_export: 3, generated_by: "flashtune 0.1.0", gpus: [{name, cc_major, cc_minor, sm_count,
//    smem_optin_per_block, l2_bytes, driver_version, key, entries: [{template, source_hash, nvrtc_version,
//    problem: {dtype, head_dim, causal, window_left, window_right, softcap, layout, kv_group, sparse_block,
//    density_pct, seqlen_bucket, seqlen_k_bucket, batch_heads_bucket, smem_budget}, config: {name: value},
//    median_ms, tflops, example_problem: {batch, heads, seqlen, kv_heads, seqlen_k, softcap, sparse_density,
//    sparse_seed}}]}]}
// (Format 1 had no variant fields, format 2 no block-sparse ones; readers take their absence as the plain,
// dense problem.)
// GPUs ordered by identity key, entries by template, source hash, NVRTC version and problem key.
// The header needs the entries of ONE GPU and one source version (source hash and NVRTC version) per
// template; otherwise it throws Error(invalid_argument): "the header export needs one GPU: found 2 (use
// --gpu)".
std::string export_best(const std::vector<store::BestEntry>& entries, ExportFormat f);

}  // namespace flashtune::report
