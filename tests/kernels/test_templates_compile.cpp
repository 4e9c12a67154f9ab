// NVRTC compiles, for sm_90a, every configuration of search_spaces/standard_attn.yaml and fa1_fwd.yaml that
// its template admits, at d 64 and 128, causal and not, bf16 (no GPU needed); ptxas' facts are sane and every
// kernel fits an H100 SM. All kernels of one (template, head_dim) go into one NVRTC program (standard_attn's
// scores and P·V kernels do not depend on causal: its two softmax kernels share the program), so the front
// end runs 4 times; the programs compile in 2 worker processes. The whole grid is compiled, not a subset:
// 162 distinct kernels, 1-2.5 minutes on 2 cores. And configurations the host rejects really fail to
// compile, on the template's static_asserts; and what the host asks a launch for equals the typed
// shared-memory layouts (kernel_templates/testing/smem_probe.cuh).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <array>
#include <set>

#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/fa2_config.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/resource_check.hpp"
#include "run/kernel_loader.hpp"
#include "space/enumerate.hpp"
#include "space/space_loader.hpp"

namespace flashtune {
namespace {

// One admitted configuration on one variant, and the problem its launches are computed for.
struct Entry {
  ParamValues params;
  AttentionProblem problem;
};

struct Program {
  std::string template_id;
  int head_dim = 0;
  std::vector<Entry> entries;
};

AttentionProblem problem_for(int d, bool causal) {
  return AttentionProblem{
      .batch = 2, .heads = 3, .seqlen = 1024, .head_dim = d, .dtype = DType::bf16, .causal = causal};
}

std::vector<Program> programs() {
  std::vector<Program> out;
  for (const std::string id : {"standard_attn", "fa1_fwd"}) {
    const space::SearchSpace s = space::load_search_space(space::search_space_dir() / (id + ".yaml"));
    const KernelTemplate& t = find_template(id);
    for (int d : {64, 128}) {
      Program prog{id, d, {}};
      for (bool causal : {false, true}) {
        const AttentionProblem p = problem_for(d, causal);
        for (const ParamValues& v : space::enumerate(s, p).kept)
          if (!t.invalid_reason(v, variant_of(p))) prog.entries.push_back({v, p});
      }
      out.push_back(std::move(prog));
    }
  }
  return out;
}

TEST(TemplatesCompile, EverySearchSpaceConfigurationCompilesForHopper) {
  const std::vector<Program> progs = programs();
  std::vector<jit::CompileRequest> requests;
  for (const Program& prog : progs) {
    const KernelTemplate& t = find_template(prog.template_id);
    ASSERT_FALSE(prog.entries.empty()) << prog.template_id << " d" << prog.head_dim;
    std::set<std::string> seen;
    jit::CompileRequest r = run::make_request(std::string(t.source_file()), "", "sm_90a");
    r.name_expressions.clear();
    for (const Entry& e : prog.entries)
      for (const std::string& expr : t.name_expressions(e.params, variant_of(e.problem)))
        if (seen.insert(expr).second) r.name_expressions.push_back(expr);
    requests.push_back(std::move(r));
  }
  jit::CubinCache cache;  // default_dir(): cache_dir() / "cubin"
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile(requests, cache);
  ASSERT_EQ(results.size(), requests.size());

  std::map<std::string, int> configs;
  for (std::size_t g = 0; g < results.size(); ++g) {
    const Program& prog = progs[g];
    const KernelTemplate& t = find_template(prog.template_id);
    const jit::CompileResult& res = results[g];
    ASSERT_TRUE(res.ok) << prog.template_id << " d" << prog.head_dim << ":\n" << res.log;
    EXPECT_FALSE(res.cubin.empty());
    for (const Entry& e : prog.entries) {
      const ProblemVariant pv = variant_of(e.problem);
      const std::vector<std::string> exprs = t.name_expressions(e.params, pv);
      const std::vector<KernelLaunch> launches = t.launches(e.params, e.problem);
      ASSERT_EQ(exprs.size(), launches.size());
      EXPECT_EQ(exprs.front(), t.name_expression(e.params, pv));
      int largest_smem = 0;
      for (std::size_t k = 0; k < exprs.size(); ++k) {
        SCOPED_TRACE(
            fmt::format("{} {} ({}): {}", prog.template_id, to_string(e.params), to_string(pv), exprs[k]));
        auto it = res.lowered_names.find(exprs[k]);
        ASSERT_NE(it, res.lowered_names.end());
        const jit::PtxasInfo* f = res.ptxas_for(it->second);
        ASSERT_NE(f, nullptr);
        EXPECT_GT(f->registers, 32);  // fewer means the kernel compiled to nothing
        EXPECT_LE(f->registers, 255);
        EXPECT_EQ(f->static_smem_bytes, 0);  // all shared memory is dynamic
        if (launches[k].dynamic_smem > 0) {
          EXPECT_GE(f->barriers, 1);
        }
        const ResourceFit fit =
            check_resources(f->registers, static_cast<int>(launches[k].threads), launches[k].dynamic_smem);
        EXPECT_TRUE(fit.fits) << fit.limited_by;
        largest_smem = std::max(largest_smem, launches[k].dynamic_smem);
      }
      EXPECT_EQ(t.smem_bytes(e.params, pv), largest_smem);
      ++configs[prog.template_id];
    }
  }
  // Causal and not (the yaml files' comments count them): standard_attn 31 (d64) and 22 (d128), fa1_fwd 20
  // and 15.
  EXPECT_EQ(configs["standard_attn"], 2 * 31 + 2 * 22);
  EXPECT_EQ(configs["fa1_fwd"], 2 * 20 + 2 * 15);
}

// A configuration the host rejects, the name expression it would have had, and a word of the static_assert
// NVRTC must report.
struct Rejected {
  std::string template_id;
  ParamValues params;
  int head_dim;
  std::string expression;
  std::string assert_text;
};

TEST(TemplatesCompile, ConfigurationsTheHostRejectsFailOnStaticAsserts) {
  const std::vector<Rejected> cases = {
      {"standard_attn",
       {{"block_m", 128}, {"block_n", 96}, {"warps", 4}, {"stages", 2}},
       64,
       "flashtune::standard_scores<128, 96, 64, 4, __nv_bfloat16>",
       "multiple of 64"},
      {"standard_attn",
       {{"block_m", 256}, {"block_n", 512}, {"warps", 8}, {"stages", 1}},
       64,
       "flashtune::standard_pv<256, 512, 64, 8, 1, __nv_bfloat16>",
       "227 KiB"},
      {"standard_attn",
       {{"block_m", 64}, {"block_n", 64}, {"warps", 8}, {"stages", 1}},
       128,
       "flashtune::standard_pv<64, 64, 128, 8, 1, __nv_bfloat16>",
       "whole 16-row MMA tiles"},
      {"fa1_fwd",
       {{"block_m", 256}, {"block_n", 256}, {"warps", 8}},
       128,
       "flashtune::fa1_fwd<flashtune::Fa1Traits<256, 256, 128, 8>, false, __nv_bfloat16>",
       "227 KiB"},
      {"fa1_fwd",
       {{"block_m", 256}, {"block_n", 64}, {"warps", 2}},
       64,
       "flashtune::fa1_fwd<flashtune::Fa1Traits<256, 64, 64, 2>, true, __nv_bfloat16>",
       "64 query rows per warp"},
      {"fa1_fwd",
       {{"block_m", 64}, {"block_n", 40}, {"warps", 4}},
       64,
       "flashtune::fa1_fwd<flashtune::Fa1Traits<64, 40, 64, 4>, false, __nv_bfloat16>",
       "multiple of 16"},
      {"hopper_fwd",
       {{"block_n", 80}, {"consumer_wgs", 2}, {"stages", 2}},
       64,
       "flashtune::hopper_fwd<flashtune::HopperTraits<80, 64, 2, 2, false, false>, false, __nv_bfloat16>",
       "wgmma_shapes.h"},
      {"hopper_fwd",
       {{"block_n", 256}, {"consumer_wgs", 2}, {"stages", 3}},
       128,
       "flashtune::hopper_fwd<flashtune::HopperTraits<256, 128, 2, 3, false, false>, false, __nv_bfloat16>",
       "227 KiB"},
      {"hopper_fwd",
       {{"block_n", 128}, {"consumer_wgs", 1}, {"stages", 2}, {"pingpong", 1}},
       128,
       "flashtune::hopper_fwd<flashtune::HopperTraits<128, 128, 1, 2, true, false>, false, __nv_bfloat16>",
       "ping-pong needs 2 or 3"},
  };
  std::vector<jit::CompileRequest> requests;
  for (const Rejected& c : cases) {
    const KernelTemplate& t = find_template(c.template_id);
    const ProblemVariant pv{c.head_dim, DType::bf16, false};
    EXPECT_TRUE(t.invalid_reason(c.params, pv).has_value()) << c.expression;
    EXPECT_THROW(t.name_expressions(c.params, pv), Error) << c.expression;
    requests.push_back(run::make_request(std::string(t.source_file()), c.expression, "sm_90a"));
  }
  jit::CubinCache cache;
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results = pool.compile(requests, cache);
  ASSERT_EQ(results.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_FALSE(results[i].ok) << cases[i].expression << " compiled";
    EXPECT_NE(results[i].log.find("static assertion"), std::string::npos) << results[i].log;
    EXPECT_NE(results[i].log.find(cases[i].assert_text), std::string::npos) << results[i].log;
  }
}

// What the host asks a launch for equals the kernels' typed shared-memory layouts: one program whose probes
// static_assert equality for several configurations of each template compiles, and one probe off by 8 bytes
// (one mbarrier) does not.
TEST(TemplatesCompile, SharedMemoryOfTheHostMatchesTheTypedLayouts) {
  std::vector<std::string> exact;
  std::string off_by_one_barrier;
  const KernelTemplate& hopper = find_template("hopper_fwd");
  for (const auto& [bn, d, wgs, stages] : std::vector<std::array<int, 4>>{
           {128, 128, 2, 2}, {128, 128, 2, 3}, {192, 128, 2, 2}, {128, 64, 3, 3}}) {
    const ParamValues v = {{"block_n", bn}, {"consumer_wgs", wgs}, {"stages", stages}};
    const int host = hopper.smem_bytes(v, ProblemVariant{d, DType::bf16, false});
    exact.push_back(
        fmt::format("flashtune::hopper_smem_probe<{}, {}, {}, {}, {}>", bn, d, wgs, stages, host));
    if (off_by_one_barrier.empty())
      off_by_one_barrier =
          fmt::format("flashtune::hopper_smem_probe<{}, {}, {}, {}, {}>", bn, d, wgs, stages, host - 8);
  }
  for (const auto& [bm, bn, d, w, stages, persistent] :
       std::vector<std::array<int, 6>>{{128, 64, 128, 4, 1, 0},
                                       {128, 64, 128, 4, 1, 1},
                                       {128, 128, 64, 4, 2, 0},
                                       {64, 32, 64, 4, 3, 0}}) {
    Fa2Config c{bm, bn, w, stages};
    c.persistent = persistent;
    exact.push_back(fmt::format("flashtune::fa2_smem_probe<{}, {}, {}, {}, {}, {}, {}>", bm, bn, d, w, stages,
                                persistent, fa2::smem_bytes(c, d)));
  }
  jit::CompileRequest ok = run::make_request("testing/smem_probe.cuh", exact.front(), "sm_90a");
  ok.name_expressions = exact;
  jit::CubinCache cache;
  jit::CompilePool pool(2, jit::default_worker_command());
  const auto results =
      pool.compile({ok, run::make_request("testing/smem_probe.cuh", off_by_one_barrier, "sm_90a")}, cache);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok) << results[0].log;
  EXPECT_FALSE(results[1].ok) << off_by_one_barrier << " compiled";
  EXPECT_NE(results[1].log.find("smem layout: hopper_fwd"), std::string::npos) << results[1].log;
}

}  // namespace
}  // namespace flashtune
