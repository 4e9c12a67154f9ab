#include "run/trial_runner.hpp"

#include "run/detail/profiling_state.hpp"

#include <fmt/format.h>

#include <chrono>

#include "core/error.hpp"
#include "gpu/driver_api.hpp"
#include "gpu/event_timer.hpp"
#include "gpu/launch.hpp"
#include "jit/cubin_cache.hpp"
#include "run/attention_tensor_maps.hpp"
#include "run/instance.hpp"

namespace flashtune::run {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

TrialRunner::TrialRunner(std::filesystem::path cubin_cache_dir, int ordinal)
    : cache_dir_(std::move(cubin_cache_dir)),
      context_(ordinal),
      device_(gpu::query_device(ordinal)),
      clock_(gpu::SmClock::open(device_.uuid, &clock_unavailable_)),
      flush_(static_cast<std::size_t>(2 * device_.l2_bytes + 3) / 4 * 4) {}

void TrialRunner::set_problem(const AttentionProblem& problem, std::uint64_t seed, bool verify) {
  session_.reset();
  session_ = std::make_unique<ProblemSession>(problem, seed, verify, device_.arch());
}

std::vector<KernelRef> kernel_refs(const jit::CompileResult& r, const std::vector<std::string>& exprs,
                                   const std::string& label) {
  std::vector<KernelRef> refs;
  for (std::size_t k = 0; k < exprs.size(); ++k)
    refs.push_back({r.cache_key, r.lowered_names.at(exprs[k]),
                    exprs.size() == 1 ? label : fmt::format("{} [kernel {}]", label, k + 1)});
  return refs;
}

gpu::Kernel& TrialRunner::kernel(const KernelRef& ref) {
  const std::string key = ref.cache_key + "/" + ref.lowered_name;
  if (auto it = kernels_.find(key); it != kernels_.end()) return it->second.second;
  const std::optional<jit::CompileResult> compiled = jit::CubinCache(cache_dir_).load(ref.cache_key);
  if (!compiled || !compiled->ok)
    throw Error(ErrorKind::not_found, fmt::format("{}: no compiled kernel {} in {}", ref.label, ref.cache_key,
                                                  cache_dir_.string()));
  gpu::Module module = gpu::Module::load(compiled->cubin, ref.label);
  gpu::Kernel k = module.kernel(ref.lowered_name);
  auto [it, inserted] = kernels_.emplace(key, std::make_pair(std::move(module), k));
  return it->second.second;
}

std::vector<gpu::Kernel*> TrialRunner::prepare(const TrialSpec& spec, int* blocks_per_sm) {
  if (spec.kernels.empty() || spec.kernels.size() != spec.launches.size())
    throw Error(ErrorKind::internal, fmt::format("trial spec with {} kernels and {} launches",
                                                 spec.kernels.size(), spec.launches.size()));
  std::vector<gpu::Kernel*> ks;
  int fewest = -1;
  for (std::size_t i = 0; i < spec.kernels.size(); ++i) {
    gpu::Kernel& k = kernel(spec.kernels[i]);
    const KernelLaunch& l = spec.launches[i];
    const int static_smem = k.attributes().static_smem_bytes;
    const int cap = spec.smem_limit > 0 ? spec.smem_limit : device_.smem_optin_per_block;
    if (l.dynamic_smem + static_smem > cap)
      throw Error(ErrorKind::resource_exceeded,
                  fmt::format("{}: {} B dynamic + {} B static shared memory > the {} B budget",
                              spec.kernels[i].label, l.dynamic_smem, static_smem, cap));
    k.set_max_dynamic_smem(cap - static_smem);
    k.set_carveout_percent(spec.carveout_percent);
    const int blocks = k.max_active_blocks_per_sm(static_cast<int>(l.threads), l.dynamic_smem);
    fewest = fewest < 0 ? blocks : std::min(fewest, blocks);
    ks.push_back(&k);
  }
  ensure_workspace(spec.workspace_bytes);
  if (blocks_per_sm != nullptr) *blocks_per_sm = fewest;
  return ks;
}

void TrialRunner::ensure_workspace(std::size_t bytes) {
  if (bytes <= workspace_.size()) return;
  workspace_ = gpu::DeviceBuffer();  // free the old one first
  workspace_ = gpu::DeviceBuffer(bytes);
}

void TrialRunner::launch(const std::vector<gpu::Kernel*>& ks, const TrialSpec& spec) {
  AttentionParams params = session_->params();
  params.workspace = spec.workspace_bytes > 0 ? reinterpret_cast<void*>(workspace_.ptr()) : nullptr;
  std::vector<gpu::TensorMap> maps;
  if (!spec.tensor_maps.empty()) maps = attention_tensor_maps(spec.tensor_maps, params, session_->problem());
  void* args[] = {&params, maps.data()};
  for (std::size_t i = 0; i < ks.size(); ++i)
    gpu::launch(*ks[i], shape_of(spec.launches[i]), args, &stream_, spec.kernels[i].label);
}

TrialOutcome TrialRunner::run(const TrialSpec& spec) {
  if (!session_) throw Error(ErrorKind::internal, "TrialRunner::run: no problem set");
  TrialOutcome out;
  auto fail = [&](TrialStatus s, std::string why) {
    out.status = s;
    out.detail = std::move(why);
    return out;
  };
  // Kernel faults show up at the next synchronizing call; a sticky one ends this process's use of the GPU.
  auto driver_failure = [&](const gpu::DriverError& e) {
    out.context_poisoned = e.poisons_context();
    return fail(out.context_poisoned                       ? TrialStatus::crashed
                : e.kind() == ErrorKind::resource_exceeded ? TrialStatus::resource_exceeded
                                                           : TrialStatus::launch_error,
                e.what());
  };

  std::vector<gpu::Kernel*> ks;
  try {
    ks = prepare(spec, &out.blocks_per_sm);
    if (out.blocks_per_sm == 0)
      return fail(TrialStatus::resource_exceeded,
                  "occupancy calculator: 0 blocks per SM fit under the budget");
  } catch (const gpu::DriverError& e) {
    return driver_failure(e);
  } catch (const Error& e) {
    return fail(
        e.kind() == ErrorKind::resource_exceeded ? TrialStatus::resource_exceeded : TrialStatus::launch_error,
        e.what());
  }

  try {
    const auto t0 = Clock::now();
    session_->poison();
    launch(ks, spec);
    stream_.synchronize();
    if (spec.verify) {
      out.check = session_->check();
      if (out.check && !out.check->ok) {
        out.verify_ms = ms_since(t0);
        return fail(TrialStatus::incorrect, out.check->detail);
      }
    }
    out.verify_ms = ms_since(t0);
    if (spec.time) {
      const auto t1 = Clock::now();
      out.timing = gpu::time_kernel(
          stream_, [&](gpu::Stream&) { launch(ks, spec); }, spec.timing, &flush_,
          clock_ ? clock_->sampler() : gpu::ClockSampler{});
      out.time_ms = ms_since(t1);
    }
  } catch (const gpu::DriverError& e) {
    return driver_failure(e);
  } catch (const Error& e) {
    return fail(TrialStatus::launch_error, e.what());
  }
  return out;
}

std::vector<std::vector<double>> TrialRunner::remeasure(const std::vector<TrialSpec>& specs, int rounds,
                                                        bool flush_l2) {
  if (!session_) throw Error(ErrorKind::internal, "TrialRunner::remeasure: no problem set");
  std::vector<std::vector<gpu::Kernel*>> ks;
  for (const TrialSpec& s : specs) {
    ks.push_back(prepare(s, nullptr));
    launch(ks.back(), s);  // one untimed run each: clocks up, caches and lazy loading settled
  }
  std::vector<std::vector<double>> samples(specs.size());
  gpu::EventTimer timer;
  std::uint32_t fill = 0;
  for (int r = 0; r < rounds; ++r)
    for (std::size_t i = 0; i < specs.size(); ++i) {
      prepare(specs[i], nullptr);  // the kernels may share a function with another budget's carveout
      if (flush_l2) flush_.fill_u32_async(++fill, stream_);
      timer.start(stream_);
      launch(ks[i], specs[i]);
      timer.stop(stream_);
      samples[i].push_back(timer.elapsed_ms());
    }
  return samples;
}

}  // namespace flashtune::run
