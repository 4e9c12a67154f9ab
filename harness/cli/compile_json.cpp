#include "cli/compile_json.hpp"

namespace flashtune::cli {

nlohmann::json compile_json(const std::vector<run::CompiledInstance>& compiled, const std::string& arch,
                            const std::string& cubin_dir) {
  nlohmann::json rows = nlohmann::json::array();
  for (const run::CompiledInstance& c : compiled) {
    const ProblemVariant v = c.instance.variant();
    nlohmann::json lowered = nlohmann::json::object();
    for (const std::string& e : c.instance.name_expressions())
      if (auto it = c.result.lowered_names.find(e); it != c.result.lowered_names.end())
        lowered[e] = it->second;
    nlohmann::json row{{"template", c.instance.kernel_template().id()},
                       {"params", c.instance.params()},
                       {"head_dim", v.head_dim},
                       {"dtype", to_string(v.dtype)},
                       {"causal", v.causal},
                       {"label", c.instance.label()},
                       {"ok", c.result.ok},
                       {"cache_key", c.result.cache_key},
                       {"cache_hit", c.result.cache_hit},
                       {"name_expressions", c.instance.name_expressions()},
                       {"lowered_names", lowered},
                       {"smem_bytes", c.dynamic_smem + c.facts.static_smem_bytes},
                       {"compile_ms", c.result.compile_ms}};
    if (c.result.ok) {
      row["registers"] = c.facts.registers;
      row["spill_bytes"] = c.facts.spill_store_bytes + c.facts.spill_load_bytes;
      row["stack_bytes"] = c.facts.stack_bytes;
      row["blocks_per_sm"] = c.fit.blocks_per_sm;
      row["limited_by"] = c.fit.limited_by;
    }
    rows.push_back(std::move(row));
  }
  return {{"arch", arch}, {"cubin_dir", cubin_dir}, {"configurations", std::move(rows)}};
}

}  // namespace flashtune::cli
