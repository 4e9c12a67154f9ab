// What each template runs beyond the plain problem (TemplateSupport), and the reason a configuration is
// pruned for a problem outside it: unsupported_reason, and run::Instance::try_make, which every path (tune,
// check, bench, the runtime) builds its configurations with.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"
#include "kernels/kernel_template.hpp"
#include "run/instance.hpp"

namespace flashtune {
namespace {

AttentionProblem plain() {
  return {.batch = 2, .heads = 8, .seqlen = 512, .head_dim = 128};
}

std::string reason_of(const KernelTemplate& t, const AttentionProblem& p) {
  return unsupported_reason(t, t.default_config(variant_of(p)), p).value_or("");
}

TEST(TemplateSupport, EveryTemplateRunsThePlainProblemAndSaysWhatElse) {
  for (const std::string& id : template_ids()) {
    const KernelTemplate& t = find_template(id);
    const ParamValues v = t.default_config(variant_of(plain()));
    const TemplateSupport s = t.support(v);
    ASSERT_EQ(s.passes.size(), 1u) << id;  // a template computes one pass
    AttentionProblem p = plain();
    p.pass = s.passes.front();
    EXPECT_FALSE(unsupported_reason(t, v, p)) << id;
    AttentionProblem other = plain();
    other.pass = p.pass == Pass::fwd ? Pass::bwd : Pass::fwd;
    EXPECT_NE(reason_of(t, other).find(fmt::format("the {} pass", to_string(other.pass))), std::string::npos)
        << id;
    for (int d : s.head_dims) EXPECT_TRUE(d == 64 || d == 96 || d == 128 || d == 256) << id << " " << d;
    EXPECT_FALSE(s.layouts.empty()) << id;
  }
}

TEST(TemplateSupport, AProblemOutsideItIsRefusedWithTheReason) {
  // fa2_fwd's persistent schedule runs the plain problem only; its one-tile schedule runs every variant.
  const KernelTemplate& t = find_template("fa2_fwd");
  const ParamValues persistent = {
      {"block_m", 128}, {"block_n", 64}, {"warps", 4}, {"stages", 1}, {"persistent", 1}};
  const ParamValues one_tile = t.default_config(variant_of(plain()));
  auto reason = [&](const ParamValues& v, const AttentionProblem& p) {
    return unsupported_reason(t, v, p).value_or("");
  };
  AttentionProblem p = plain();
  p.kv_heads = 2;
  EXPECT_EQ(reason(persistent, p), "fa2_fwd does not support grouped key/value heads (kv_heads 2 < heads 8)");
  EXPECT_EQ(reason(one_tile, p), "");
  p = plain();
  p.seqlen_k = 4096;
  EXPECT_EQ(reason(persistent, p), "fa2_fwd does not support unequal lengths (seqlen 512, seqlen_k 4096)");
  EXPECT_EQ(reason(one_tile, p), "");
  p = plain();
  p.window_left = 128;
  EXPECT_EQ(reason(persistent, p), "fa2_fwd does not support a window (left 128, right -1)");
  EXPECT_EQ(reason(one_tile, p), "");
  p = plain();
  p.softcap = 30;
  EXPECT_EQ(reason(persistent, p), "fa2_fwd does not support softcap (30)");
  EXPECT_EQ(reason(one_tile, p), "");
  p = plain();
  p.layout = Layout::bshd;
  EXPECT_EQ(reason(persistent, p), "fa2_fwd does not support the bshd layout");
  EXPECT_EQ(reason(one_tile, p), "");
  p = plain();
  p.head_dim = 256;
  EXPECT_EQ(reason(one_tile, p), "fa2_fwd does not support head_dim 256 (it has 64, 96, 128)");
  std::string why;
  EXPECT_FALSE(run::Instance::try_make(t, t.default_config(variant_of(p)), p, &why));
  EXPECT_NE(why.find("does not support head_dim 256"), std::string::npos) << why;
  // hopper_fwd: the one-tile grid runs the variants (its default for them), the persistent one the plain
  // problem only.
  const KernelTemplate& h = find_template("hopper_fwd");
  p = plain();
  p.kv_heads = 4;
  p.layout = Layout::bshd;
  EXPECT_EQ(reason_of(h, p), "");
  ParamValues hp = h.default_config(variant_of(plain()));
  ASSERT_EQ(hp.at("persistent"), 1);
  EXPECT_NE(
      unsupported_reason(h, hp, p).value_or("").find("hopper_fwd does not support grouped key/value heads"),
      std::string::npos);
  p.head_dim = 96;
  EXPECT_EQ(reason_of(h, p), "");
  p.head_dim = 256;
  EXPECT_EQ(reason_of(h, p), "");
}

// head_dim 96: fa2_fwd (every schedule) and hopper_fwd (persistent or not) run it, the variants included; the
// other templates prune it with the reason, and so does a head_dim no template takes.
TEST(TemplateSupport, HeadDim96RunsOnFa2AndHopper) {
  AttentionProblem p = plain();
  p.head_dim = 96;
  for (const char* id : {"fa2_fwd", "hopper_fwd"}) {
    const KernelTemplate& t = find_template(id);
    EXPECT_EQ(reason_of(t, p), "") << id;
    AttentionProblem g = p;
    g.kv_heads = 2;
    g.window_left = 64;
    g.softcap = 30;
    g.layout = Layout::bshd;
    EXPECT_EQ(reason_of(t, g), "") << id;
    EXPECT_FALSE(t.invalid_reason(t.default_config(variant_of(g)), variant_of(g))) << id;
  }
  const KernelTemplate& fa2 = find_template("fa2_fwd");
  const ParamValues persistent = {
      {"block_m", 128}, {"block_n", 64}, {"warps", 4}, {"stages", 1}, {"persistent", 1}};
  EXPECT_EQ(unsupported_reason(fa2, persistent, p).value_or(""), "");
  EXPECT_FALSE(fa2.invalid_reason(persistent, variant_of(p)));
  for (const char* id : {"standard_attn", "fa1_fwd"}) {
    const KernelTemplate& t = find_template(id);
    EXPECT_EQ(reason_of(t, p), std::string(id) + " does not support head_dim 96 (it has 64, 128)");
  }
  const KernelTemplate& h = find_template("hopper_fwd");
  const std::optional<std::string> why =
      h.invalid_reason(h.default_config(variant_of(p)), ProblemVariant{.head_dim = 80});
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "head_dim 80 is not 64, 96, 128 or 256");
  // hopper_fwd's d 96 tiles are TMA boxes of 32 columns with the 64-byte swizzle; the others 64 and 128.
  for (const TensorMapRequest& m : h.tensor_maps(h.default_config(variant_of(p)), variant_of(p))) {
    EXPECT_EQ(m.box_cols, 32);
    EXPECT_EQ(m.swizzle_bytes, 64);
  }
  p.head_dim = 128;
  for (const TensorMapRequest& m : h.tensor_maps(h.default_config(variant_of(p)), variant_of(p))) {
    EXPECT_EQ(m.box_cols, 64);
    EXPECT_EQ(m.swizzle_bytes, 128);
  }
}

TEST(TemplateSupport, AnInstanceIsNotMovedToAProblemItCannotRun) {
  const KernelTemplate& t = find_template("fa2_fwd");
  const run::Instance inst = run::Instance::make(t, t.default_config(variant_of(plain())), plain());
  AttentionProblem bigger = plain();
  bigger.seqlen = 4096;
  EXPECT_EQ(inst.for_problem(bigger).problem().seqlen, 4096);
  // Another variant needs other kernels: a GQA problem is not the plain instance's, even where supported.
  AttentionProblem grouped = plain();
  grouped.kv_heads = 4;
  EXPECT_THROW((void)inst.for_problem(grouped), Error);
  EXPECT_EQ(variant_of(grouped).bits(), 1);
}

TEST(TemplateSupport, Fa2InstancesOfTheVariantsNameTheirKernel) {
  const KernelTemplate& t = find_template("fa2_fwd");
  AttentionProblem p = plain();
  p.kv_heads = 2;
  p.seqlen_k = 4096;
  p.seqlen = 1;
  p.causal = true;
  run::Instance inst = run::Instance::make(t, t.default_config(variant_of(p)), p);
  EXPECT_EQ(inst.name_expressions().front().substr(inst.name_expressions().front().size() - 4), ", 1>");
  EXPECT_EQ(inst.launches().front().grid[0], 1u);   // one query tile
  EXPECT_EQ(inst.launches().front().grid[1], 16u);  // batch * heads
  p.window_left = 64;
  p.softcap = 30;
  inst = run::Instance::make(t, t.default_config(variant_of(p)), p);
  EXPECT_NE(inst.label().find("general window softcap"), std::string::npos) << inst.label();
  EXPECT_EQ(inst.name_expressions().front().substr(inst.name_expressions().front().size() - 4), ", 7>");
}

// fa2_bwd runs the backward of the variants it has (grouped heads, unequal lengths, a window, bshd) and
// refuses the others with the reason, so that a backward search space never compiles or runs them.
TEST(TemplateSupport, Fa2BwdRunsItsBackwardVariantsAndRefusesTheRest) {
  const KernelTemplate& t = find_template("fa2_bwd");
  AttentionProblem p = plain();
  p.pass = Pass::bwd;
  p.kv_heads = 2;
  p.seqlen_k = 1000;
  p.causal = true;
  p.window_left = 100;
  p.layout = Layout::bshd;
  EXPECT_EQ(reason_of(t, p), "");
  run::Instance inst = run::Instance::make(t, t.default_config(variant_of(p)), p);
  ASSERT_EQ(inst.name_expressions().size(), 3u);  // D and the zeroed accumulator, the main loop, dQ
  EXPECT_EQ(inst.name_expressions()[1].substr(inst.name_expressions()[1].size() - 4), ", 3>");
  ASSERT_EQ(inst.launches().size(), 3u);
  EXPECT_EQ(inst.launches()[1].grid[0], 8u);                      // ceil(1000 / 128) key tiles
  EXPECT_EQ(inst.launches()[1].grid[1], 4u);                      // batch * kv_heads
  EXPECT_EQ(inst.launches()[0].grid[0], (2u * 8 * 512 + 3) / 4);  // a warp per query row
  EXPECT_GT(inst.workspace_bytes(), 0u);
  AttentionProblem cap = plain();
  cap.pass = Pass::bwd;
  cap.softcap = 30;
  EXPECT_EQ(reason_of(t, cap), "fa2_bwd does not support softcap (30)");
  AttentionProblem varlen = varlen_problem(plain(), {100, 200});
  varlen.pass = Pass::bwd;
  EXPECT_EQ(reason_of(t, varlen), "fa2_bwd does not support the thd layout (variable lengths)");
  AttentionProblem sparse = plain();
  sparse.pass = Pass::bwd;
  sparse.sparse_block = 128;
  sparse.sparse_density = 0.5f;
  EXPECT_EQ(reason_of(t, sparse), "fa2_bwd does not support block-sparse layouts");
  AttentionProblem d96 = plain();
  d96.pass = Pass::bwd;
  d96.head_dim = 96;
  EXPECT_EQ(reason_of(t, d96), "fa2_bwd does not support head_dim 96 (it has 64, 128)");
  std::string why;
  EXPECT_FALSE(run::Instance::try_make(t, t.default_config(variant_of(cap)), cap, &why));
  EXPECT_NE(why.find("does not support softcap"), std::string::npos) << why;
}

}  // namespace
}  // namespace flashtune
