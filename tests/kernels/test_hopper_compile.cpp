// NVRTC compiles, for sm_90a, every configuration of search_spaces/hopper_fwd.yaml that the template admits,
// at d 64 and 128, causal and not, bf16 (plus one fp16 kernel per head dimension), with no register spills
// and no stack; in the SASS (cuobjdump -sass) every kernel has HGMMA (wgmma), UTMALDG (TMA loads) and
// register reallocation, and no local-memory traffic (LDL/STL) — skipped, with a message, when cuobjdump is
// not installed. Configurations the host rejects fail on the template's static_asserts, and an arch other
// than sm_90a is refused by the catalog before anything is compiled. No GPU needed.
#include <gtest/gtest.h>

#include "compile_check.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/resource_check.hpp"
#include "run/kernel_loader.hpp"
#include "space/enumerate.hpp"
#include "space/space_loader.hpp"

namespace flashtune {
namespace {

namespace fs = std::filesystem;

AttentionProblem problem_for(int d, bool causal, DType t = DType::bf16) {
  return AttentionProblem{
      .batch = 2, .heads = 3, .seqlen = 1000, .head_dim = d, .dtype = t, .causal = causal};
}

// cuobjdump from $CUDA_HOME/bin, /usr/local/cuda/bin or PATH; empty when none is found.
std::string find_cuobjdump() {
  std::vector<fs::path> candidates;
  if (const char* home = std::getenv("CUDA_HOME")) candidates.push_back(fs::path(home) / "bin" / "cuobjdump");
  candidates.push_back("/usr/local/cuda/bin/cuobjdump");
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    for (std::string dir; std::getline(ss, dir, ':');)
      if (!dir.empty()) candidates.push_back(fs::path(dir) / "cuobjdump");
  }
  std::error_code ec;
  for (const fs::path& p : candidates)
    if (fs::is_regular_file(p, ec)) return p.string();
  return {};
}

// The SASS of a cubin, per function (mangled name -> its instructions), or nullopt when cuobjdump fails.
std::optional<std::map<std::string, std::string>> sass_by_function(const std::string& cuobjdump,
                                                                   const std::vector<char>& cubin) {
  const fs::path file = fs::temp_directory_path() / fmt::format("flashtune-hopper-{}.cubin", ::getpid());
  {
    std::ofstream out(file, std::ios::binary);
    out.write(cubin.data(), static_cast<std::streamsize>(cubin.size()));
  }
  std::string text;
  if (FILE* p = ::popen(fmt::format("'{}' -sass '{}' 2>&1", cuobjdump, file.string()).c_str(), "r")) {
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) text.append(buf, n);
    if (::pclose(p) != 0) text.clear();
  }
  fs::remove(file);
  if (text.empty()) return std::nullopt;
  std::map<std::string, std::string> out;
  std::string current;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) {
    if (const auto at = line.find("Function : "); at != std::string::npos) {
      current = line.substr(at + 11);
      while (!current.empty() && (current.back() == ' ' || current.back() == '\r')) current.pop_back();
      continue;
    }
    if (!current.empty()) out[current] += line + "\n";
  }
  return out;
}

TEST(HopperCompile, EverySearchSpaceConfigurationCompilesWithHgmmaAndTma) {
  const space::SearchSpace s = space::load_search_space(space::search_space_dir() / "hopper_fwd.yaml");
  const KernelTemplate& t = find_template("hopper_fwd");
  std::vector<jit::CompileRequest> requests;
  std::vector<std::vector<std::pair<ParamValues, AttentionProblem>>> entries;
  for (int d : {64, 128}) {
    jit::CompileRequest r = run::make_request(std::string(t.source_file()), "", "sm_90a");
    r.name_expressions.clear();
    std::vector<std::pair<ParamValues, AttentionProblem>> e;
    std::set<std::string> seen;
    for (bool causal : {false, true}) {
      const AttentionProblem p = problem_for(d, causal);
      for (const ParamValues& v : space::enumerate(s, p).kept) {
        if (t.invalid_reason(v, variant_of(p))) continue;
        if (seen.insert(t.name_expression(v, variant_of(p))).second) {
          r.name_expressions.push_back(t.name_expression(v, variant_of(p)));
          e.emplace_back(v, p);
        }
      }
    }
    // fp16 once per head dimension: the other wgmma instruction type.
    const ParamValues v = {
        {"block_n", 128}, {"consumer_wgs", 2}, {"stages", 2}, {"pingpong", 1}, {"persistent", 1}};
    const AttentionProblem p16 = problem_for(d, true, DType::f16);
    r.name_expressions.push_back(t.name_expression(v, variant_of(p16)));
    e.emplace_back(v, p16);
    requests.push_back(std::move(r));
    entries.push_back(std::move(e));
  }
  ASSERT_EQ(entries[0].size(), 2u * 64 + 1);  // the yaml's comment: 64 at d 64, 33 at d 128
  ASSERT_EQ(entries[1].size(), 2u * 33 + 1);

  jit::CubinCache cache;
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile(requests, cache);
  ASSERT_EQ(results.size(), requests.size());

  const std::string cuobjdump = find_cuobjdump();
  if (cuobjdump.empty())
    std::printf(
        "[ SKIPPED  ] SASS checks: cuobjdump not found ($CUDA_HOME/bin, /usr/local/cuda/bin, PATH)\n");
  for (std::size_t g = 0; g < results.size(); ++g) {
    const jit::CompileResult& res = results[g];
    ASSERT_TRUE(res.ok) << res.log;
    EXPECT_EQ(res.log.find("C7514"), std::string::npos) << "wgmma serialized:\n" << res.log;
    EXPECT_EQ(res.log.find("C7508"), std::string::npos) << "setmaxnreg ignored:\n" << res.log;
    std::optional<std::map<std::string, std::string>> sass;
    if (!cuobjdump.empty()) {
      sass = sass_by_function(cuobjdump, res.cubin);
      EXPECT_TRUE(sass.has_value()) << cuobjdump << " -sass failed";
    }
    for (const auto& [v, p] : entries[g]) {
      const ProblemVariant pv = variant_of(p);
      const std::string expr = t.name_expression(v, pv);
      SCOPED_TRACE(expr);
      const std::string& lowered = res.lowered_names.at(expr);
      const jit::PtxasInfo* f = res.ptxas_for(lowered);
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->spill_store_bytes + f->spill_load_bytes, 0);
      EXPECT_EQ(f->stack_bytes, 0);
      EXPECT_EQ(f->static_smem_bytes, 0);
      EXPECT_GT(f->registers, 32);
      const KernelLaunch l = t.launch(v, p);
      EXPECT_EQ(l.threads, 128u * (1 + static_cast<unsigned>(v.at("consumer_wgs"))));
      // Persistent or not, one CTA per query tile here (B2 H3 N1000: 6 * ceil(1000 / block_m) <= 132).
      const unsigned block_m = 64u * static_cast<unsigned>(v.at("consumer_wgs"));
      EXPECT_EQ(l.grid[0] * l.grid[1], 6u * ((1000u + block_m - 1) / block_m));
      if (param_or_default(t, v, "persistent") != 0) {
        EXPECT_EQ(l.grid[1], 1u);
      }
      const ResourceFit fit = check_resources(f->registers, static_cast<int>(l.threads), l.dynamic_smem);
      EXPECT_TRUE(fit.fits) << fit.limited_by;
      EXPECT_EQ(t.tensor_maps(v, pv).size(), 3u);
      if (sass) {
        auto it = sass->find(lowered);
        ASSERT_NE(it, sass->end()) << "no SASS for " << lowered;
        const std::string& code = it->second;
        EXPECT_NE(code.find("HGMMA"), std::string::npos);
        EXPECT_NE(code.find("UTMALDG"), std::string::npos);
        EXPECT_EQ(code.find("LDL"), std::string::npos);
        EXPECT_EQ(code.find("STL"), std::string::npos);
        if (v.at("consumer_wgs") >= 2) {
          EXPECT_NE(code.find("USETMAXREG"), std::string::npos);
        }
        // Ping-pong: the turn is taken with BAR.SYNC and passed with BAR.ARV on named barriers.
        if (param_or_default(t, v, "pingpong") != 0) {
          EXPECT_NE(code.find("BAR.ARV"), std::string::npos);
        }
      }
    }
  }
}

// The variants (grouped heads, unequal lengths, strides; window; softcap; all three) compile at the default
// configuration for variants (one-tile grid), causal and not, d 64 and 128: no spills, no stack, 4-D TMA
// loads.
TEST(HopperCompile, VariantsCompile) {
  const KernelTemplate& t = find_template("hopper_fwd");
  std::vector<jit::CompileRequest> requests;
  std::vector<std::vector<std::pair<ParamValues, ProblemVariant>>> entries;
  for (int d : {64, 128}) {
    jit::CompileRequest r = run::make_request(std::string(t.source_file()), "", "sm_90a");
    r.name_expressions.clear();
    std::vector<std::pair<ParamValues, ProblemVariant>> e;
    for (bool causal : {false, true})
      for (int bits : {1, 2, 4, 7, 9, 15}) {
        const ProblemVariant pv{.head_dim = d,
                                .dtype = DType::bf16,
                                .causal = causal,
                                .general = (bits & 1) != 0,
                                .window = (bits & 2) != 0,
                                .softcap = (bits & 4) != 0,
                                .varlen = (bits & 8) != 0};
        const ParamValues v = t.default_config(pv);
        ASSERT_EQ(v.at("persistent"), 0);
        ASSERT_FALSE(t.invalid_reason(v, pv)) << *t.invalid_reason(v, pv);
        r.name_expressions.push_back(t.name_expression(v, pv));
        e.emplace_back(v, pv);
      }
    requests.push_back(std::move(r));
    entries.push_back(std::move(e));
  }
  jit::CubinCache cache;
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile(requests, cache);
  ASSERT_EQ(results.size(), requests.size());
  const std::string cuobjdump = find_cuobjdump();
  for (std::size_t g = 0; g < results.size(); ++g) {
    ASSERT_TRUE(results[g].ok) << results[g].log;
    std::optional<std::map<std::string, std::string>> sass;
    if (!cuobjdump.empty()) sass = sass_by_function(cuobjdump, results[g].cubin);
    for (const auto& [v, pv] : entries[g]) {
      const std::string expr = t.name_expression(v, pv);
      SCOPED_TRACE(expr);
      const std::string& lowered = results[g].lowered_names.at(expr);
      const jit::PtxasInfo* f = results[g].ptxas_for(lowered);
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(f->spill_store_bytes + f->spill_load_bytes, 0);
      EXPECT_EQ(f->stack_bytes, 0);
      if (sass && pv.general) {
        auto it = sass->find(lowered);
        ASSERT_NE(it, sass->end());
        EXPECT_NE(it->second.find("UTMALDG.4D"), std::string::npos);
      }
    }
  }
  // A persistent configuration runs the plain problem only: pruned with the reason, not compiled.
  ParamValues persistent = t.default_config(ProblemVariant{});
  persistent["persistent"] = 1;
  const std::optional<std::string> why =
      t.invalid_reason(persistent, ProblemVariant{.head_dim = 128, .general = true});
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("persistent 0"), std::string::npos) << *why;
}

// Block-sparse (variant bit 16) at d 64 and 128, alone and with the general addressing, a window and the
// cap (23), causal, at the variant's default (two consumer warpgroups: a 128-row tile): no spills, no stack;
// with varlen it is refused.
TEST(HopperCompile, BlockSparseCompiles) {
  const KernelTemplate& t = find_template("hopper_fwd");
  jit::CompileRequest r = run::make_request(std::string(t.source_file()), "", "sm_90a");
  r.name_expressions.clear();
  for (int d : {64, 128})
    for (int bits : {16, 23}) {
      const ProblemVariant pv{.head_dim = d,
                              .dtype = DType::bf16,
                              .causal = true,
                              .general = (bits & 1) != 0,
                              .window = (bits & 2) != 0,
                              .softcap = (bits & 4) != 0,
                              .block_sparse = true};
      const ParamValues v = t.default_config(pv);
      EXPECT_EQ(v.at("consumer_wgs"), 2);
      ASSERT_FALSE(t.invalid_reason(v, pv)) << *t.invalid_reason(v, pv);
      r.name_expressions.push_back(t.name_expression(v, pv));
    }
  EXPECT_TRUE(t.invalid_reason(
      t.default_config(ProblemVariant{}),
      ProblemVariant{.head_dim = 128, .general = true, .varlen = true, .block_sparse = true}));
  kernel_test::expect_compiles_without_spills(r);
}

// head_dim 256 at its default (block_n 64, one consumer warpgroup, no ping-pong; persistent unless causal or
// a variant), causal and not, bf16 and fp16, plain and with every variant bit: no spills, no stack.
TEST(HopperCompile, HeadDim256Compiles) {
  const KernelTemplate& t = find_template("hopper_fwd");
  jit::CompileRequest r = run::make_request(std::string(t.source_file()), "", "sm_90a");
  r.name_expressions.clear();
  std::vector<std::pair<ParamValues, ProblemVariant>> e;
  for (bool causal : {false, true})
    for (DType dt : {DType::bf16, DType::f16})
      for (int bits : {0, 7}) {
        const ProblemVariant pv{.head_dim = 256,
                                .dtype = dt,
                                .causal = causal,
                                .general = bits != 0,
                                .window = bits != 0,
                                .softcap = bits != 0};
        const ParamValues v = t.default_config(pv);
        EXPECT_EQ(v.at("block_n"), 64);
        EXPECT_EQ(v.at("consumer_wgs"), 1);
        ASSERT_FALSE(t.invalid_reason(v, pv)) << *t.invalid_reason(v, pv);
        r.name_expressions.push_back(t.name_expression(v, pv));
        e.emplace_back(v, pv);
      }
  jit::CubinCache cache;
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile({r}, cache);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].ok) << results[0].log;
  for (const auto& [v, pv] : e) {
    const std::string expr = t.name_expression(v, pv);
    SCOPED_TRACE(expr);
    const jit::PtxasInfo* f = results[0].ptxas_for(results[0].lowered_names.at(expr));
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->spill_store_bytes + f->spill_load_bytes, 0);
    EXPECT_EQ(f->stack_bytes, 0);
  }
  EXPECT_FALSE(unsupported_reason(t, t.default_config(ProblemVariant{.head_dim = 256}),
                                  AttentionProblem{.batch = 1, .heads = 2, .seqlen = 100, .head_dim = 256}));
}

// head_dim 96 (32-column TMA boxes, 64-byte swizzle, wgmma layout type 2): every configuration of
// search_spaces/hopper_fwd.yaml the template admits at d 96, causal, bf16 (and the default not causal); the
// default for d 96 in fp16; the default for each variant, causal and not: no spills, no stack, and (with
// cuobjdump) the P V product as HGMMA.64x96x16, TMA loads (4-D for the general variant), no local-memory
// traffic.
TEST(HopperCompile, HeadDim96Compiles) {
  const space::SearchSpace s = space::load_search_space(space::search_space_dir() / "hopper_fwd.yaml");
  const KernelTemplate& t = find_template("hopper_fwd");
  jit::CompileRequest r = run::make_request(std::string(t.source_file()), "", "sm_90a");
  r.name_expressions.clear();
  std::vector<std::pair<ParamValues, ProblemVariant>> e;
  std::set<std::string> seen;
  auto add = [&](const ParamValues& v, const ProblemVariant& pv) {
    ASSERT_FALSE(t.invalid_reason(v, pv)) << *t.invalid_reason(v, pv);
    if (!seen.insert(t.name_expression(v, pv)).second) return;
    r.name_expressions.push_back(t.name_expression(v, pv));
    e.emplace_back(v, pv);
  };
  // The grid causal only (the CI's compile budget: the causal mask is the heavier build); the default also
  // without it.
  const AttentionProblem p = problem_for(96, true);
  for (const ParamValues& v : space::enumerate(s, p).kept)
    if (!t.invalid_reason(v, variant_of(p))) add(v, variant_of(p));
  // d 128's 33, and block_n 176 with 3 stages (over 227 KiB at d 128) with one or two consumer warpgroups.
  ASSERT_EQ(e.size(), 39u);
  const ProblemVariant plain{.head_dim = 96, .dtype = DType::bf16, .causal = false};
  add(t.default_config(plain), plain);
  const ProblemVariant f16{.head_dim = 96, .dtype = DType::f16, .causal = true};
  add(t.default_config(f16), f16);
  for (bool causal : {false, true})
    for (int bits : {1, 2, 4, 7}) {
      const ProblemVariant pv{.head_dim = 96,
                              .dtype = DType::bf16,
                              .causal = causal,
                              .general = (bits & 1) != 0,
                              .window = (bits & 2) != 0,
                              .softcap = (bits & 4) != 0};
      add(t.default_config(pv), pv);
    }
  jit::CubinCache cache;
  jit::CompilePool pool(2, jit::default_worker_command());
  // Two programs (every other kernel), so that the pool's two workers share the compile.
  std::vector<jit::CompileRequest> halves(2, r);
  for (auto& h : halves) h.name_expressions.clear();
  for (std::size_t i = 0; i < r.name_expressions.size(); ++i)
    halves[i % 2].name_expressions.push_back(r.name_expressions[i]);
  const auto results = pool.compile(halves, cache);
  ASSERT_EQ(results.size(), 2u);
  const std::string cuobjdump = find_cuobjdump();
  std::vector<std::optional<std::map<std::string, std::string>>> sass_of(2);
  for (int g = 0; g < 2; ++g) {
    ASSERT_TRUE(results[g].ok) << results[g].log;
    EXPECT_EQ(results[g].log.find("C7514"), std::string::npos) << "wgmma serialized:\n" << results[g].log;
    if (!cuobjdump.empty()) sass_of[g] = sass_by_function(cuobjdump, results[g].cubin);
  }
  for (const auto& [v, pv] : e) {
    const std::string expr = t.name_expression(v, pv);
    SCOPED_TRACE(expr);
    const int g = results[0].lowered_names.count(expr) != 0 ? 0 : 1;
    const std::optional<std::map<std::string, std::string>>& sass = sass_of[g];
    const std::string& lowered = results[g].lowered_names.at(expr);
    const jit::PtxasInfo* f = results[g].ptxas_for(lowered);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->spill_store_bytes + f->spill_load_bytes, 0);
    EXPECT_EQ(f->stack_bytes, 0);
    EXPECT_GT(f->registers, 32);
    const AttentionProblem p = problem_for(96, pv.causal, pv.dtype);
    const KernelLaunch l = t.launch(v, p);
    EXPECT_TRUE(check_resources(f->registers, static_cast<int>(l.threads), l.dynamic_smem).fits);
    const std::vector<TensorMapRequest> maps = t.tensor_maps(v, pv);
    ASSERT_EQ(maps.size(), 3u);
    for (const TensorMapRequest& m : maps) {
      EXPECT_EQ(m.box_cols, 32);
      EXPECT_EQ(m.swizzle_bytes, 64);
    }
    if (sass) {
      auto it = sass->find(lowered);
      ASSERT_NE(it, sass->end()) << "no SASS for " << lowered;
      const std::string& code = it->second;
      EXPECT_NE(code.find("HGMMA.64x96x16"), std::string::npos);
      EXPECT_NE(code.find(pv.general ? "UTMALDG.4D" : "UTMALDG.3D"), std::string::npos);
      EXPECT_EQ(code.find("LDL"), std::string::npos);
      EXPECT_EQ(code.find("STL"), std::string::npos);
    }
  }
}

// Configurations the host rejects fail on the template's static_asserts too: tests/kernels/
// test_templates_compile.cpp (TemplatesCompile.ConfigurationsTheHostRejectsFailOnStaticAsserts) has the
// hopper_fwd cases beside the other templates'.

TEST(HopperCompile, OnlySm90aIsSupported) {
  const KernelTemplate& t = find_template("hopper_fwd");
  EXPECT_FALSE(t.unsupported_arch("sm_90a").has_value());
  for (const char* arch : {"sm_80", "sm_90", "sm_100a"}) {
    const std::optional<std::string> why = t.unsupported_arch(arch);
    ASSERT_TRUE(why.has_value()) << arch;
    EXPECT_NE(why->find("sm_90a"), std::string::npos) << *why;
  }
  // The other templates build anywhere.
  EXPECT_FALSE(find_template("fa2_fwd").unsupported_arch("sm_80").has_value());
}

}  // namespace
}  // namespace flashtune
