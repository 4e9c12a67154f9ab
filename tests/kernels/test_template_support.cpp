// What each template runs beyond the plain problem (TemplateSupport), and the reason a configuration is
// pruned for a problem outside it: unsupported_reason, and run::Instance::try_make, which every path (tune,
// check, bench, the runtime) builds its configurations with.
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

TEST(TemplateSupport, EveryTemplateRunsThePlainProblemAndSaysWhatElse) {
  for (const std::string& id : template_ids()) {
    const KernelTemplate& t = find_template(id);
    const ParamValues v = t.default_config(variant_of(plain()));
    EXPECT_FALSE(unsupported_reason(t, v, plain())) << id;
    const TemplateSupport s = t.support(v);
    for (int d : s.head_dims) EXPECT_TRUE(d == 64 || d == 96 || d == 128 || d == 256) << id << " " << d;
    EXPECT_FALSE(s.layouts.empty()) << id;
  }
}

TEST(TemplateSupport, AProblemOutsideItIsRefusedWithTheReason) {
  const KernelTemplate& t = find_template("fa2_fwd");
  const ParamValues v = t.default_config(variant_of(plain()));
  const TemplateSupport s = t.support(v);
  auto reason = [&](const AttentionProblem& p) { return unsupported_reason(t, v, p).value_or(""); };
  AttentionProblem p = plain();
  p.kv_heads = 2;
  if (!s.grouped_heads) {
    EXPECT_EQ(reason(p), "fa2_fwd does not support grouped key/value heads (kv_heads 2 < heads 8)");
  }
  p = plain();
  p.seqlen_k = 4096;
  if (!s.unequal_lengths) {
    EXPECT_EQ(reason(p), "fa2_fwd does not support unequal lengths (seqlen 512, seqlen_k 4096)");
  }
  p = plain();
  p.window_left = 128;
  if (!s.window) {
    EXPECT_EQ(reason(p), "fa2_fwd does not support a window (left 128, right -1)");
  }
  p = plain();
  p.softcap = 30;
  if (!s.softcap) {
    EXPECT_EQ(reason(p), "fa2_fwd does not support softcap (30)");
  }
  p = plain();
  p.layout = Layout::bshd;
  if (s.layouts.size() == 1) {
    EXPECT_EQ(reason(p), "fa2_fwd does not support the bshd layout");
  }
  p = plain();
  p.head_dim = 256;
  if (s.head_dims == std::vector<int>{64, 128}) {
    EXPECT_EQ(reason(p), "fa2_fwd does not support head_dim 256 (it has 64, 128)");
    std::string why;
    EXPECT_FALSE(run::Instance::try_make(t, t.default_config(variant_of(p)), p, &why));
    EXPECT_NE(why.find("does not support head_dim 256"), std::string::npos) << why;
  }
}

TEST(TemplateSupport, AnInstanceIsNotMovedToAProblemItCannotRun) {
  const KernelTemplate& t = find_template("fa2_fwd");
  const run::Instance inst = run::Instance::make(t, t.default_config(variant_of(plain())), plain());
  AttentionProblem bigger = plain();
  bigger.seqlen = 4096;
  EXPECT_EQ(inst.for_problem(bigger).problem().seqlen, 4096);
  AttentionProblem grouped = plain();
  grouped.kv_heads = 4;
  if (!t.support(inst.params()).grouped_heads) {
    EXPECT_THROW((void)inst.for_problem(grouped), Error);
  }
}

}  // namespace
}  // namespace flashtune
