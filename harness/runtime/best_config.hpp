#pragma once
// The library call other code uses: the cached best configuration for a problem on this GPU.
//
//   if (auto e = flashtune::runtime::best_config(problem)) launch_fa2(e->params);   // nullopt: never tuned
//
// It keys the results cache like `flashtune tune` does (tuning.md): this GPU's identity, the template's id
// and current source hash, the NVRTC version and the problem's buckets and SRAM budget, and answers with the
// store's documented fallback to the nearest bucket (ResultStore::best_config).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/gpu_identity.hpp"
#include "core/problem.hpp"
#include "store/records.hpp"

namespace flashtune::runtime {

struct BestConfigQuery {
  std::string template_id = "fa2_fwd";
  std::int64_t smem_budget = 0;  // bytes per block; 0: the largest budget tuned
  std::filesystem::path db;      // empty: store::ResultStore::default_path()
};

// On device 0 of this process (creates no context: reads its identity through the driver). Throws
// Error(no_gpu) without one, Error(io) for a bad store, Error(not_found) for an unknown template.
std::optional<store::BestEntry> best_config(const AttentionProblem& problem,
                                            const BestConfigQuery& query = {});

// The same for a given GPU identity: needs no GPU (tests, or tooling that tunes for another machine).
std::optional<store::BestEntry> best_config(const AttentionProblem& problem, const GpuIdentity& gpu,
                                            const BestConfigQuery& query = {});

// The key `tune` stores a winner under: the template's current source hash and this NVRTC.
store::BestKey best_key_for(const AttentionProblem& problem, const GpuIdentity& gpu,
                            const std::string& template_id, std::int64_t smem_budget);

}  // namespace flashtune::runtime
