// The IO model against the H100's counters (label gpu): for FlashAttention-2 configurations that do not
// spill, the L2 traffic as the SMs see it (bytes L2 delivers to the SMs plus the sectors they write) is
// within 10% of the model's requested bytes, and DRAM is within 10% of the model's estimate. lts__t_bytes
// (the L2 slices' own count, after Hopper's L2 request coalescer and with DRAM fills) is printed beside it,
// not asserted.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>

#include "gpu/driver_api.hpp"
#include "iomodel/io_model.hpp"
#include "jit/cubin_cache.hpp"
#include "kernels/kernel_template.hpp"
#include "run/kernel_loader.hpp"
#include "run/trial_runner.hpp"

namespace flashtune {
namespace {

double extra(const run::ProfileResult& p, const std::string& name) {
  auto it = p.extra.find(name);
  return it == p.extra.end() ? NAN : it->second;
}

TEST(IoModelGpu, Fa2L2BytesAsTheSmsSeeThemMatchTheModel) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  const KernelTemplate& t = find_template("fa2_fwd");
  run::TrialRunner runner(jit::CubinCache::default_dir());
  const std::vector<AttentionProblem> problems = {
      {.batch = 16, .heads = 32, .seqlen = 1024, .head_dim = 64},
      {.batch = 4, .heads = 32, .seqlen = 4096, .head_dim = 64},
      {.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 128, .causal = true},
  };
  const std::vector<ParamValues> configs = {
      {{"block_m", 128}, {"block_n", 64}, {"stages", 2}, {"warps", 4}},
      {{"block_m", 128}, {"block_n", 32}, {"stages", 1}, {"warps", 8}},
      {{"block_m", 64}, {"block_n", 64}, {"stages", 1}, {"warps", 4}},
  };
  int checked = 0;
  for (const AttentionProblem& p : problems) {
    runner.set_problem(p, 7, /*verify=*/false);
    for (const ParamValues& v : configs) {
      const std::vector<std::string> exprs = t.name_expressions(v, variant_of(p));
      jit::CompileRequest req =
          run::make_request(std::string(t.source_file()), exprs[0], runner.device().arch());
      req.name_expressions = exprs;
      const jit::CompileResult r = jit::compile_cached(req, jit::CubinCache());
      ASSERT_TRUE(r.ok) << r.log;
      run::TrialSpec spec;
      spec.label = to_string(v);
      for (const std::string& x : exprs) spec.kernels.push_back({r.cache_key, r.lowered_names.at(x), x});
      spec.launches = t.launches(v, p);
      const run::ProfileResult prof = runner.profile(spec, false);
      ASSERT_TRUE(prof.available) << prof.why;

      iomodel::ModelInputs in{.template_id = "fa2_fwd", .problem = p, .params = v};
      in.l2_bytes = runner.device().l2_bytes;
      in.sm_count = runner.device().sm_count;
      in.blocks_per_sm = 1;
      const iomodel::IoEstimate est = iomodel::estimate(in);
      const double sm_side = extra(prof, "l1tex__m_xbar2l1tex_read_bytes.sum") +
                             32.0 * extra(prof, "lts__t_sectors_srcunit_tex_op_write.sum");
      const double dram = prof.dram_read_bytes + prof.dram_write_bytes;
      std::printf(
          "%-28s %-44s L2(SM side) %8.1f MB model %8.1f MB (%.3fx) | lts %8.1f MB | DRAM %7.1f MB model "
          "%7.1f MB (%.3fx)\n",
          p.to_string().c_str(), spec.label.c_str(), sm_side / 1e6, est.requested.total() / 1e6,
          sm_side / est.requested.total(), prof.l2_bytes / 1e6, dram / 1e6, est.dram.total() / 1e6,
          dram / est.dram.total());
      EXPECT_NEAR(sm_side / est.requested.total(), 1.0, 0.10) << p.to_string() << " " << spec.label;
      EXPECT_NEAR(dram / est.dram.total(), 1.0, 0.10) << p.to_string() << " " << spec.label;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 9);
}

}  // namespace
}  // namespace flashtune
