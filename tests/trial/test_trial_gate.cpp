#include <gtest/gtest.h>

#include "trial/trial_gate.hpp"

namespace flashtune::trial {
namespace {

KernelFacts facts(int regs, int dyn_smem, int threads, int spills = 0) {
  KernelFacts f;
  f.compiled = true;
  f.registers = regs;
  f.dynamic_smem = dyn_smem;
  f.threads = threads;
  f.spill_bytes = spills;
  return f;
}

TEST(TrialGate, ACompileErrorIsStoredAsSuch) {
  KernelFacts f;
  f.log = "fa2_fwd.cuh(58): error: static assertion failed with \"tiles exceed\"\nptxas info: x\n";
  const Gate g = gate_trial(f, plan_sram_budget(0, SmLimits{}), {});
  ASSERT_TRUE(g.failed);
  EXPECT_EQ(*g.failed, TrialStatus::compile_error);
  EXPECT_NE(g.detail.find("static assertion failed"), std::string::npos) << g.detail;
  EXPECT_EQ(g.detail.find("ptxas"), std::string::npos) << g.detail;
}

TEST(TrialGate, SharedMemoryOverTheBudgetIsPruned) {
  const SramPlan b99 = plan_sram_budget(99 * 1024, SmLimits{});
  const Gate over = gate_trial(facts(128, 100 * 1024, 256), b99, {});
  ASSERT_TRUE(over.failed);
  EXPECT_EQ(*over.failed, TrialStatus::resource_exceeded);
  EXPECT_NE(over.detail.find("101376 B budget"), std::string::npos) << over.detail;
  EXPECT_FALSE(gate_trial(facts(128, 98 * 1024, 256), b99, {}).failed);
  // Static shared memory counts too.
  KernelFacts f = facts(128, 98 * 1024, 256);
  f.static_smem = 2048;
  EXPECT_TRUE(gate_trial(f, b99, {}).failed);
}

TEST(TrialGate, PruneLimitsOnSpillsAndRegisters) {
  const SramPlan max = plan_sram_budget(0, SmLimits{});
  space::PruneSettings p;
  p.max_spill_bytes = 0;
  const Gate spills = gate_trial(facts(255, 64 * 1024, 128, 336), max, p);
  ASSERT_TRUE(spills.failed);
  EXPECT_NE(spills.detail.find("336 B of register spills"), std::string::npos);
  p.max_spill_bytes = -1;
  EXPECT_FALSE(gate_trial(facts(255, 64 * 1024, 128, 336), max, p).failed);
  p.max_registers = 128;
  EXPECT_TRUE(gate_trial(facts(168, 64 * 1024, 128), max, p).failed);
}

TEST(TrialGate, OccupancyUnderTheBudgetsCarveout) {
  // 80 KiB per block: 2 blocks in a 228 KiB SM, 1 in the 100 KiB carveout of a 99 KiB budget.
  const KernelFacts f = facts(128, 80 * 1024, 128);
  const Gate big = gate_trial(f, plan_sram_budget(0, SmLimits{}), {});
  ASSERT_FALSE(big.failed);
  EXPECT_EQ(big.fit.blocks_per_sm, 2);
  const Gate small = gate_trial(f, plan_sram_budget(99 * 1024, SmLimits{}), {});
  ASSERT_FALSE(small.failed);
  EXPECT_EQ(small.fit.blocks_per_sm, 1);
  space::PruneSettings p;
  p.min_blocks_per_sm = 2;
  EXPECT_TRUE(gate_trial(f, plan_sram_budget(99 * 1024, SmLimits{}), p).failed);
}

TEST(SramBudget, PlansMatchOtherGpusLimits) {
  const SmLimits h100;
  const SramPlan a100 = plan_sram_budget(163 * 1024, h100);
  EXPECT_EQ(a100.per_block_limit, 166912);
  EXPECT_EQ(a100.sm_capacity_bytes, 164 * 1024);
  EXPECT_EQ(a100.carveout_percent, 71);  // 71% of 228 KiB = 161.9 KiB: the driver rounds up to 164
  const SramPlan ada = plan_sram_budget(99 * 1024, h100);
  EXPECT_EQ(ada.sm_capacity_bytes, 100 * 1024);
  EXPECT_EQ(ada.carveout_percent, 43);
  const SramPlan none = plan_sram_budget(48 * 1024, h100);
  EXPECT_EQ(none.sm_capacity_bytes, 64 * 1024);
  const SramPlan max = plan_sram_budget(0, h100);
  EXPECT_EQ(max.per_block_limit, 232448);
  EXPECT_EQ(max.sm_capacity_bytes, 233472);
  EXPECT_EQ(max.carveout_percent, 100);
  // Over the opt-in limit: clamped.
  EXPECT_EQ(plan_sram_budget(1 << 20, h100).per_block_limit, 232448);
  // Every level's percentage selects exactly that level: floor(pct * 228 KiB / 100) lies above the level
  // below.
  for (std::size_t i = 1; i < h100.carveout_levels_kib.size(); ++i) {
    const int kib = h100.carveout_levels_kib[i];
    const SramPlan p = plan_sram_budget(kib * 1024 - 1024, h100);
    EXPECT_EQ(p.sm_capacity_bytes, kib * 1024) << kib;
    EXPECT_GT(p.carveout_percent * 233472 / 100, h100.carveout_levels_kib[i - 1] * 1024) << kib;
  }
}

TEST(CompileErrorSummary, KeepsErrorLinesAndBoundsTheLength) {
  EXPECT_EQ(compile_error_summary("a.cuh(3): error: x\nnote\n"), "a.cuh(3): error: x");
  EXPECT_EQ(compile_error_summary(""), "compile failed (empty log)");
  EXPECT_LE(compile_error_summary(std::string(5000, 'e') + " error", 100).size(), 103u);
}

}  // namespace
}  // namespace flashtune::trial
