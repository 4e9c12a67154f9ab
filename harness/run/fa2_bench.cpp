#include "run/fa2_bench.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/context.hpp"
#include "gpu/device_info.hpp"
#include "gpu/launch.hpp"
#include "gpu/sm_clock.hpp"
#include "run/attention_buffers.hpp"
#include "run/kernel_loader.hpp"
#include "run/reference.hpp"
#include "verify/random_inputs.hpp"

namespace flashtune::run {

struct Fa2Bench::State {
  AttentionProblem problem;
  BenchOptions options;
  gpu::Context context;
  gpu::DeviceInfo device;
  std::unique_ptr<gpu::SmClock> clock;  // null without NVML: timings then have no clock fraction
  std::string arch;
  AttentionBuffers buffers;
  std::optional<Reference> reference;
  gpu::Stream stream;

  State(const AttentionProblem& p, const BenchOptions& o)
      : problem(p),
        options(o),
        context(o.device),
        device(gpu::query_device(o.device)),
        clock(gpu::SmClock::open(device.uuid)),
        arch(device.arch()),
        buffers(p) {}
};

Fa2Bench::Fa2Bench(const AttentionProblem& problem, const BenchOptions& options) {
  validate(problem);
  s_ = std::make_unique<State>(problem, options);
  const verify::HostInputs inputs = verify::make_inputs(problem, options.seed);
  s_->buffers.upload(inputs);
  if (options.verify) s_->reference = compute_reference(s_->buffers, inputs, options.seed, s_->arch);
}

Fa2Bench::~Fa2Bench() = default;

const std::string& Fa2Bench::arch() const {
  return s_->arch;
}

const std::string& Fa2Bench::reference_source() const {
  static const std::string none = "none";
  return s_->reference ? s_->reference->source : none;
}

BenchResult Fa2Bench::run(const Fa2Config& config) {
  State& s = *s_;
  BenchResult r;
  r.instance = Fa2Instance::for_problem(config, s.problem);
  r.problem = s.problem;
  r.seed = s.options.seed;
  r.reference = reference_source();
  auto fail = [&](TrialStatus st, std::string why) {
    r.status = st;
    r.detail = std::move(why);
    return r;
  };

  if (auto why = fa2::invalid_reason(r.instance)) return fail(TrialStatus::compile_error, *why);
  r.smem_bytes = fa2::smem_bytes(config, s.problem.head_dim);
  if (r.smem_bytes > s.device.smem_optin_per_block)
    return fail(TrialStatus::resource_exceeded,
                fmt::format("{} B shared memory > {} B opt-in limit of {}", r.smem_bytes,
                            s.device.smem_optin_per_block, s.device.name));

  const std::string expr = r.instance.name_expression();
  std::optional<LoadedKernel> k;
  try {
    k.emplace(load_kernel(make_request(fa2::kTemplateFile, expr, s.arch)));
  } catch (const Error& e) {
    return fail(e.kind() == ErrorKind::compile ? TrialStatus::compile_error : TrialStatus::launch_error,
                e.what());
  }
  r.compile_ms = k->compile.compile_ms;
  r.cache_hit = k->compile.cache_hit;
  if (const jit::PtxasInfo* info = k->compile.ptxas_for(k->lowered_name)) {
    r.registers = info->registers;
    r.spill_bytes = info->spill_store_bytes + info->spill_load_bytes;
  }

  const unsigned threads = static_cast<unsigned>(fa2::threads(config));
  const gpu::LaunchShape shape{
      {static_cast<unsigned>((s.problem.seqlen + config.block_m - 1) / config.block_m),
       static_cast<unsigned>(s.problem.batch * s.problem.heads), 1},
      {threads, 1, 1},
      static_cast<unsigned>(r.smem_bytes)};
  AttentionParams params = s.buffers.params();
  void* args[] = {&params};
  try {
    k->kernel.set_max_dynamic_smem(r.smem_bytes);
    r.blocks_per_sm = k->kernel.max_active_blocks_per_sm(static_cast<int>(threads), r.smem_bytes);
    if (r.blocks_per_sm == 0)
      return fail(TrialStatus::resource_exceeded, "occupancy calculator: 0 blocks per SM fit");
    s.buffers.poison();
    gpu::launch(k->kernel, shape, args, &s.stream, expr);
    s.stream.synchronize();
  } catch (const Error& e) {
    return fail(TrialStatus::launch_error, e.what());
  }

  if (s.reference) {
    r.check = check_against(*s.reference, s.buffers);
    if (!r.check->ok) return fail(TrialStatus::incorrect, r.check->detail);
  }
  if (s.options.time) {
    try {
      r.timing = gpu::time_kernel(
          s.stream, [&](gpu::Stream& st) { gpu::launch(k->kernel, shape, args, &st, expr); },
          s.options.timing, s.device.l2_bytes, s.clock ? s.clock->sampler() : gpu::ClockSampler{});
    } catch (const Error& e) {
      return fail(TrialStatus::launch_error, e.what());
    }
    r.tflops = s.problem.flops() / (r.timing->median_ms * 1e-3) / 1e12;
  }
  return r;
}

}  // namespace flashtune::run
