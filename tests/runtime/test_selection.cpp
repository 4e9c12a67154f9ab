// The runtime's choice of template and configuration (runtime/selection.hpp), without a GPU or a store.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/error.hpp"
#include "runtime/selection.hpp"
#include "store/problem_key.hpp"

namespace flashtune::runtime {
namespace {

const AttentionProblem kProblem{.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 128};

store::BestEntry tuned(const AttentionProblem& on, ParamValues params, double tflops) {
  store::BestEntry e;
  e.key.problem = store::ProblemKey::of(on, 232448);
  e.problem = on;
  e.params = std::move(params);
  e.tflops = tflops;
  return e;
}

const ParamValues kHopperTuned = {{"block_n", 176}, {"consumer_wgs", 2}, {"stages", 2}, {"pingpong", 1}};
const ParamValues kFa2Tuned = {{"block_m", 128}, {"block_n", 64}, {"warps", 4}, {"stages", 2}};

std::vector<Candidate> both(std::optional<store::BestEntry> hopper, std::optional<store::BestEntry> fa2) {
  return {{&find_template("hopper_fwd"), std::move(hopper)}, {&find_template("fa2_fwd"), std::move(fa2)}};
}

TEST(Selection, PreferenceOrderPerArchitecture) {
  EXPECT_EQ(default_preference("sm_90a"), (std::vector<std::string>{"hopper_fwd", "fa2_fwd"}));
  EXPECT_EQ(default_preference("sm_80"), (std::vector<std::string>{"fa2_fwd"}));
}

TEST(Selection, NothingTunedTakesTheFirstTemplatesDefault) {
  const Choice ch = choose(both({}, {}), kProblem, "sm_90a");
  EXPECT_EQ(ch.kernel_template->id(), "hopper_fwd");
  EXPECT_EQ(ch.source, ChoiceSource::builtin_default);
  EXPECT_EQ(ch.params, find_template("hopper_fwd").default_config(variant_of(kProblem)));
  EXPECT_NE(ch.why.find("default"), std::string::npos) << ch.why;
  // On an sm_80 GPU hopper_fwd cannot build: fa2_fwd's default.
  const Choice ampere = choose(both({}, {}), kProblem, "sm_80");
  EXPECT_EQ(ampere.kernel_template->id(), "fa2_fwd");
  EXPECT_EQ(ampere.params.at("block_n"), 64);  // the d = 128 winner of fa2_perf.yaml
}

TEST(Selection, TheFasterTunedTemplateWinsWhateverTheOrder) {
  Choice ch =
      choose(both(tuned(kProblem, kHopperTuned, 700), tuned(kProblem, kFa2Tuned, 400)), kProblem, "sm_90a");
  EXPECT_EQ(ch.kernel_template->id(), "hopper_fwd");
  EXPECT_EQ(ch.params, kHopperTuned);
  EXPECT_EQ(ch.source, ChoiceSource::tuned_exact);
  ch = choose(both(tuned(kProblem, kHopperTuned, 300), tuned(kProblem, kFa2Tuned, 400)), kProblem, "sm_90a");
  EXPECT_EQ(ch.kernel_template->id(), "fa2_fwd");
  // A tuned template beats an untuned one that comes first.
  ch = choose(both({}, tuned(kProblem, kFa2Tuned, 100)), kProblem, "sm_90a");
  EXPECT_EQ(ch.kernel_template->id(), "fa2_fwd");
  EXPECT_EQ(ch.params, kFa2Tuned);
}

TEST(Selection, AnEntryFromAnotherBucketIsMarkedNearest) {
  AttentionProblem other = kProblem;
  other.seqlen = 16384;
  const Choice ch = choose(both({}, tuned(other, kFa2Tuned, 400)), kProblem, "sm_90a");
  EXPECT_EQ(ch.source, ChoiceSource::tuned_nearest);
  EXPECT_EQ(to_string(ch.source), "tuned (nearest bucket)");
}

TEST(Selection, ATunedEntryThatDoesNotFitIsPassedOver) {
  // block_n 80 is no wgmma N: the hopper entry cannot run; fa2_fwd's tuned entry is taken.
  ParamValues bad = kHopperTuned;
  bad["block_n"] = 80;
  const Choice ch =
      choose(both(tuned(kProblem, bad, 900), tuned(kProblem, kFa2Tuned, 400)), kProblem, "sm_90a");
  EXPECT_EQ(ch.kernel_template->id(), "fa2_fwd");
}

TEST(Selection, NoTemplateForTheProblemNamesEachReason) {
  // head_dim 256 on an sm_80 GPU: hopper_fwd cannot build there, fa2_fwd has no d 256. (Every head_dim a
  // problem may have, 64, 96, 128 and 256, runs on sm_90a: d 96 on both templates.)
  AttentionProblem d256 = kProblem;
  d256.head_dim = 256;
  AttentionProblem d96 = kProblem;
  d96.head_dim = 96;
  EXPECT_EQ(choose(both({}, {}), d96, "sm_90a").kernel_template->id(), "hopper_fwd");
  EXPECT_EQ(choose(both({}, {}), d96, "sm_80").kernel_template->id(), "fa2_fwd");
  try {
    (void)choose(both({}, {}), d256, "sm_80");
    FAIL() << "no error for head_dim 256 on sm_80";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    const std::string what = e.what();
    EXPECT_NE(what.find("hopper_fwd"), std::string::npos) << what;
    EXPECT_NE(what.find("fa2_fwd"), std::string::npos) << what;
    EXPECT_NE(what.find("head_dim"), std::string::npos) << what;
  }
}

// ---- the backward (pass bwd): the candidates of Runtime::attention_backward

AttentionProblem backward(AttentionProblem p) {
  p.pass = Pass::bwd;
  return p;
}

TEST(Selection, TheBackwardRunsFa2Bwd) {
  EXPECT_EQ(default_backward_preference("sm_90a"), (std::vector<std::string>{"fa2_bwd"}));
  EXPECT_EQ(default_backward_preference("sm_80"), (std::vector<std::string>{"fa2_bwd"}));
  const std::vector<Candidate> c = {{&find_template("fa2_bwd"), std::nullopt}};
  const AttentionProblem p = backward(kProblem);
  const Choice ch = choose(c, p, "sm_90a");
  EXPECT_EQ(ch.kernel_template->id(), "fa2_bwd");
  EXPECT_EQ(ch.source, ChoiceSource::builtin_default);
  EXPECT_EQ(ch.params, find_template("fa2_bwd").default_config(variant_of(p)));
  // Grouped heads, more keys than queries, a window, a strided layout: all computed.
  AttentionProblem variant = p;
  variant.kv_heads = 4;
  variant.seqlen_k = 8192;
  variant.window_left = 512;
  variant.layout = Layout::bshd;
  EXPECT_EQ(choose(c, variant, "sm_80").kernel_template->id(), "fa2_bwd");
  // A tuned fa2_bwd entry is taken over the default.
  const ParamValues tuned_params = {{"block_m", 128}, {"block_n", 128}, {"warps", 8}};
  const std::vector<Candidate> tuned_c = {{&find_template("fa2_bwd"), tuned(p, tuned_params, 300)}};
  const Choice t = choose(tuned_c, p, "sm_90a");
  EXPECT_EQ(t.params, tuned_params);
  EXPECT_EQ(t.source, ChoiceSource::tuned_exact);
}

// What fa2_bwd does not compute is refused, and the error says what: softcap, variable lengths, block-sparse
// layouts, head_dim 96 and 256. A forward template is no backward candidate, and fa2_bwd no forward one.
TEST(Selection, TheBackwardRefusesWhatFa2BwdDoesNotCompute) {
  const std::vector<Candidate> c = {{&find_template("fa2_bwd"), std::nullopt}};
  auto refusal = [&](const AttentionProblem& p, const std::vector<Candidate>& candidates) {
    try {
      (void)choose(candidates, p, "sm_90a");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  AttentionProblem softcap = backward(kProblem);
  softcap.softcap = 30;
  EXPECT_NE(refusal(softcap, c).find("fa2_bwd does not support softcap (30)"), std::string::npos)
      << refusal(softcap, c);
  const AttentionProblem varlen = backward(varlen_problem(kProblem, {100, 300}));
  EXPECT_NE(refusal(varlen, c).find("fa2_bwd does not support the thd layout (variable lengths)"),
            std::string::npos)
      << refusal(varlen, c);
  AttentionProblem sparse = backward(kProblem);
  sparse.sparse_block = 128;
  sparse.sparse_density = 0.5f;
  EXPECT_NE(refusal(sparse, c).find("fa2_bwd does not support block-sparse layouts"), std::string::npos)
      << refusal(sparse, c);
  for (int d : {96, 256}) {
    AttentionProblem p = backward(kProblem);
    p.head_dim = d;
    EXPECT_NE(refusal(p, c).find(fmt::format("fa2_bwd does not support head_dim {} (it has 64, 128)", d)),
              std::string::npos)
        << refusal(p, c);
  }
  EXPECT_NE(refusal(backward(kProblem), both({}, {})).find("fa2_fwd does not support the bwd pass"),
            std::string::npos)
      << refusal(backward(kProblem), both({}, {}));
  EXPECT_NE(refusal(kProblem, c).find("fa2_bwd does not support the fwd pass"), std::string::npos)
      << refusal(kProblem, c);
}

}  // namespace
}  // namespace flashtune::runtime
