// `flashtune check` and `flashtune compare` as processes: their exit codes, JUnit XML and JSON files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gpu/driver_api.hpp"
#include "store/result_store.hpp"
#include "store/store_test_util.hpp"
#include "testing/cli_run.hpp"

namespace {
namespace fs = std::filesystem;
using namespace flashtune;
using flashtune::cli_test::CliRun;
using flashtune::cli_test::contains;
using flashtune::cli_test::run_flashtune;

const fs::path kFixtures = FLASHTUNE_CHECK_FIXTURES;

CliRun flashtune_cli(const std::string& args) {
  return run_flashtune(args);
}

std::string read(const fs::path& f) {
  std::ifstream in(f);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// "tests failures skipped" of a JUnit file, by Python's XML parser; "" without python3.
std::string junit_counts(const fs::path& file) {
  if (std::system("python3 -c 'import xml.etree.ElementTree' > /dev/null 2>&1") != 0) return "";
  const std::string cmd =
      "python3 -c \"import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
      "print(r.get('tests'), r.get('failures'), r.get('skipped'))\" " +
      file.string();
  FILE* p = popen(cmd.c_str(), "r");
  char buf[128] = {};
  const std::size_t n = fread(buf, 1, sizeof buf - 1, p);
  pclose(p);
  return std::string(buf, n);
}

TEST(CheckCli, ExpectedCompileErrorPassesWithJUnitAndJson) {
  store::testing::ScratchDir dir;
  const CliRun r =
      flashtune_cli("check --compile-only -q -j 2 " + (kFixtures / "fault_expected.yaml").string() +
                    " --junit " + (dir / "j.xml").string() + " --json " + (dir / "c.json").string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "check: PASSED (2 cases: 1 pass, 0 fail, 1 expected failures")) << r.output;
  const std::string xml = read(dir / "j.xml");
  EXPECT_TRUE(contains(xml, "<testsuites name=\"flashtune check\" tests=\"2\" failures=\"0\"")) << xml;
  EXPECT_TRUE(contains(xml, "classname=\"fault_inject\" name=\"compile fault=4 (d64 bf16)\"")) << xml;
  const std::string counts = junit_counts(dir / "j.xml");
  if (!counts.empty()) {
    EXPECT_EQ(counts, "2 0 0\n");
  }
  const nlohmann::json j = nlohmann::json::parse(read(dir / "c.json"));
  EXPECT_EQ(j.at("counts").at("expected_failure"), 1);
  EXPECT_EQ(j.at("failed"), false);
}

TEST(CheckCli, AnUnexpectedCompileErrorExits6WithTheErrorInJUnit) {
  store::testing::ScratchDir dir;
  const CliRun r =
      flashtune_cli("check --compile-only -q -j 2 " + (kFixtures / "fault_unexpected.yaml").string() +
                    " --junit " + (dir / "j.xml").string());
  EXPECT_EQ(r.code, 6) << r.output;
  EXPECT_TRUE(contains(r.output, "FAIL compile fault_inject fault=4 (d64 bf16)")) << r.output;
  const std::string xml = read(dir / "j.xml");
  EXPECT_TRUE(contains(xml, "failures=\"1\"")) << xml;
  EXPECT_TRUE(contains(xml, "deliberate compile error")) << xml;
  const std::string counts = junit_counts(dir / "j.xml");
  if (!counts.empty()) {
    EXPECT_EQ(counts, "2 1 0\n");
  }
}

TEST(CheckCli, UsageAndBadSpaces) {
  EXPECT_EQ(flashtune_cli("check " + std::string(FLASHTUNE_BAD_SPACE)).code, 5);
  const CliRun top =
      flashtune_cli("check --compile-only --top 3 " + (kFixtures / "fault_expected.yaml").string());
  EXPECT_EQ(top.code, 2) << top.output;
  const CliRun tool =
      flashtune_cli("check --sanitize=helgrind " + (kFixtures / "fault_expected.yaml").string());
  EXPECT_EQ(tool.code, 2) << tool.output;
  EXPECT_TRUE(contains(tool.output, "'helgrind'")) << tool.output;
  const CliRun seed =
      flashtune_cli("check --compile-only --seed 3 " + (kFixtures / "fault_expected.yaml").string());
  EXPECT_EQ(seed.code, 2) << seed.output;
  EXPECT_TRUE(contains(seed.output, "--sample")) << seed.output;
  EXPECT_EQ(
      flashtune_cli("check --compile-only --sample 0 " + (kFixtures / "fault_expected.yaml").string()).code,
      2);
  const CliRun unknown = flashtune_cli("frobnicate");
  EXPECT_TRUE(contains(unknown.output, "check, compare")) << unknown.output;
}

TEST(CheckCli, WithoutAGpuTheCompileStageRunsAndExits3) {
  std::string why;
  if (gpu::gpu_available(&why)) GTEST_SKIP() << "a GPU is present";
  const CliRun r = flashtune_cli("check -q -j 2 " + (kFixtures / "fault_expected.yaml").string());
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_TRUE(contains(r.output, "check: PASSED (2 cases")) << r.output;
  EXPECT_TRUE(contains(r.output, "No GPU")) << r.output;
}

void make_db(const fs::path& path, const GpuIdentity& gpu, double ms_4096) {
  store::ResultStore db(path);
  store::SweepRecord s;
  s.template_id = "fa2_fwd";
  s.has_gpu = true;
  s.gpu = gpu;
  const std::int64_t sweep = db.begin_sweep(s);
  for (int n : {1024, 4096}) {
    const AttentionProblem p = store::testing::problem(n);
    store::TrialRecord t;
    t.sweep_id = sweep;
    t.problem = p;
    t.smem_budget = store::testing::kMaxBudget;
    t.template_id = "fa2_fwd";
    t.params = {{"block_m", 128}, {"block_n", 64}, {"stages", 2}, {"warps", 8}};
    t.samples = 20;
    t.median_ms = n == 4096 ? ms_4096 : 1.0;
    t.noise = 0.005;
    store::BestEntry e;
    e.key = store::testing::key_for(p, store::testing::kMaxBudget, gpu);
    e.problem = p;
    e.params = t.params;
    e.median_ms = t.median_ms;
    e.trial_id = db.add_trial(t);
    e.sweep_id = sweep;
    db.put_best(e);
  }
  db.finish_sweep(sweep, "finished", "{}");
}

TEST(CompareCli, ExitsNonzeroOnlyOnARegression) {
  store::testing::ScratchDir dir;
  make_db(dir / "old.db", store::testing::h100(), 8.0);
  make_db(dir / "slower.db", store::testing::h100(), 9.0);
  make_db(dir / "a100.db", store::testing::a100(), 8.0);
  const std::string old_db = (dir / "old.db").string();

  const CliRun same = flashtune_cli("compare " + old_db + " " + old_db);
  EXPECT_EQ(same.code, 0) << same.output;
  EXPECT_TRUE(contains(same.output, "0 SLOWER, 0 AMBIGUOUS, 0 FASTER, 2 SAME")) << same.output;

  const CliRun slower = flashtune_cli("compare " + old_db + " " + (dir / "slower.db").string() + " --json " +
                                      (dir / "c.json").string());
  EXPECT_EQ(slower.code, 7) << slower.output;
  EXPECT_TRUE(contains(slower.output, "SLOWER")) << slower.output;
  EXPECT_TRUE(contains(slower.output, "+12.5%")) << slower.output;
  const nlohmann::json j = nlohmann::json::parse(read(dir / "c.json"));
  EXPECT_EQ(j.at("counts").at("SLOWER"), 1);
  EXPECT_EQ(j.at("counts").at("SAME"), 1);
  // The other way round it is faster: exit 0.
  EXPECT_EQ(flashtune_cli("compare " + (dir / "slower.db").string() + " " + old_db).code, 0);
  // +12.5% within a 20% threshold is the same.
  EXPECT_EQ(flashtune_cli("compare --threshold 20 " + old_db + " " + (dir / "slower.db").string()).code, 0);

  const CliRun gpus = flashtune_cli("compare " + old_db + " " + (dir / "a100.db").string());
  EXPECT_EQ(gpus.code, 2) << gpus.output;
  EXPECT_TRUE(contains(gpus.output, "--any-gpu")) << gpus.output;
  EXPECT_EQ(flashtune_cli("compare --any-gpu " + old_db + " " + (dir / "a100.db").string()).code, 0);

  // An export (no noise data) against the database.
  const CliRun exported = flashtune_cli("export --db " + (dir / "slower.db").string() +
                                        " --all --stale --format json -o " + (dir / "slower.json").string());
  ASSERT_EQ(exported.code, 0) << exported.output;
  const CliRun vs_export = flashtune_cli("compare " + old_db + " " + (dir / "slower.json").string());
  EXPECT_EQ(vs_export.code, 7) << vs_export.output;
  EXPECT_TRUE(contains(vs_export.output, "threshold alone")) << vs_export.output;

  EXPECT_EQ(flashtune_cli("compare " + old_db + " " + (dir / "missing.db").string()).code, 1);
  EXPECT_EQ(flashtune_cli("compare " + old_db).code, 2);
}

}  // namespace
