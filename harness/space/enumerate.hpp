#pragma once
// The configurations of a search space for one problem: every combination of the parameters' values, split
// into those that satisfy every constraint and those pruned (with the first failing constraint as reason).
//
// Constraints see the parameters by name and the problem as batch, heads, seqlen, head_dim, causal (0/1) and
// dtype_bytes (2). A constraint that fails to evaluate (division by zero, overflow) prunes the configuration
// and its error becomes the reason.
//
//   Enumeration e = enumerate(space, problem);
//   e.total;                // 108
//   e.kept.size();          // 72
//   e.pruned[0].reason;     // "constraint 'block_m / warps <= 64' (fa2_fwd.yaml:21:5)"
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/problem.hpp"
#include "kernels/kernel_template.hpp"
#include "space/search_space.hpp"

namespace flashtune::space {

// The names under which constraints see the problem.
inline constexpr std::string_view kProblemVariables[] = {"batch",    "heads",  "seqlen",
                                                         "head_dim", "causal", "dtype_bytes"};
// The value of one of kProblemVariables for `p`; nullopt for any other name.
std::optional<std::int64_t> problem_variable(const AttentionProblem& p, std::string_view name);

struct PrunedConfig {
  ParamValues params;
  // "constraint 'block_m % (16 * warps) == 0' (fa2_fwd.yaml:14:5)", with ": division by zero" appended when
  // the constraint failed to evaluate. The location names the file without its folder.
  std::string reason;
};

struct Enumeration {
  std::size_t total = 0;  // space.size()
  std::vector<ParamValues> kept;
  std::vector<PrunedConfig> pruned;
};

// Every combination in order, the first parameter varying slowest ({64, 32}, {64, 64}, ..., {128, 32}, ...),
// split by the constraints evaluated for `problem`. kept and pruned keep that order.
Enumeration enumerate(const SearchSpace& space, const AttentionProblem& problem);

}  // namespace flashtune::space
