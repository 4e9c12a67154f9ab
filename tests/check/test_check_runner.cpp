// run_check without a GPU: real NVRTC compiles (the compile stage), and the GPU stages against the stand-in
// trial worker (tests/tune/fake_trial_worker.cpp) and a stand-in compute-sanitizer
// (fixtures/fake_sanitizer.sh).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "check/check_runner.hpp"
#include "space/space_loader.hpp"
#include "store/result_store.hpp"

namespace flashtune::check {
namespace {
namespace fs = std::filesystem;

const fs::path kFixtures = FLASHTUNE_CHECK_FIXTURES;

fs::path temp_dir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("flashtune-check-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string read(const fs::path& f) {
  std::ifstream in(f);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<CheckCase> cases(const CheckResult& r, CheckStage stage, CheckOutcome outcome) {
  std::vector<CheckCase> out;
  for (const CheckCase& c : r.cases)
    if (c.stage == stage && c.outcome == outcome) out.push_back(c);
  return out;
}

// Two configurations (block_n 64 and 128) on one d64 problem; the fake worker answers every trial ok (it dies
// only on block_n=32 and hangs only on stages=1).
constexpr const char* kSpace = R"(template: fa2_fwd
parameters:
  block_m: 64
  block_n: [64, 128]
  warps: 4
  stages: 2
problems:
  - {batch: 1, heads: 2, seqlen: 256, head_dim: 64, dtype: bf16}
measure: {trial_timeout: 20 s}
)";

std::string with_check(const std::string& check) {
  return std::string(kSpace) + "check: " + check + "\n";
}

class Env {  // sets a variable for one scope
 public:
  Env(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~Env() { ::unsetenv(name_); }

 private:
  const char* name_;
};

CheckOptions fake_gpu() {
  CheckOptions o;
  o.trial_worker = {FAKE_TRIAL_WORKER};
  o.jobs = 2;
  return o;
}

TEST(CheckRunner, CompileOnlyOfASmallSpacePasses) {
  const space::SearchSpace s = space::parse_search_space(kSpace, "small.yaml");
  trial::Observer quiet;
  const CheckResult r = run_check(s, {.compile_only = true, .jobs = 2}, quiet);
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_EQ(r.count(CheckOutcome::pass, CheckStage::compile), 2u);
  EXPECT_FALSE(r.failed());
  EXPECT_TRUE(r.no_gpu.empty());
  EXPECT_EQ(r.spaces, std::vector<std::string>{"small.yaml"});
  EXPECT_EQ(r.cases[0].template_id, "fa2_fwd");
  EXPECT_EQ(r.cases[0].configuration, "block_m=64 block_n=64 stages=2 warps=4 (d64 bf16)");
  EXPECT_NE(r.cases[0].detail.find("registers"), std::string::npos) << r.cases[0].detail;
}

TEST(CheckRunner, AnExpectedCompileErrorIsAnExpectedFailure) {
  const space::SearchSpace s = space::load_search_space(kFixtures / "fault_expected.yaml");
  trial::Observer quiet;
  const CheckResult r = run_check(s, {.compile_only = true, .jobs = 2}, quiet);
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_EQ(r.cases[0].outcome, CheckOutcome::pass);  // fault 0
  EXPECT_EQ(r.cases[1].outcome, CheckOutcome::expected_failure);
  EXPECT_NE(r.cases[1].detail.find("deliberate compile error"), std::string::npos) << r.cases[1].detail;
  EXPECT_FALSE(r.failed());
}

TEST(CheckRunner, AnUnexpectedCompileErrorFails) {
  const space::SearchSpace s = space::load_search_space(kFixtures / "fault_unexpected.yaml");
  trial::Observer quiet;
  const CheckResult r = run_check(s, {.compile_only = true, .jobs = 2}, quiet);
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_EQ(r.cases[1].outcome, CheckOutcome::fail);
  EXPECT_NE(r.cases[1].detail.find("error"), std::string::npos) << r.cases[1].detail;
  EXPECT_TRUE(r.failed());

  // An expectation that does not come true is reported too.
  std::string yaml = read(kFixtures / "fault_expected.yaml");
  yaml.replace(yaml.find("fault == 4"), 10, "fault == 0");
  const CheckResult stale =
      run_check(space::parse_search_space(yaml, "stale.yaml"), {.compile_only = true}, quiet);
  EXPECT_EQ(stale.cases[0].outcome, CheckOutcome::unexpected_pass);
  EXPECT_NE(stale.cases[0].detail.find("check.expect_compile_error 'fault == 0'"), std::string::npos)
      << stale.cases[0].detail;
  EXPECT_EQ(stale.cases[1].outcome, CheckOutcome::fail);
}

TEST(CheckRunner, VerifiesEveryConfigurationOnTheCheckProblems) {
  const space::SearchSpace s = space::parse_search_space(kSpace, "small.yaml");
  trial::Observer quiet;
  const CheckResult r = run_check(s, fake_gpu(), quiet);
  EXPECT_TRUE(r.no_gpu.empty()) << r.no_gpu;
  // Both causal modes compiled: 2 configurations x 2 variants; each verified on N 1, 17, 1000.
  EXPECT_EQ(r.count(CheckOutcome::pass, CheckStage::compile), 4u);
  EXPECT_EQ(r.count(CheckOutcome::pass, CheckStage::verify), 12u);
  EXPECT_FALSE(r.failed());
  const std::vector<CheckCase> v = cases(r, CheckStage::verify, CheckOutcome::pass);
  EXPECT_EQ(v[0].problem, "B2 H3 N1 d64 bf16");
  EXPECT_EQ(v[0].configuration, "block_m=64 block_n=64 stages=2 warps=4 (d64 bf16)");
  EXPECT_EQ(v.back().problem, "B2 H3 N1000 d64 bf16 causal");
}

TEST(CheckRunner, IncorrectResultsAgainstTheSpacesExpectations) {
  Env bad("FAKE_WORKER_INCORRECT", "block_n=128");
  trial::Observer quiet;
  // Expected on N17 only: the other shapes' wrong answers fail.
  const CheckResult r =
      run_check(space::parse_search_space(
                    with_check("{expect_incorrect: \"block_n == 128 and seqlen == 17\"}"), "x.yaml"),
                fake_gpu(), quiet);
  EXPECT_EQ(r.count(CheckOutcome::pass, CheckStage::verify), 6u);
  EXPECT_EQ(r.count(CheckOutcome::expected_failure, CheckStage::verify), 2u);
  const std::vector<CheckCase> failed = cases(r, CheckStage::verify, CheckOutcome::fail);
  ASSERT_EQ(failed.size(), 4u);
  EXPECT_NE(failed[0].detail.find("incorrect: O differs: fake"), std::string::npos) << failed[0].detail;
  EXPECT_TRUE(r.failed());

  const CheckResult all_expected =
      run_check(space::parse_search_space(with_check("{expect_incorrect: block_n == 128}"), "x.yaml"),
                fake_gpu(), quiet);
  EXPECT_EQ(all_expected.count(CheckOutcome::expected_failure), 6u);
  EXPECT_FALSE(all_expected.failed());
}

TEST(CheckRunner, AnExpectedWrongAnswerThatIsRightIsAnUnexpectedPass) {
  trial::Observer quiet;
  const CheckResult r =
      run_check(space::parse_search_space(with_check("{expect_incorrect: block_n == 64}"), "x.yaml"),
                fake_gpu(), quiet);
  EXPECT_EQ(r.count(CheckOutcome::unexpected_pass, CheckStage::verify), 6u);
  EXPECT_TRUE(r.failed());
}

// --top 1: the results store's fastest configuration of the space's problem on this (fake) GPU, in both
// causal modes.
TEST(CheckRunner, TopKTakesTheBestThatTheStoreKnows) {
  const fs::path dir = temp_dir("top");
  const space::SearchSpace s = space::parse_search_space(kSpace, "small.yaml");
  {
    store::ResultStore db(dir / "results.db");
    store::SweepRecord sw;
    sw.space_file = "small.yaml";
    sw.space_hash = s.content_hash;
    sw.template_id = "fa2_fwd";
    sw.strategy = "exhaustive";
    sw.arch = "sm_90a";
    sw.has_gpu = true;
    sw.gpu = {
        "Fake H100 (test worker)", 9, 0, 132, 232448, 52428800, 12080};  // another driver: still this GPU
    const std::int64_t id = db.begin_sweep(sw);
    for (int bn : {64, 128}) {
      store::TrialRecord t;
      t.sweep_id = id;
      t.problem = s.problems[0];
      t.smem_budget = 232448;
      t.template_id = "fa2_fwd";
      t.params = {{"block_m", 64}, {"block_n", bn}, {"stages", 2}, {"warps", 4}};
      t.samples = 5;
      t.median_ms = bn == 128 ? 1.0 : 2.0;
      db.add_trial(t);
    }
    db.finish_sweep(id, "finished", "{}");
  }
  CheckOptions o = fake_gpu();
  o.top_k = 1;
  o.db = dir / "results.db";
  trial::Observer quiet;
  const CheckResult r = run_check(s, o, quiet);
  const std::vector<CheckCase> v = cases(r, CheckStage::verify, CheckOutcome::pass);
  ASSERT_EQ(v.size(), 6u);
  for (const CheckCase& c : v)
    EXPECT_NE(c.configuration.find("block_n=128"), std::string::npos) << c.configuration;
  EXPECT_EQ(r.count(CheckOutcome::pass, CheckStage::compile), 4u);  // every configuration still compiles

  // No store at all: every configuration, and a note.
  o.db = dir / "missing.db";
  const CheckResult all = run_check(s, o, quiet);
  EXPECT_EQ(all.count(CheckOutcome::pass, CheckStage::verify), 12u);
  ASSERT_FALSE(all.notes.empty());
  EXPECT_NE(all.notes[0].find("no results store"), std::string::npos) << all.notes[0];
  fs::remove_all(dir);
}

// Each configuration in its own worker under the (fake) sanitizer: what the sanitizer reports is that
// configuration's, with the log's first error lines.
TEST(CheckRunner, SanitizerReportsAreAttributedToOneConfiguration) {
  const fs::path dir = temp_dir("sanitize");
  Env bad("FAKE_SANITIZER_FLAGS", "block_n=128");
  Env starts("FAKE_SANITIZER_LOG", (dir / "starts.txt").string());
  CheckOptions o = fake_gpu();
  o.sanitize = {SanitizerTool::memcheck};
  o.sanitizer = {"/bin/sh", (kFixtures / "fake_sanitizer.sh").string()};
  o.log_dir = dir / "logs";
  trial::Observer quiet;
  const CheckResult r = run_check(space::parse_search_space(kSpace, "small.yaml"), o, quiet);
  EXPECT_EQ(r.count(CheckOutcome::pass, CheckStage::verify), 12u);
  const std::vector<CheckCase> passed = cases(r, CheckStage::memcheck, CheckOutcome::pass);
  const std::vector<CheckCase> failed = cases(r, CheckStage::memcheck, CheckOutcome::fail);
  ASSERT_EQ(passed.size(), 2u);
  ASSERT_EQ(failed.size(), 2u);
  for (const CheckCase& c : passed) EXPECT_NE(c.configuration.find("block_n=64"), std::string::npos);
  for (const CheckCase& c : failed) {
    EXPECT_NE(c.configuration.find("block_n=128"), std::string::npos);
    EXPECT_NE(c.detail.find("Invalid __global__ write of size 2 bytes"), std::string::npos) << c.detail;
    EXPECT_NE(c.detail.find("exit status 86"), std::string::npos) << c.detail;
    const std::string mode = c.configuration.find("causal") != std::string::npos ? " causal" : "";
    EXPECT_EQ(c.problem,
              "B2 H3 N1 d64 bf16" + mode + "; B2 H3 N17 d64 bf16" + mode + "; B2 H3 N1000 d64 bf16" + mode);
  }
  EXPECT_EQ(read(dir / "starts.txt"), "memcheck\nmemcheck\nmemcheck\nmemcheck\n");  // one worker each
  // The worker's own stderr went to a file beside the log, not to ours.
  EXPECT_NE(read(dir / "logs" / "memcheck-0000.stderr").find("fake-sanitizer: memcheck starting"),
            std::string::npos);
  EXPECT_TRUE(r.failed());
  fs::remove_all(dir);
}

TEST(CheckRunner, ASanitizerThatCannotStartFailsItsCases) {
  CheckOptions o = fake_gpu();
  o.sanitize = {SanitizerTool::racecheck};
  o.sanitizer = {"/nonexistent/compute-sanitizer"};
  o.log_dir = temp_dir("no-sanitizer");
  trial::Observer quiet;
  const CheckResult r = run_check(space::parse_search_space(kSpace, "small.yaml"), o, quiet);
  const std::vector<CheckCase> failed = cases(r, CheckStage::racecheck, CheckOutcome::fail);
  ASSERT_EQ(failed.size(), 4u);
  EXPECT_NE(failed[0].detail.find("/nonexistent/compute-sanitizer"), std::string::npos) << failed[0].detail;
  fs::remove_all(o.log_dir);
}

}  // namespace
}  // namespace flashtune::check
