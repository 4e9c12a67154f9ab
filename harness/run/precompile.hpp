#pragma once
// Compile many FA2 instantiations in parallel (worker processes, cubin cache) and check their resources
// against an SM's limits: the compile-time half of a sweep, which needs no GPU.
#include <functional>
#include <string>
#include <vector>

#include "jit/compile_request.hpp"
#include "kernels/fa2_config.hpp"
#include "kernels/resource_check.hpp"

namespace flashtune::run {

struct CompiledInstance {
  Fa2Instance instance;
  jit::CompileResult result;  // ok=false with the log when NVRTC failed
  jit::PtxasInfo facts;       // of the kernel entry (registers -1 when unknown)
  int dynamic_smem = 0;
  ResourceFit fit;
};

using ProgressFn = std::function<void(std::size_t done, std::size_t total)>;

// `jobs` worker processes (0 = one per core). Results in the order of `instances`.
std::vector<CompiledInstance> precompile(const std::vector<Fa2Instance>& instances, const std::string& arch,
                                         int jobs, const SmLimits& limits = {},
                                         const ProgressFn& progress = {});

}  // namespace flashtune::run
