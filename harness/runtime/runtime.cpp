#include "runtime/runtime.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

#include "attention_params.h"
#include "core/error.hpp"
#include "gpu/current_context.hpp"
#include "gpu/device_buffer.hpp"
#include "gpu/device_info.hpp"
#include "gpu/launch.hpp"
#include "gpu/module.hpp"
#include "jit/cubin_cache.hpp"
#include "run/attention_params_of.hpp"
#include "run/attention_tensor_maps.hpp"
#include "run/instance.hpp"
#include "runtime/best_config.hpp"
#include "runtime/bundle.hpp"
#include "runtime/selection.hpp"

namespace flashtune::runtime {
namespace {

constexpr std::size_t kMaxTensorMaps = 4;  // Q, K, V, O

// The problem facts a plan depends on (the scale and the softcap's value are kernel arguments; the
// block-sparse lists too), and the pass. A block-sparse density only chooses the configuration: it counts in
// whole percents, so that calls whose layouts keep about as many blocks share a plan (the first one's density
// chose it).
using PlanKey = std::tuple<int, int, int, int, int, bool, int, int, int, int, bool, int, int, int, int>;
int density_percent(const AttentionProblem& p) {
  return p.block_sparse() ? static_cast<int>(std::lround(p.sparse_density * 100.0f)) : 0;
}
PlanKey key_of(const AttentionProblem& p) {
  return {p.batch,
          p.heads,
          p.seqlen,
          p.head_dim,
          static_cast<int>(p.dtype),
          p.causal,
          p.num_kv_heads(),
          p.keys(),
          p.window_left,
          p.window_right,
          p.softcap > 0,
          static_cast<int>(p.layout),
          p.sparse_block,
          density_percent(p),
          static_cast<int>(p.pass)};
}

// The templates the runtime launches: those that keep no O(N^2) or O(N d) intermediates in global memory
// (fa1_fwd and standard_attn do; no program should pay for that). fa2_fwd's split-K/V partials and fa2_bwd's
// dQ accumulator live in the per-stream workspace.
bool runs(std::string_view id) {
  return id == "fa2_fwd" || id == "hopper_fwd" || id == "fa2_bwd";
}

// One problem on one context: the choice, its instance (launch grids for this problem), its loaded kernels.
struct Plan {
  Choice choice;
  std::optional<run::Instance> instance;
  gpu::Module module;
  std::vector<gpu::Kernel> kernels;
  // The tensor maps of the last call and the q, k, v, o (and their strides) they were encoded for: a caller
  // that passes the same tensors again (a loop, a caching allocator handing back the same O) skips
  // cuTensorMapEncodeTiled. A map depends on the plan's problem, the pointer and the strides.
  std::array<gpu::TensorMap, kMaxTensorMaps> maps{};
  std::array<const void*, 4> mapped{};         // all null: none encoded yet
  std::array<long long, 14> mapped_strides{};  // and the varlen rows (the maps' extents)
};

struct ContextState {
  gpu::DeviceInfo device;
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
  // LSE scratch for calls that do not want the LSE: grow-only, and an outgrown buffer is kept (a kernel
  // queued on another stream may still write to it) until the Runtime goes.
  std::vector<gpu::DeviceBuffer> lse_scratch;
  // Workspaces (fa2_fwd's split-K/V partials, fa2_bwd's dQ accumulator), one per stream: calls on one stream
  // run in order, so they may share one; calls on different streams may not. Grow-only, an outgrown buffer
  // kept as above.
  std::map<CUstream_st*, std::vector<gpu::DeviceBuffer>> workspaces;
};

// Launches the plan's kernels, in order, on `stream` with `params` (pointers and strides set): the tensor
// maps encoded first where the template takes any and the tensors differ from the last call's.
void launch(Plan& plan, const AttentionProblem& problem, AttentionParams& params, CUstream_st* stream) {
  const std::vector<TensorMapRequest>& requests = plan.instance->tensor_maps();
  if (requests.size() > kMaxTensorMaps)
    throw Error(ErrorKind::internal,
                fmt::format("{}: {} tensor maps", plan.instance->label(), requests.size()));
  const std::array<const void*, 4> tensors{params.q, params.k, params.v, params.o};
  const std::array<long long, 14> strides{params.q_stride.batch, params.q_stride.head, params.q_stride.row,
                                          params.k_stride.batch, params.k_stride.head, params.k_stride.row,
                                          params.v_stride.batch, params.v_stride.head, params.v_stride.row,
                                          params.o_stride.batch, params.o_stride.head, params.o_stride.row,
                                          params.total_q,        params.total_k};
  if (!requests.empty() && (tensors != plan.mapped || strides != plan.mapped_strides)) {
    plan.mapped = {};  // if encoding throws, nothing stale is reused
    run::attention_tensor_maps(requests, params, problem, plan.maps);
    plan.mapped = tensors;
    plan.mapped_strides = strides;
  }
  void* args[] = {&params, plan.maps.data()};
  const std::vector<KernelLaunch>& launches = plan.instance->launches();
  for (std::size_t i = 0; i < plan.kernels.size(); ++i)
    gpu::launch_on(plan.kernels[i], run::shape_of(launches[i]), args, stream, plan.instance->label());
}

}  // namespace

struct Runtime::Impl {
  RuntimeOptions options;
  std::optional<Bundle> bundle;  // options.bundle, read once
  std::mutex mutex;
  // Keyed by handle and id: a context destroyed and made again may come back at the same address.
  std::map<std::pair<CUctx_st*, unsigned long long>, ContextState> contexts;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Modules and buffers are freed in the context they were made in. One whose context is gone already went
  // with it: its stale handles are dropped (leaked), never passed to the driver.
  ~Impl() {
    for (auto& [key, state] : contexts) {
      const gpu::ContextScope scope(key.first, key.second);
      if (!scope.ok()) static_cast<void>(new ContextState(std::move(state)));
      state = ContextState{};
    }
  }

  ContextState& context_state(const gpu::CurrentContext& c) {
    const std::pair<CUctx_st*, unsigned long long> key{c.context, c.id};
    auto it = contexts.find(key);
    if (it == contexts.end()) {
      gpu::DeviceInfo device = gpu::query_device(c.ordinal);
      if (bundle) check_bundle_gpu(*bundle, device.identity());
      it = contexts.emplace(key, ContextState{std::move(device)}).first;
    }
    return it->second;
  }

  Choice select(const gpu::DeviceInfo& device, const AttentionProblem& problem) const {
    const std::string arch = device.arch();
    const bool backward = problem.pass == Pass::bwd;
    const std::vector<std::string>& given = backward ? options.backward_templates : options.templates;
    const std::vector<std::string> ids = !given.empty() ? given
                                         : backward     ? default_backward_preference(arch)
                                                        : default_preference(arch);
    std::vector<Candidate> candidates;
    for (const std::string& id : ids) {
      Candidate c{&find_template(id), std::nullopt};
      if (bundle) {
        if (const BundleEntry* e = bundle_entry_for(*bundle, id, problem)) c.tuned = e->best;
      } else if (options.use_store) {
        BestConfigQuery q;
        q.template_id = id;
        q.db = options.db;
        c.tuned = best_config(problem, device.identity(), q);
      }
      candidates.push_back(std::move(c));
    }
    Choice choice = choose(candidates, problem, arch);
    // A bundle runs what it holds: compiling a default would need NVRTC and the sources it is meant to spare.
    if (bundle && !choice.tuned)
      throw Error(ErrorKind::not_found,
                  fmt::format("bundle {} has no entry for {} ({}); it holds:\n  {}", bundle->dir.string(),
                              problem.to_string(), fmt::join(ids, ", "),
                              fmt::join(describe_entries(*bundle), "\n  ")));
    return choice;
  }

  // The cubin and lowered names of the plan's choice: the bundle's, else compiled through the cubin cache.
  std::pair<std::vector<char>, std::map<std::string, std::string>> code_for(const Plan& p,
                                                                            const gpu::DeviceInfo& device) {
    if (bundle) {
      const BundleEntry* e =
          bundle_entry_for(*bundle, std::string(p.choice.kernel_template->id()), p.instance->problem());
      if (e == nullptr)
        throw Error(ErrorKind::internal,
                    fmt::format("{}: its bundle entry went missing", p.instance->label()));
      return {read_bundle_cubin(*bundle, *e), e->lowered_names};
    }
    jit::CompileResult compiled =
        jit::compile_cached(p.instance->compile_request(device.arch()), jit::CubinCache());
    if (!compiled.ok)
      throw Error(ErrorKind::compile,
                  fmt::format("{}: NVRTC failed:\n{}", p.instance->label(), compiled.log));
    return {std::move(compiled.cubin), std::move(compiled.lowered_names)};
  }

  Plan& plan(ContextState& state, const AttentionProblem& problem) {
    const PlanKey key = key_of(problem);
    if (auto it = state.plans.find(key); it != state.plans.end()) return *it->second;
    auto p = std::make_unique<Plan>();
    p->choice = select(state.device, problem);
    p->instance = run::Instance::make(*p->choice.kernel_template, p->choice.params, problem);
    const std::string_view id = p->choice.kernel_template->id();
    if (!runs(id))
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{} keeps intermediates in a global-memory workspace: the runtime runs fa2_fwd "
                              "and hopper_fwd (and fa2_bwd for the backward)",
                              id));
    if (p->instance->name_expressions().size() != p->instance->launches().size())
      throw Error(ErrorKind::internal,
                  fmt::format("{}: {} kernels and {} launches", p->instance->label(),
                              p->instance->name_expressions().size(), p->instance->launches().size()));
    for (const KernelLaunch& l : p->instance->launches())
      if (l.grid[1] > 65535 || l.grid[2] > 65535)
        throw Error(ErrorKind::invalid_argument,
                    fmt::format("a launch of {} on {} has grid y, z = {}, {}: over 65535, the grid's limit "
                                "(y counts batch * heads, or batch * kv_heads for fa2_bwd's main kernel; a "
                                "persistent configuration has no such limit)",
                                p->instance->label(), problem.to_string(), l.grid[1], l.grid[2]));
    const auto [cubin, lowered_names] = code_for(*p, state.device);
    p->module = gpu::Module::load(cubin, p->instance->label());
    const std::vector<KernelLaunch>& launches = p->instance->launches();
    for (std::size_t i = 0; i < launches.size(); ++i) {
      const std::string& expr = p->instance->name_expressions()[i];
      const auto lowered = lowered_names.find(expr);
      if (lowered == lowered_names.end())
        throw Error(ErrorKind::internal,
                    fmt::format("{}: no lowered name for {}", p->instance->label(), expr));
      gpu::Kernel k = p->module.kernel(lowered->second);
      k.set_max_dynamic_smem(state.device.smem_optin_per_block - k.attributes().static_smem_bytes);
      p->kernels.push_back(k);
    }
    return *state.plans.emplace(key, std::move(p)).first->second;
  }

  void* workspace(ContextState& state, CUstream_st* stream, std::size_t bytes) {
    if (bytes == 0) return nullptr;
    std::vector<gpu::DeviceBuffer>& buffers = state.workspaces[stream];
    if (buffers.empty() || buffers.back().size() < bytes) buffers.emplace_back(bytes);
    return reinterpret_cast<void*>(buffers.back().ptr());
  }

  float* lse_scratch(ContextState& state, const AttentionProblem& problem) {
    const std::size_t bytes = sizeof(float) * static_cast<std::size_t>(problem.batch) *
                              static_cast<std::size_t>(problem.heads) *
                              static_cast<std::size_t>(problem.seqlen);
    if (state.lse_scratch.empty() || state.lse_scratch.back().size() < bytes)
      state.lse_scratch.emplace_back(bytes);
    return reinterpret_cast<float*>(state.lse_scratch.back().ptr());
  }
};

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (!impl_->options.bundle.empty()) impl_->bundle = read_bundle(impl_->options.bundle);
  for (const std::string& id : impl_->options.templates) (void)find_template(id);  // Error(not_found) now
  for (const std::string& id : impl_->options.backward_templates) (void)find_template(id);
}

Runtime::~Runtime() = default;

Selected Runtime::choice(const AttentionProblem& problem) {
  validate(problem);
  const gpu::CurrentContext c = gpu::current_context();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  const Plan& plan = impl_->plan(impl_->context_state(c), problem);
  const std::string source(to_string(plan.choice.source));
  return {std::string(plan.choice.kernel_template->id()), plan.choice.params,
          impl_->bundle ? "bundle, " + source : source, plan.instance->label(), plan.choice.why};
}

void Runtime::attention(const AttentionCall& call, CUstream_st* stream) {
  const AttentionProblem problem = problem_of(call);
  const gpu::CurrentContext c = gpu::current_context();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  ContextState& state = impl_->context_state(c);
  Plan& plan = impl_->plan(state, problem);
  AttentionParams params = run::attention_params_of(problem);
  params.q = call.q.data;
  params.k = call.k.data;
  params.v = call.v.data;
  params.o = call.o;
  params.lse = call.lse != nullptr ? call.lse : impl_->lse_scratch(state, problem);
  params.workspace = impl_->workspace(state, stream, plan.instance->workspace_bytes());
  set_strides(call, params);
  launch(plan, problem, params, stream);
}

void Runtime::attention_backward(const AttentionBackwardCall& call, CUstream_st* stream) {
  const AttentionProblem problem = problem_of(call);
  const gpu::CurrentContext c = gpu::current_context();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  ContextState& state = impl_->context_state(c);
  Plan& plan = impl_->plan(state, problem);
  AttentionParams params = run::attention_params_of(problem);
  set_pointers(call, params);
  params.workspace = impl_->workspace(state, stream, plan.instance->workspace_bytes());
  launch(plan, problem, params, stream);
}

}  // namespace flashtune::runtime
