// The runtime's choice of template and configuration (runtime/selection.hpp), without a GPU or a store.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace flashtune::runtime
