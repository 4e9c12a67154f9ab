#include "run/bench.hpp"

#include "run/device_limits.hpp"

namespace flashtune::run {

BenchResult bench_instance(TrialRunner& runner, const CompiledInstance& c, const BenchOptions& options) {
  BenchResult r{c.instance};
  r.seed = options.seed;
  r.registers = c.facts.registers;
  r.spill_bytes = c.facts.spill_store_bytes + c.facts.spill_load_bytes;
  r.smem_bytes = c.dynamic_smem + c.facts.static_smem_bytes;
  r.blocks_per_sm = c.fit.blocks_per_sm;
  if (runner.problem()) r.reference = runner.problem()->reference_source();
  if (!c.result.ok) {
    r.status = TrialStatus::compile_error;
    r.detail = c.result.log;
    return r;
  }
  if (!c.fit.fits) {
    r.status = TrialStatus::resource_exceeded;
    r.detail = "does not fit an SM: " + c.fit.limited_by;
    return r;
  }
  TrialSpec spec = c.instance.trial_spec(c.result, plan_sram_budget(0, limits_of(runner.device())));
  spec.verify = options.verify;
  spec.time = options.time;
  spec.timing = options.timing;
  const TrialOutcome o = runner.run(spec);
  r.status = o.status;
  r.detail = o.detail;
  if (o.blocks_per_sm > 0) r.blocks_per_sm = o.blocks_per_sm;
  r.check = o.check;
  r.timing = o.timing;
  if (r.timing && r.timing->median_ms > 0)
    r.tflops = c.instance.problem().flops() / (r.timing->median_ms * 1e-3) / 1e12;
  return r;
}

}  // namespace flashtune::run
