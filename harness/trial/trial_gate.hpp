#pragma once
// The checks a compiled configuration passes before it may use the GPU under one SRAM budget: it compiled;
// its shared memory (the template's dynamic bytes plus ptxas's static bytes) fits the budget; its ptxas facts
// are within the space's prune limits (spills, registers); and the occupancy arithmetic under the budget's
// carveout gives it at least min_blocks_per_sm. Pure: tested without a GPU.
#include <optional>
#include <string>
#include <vector>

#include "core/trial_status.hpp"
#include "jit/compile_request.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/resource_check.hpp"
#include "kernels/sram_budget.hpp"
#include "space/search_space.hpp"

namespace flashtune::trial {

struct KernelFacts {
  bool compiled = false;
  std::string log;      // the compile log, for a compile error
  int registers = -1;   // -1: unknown
  int spill_bytes = 0;  // stores + loads
  int static_smem = 0;
  int dynamic_smem = 0;  // from the template's traits
  int threads = 0;
  int smem_total() const { return static_smem + dynamic_smem; }
};

// The facts of each of a request's kernels (name expressions `exprs`, launched as `launches`) from its
// compile result: whether it compiled, ptxas's registers / spills / static shared memory, the launch's
// dynamic shared memory and threads.
std::vector<KernelFacts> kernel_facts(const std::vector<std::string>& exprs,
                                      const std::vector<KernelLaunch>& launches, const jit::CompileResult& r);

struct Gate {
  std::optional<TrialStatus> failed;  // compile_error or resource_exceeded; empty: it may run
  std::string detail;
  ResourceFit fit;  // under the budget's carveout (when it compiled)
};

Gate gate_trial(const KernelFacts& facts, const SramPlan& budget, const space::PruneSettings& prune);
// A template of several kernels: each must pass; the fit is the kernel with the fewest blocks per SM (the
// one that decides how the run shares an SM).
Gate gate_trial(const std::vector<KernelFacts>& kernels, const SramPlan& budget,
                const space::PruneSettings& prune);

// The first lines of a compile log that say what went wrong (errors first), at most `max_chars`.
std::string compile_error_summary(const std::string& log, std::size_t max_chars = 600);

}  // namespace flashtune::trial
