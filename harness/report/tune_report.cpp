#include "report/tune_report.hpp"

#include <fmt/format.h>

#include "report/table.hpp"

namespace flashtune::report {

void print_tune_summary(const tune::TuneSummary& s, std::ostream& out) {
  if (!s.winners.empty()) {
    Table t({"problem", "SRAM budget", "configuration", "median ms", "TFLOP/s", "blocks/SM", "from"});
    for (const tune::Winner& w : s.winners)
      t.add_row({w.problem.to_string(), w.budget_label, to_string(w.params),
                 fmt::format("{:.4f}", w.median_ms), fmt::format("{:.1f}", w.tflops),
                 w.from_cache ? "-" : std::to_string(w.blocks_per_sm),
                 w.from_cache ? "cache" : fmt::format("trial {}", w.trial_id)});
    t.print(out);
    out << '\n';
  }
  if (s.from_cache) {
    out << fmt::format("answered from the results cache in {:.2f} s ({})\n", s.wall_s, s.db_path);
    return;
  }
  out << fmt::format("{} x {} problems x {} SRAM budgets ({}, {} strategy, seed {}, {})\n", s.template_id,
                     s.problems, s.budgets, s.space_file, s.strategy, s.seed, s.arch);
  out << fmt::format(
      "configurations: {} per problem; pruned {} by constraints, {} by the template's rules, {} over every "
      "budget, {} by the strategy\n",
      s.combinations, s.pruned_constraint, s.pruned_template, s.pruned_over_budget, s.pruned_strategy);
  out << fmt::format("kernels: {} compiled ({} from the cubin cache, {} failed)\n", s.kernels, s.cache_hits,
                     s.compile_errors);
  std::string statuses;
  for (const auto& [name, n] : s.trials_by_status)
    statuses += fmt::format("{}{} {}", statuses.empty() ? "" : ", ", n, name);
  out << fmt::format(
      "trials: {} ({}); {} ran on the GPU ({} raced out), {} shared a measurement of equal occupancy",
      s.trials, statuses, s.gpu_trials, s.raced_out, s.shared_trials);
  if (s.restarts > 0) out << fmt::format(", trial worker restarted {} times", s.restarts);
  if (s.profiled > 0) out << fmt::format(", {} profiled (hardware counters)", s.profiled);
  if (s.throttle_repeats > 0)
    out << fmt::format(", {} timings taken again after SM clock throttling", s.throttle_repeats);
  if (s.resumed_trials > 0)
    out << fmt::format(", {} stored before the sweep was interrupted (resumed, not run again)",
                       s.resumed_trials);
  out << '\n';
  out << fmt::format(
      "time: {:.1f} s wall | compile {:.1f} s wall ({:.1f} s NVRTC CPU, GPU waited {:.1f} s) | setup {:.1f} "
      "s | "
      "verify {:.1f} s | time {:.1f} s | re-measure {:.1f} s | profile {:.1f} s\n",
      s.wall_s, s.compile_wall_s, s.nvrtc_cpu_s, s.compile_wait_s, s.setup_s, s.verify_s, s.time_s,
      s.remeasure_s, s.profile_s);
  if (!s.profile_note.empty()) out << "hardware counters: not read: " << s.profile_note << '\n';
  if (s.sweep_id > 0) out << fmt::format("stored as sweep {} in {}\n", s.sweep_id, s.db_path);
}

}  // namespace flashtune::report
