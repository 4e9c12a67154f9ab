#include "report/bench_json.hpp"

namespace flashtune::report {

nlohmann::json to_json(const run::BenchResult& r) {
  const AttentionProblem& p = r.instance.problem();
  nlohmann::json j{
      {"template", r.instance.kernel_template().id()},
      {"config", r.instance.params()},
      {"problem",
       {{"batch", p.batch},
        {"heads", p.heads},
        {"seqlen", p.seqlen},
        {"head_dim", p.head_dim},
        {"dtype", to_string(p.dtype)},
        {"causal", p.causal}}},
      {"status", to_string(r.status)},
      {"detail", r.detail},
      {"registers", r.registers},
      {"spill_bytes", r.spill_bytes},
      {"smem_bytes", r.smem_bytes},
      {"blocks_per_sm", r.blocks_per_sm},
      {"seed", r.seed},
      {"reference", r.reference},
  };
  if (r.check) {
    j["error"] = {{"o_rel_l2", r.check->o.rel_l2},
                  {"o_max_abs", r.check->o.max_abs},
                  {"lse_max_abs", r.check->lse.max_abs}};
  }
  if (r.timing) {
    j["timing"] = {{"median_ms", r.timing->median_ms},
                   {"mean_ms", r.timing->mean_ms},
                   {"min_ms", r.timing->min_ms},
                   {"noise", r.timing->noise},
                   {"samples", r.timing->samples_ms.size()}};
    j["tflops"] = r.tflops;
  }
  return j;
}

}  // namespace flashtune::report
