#pragma once
// Compile many instances in parallel (worker processes, cubin cache) and check their resources against an
// SM's limits: the compile-time half of `flashtune compile` and `bench`, which needs no GPU.
#include <functional>
#include <string>
#include <vector>

#include "jit/compile_request.hpp"
#include "kernels/resource_check.hpp"
#include "run/instance.hpp"

namespace flashtune::run {

struct CompiledInstance {
  Instance instance;
  jit::CompileResult result;  // ok=false with the log when NVRTC failed
  // Of the kernel that fits the fewest blocks per SM (a template of several kernels shares the SM at that
  // kernel's rate): its ptxas facts (registers -1 when unknown), dynamic shared memory and fit.
  jit::PtxasInfo facts;
  int dynamic_smem = 0;
  ResourceFit fit;
};

using ProgressFn = std::function<void(std::size_t done, std::size_t total)>;

// `jobs` worker processes (0 = one per core). Results in the order of `instances`.
std::vector<CompiledInstance> precompile(const std::vector<Instance>& instances, const std::string& arch,
                                         int jobs, const SmLimits& limits = {},
                                         const ProgressFn& progress = {});

}  // namespace flashtune::run
