#include "run/precompile.hpp"

#include <thread>

#include "core/paths.hpp"
#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"
#include "run/kernel_loader.hpp"

namespace flashtune::run {

std::vector<CompiledInstance> precompile(const std::vector<Fa2Instance>& instances, const std::string& arch,
                                         int jobs, const SmLimits& limits, const ProgressFn& progress) {
  std::vector<jit::CompileRequest> requests;
  requests.reserve(instances.size());
  for (const Fa2Instance& inst : instances)
    requests.push_back(make_request(fa2::kTemplateFile, inst.name_expression(), arch));
  if (jobs <= 0) jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  jit::CubinCache cache;  // default_dir(): cache_dir() / "cubin"
  jit::CompilePool pool(jobs, jit::default_worker_command());
  std::vector<jit::CompileResult> results = pool.compile(requests, cache, progress);

  std::vector<CompiledInstance> out;
  out.reserve(instances.size());
  for (std::size_t i = 0; i < instances.size(); ++i) {
    CompiledInstance c{instances[i], std::move(results[i]), {}, 0, {}};
    c.dynamic_smem = fa2::smem_bytes(c.instance.config, c.instance.head_dim);
    if (c.result.ok) {
      auto it = c.result.lowered_names.find(requests[i].name_expressions[0]);
      if (it != c.result.lowered_names.end())
        if (const jit::PtxasInfo* f = c.result.ptxas_for(it->second)) c.facts = *f;
      c.fit = check_resources(c.facts.registers, fa2::threads(c.instance.config),
                              c.dynamic_smem + c.facts.static_smem_bytes, limits);
    } else {
      c.fit.limited_by = "compile error";
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace flashtune::run
