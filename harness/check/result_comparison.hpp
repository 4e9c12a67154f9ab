#pragma once
// `flashtune compare OLD NEW`: the performance gate. Each side is a results database or an export
// (`flashtune export --format json`); their best entries are matched per problem and each match is judged
// with a noise-aware threshold (docs/check.md):
//
//   change = new median / old median - 1            (positive: slower)
//   noise  = sqrt(old noise^2 + new noise^2)        (each the winning trial's stdev / mean; 0 when unknown)
//   |change| <= max(threshold, noise)               SAME
//   |change| >  max(threshold, 3 * noise)           FASTER or SLOWER
//   otherwise                                        AMBIGUOUS
//   on one side only                                 ADDED (new) or REMOVED (old)
//
// Entries match on GPU (its hardware: name, compute capability, SMs, shared memory, L2; not the driver),
// template, dtype, head_dim, causal, seqlen and batch*heads buckets and SRAM budget; with any_gpu the GPU is
// left out. Sides that share no GPU are refused unless any_gpu.
//
//   Comparison c = compare(load_comparison_side("old.db"), load_comparison_side("new.json"), {});
//   c.regressed();   // some problem is SLOWER
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/gpu_identity.hpp"
#include "kernels/kernel_template.hpp"
#include "store/problem_key.hpp"

namespace flashtune::check {

struct ComparedEntry {
  GpuIdentity gpu;
  std::string template_id;
  store::ProblemKey problem;
  ParamValues params;
  double median_ms = 0;
  std::optional<double> noise;  // relative (stdev / mean) of the winning trial's samples; nullopt: unknown
  int samples = 0;              // 0: unknown
  std::string updated_at;       // "" in exports
};

struct ComparisonSide {
  std::string path;
  std::string kind;  // "database" or "export"
  std::vector<ComparedEntry> entries;
};

// A results database (an SQLite file) or a JSON export. Throws Error(io) for a file that cannot be read or is
// neither, Error(not_found) for a missing one.
ComparisonSide load_comparison_side(const std::filesystem::path& path);

enum class Verdict { same, faster, slower, ambiguous, added, removed };
std::string_view to_string(Verdict v);  // "SAME", "FASTER", "SLOWER", "AMBIGUOUS", "ADDED", "REMOVED"

struct ComparisonOptions {
  double threshold = 0.03;  // relative change that always counts as the same
  bool any_gpu = false;     // match entries across GPUs
};

struct ComparisonRow {
  std::optional<ComparedEntry> old_entry, new_entry;
  double change = 0;         // new / old - 1 when both are there
  double noise = 0;          // combined relative noise; 0 when unknown
  bool noise_known = false;  // both sides had noise data
  Verdict verdict = Verdict::same;

  const ComparedEntry& entry() const { return old_entry ? *old_entry : *new_entry; }
};

struct Comparison {
  std::string old_path, new_path;
  ComparisonOptions options;
  std::vector<ComparisonRow> rows;  // ordered by GPU, template, problem key
  std::vector<std::string> notes;   // what was left out or assumed ("OLD has no noise data: ...")

  std::size_t count(Verdict v) const;
  bool regressed() const { return count(Verdict::slower) > 0; }
};

// The verdict of one matched pair (see above); noise 0 judges by the threshold alone.
Verdict classify(double change, double noise, double threshold);

// Throws Error(invalid_argument) when the sides share no GPU and !options.any_gpu.
Comparison compare(const ComparisonSide& old_side, const ComparisonSide& new_side,
                   const ComparisonOptions& options);

}  // namespace flashtune::check
