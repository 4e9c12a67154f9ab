// parse_ptxas_info on logs captured from NVRTC 13.0 (fixtures/), on garbage, and on a live compile.
#include "jit/ptxas_info.hpp"

#include <gtest/gtest.h>

#include "jit/compiler.hpp"
#include "jit_test_util.hpp"

namespace flashtune::jit {
namespace {
using testing::fixture_dir;
using testing::read_text;

// fixtures/ptxas_tiny_sm90a.txt: tiny_kernel.cuh, name expressions "scale_kernel<4, __nv_bfloat16>" and
// "scale_kernel<1, float>", -arch=sm_90a --ptxas-options=-v (no cmem[0] is reported for sm_90a).
TEST(PtxasInfo, ParsesCapturedSm90aLog) {
  const auto facts = parse_ptxas_info(read_text(fixture_dir() / "ptxas_tiny_sm90a.txt"));
  ASSERT_EQ(facts.size(), 2u);
  EXPECT_EQ(facts[0], (PtxasInfo{.function = "_Z12scale_kernelILi4E13__nv_bfloat16EvPT0_f",
                                 .registers = 14,
                                 .static_smem_bytes = 2048,
                                 .barriers = 1}));
  EXPECT_EQ(facts[1], (PtxasInfo{.function = "_Z12scale_kernelILi1EfEvPT0_f",
                                 .registers = 10,
                                 .static_smem_bytes = 512,
                                 .barriers = 1}));
}

// fixtures/ptxas_spill_sm80.txt: spill_kernel.cuh with --maxrregcount=32 (see that file): spills, a stack
// frame, "cumulative stack size" and "cmem[0]" items, and a non-entry function with properties but no "Used"
// line.
TEST(PtxasInfo, ParsesCapturedSpillLog) {
  const auto facts = parse_ptxas_info(read_text(fixture_dir() / "ptxas_spill_sm80.txt"));
  ASSERT_EQ(facts.size(), 3u);
  EXPECT_EQ(facts[0], (PtxasInfo{.function = "_Z5heavyILi64EEvPfi",
                                 .registers = 32,
                                 .static_smem_bytes = 0,
                                 .stack_bytes = 608,
                                 .spill_store_bytes = 184,
                                 .spill_load_bytes = 204,
                                 .barriers = 0}));
  EXPECT_EQ(facts[1], (PtxasInfo{.function = "_Z6helperPfi"}));  // registers stay -1: not an entry function
  EXPECT_EQ(facts[2], (PtxasInfo{.function = "_Z5plainPf", .registers = 8}));
}

TEST(PtxasInfo, ToleratesCarriageReturns) {
  const auto facts = parse_ptxas_info(
      "ptxas info    : Compiling entry function 'k' for 'sm_80'\r\n"
      "ptxas info    : Used 7 registers, used 2 barriers, 64 bytes smem\r\n");
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0], (PtxasInfo{.function = "k", .registers = 7, .static_smem_bytes = 64, .barriers = 2}));
}

TEST(PtxasInfo, GarbageGivesNoFactsAndNoCrash) {
  EXPECT_TRUE(parse_ptxas_info("").empty());
  EXPECT_TRUE(parse_ptxas_info("error: expected a \";\"\n\x01\xff garbage\n\n").empty());
  // Report lines with nothing to attach to, or truncated, are ignored.
  EXPECT_TRUE(parse_ptxas_info("ptxas info    : Used 12 registers\n"
                               "ptxas         .     8 bytes stack frame\n"
                               "ptxas info    : Function properties for\n"
                               "ptxas info    : Compiling entry function '\n"
                               "ptxas\n"
                               "ptxas info\n")
                  .empty());
  // A known function with unreadable numbers keeps its defaults.
  const auto facts = parse_ptxas_info(
      "ptxas info    : Compiling entry function 'k' for 'sm_90a'\n"
      "ptxas         .     x bytes stack frame, -3 bytes spill stores, 99999999999999999999 bytes spill "
      "loads\n"
      "ptxas info    : Used many registers, used  barriers, bytes smem, 12 bytes\n");
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0].registers, -1);
  EXPECT_EQ(facts[0].stack_bytes, 0);
  EXPECT_EQ(facts[0].spill_load_bytes, 0);
  EXPECT_EQ(facts[0].static_smem_bytes, 0);
}

TEST(PtxasInfo, ParsesLiveCompileOfSpillingKernel) {
  CompileRequest r;
  r.source_file = fixture_dir() / "spill_kernel.cuh";
  r.name_expressions = {"heavy<64>", "plain"};
  r.arch = "sm_80";
  r.extra_options = {"--maxrregcount=32"};
  const CompileResult res = compile(r);
  ASSERT_TRUE(res.ok) << res.log;
  const PtxasInfo* heavy = res.ptxas_for(res.lowered_names.at("heavy<64>"));
  ASSERT_NE(heavy, nullptr) << res.log;
  EXPECT_EQ(heavy->registers, 32);
  EXPECT_GT(heavy->stack_bytes, 0);
  EXPECT_GT(heavy->spill_store_bytes, 0);
  EXPECT_GT(heavy->spill_load_bytes, 0);
  const PtxasInfo* plain = res.ptxas_for(res.lowered_names.at("plain"));
  ASSERT_NE(plain, nullptr);
  EXPECT_GT(plain->registers, 0);
  EXPECT_EQ(plain->spill_store_bytes, 0);
  EXPECT_EQ(res.ptxas_for("_Z9not_therev"), nullptr);
}

}  // namespace
}  // namespace flashtune::jit
