// flashtune show: the cached best configurations, for this GPU (all GPUs without one, or with --all).
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/store_selection.hpp"
#include "report/table.hpp"

namespace flashtune::cli {

void add_show_command(CLI::App& app, int& exit_code) {
  auto sel = std::make_shared<StoreSelection>();
  CLI::App* cmd = app.add_subcommand("show", "list the cached best configurations (this GPU's by default)");
  sel->add_to(*cmd);
  cmd->callback([sel, &exit_code] {
    const SelectedEntries s = sel->select(std::cerr);
    // clock: the winning trial's lowest SM clock while it was timed, in percent of the maximum ("-":
    // unknown).
    report::Table t({"GPU", "template", "problem key", "configuration", "median ms", "TFLOP/s", "clock",
                     "example problem", "updated"});
    for (const store::BestEntry& e : s.entries)
      t.add_row({e.key.gpu.name, e.key.template_id, e.key.problem.to_string(), to_string(e.params),
                 fmt::format("{:.4f}", e.median_ms), fmt::format("{:.1f}", e.tflops),
                 e.clock_fraction ? fmt::format("{:.0f}%", 100 * *e.clock_fraction) : "-",
                 e.problem.to_string(), e.updated_at});
    if (t.size() == 0) {
      std::cout << fmt::format("no cached configurations{} in {}\n", s.filter_text, s.db_path);
    } else {
      t.print(std::cout);
      std::cout << fmt::format("\n{} configurations{} in {}\n", t.size(), s.filter_text, s.db_path);
    }
    exit_code = kOk;
  });
}

}  // namespace flashtune::cli
