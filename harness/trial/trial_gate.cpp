#include "trial/trial_gate.hpp"

#include <fmt/format.h>

#include <sstream>

namespace flashtune::trial {

std::vector<KernelFacts> kernel_facts(const std::vector<std::string>& exprs,
                                      const std::vector<KernelLaunch>& launches,
                                      const jit::CompileResult& r) {
  std::vector<KernelFacts> facts(exprs.size());
  for (std::size_t k = 0; k < exprs.size(); ++k) {
    KernelFacts& f = facts[k];
    f.compiled = r.ok;
    f.log = r.log;
    f.dynamic_smem = launches[k].dynamic_smem;
    f.threads = static_cast<int>(launches[k].threads);
    if (!r.ok) continue;
    auto it = r.lowered_names.find(exprs[k]);
    if (it == r.lowered_names.end()) continue;
    if (const jit::PtxasInfo* p = r.ptxas_for(it->second)) {
      f.registers = p->registers;
      f.spill_bytes = p->spill_store_bytes + p->spill_load_bytes;
      f.static_smem = p->static_smem_bytes;
    }
  }
  return facts;
}

Gate gate_trial(const KernelFacts& f, const SramPlan& budget, const space::PruneSettings& prune) {
  Gate g;
  auto fail = [&](TrialStatus s, std::string why) {
    g.failed = s;
    g.detail = std::move(why);
    return g;
  };
  if (!f.compiled) return fail(TrialStatus::compile_error, compile_error_summary(f.log));
  if (f.smem_total() > budget.per_block_limit)
    return fail(TrialStatus::resource_exceeded,
                fmt::format("{} B shared memory ({} dynamic + {} static) > the {} B budget", f.smem_total(),
                            f.dynamic_smem, f.static_smem, budget.per_block_limit));
  if (prune.max_spill_bytes >= 0 && f.spill_bytes > prune.max_spill_bytes)
    return fail(TrialStatus::resource_exceeded,
                fmt::format("{} B of register spills > prune.max_spill_bytes = {}", f.spill_bytes,
                            prune.max_spill_bytes));
  if (f.registers > prune.max_registers)
    return fail(
        TrialStatus::resource_exceeded,
        fmt::format("{} registers per thread > prune.max_registers = {}", f.registers, prune.max_registers));
  g.fit = check_resources(f.registers < 0 ? 255 : f.registers, f.threads, f.smem_total(), budget.limits);
  if (g.fit.blocks_per_sm < prune.min_blocks_per_sm)
    return fail(TrialStatus::resource_exceeded,
                fmt::format("{} blocks per SM under a {} KiB carveout < prune.min_blocks_per_sm = {} ({})",
                            g.fit.blocks_per_sm, budget.sm_capacity_bytes / 1024, prune.min_blocks_per_sm,
                            g.fit.limited_by));
  return g;
}

Gate gate_trial(const std::vector<KernelFacts>& kernels, const SramPlan& budget,
                const space::PruneSettings& prune) {
  Gate worst;
  for (std::size_t i = 0; i < kernels.size(); ++i) {
    Gate g = gate_trial(kernels[i], budget, prune);
    if (g.failed) {
      if (kernels.size() > 1) g.detail = fmt::format("kernel {}: {}", i + 1, g.detail);
      return g;
    }
    if (i == 0 || g.fit.blocks_per_sm < worst.fit.blocks_per_sm) worst = g;
  }
  return worst;
}

std::string compile_error_summary(const std::string& log, std::size_t max_chars) {
  std::istringstream in(log);
  std::string line, errors, rest;
  while (std::getline(in, line)) {
    if (line.find("error") != std::string::npos)
      errors += line + "\n";
    else if (!line.empty() && line.rfind("ptxas", 0) != 0)
      rest += line + "\n";
  }
  std::string s = errors.empty() ? rest : errors;
  if (s.empty()) s = "compile failed (empty log)";
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace flashtune::trial
