#pragma once
// A search space as loaded from YAML (space_loader.hpp): which template, the values each of its parameters
// takes, the constraints a configuration must satisfy, the SRAM budgets to tune for, the problems to tune
// on, and how to measure, prune and search. Plain data: the loader has checked every field, so consumers
// need not re-validate. docs/search-spaces.md describes the file format.
//
//   SearchSpace s = load_search_space(default_search_space());
//   s.size();                       // 108: 4 block_m x 3 block_n x 3 warps x 3 stages
//   s.sram_budgets[0].label();      // "48 KiB"
//   s.problems[0].to_string();      // "B16 H32 N1024 d64 bf16"
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/problem.hpp"
#include "space/expr.hpp"
#include "space/source_location.hpp"

namespace flashtune::space {

// One tunable parameter of the template and the values to try, in file order (duplicates rejected).
struct Parameter {
  std::string name;
  std::vector<std::int64_t> values;
  SourceLocation where;
};

struct Constraint {
  Expr expr;
  SourceLocation where;  // the expression's first character in the file
};

// A cap on shared memory per block (kernels/sram_budget.hpp): configurations over it are pruned, and the
// launch runs as if the device's opt-in limit were the budget.
struct SramBudget {
  std::int64_t bytes = 0;  // 0 = "max": the device's opt-in limit per block
  SourceLocation where;

  bool is_max() const { return bytes == 0; }
  std::string label() const;  // "max", "48 KiB", "163 KiB", or "50000 B" when not a whole KiB
};

// How each configuration is timed (durations in seconds, fractions as 0.02 for 2%).
// Which trials get a profiled launch (hardware counters through CUPTI, never a timed launch): none; every
// configuration that passed verification; or the top k of each (problem, budget) after re-measurement.
enum class ProfileMode { none, all, top_k };
std::string_view to_string(ProfileMode m);                          // "none", "all", "top_k"
std::optional<ProfileMode> parse_profile_mode(std::string_view s);  // nullopt for anything else

struct MeasureSettings {
  int warmup = 1;            // untimed launches before sampling
  int min_samples = 5;       // timed launches at least ...
  int max_samples = 50;      // ... and at most
  double min_time_s = 0.01;  // keep sampling until this much time is measured (within max_samples)
  double max_noise = 0.02;   // stop early once the relative noise is below this
  double timeout_s = 5;      // the time measurement of one configuration may take
  // Throttling: a measurement during which the SM clock fell below this fraction of its maximum is taken
  // again (0: never), at most throttle_retries times (gpu::TimingOptions::throttle_threshold).
  double throttle_threshold = 0.75;
  int throttle_retries = 2;
  bool flush_l2 = true;         // flush L2 between timed launches
  bool verify = true;           // compare against the reference before timing
  int top_k = 3;                // the best k configurations are measured again ...
  int remeasure_rounds = 10;    // ... in this many rounds
  double trial_timeout_s = 60;  // one whole trial
  bool share_equal_occupancy = true;
  ProfileMode profile = ProfileMode::none;  // hardware counters: DRAM and L2 bytes (one replay pass on GH100)
  bool profile_utilization = false;         // also SM and tensor-pipe utilization for the top k (8 passes)
};

// Configurations pruned from ptxas facts before any launch.
struct PruneSettings {
  int max_spill_bytes = -1;  // -1: no limit
  int max_registers = 255;   // per thread
  int min_blocks_per_sm = 1;
};

enum class StrategyKind { exhaustive, random, racing };
std::string_view to_string(StrategyKind k);                      // "exhaustive", "random", "racing"
std::optional<StrategyKind> parse_strategy(std::string_view s);  // nullopt for anything else

struct StrategySettings {
  StrategyKind kind = StrategyKind::racing;
  int budget = 0;  // random: configurations per problem, 0 = all
  std::uint64_t seed = 20261124;
  double race_margin = 0.02;  // racing: the relative margin of its comparisons
};

// What `flashtune check` expects to fail (docs/search-spaces.md, `check:`): expressions over the same
// variables as the constraints. A configuration for which one holds must fail that way (a pass is reported as
// an unexpected pass); every other configuration must pass.
struct CheckSettings {
  // Evaluated with the problem the configuration is compiled for: it must fail to compile.
  std::optional<Constraint> expect_compile_error;
  // Evaluated with each check problem: verification must fail there.
  std::optional<Constraint> expect_incorrect;
};

struct SearchSpace {
  std::filesystem::path file;
  std::string content_hash;  // flashtune::Hash128 hex of the file's bytes
  int version = 1;
  std::string template_id;
  std::string arch;                   // "" = the GPU's (sm_90a without one)
  SourceLocation arch_where;          // where `arch:` was written (for errors found later, against NVRTC)
  std::vector<Parameter> parameters;  // in file order
  std::vector<Constraint> constraints;
  std::vector<SramBudget>
      sram_budgets;  // never empty: [max] when the file has none; file order; no duplicates
  std::vector<AttentionProblem> problems;  // expanded, file order, no duplicates
  MeasureSettings measure;
  PruneSettings prune;
  StrategySettings strategy;
  CheckSettings check;

  std::size_t size() const;  // product of the parameters' value counts (1 without parameters)
};

}  // namespace flashtune::space
