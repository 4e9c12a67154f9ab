#include "tune/tune_summary.hpp"

#include "trial/trial_protocol.hpp"

namespace flashtune::tune {
using nlohmann::json;

json TuneSummary::to_json() const {
  json winners_json = json::array();
  for (const Winner& w : winners)
    winners_json.push_back({{"problem", trial::to_json(w.problem)},
                            {"smem_budget", w.smem_budget},
                            {"budget", w.budget_label},
                            {"config", w.params},
                            {"median_ms", w.median_ms},
                            {"screening_ms", w.screening_ms},
                            {"tflops", w.tflops},
                            {"blocks_per_sm", w.blocks_per_sm},
                            {"trial_id", w.trial_id},
                            {"from_cache", w.from_cache}});
  json j{{"space", space_file},
         {"template", template_id},
         {"strategy", strategy},
         {"seed", seed},
         {"arch", arch},
         {"from_cache", from_cache},
         {"sweep_id", sweep_id},
         {"db", db_path},
         {"problems", problems},
         {"budgets", budgets},
         {"combinations", combinations},
         {"pruned",
          {{"constraint", pruned_constraint},
           {"template", pruned_template},
           {"strategy", pruned_strategy},
           {"over_every_budget", pruned_over_budget}}},
         {"kernels", {{"compiled", kernels}, {"errors", compile_errors}, {"cache_hits", cache_hits}}},
         {"trials",
          {{"total", trials},
           {"gpu", gpu_trials},
           {"shared", shared_trials},
           {"raced_out", raced_out},
           {"throttle_repeats", throttle_repeats},
           {"profiled", profiled},
           {"resumed", resumed_trials},
           {"by_status", trials_by_status}}},
         {"worker_restarts", restarts},
         {"seconds",
          {{"wall", wall_s},
           {"compile_wall", compile_wall_s},
           {"nvrtc_cpu", nvrtc_cpu_s},
           {"compile_wait", compile_wait_s},
           {"setup", setup_s},
           {"verify", verify_s},
           {"time", time_s},
           {"remeasure", remeasure_s},
           {"profile", profile_s}}},
         {"winners", winners_json}};
  if (gpu) j["gpu"] = {{"name", gpu->name}, {"key", gpu->key()}};
  if (!no_gpu.empty()) j["no_gpu"] = no_gpu;
  if (!profile_note.empty()) j["profile_note"] = profile_note;
  if (!sm_clock_note.empty()) j["sm_clock_note"] = sm_clock_note;
  return j;
}

}  // namespace flashtune::tune
