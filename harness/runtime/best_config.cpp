#include "runtime/best_config.hpp"

#include "gpu/device_info.hpp"
#include "jit/cache_key.hpp"
#include "jit/nvrtc_program.hpp"
#include "kernels/kernel_template.hpp"
#include "run/kernel_loader.hpp"
#include "store/result_store.hpp"

namespace flashtune::runtime {

store::BestKey best_key_for(const AttentionProblem& problem, const GpuIdentity& gpu,
                            const std::string& template_id, std::int64_t smem_budget) {
  const KernelTemplate& t = find_template(template_id);
  // The source hash depends on the files only, not on the architecture or the name expression.
  const std::string hash = jit::source_hash(run::make_request(std::string(t.source_file()), "", "sm_90a"));
  return store::BestKey{gpu, template_id, hash, jit::nvrtc_version(),
                        store::ProblemKey::of(problem, smem_budget)};
}

std::optional<store::BestEntry> best_config(const AttentionProblem& problem, const GpuIdentity& gpu,
                                            const BestConfigQuery& query) {
  const std::filesystem::path path = query.db.empty() ? store::ResultStore::default_path() : query.db;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;  // nothing tuned yet
  const store::ResultStore db(path, store::ResultStore::Access::read_only);
  return db.best_config(best_key_for(problem, gpu, query.template_id, query.smem_budget));
}

std::optional<store::BestEntry> best_config(const AttentionProblem& problem, const BestConfigQuery& query) {
  return best_config(problem, gpu::query_device(0).identity(), query);
}

}  // namespace flashtune::runtime
