#include "cli/compile_table.hpp"

#include <fmt/format.h>

namespace flashtune::cli {

report::Table compile_table(const std::vector<run::CompiledInstance>& compiled) {
  report::Table t({"configuration", "regs", "spill B", "stack B", "smem B", "blocks/SM", "limited by",
                   "compile ms", "cache"});
  for (const run::CompiledInstance& c : compiled) {
    if (!c.result.ok) {
      t.add_row({c.instance.label(), "-", "-", "-", std::to_string(c.dynamic_smem), "-", "compile error",
                 fmt::format("{:.0f}", c.result.compile_ms), c.result.cache_hit ? "hit" : "miss"});
      continue;
    }
    t.add_row({c.instance.label(), std::to_string(c.facts.registers),
               std::to_string(c.facts.spill_store_bytes + c.facts.spill_load_bytes),
               std::to_string(c.facts.stack_bytes),
               std::to_string(c.dynamic_smem + c.facts.static_smem_bytes),
               std::to_string(c.fit.blocks_per_sm), c.fit.limited_by,
               fmt::format("{:.0f}", c.result.compile_ms), c.result.cache_hit ? "hit" : "miss"});
  }
  return t;
}

}  // namespace flashtune::cli
