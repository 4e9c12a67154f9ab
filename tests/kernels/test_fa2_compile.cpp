// NVRTC compiles every instantiation of the default FA2 grid for sm_90a and sm_80, and ptxas' facts are sane;
// head_dim 96 too (HeadDim96Compiles).
// All 27 configurations of one (arch, head_dim, dtype, causal) go into one NVRTC program, so the front end
// runs 16 times instead of 432; the programs compile in parallel worker processes.
#include <gtest/gtest.h>

#include <algorithm>

#include "compile_check.hpp"
#include "core/paths.hpp"
#include "fa2_grid.hpp"
#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/resource_check.hpp"
#include "run/kernel_loader.hpp"

namespace flashtune {
namespace {

TEST(Fa2Compile, DefaultGridCompilesForHopperAndAmpere) {
  std::vector<jit::CompileRequest> requests;
  std::vector<std::vector<Fa2Instance>> groups;
  for (const std::string arch : {"sm_90a", "sm_80"})
    for (int d : {64, 128})
      for (DType t : {DType::bf16, DType::f16})
        for (bool causal : {false, true}) {
          auto instances = default_fa2_instances(d, t, causal);
          jit::CompileRequest r = run::make_request("fa2_fwd.cuh", instances[0].name_expression(), arch);
          for (std::size_t i = 1; i < instances.size(); ++i)
            r.name_expressions.push_back(instances[i].name_expression());
          requests.push_back(r);
          groups.push_back(std::move(instances));
        }
  jit::CubinCache cache;  // default_dir(): cache_dir() / "cubin"
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile(requests, cache);
  ASSERT_EQ(results.size(), requests.size());
  int kernels = 0;
  for (std::size_t g = 0; g < results.size(); ++g) {
    const auto& res = results[g];
    ASSERT_TRUE(res.ok) << requests[g].arch << " " << groups[g][0].to_string() << ":\n" << res.log;
    EXPECT_FALSE(res.cubin.empty());
    for (const Fa2Instance& inst : groups[g]) {
      const std::string expr = inst.name_expression();
      SCOPED_TRACE(requests[g].arch + " " + inst.to_string());
      auto it = res.lowered_names.find(expr);
      ASSERT_NE(it, res.lowered_names.end());
      const jit::PtxasInfo* f = res.ptxas_for(it->second);
      ASSERT_NE(f, nullptr);
      EXPECT_GT(f->registers,
                32);  // tensor-core fragments need many; fewer means the kernel compiled to nothing
      EXPECT_LE(f->registers, 255);
      EXPECT_EQ(f->static_smem_bytes, 0);  // all shared memory is dynamic
      EXPECT_GE(f->barriers, 1);
      EXPECT_LT(f->spill_store_bytes, 4096) << "heavy spilling";
      EXPECT_TRUE(check_resources(f->registers, fa2::threads(inst.config),
                                  fa2::smem_bytes(inst.config, inst.head_dim))
                      .fits);
      ++kernels;
    }
  }
  EXPECT_EQ(kernels, 2 * 2 * 2 * 2 * 27);
}

// The variants' instantiations (fa2_fwd's kVariant: 1 general addressing, 2 window, 4 softcap) of the default
// configuration compile, with the plain kernel's resource bounds.
TEST(Fa2Compile, VariantsCompile) {
  std::vector<jit::CompileRequest> requests;
  std::vector<std::vector<Fa2Instance>> groups;
  const Fa2Config c{128, 64, 4, 1, 0, 0, 1, 2, 0, 1};  // the default: q_regs 0, lazy_rescale 2, fuse_pv 1
  for (bool causal : {false, true}) {
    std::vector<Fa2Instance> instances;
    for (int variant : {1, 2, 4, 7}) instances.push_back({c, 128, DType::bf16, causal, variant});
    ASSERT_FALSE(fa2::invalid_reason(instances[0])) << *fa2::invalid_reason(instances[0]);
    jit::CompileRequest r = run::make_request("fa2_fwd.cuh", instances[0].name_expression(), "sm_90a");
    for (std::size_t i = 1; i < instances.size(); ++i)
      r.name_expressions.push_back(instances[i].name_expression());
    requests.push_back(r);
    groups.push_back(std::move(instances));
  }
  jit::CubinCache cache;
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile(requests, cache);
  ASSERT_EQ(results.size(), requests.size());
  int kernels = 0;
  for (std::size_t g = 0; g < results.size(); ++g) {
    ASSERT_TRUE(results[g].ok) << groups[g][0].to_string() << ":\n" << results[g].log;
    for (const Fa2Instance& inst : groups[g]) {
      SCOPED_TRACE(inst.to_string());
      auto it = results[g].lowered_names.find(inst.name_expression());
      ASSERT_NE(it, results[g].lowered_names.end());
      const jit::PtxasInfo* f = results[g].ptxas_for(it->second);
      ASSERT_NE(f, nullptr);
      EXPECT_GT(f->registers, 32);
      EXPECT_LE(f->registers, 255);
      EXPECT_LT(f->spill_store_bytes, 4096) << "heavy spilling";
      ++kernels;
    }
  }
  EXPECT_EQ(kernels, 8);
}

using kernel_test::expect_compiles_without_spills;

// Split-K/V: the main kernel with its split count and fa2_combine compile without spills, for the plain
// problem and the general variant, d 64 and 128, bf16 and fp16, at a decode-sized tile (block_m 64, 4 warps,
// two stages). (The default's block_m 128 at d 128 spilled 8 bytes in fp16 with splits.)
TEST(Fa2Compile, SplitKvCompiles) {
  const KernelTemplate& t = find_template("fa2_fwd");
  jit::CompileRequest r = run::make_request("fa2_fwd.cuh", "", "sm_90a");
  r.name_expressions.clear();
  for (int d : {64, 128})
    for (DType dt : {DType::bf16, DType::f16})
      for (bool general : {false, true}) {
        const ProblemVariant pv{.head_dim = d, .dtype = dt, .causal = true, .general = general};
        const ParamValues v = {{"block_m", 64}, {"block_n", 64}, {"warps", 4}, {"stages", 2}, {"splits", 4}};
        ASSERT_FALSE(t.invalid_reason(v, pv)) << *t.invalid_reason(v, pv);
        for (const std::string& e : t.name_expressions(v, pv)) r.name_expressions.push_back(e);
      }
  ASSERT_EQ(r.name_expressions.size(), 16u);
  expect_compiles_without_spills(r);
}

// Variable lengths (variant bit 8, with the general addressing), alone and with every other bit, one CTA per
// query tile and split over 4 (the combine kernel's varlen form too), at block_m 64: they compile without
// spills. (fa2_fwd's default, block_m 128 with 32 rows per warp, spills 8 to 140 bytes once a window and the
// cap join, varlen or not: variants want the narrower tiles that search_spaces/decode.yaml and friends tune.)
TEST(Fa2Compile, VarlenCompiles) {
  const KernelTemplate& t = find_template("fa2_fwd");
  jit::CompileRequest r = run::make_request("fa2_fwd.cuh", "", "sm_90a");
  r.name_expressions.clear();
  for (int d : {64, 128})
    for (int bits : {9, 15})
      for (int splits : {1, 4}) {
        const ProblemVariant pv{.head_dim = d,
                                .dtype = DType::bf16,
                                .causal = true,
                                .general = true,
                                .window = (bits & 2) != 0,
                                .softcap = (bits & 4) != 0,
                                .varlen = (bits & 8) != 0};
        ASSERT_EQ(pv.bits(), bits);
        const ParamValues v = {
            {"block_m", 64}, {"block_n", 64}, {"warps", 4}, {"stages", 2}, {"splits", splits}};
        ASSERT_FALSE(t.invalid_reason(v, pv)) << *t.invalid_reason(v, pv);
        for (const std::string& e : t.name_expressions(v, pv)) r.name_expressions.push_back(e);
      }
  ASSERT_EQ(r.name_expressions.size(), 12u);
  // Variant 8 alone (varlen without the general addressing) is refused.
  EXPECT_TRUE(t.invalid_reason(t.default_config(ProblemVariant{}),
                               ProblemVariant{.head_dim = 128, .general = false, .varlen = true}));
  expect_compiles_without_spills(r);
}

// Block-sparse (variant bit 16), alone and with the general addressing, a window and the cap (23), one CTA
// per query tile and split over 4, d 128, causal, at block_m 64: they compile without spills. Block-sparse
// with varlen is refused.
TEST(Fa2Compile, BlockSparseCompiles) {
  const KernelTemplate& t = find_template("fa2_fwd");
  jit::CompileRequest r = run::make_request("fa2_fwd.cuh", "", "sm_90a");
  r.name_expressions.clear();
  for (int bits : {16, 23})
    for (int splits : {1, 4}) {
      const ProblemVariant pv{.head_dim = 128,
                              .dtype = DType::bf16,
                              .causal = true,
                              .general = (bits & 1) != 0,
                              .window = (bits & 2) != 0,
                              .softcap = (bits & 4) != 0,
                              .block_sparse = true};
      ASSERT_EQ(pv.bits(), bits);
      const ParamValues v = {
          {"block_m", 64}, {"block_n", 64}, {"warps", 4}, {"stages", 2}, {"splits", splits}};
      ASSERT_FALSE(t.invalid_reason(v, pv)) << *t.invalid_reason(v, pv);
      for (const std::string& e : t.name_expressions(v, pv)) r.name_expressions.push_back(e);
    }
  ASSERT_EQ(r.name_expressions.size(), 6u);
  EXPECT_TRUE(t.invalid_reason(
      t.default_config(ProblemVariant{}),
      ProblemVariant{.head_dim = 128, .general = true, .varlen = true, .block_sparse = true}));
  expect_compiles_without_spills(r);
}

// The template's default for a variant (8 warps of 16 query rows) compiles without spills at every head dim,
// with every bit but varlen (7), varlen with them (15) and block-sparse with them (23); the plain problem's
// default keeps 4 warps.
TEST(Fa2Compile, VariantDefaultsDoNotSpill) {
  const KernelTemplate& t = find_template("fa2_fwd");
  jit::CompileRequest r = run::make_request("fa2_fwd.cuh", "", "sm_90a");
  r.name_expressions.clear();
  for (int d : {64, 96, 128})
    for (int bits : {7, 15, 23}) {
      const ProblemVariant pv{.head_dim = d,
                              .dtype = DType::bf16,
                              .causal = true,
                              .general = true,
                              .window = true,
                              .softcap = true,
                              .varlen = (bits & 8) != 0,
                              .block_sparse = (bits & 16) != 0};
      const ParamValues v = t.default_config(pv);
      EXPECT_EQ(v.at("warps"), 8);
      ASSERT_FALSE(t.invalid_reason(v, pv)) << *t.invalid_reason(v, pv);
      r.name_expressions.push_back(t.name_expression(v, pv));
    }
  EXPECT_EQ(t.default_config(ProblemVariant{.head_dim = 128}).at("warps"), 4);
  expect_compiles_without_spills(r);
}

// head_dim 96 (SwizzledTile<96>'s panels, load_tile_async_96): the default grid for sm_90a, bf16, causal,
// with the grid's resource bounds; the template's default for d 96 and its schedules (bf16)
// (persistent, pipelined, fused, Q in registers, split-K/V with fa2_combine) without spills on the plain
// problem, for sm_90a and the default also for sm_80; the variants of those schedules with VariantsCompile's
// bound. (The default's window builds spill at d 96 as at d 128: 16 bytes for a window without causal, 68
// with every variant bit, where d 128 spills 104 and 132; Q in registers with two m-tiles per warp spills at
// d 96 as it does at d 128, hence block_m 64 below.)
TEST(Fa2Compile, HeadDim96Compiles) {
  const KernelTemplate& t = find_template("fa2_fwd");
  std::vector<jit::CompileRequest> requests;
  std::vector<std::vector<Fa2Instance>> grid_groups;
  // The grid bf16 and causal only, the schedules bf16, plain and every variant bit (the CI's compile budget;
  // fp16 and the other masks run on the GPU, tests/kernels/test_fa2_gpu.cpp).
  for (DType dt : {DType::bf16})
    for (bool causal : {true}) {
      auto instances = default_fa2_instances(96, dt, causal);
      jit::CompileRequest r = run::make_request("fa2_fwd.cuh", instances[0].name_expression(), "sm_90a");
      for (std::size_t i = 1; i < instances.size(); ++i)
        r.name_expressions.push_back(instances[i].name_expression());
      requests.push_back(r);
      grid_groups.push_back(std::move(instances));
    }
  // The schedules and variants: name expressions that must compile without a spill.
  const ParamValues base = t.default_config(ProblemVariant{.head_dim = 96});
  auto with = [&](std::initializer_list<std::pair<const char*, int>> changes) {
    ParamValues v = base;
    for (const auto& [name, value] : changes) v[name] = value;
    return v;
  };
  const std::vector<ParamValues> schedules = {
      base,
      with({{"block_m", 64}, {"stages", 2}, {"fuse_pv", 0}, {"q_regs", 1}}),
      with({{"stages", 2}, {"fuse_pv", 0}, {"pipeline", 1}, {"lazy_rescale", 1}}),
      with({{"fuse_pv", 0}, {"persistent", 1}}),
      with({{"block_m", 64}, {"fuse_pv", 0}, {"persistent", 1}, {"q_regs", 1}}),
      with({{"block_m", 64}, {"stages", 2}, {"splits", 4}}),
      {{"block_m", 64}, {"block_n", 64}, {"warps", 4}, {"stages", 2}},
      {{"block_m", 128}, {"block_n", 128}, {"warps", 8}, {"stages", 2}},
  };
  std::vector<std::string> clean;  // the plain problem's name expressions: no spills
  std::vector<std::string> variants;
  for (const std::string arch : {"sm_90a", "sm_80"}) {
    jit::CompileRequest r = run::make_request("fa2_fwd.cuh", "", arch);
    r.name_expressions.clear();
    for (DType dt : {DType::bf16})
      for (bool causal : {false, true})
        for (int bits : {0, 7}) {
          if (arch == "sm_80" && bits != 0) continue;
          const ProblemVariant pv{.head_dim = 96,
                                  .dtype = dt,
                                  .causal = causal,
                                  .general = (bits & 1) != 0,
                                  .window = (bits & 2) != 0,
                                  .softcap = (bits & 4) != 0};
          for (const ParamValues& v : schedules) {
            if (arch == "sm_80" && v != base) continue;
            if (t.invalid_reason(v, pv)) {  // the persistent and pipelined schedules run the plain problem
              EXPECT_NE(bits, 0) << to_string(v);
              continue;
            }
            for (const std::string& e : t.name_expressions(v, pv))
              if (std::find(r.name_expressions.begin(), r.name_expressions.end(), e) ==
                  r.name_expressions.end()) {  // fa2_combine has no causal argument
                r.name_expressions.push_back(e);
                (bits == 0 ? clean : variants).push_back(e);
              }
          }
        }
    requests.push_back(r);
  }
  jit::CubinCache cache;
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile(requests, cache);
  ASSERT_EQ(results.size(), requests.size());
  int kernels = 0;
  for (std::size_t g = 0; g < results.size(); ++g) {
    const jit::CompileResult& res = results[g];
    ASSERT_TRUE(res.ok) << requests[g].arch << ":\n" << res.log;
    if (g < grid_groups.size()) {
      for (const Fa2Instance& inst : grid_groups[g]) {
        SCOPED_TRACE(inst.to_string());
        const jit::PtxasInfo* f = res.ptxas_for(res.lowered_names.at(inst.name_expression()));
        ASSERT_NE(f, nullptr);
        EXPECT_GT(f->registers, 32);
        EXPECT_LE(f->registers, 255);
        EXPECT_EQ(f->static_smem_bytes, 0);
        EXPECT_LT(f->spill_store_bytes, 4096) << "heavy spilling";
        EXPECT_TRUE(check_resources(f->registers, fa2::threads(inst.config),
                                    fa2::smem_bytes(inst.config, inst.head_dim))
                        .fits);
        ++kernels;
      }
      continue;
    }
    for (const std::string& e : requests[g].name_expressions) {
      SCOPED_TRACE(requests[g].arch + " " + e);
      const jit::PtxasInfo* f = res.ptxas_for(res.lowered_names.at(e));
      ASSERT_NE(f, nullptr);
      if (e.find("fa2_combine") == std::string::npos) EXPECT_GT(f->registers, 32);  // the main kernel
      EXPECT_LE(f->registers, 255);
      if (std::find(clean.begin(), clean.end(), e) != clean.end()) {
        EXPECT_EQ(f->spill_store_bytes + f->spill_load_bytes, 0);
        EXPECT_EQ(f->stack_bytes, 0);
      } else {
        EXPECT_LT(f->spill_store_bytes, 4096) << "heavy spilling";
      }
      ++kernels;
    }
  }
  EXPECT_EQ(kernels, 27 + static_cast<int>(clean.size() + variants.size()));
}

}  // namespace
}  // namespace flashtune
