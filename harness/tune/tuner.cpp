#include "tune/tuner.hpp"

#include "core/error.hpp"
#include "jit/cache_key.hpp"
#include "jit/nvrtc_program.hpp"
#include "run/device_limits.hpp"
#include "run/kernel_loader.hpp"
#include "tune/detail/sweep.hpp"

namespace flashtune::tune {
namespace detail {

Sweep::Sweep(const space::SearchSpace& space, const TuneOptions& options, trial::Observer& observer)
    : space_(space),
      options_(options),
      observer_(observer),
      template_(find_template(space.template_id)),
      cubin_(options.cubin_dir.empty() ? jit::CubinCache() : jit::CubinCache(options.cubin_dir)) {
  strategy_ = space.strategy;
  if (options.strategy) strategy_.kind = *options.strategy;
  if (options.seed) strategy_.seed = *options.seed;
  if (options.random_budget) strategy_.budget = *options.random_budget;
}

TuneSummary Sweep::run() {
  summary_.space_file = space_.file.string();
  summary_.template_id = std::string(template_.id());
  summary_.strategy = std::string(space::to_string(strategy_.kind));
  summary_.seed = strategy_.seed;

  start_worker();
  limits_ = device_ ? run::limits_of(*device_) : sm_limits_for(9, 0);
  arch_ = !space_.arch.empty() ? space_.arch : device_ ? device_->arch() : "sm_90a";
  summary_.arch = arch_;
  if (auto why = template_.unsupported_arch(arch_)) throw Error(ErrorKind::invalid_argument, *why);
  source_hash_ = jit::source_hash(run::make_request(std::string(template_.source_file()), "", arch_));
  nvrtc_ = jit::nvrtc_version();
  resolve_budgets();
  plan_problems();

  if (device_) {
    store_ = std::make_unique<store::ResultStore>(options_.db.empty() ? store::ResultStore::default_path()
                                                                      : options_.db);
    summary_.db_path = store_->path().string();
    if (!options_.force && answer_from_cache()) {
      summary_.wall_s = seconds_since(start_);
      return summary_;
    }
  }

  compiler_ = std::make_unique<AsyncCompiler>(requests_.requests(), options_.jobs, cubin_);
  if (device_)
    measure();
  else
    compile_only();

  for (std::size_t i = 0; i < requests_.size(); ++i) {
    const jit::CompileResult& r = compiler_->wait(i);
    summary_.compile_errors += !r.ok;
    summary_.cache_hits += r.cache_hit;
    if (!r.cache_hit) summary_.nvrtc_cpu_s += r.compile_ms * 1e-3;
  }
  summary_.compile_wall_s = compiler_->wall_s();
  summary_.wall_s = seconds_since(start_);
  if (store_) store_->finish_sweep(summary_.sweep_id, "finished", summary_.to_json().dump());
  return summary_;
}

}  // namespace detail

TuneSummary tune(const space::SearchSpace& space, const TuneOptions& options, trial::Observer& observer) {
  return detail::Sweep(space, options, observer).run();
}

}  // namespace flashtune::tune
