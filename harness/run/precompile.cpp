#include "run/precompile.hpp"

#include <thread>

#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"

namespace flashtune::run {
namespace {

// The facts of the instance's limiting kernel (see CompiledInstance).
void check(CompiledInstance& c, const SmLimits& limits) {
  const std::vector<std::string>& exprs = c.instance.name_expressions();
  const std::vector<KernelLaunch>& launches = c.instance.launches();
  c.dynamic_smem = c.instance.smem_bytes();
  if (!c.result.ok) {
    c.fit.limited_by = "compile error";
    return;
  }
  bool first = true;
  for (std::size_t k = 0; k < exprs.size(); ++k) {
    jit::PtxasInfo facts;
    if (auto it = c.result.lowered_names.find(exprs[k]); it != c.result.lowered_names.end())
      if (const jit::PtxasInfo* f = c.result.ptxas_for(it->second)) facts = *f;
    const ResourceFit fit = check_resources(facts.registers, static_cast<int>(launches[k].threads),
                                            launches[k].dynamic_smem + facts.static_smem_bytes, limits);
    if (first || fit.blocks_per_sm < c.fit.blocks_per_sm) {
      c.facts = facts;
      c.dynamic_smem = launches[k].dynamic_smem;
      c.fit = fit;
      first = false;
    }
  }
}

}  // namespace

std::vector<CompiledInstance> precompile(const std::vector<Instance>& instances, const std::string& arch,
                                         int jobs, const SmLimits& limits, const ProgressFn& progress) {
  std::vector<jit::CompileRequest> requests;
  requests.reserve(instances.size());
  for (const Instance& inst : instances) requests.push_back(inst.compile_request(arch));
  if (jobs <= 0) jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  jit::CompilePool pool(jobs, jit::default_worker_command());
  std::vector<jit::CompileResult> results = pool.compile(requests, jit::CubinCache(), progress);

  std::vector<CompiledInstance> out;
  out.reserve(instances.size());
  for (std::size_t i = 0; i < instances.size(); ++i) {
    CompiledInstance c{instances[i], std::move(results[i]), {}, 0, {}};
    check(c, limits);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace flashtune::run
