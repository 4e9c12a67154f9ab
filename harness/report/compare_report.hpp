#pragma once
// The printers of `flashtune compare` (check/result_comparison.hpp): a table for people and JSON for tools.
#include <ostream>
#include <string>

#include "check/result_comparison.hpp"

namespace flashtune::report {

// One row per problem (verdict, GPU, template, problem key, old and new configuration, medians, change,
// noise), the notes, and a line of counts.
void print_comparison(const check::Comparison& c, std::ostream& out);

// {"flashtune_compare": 1, "old", "new", "threshold", "any_gpu", "notes": [...], "counts": {"SAME": n, ...},
//  "regressed": bool, "rows": [{"verdict", "gpu", "template", "problem": {dtype, head_dim, causal,
//  seqlen_bucket, batch_heads_bucket, smem_budget}, "old": {config, median_ms, noise, samples} | null,
//  "new": ... | null, "change", "noise", "noise_known"}]}, indented.
std::string comparison_json(const check::Comparison& c);

}  // namespace flashtune::report
