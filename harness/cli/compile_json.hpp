#pragma once
// The machine-readable form of `flashtune compile --json FILE`: per configuration its parameters, variant,
// ptxas facts, fit and the cubin cache entry, so that two builds' cubins can be compared configuration by
// configuration (scripts/compare-cubins.py) and CI can keep the facts.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run/precompile.hpp"

namespace flashtune::cli {

// {"arch", "cubin_dir", "configurations": [{template, params, head_dim, dtype, causal, label, ok, cache_key,
// cache_hit, name_expressions, lowered_names, registers, spill_bytes, stack_bytes, smem_bytes, blocks_per_sm,
// limited_by, compile_ms}]}
nlohmann::json compile_json(const std::vector<run::CompiledInstance>& compiled, const std::string& arch,
                            const std::string& cubin_dir);

}  // namespace flashtune::cli
