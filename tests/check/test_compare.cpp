// `flashtune compare`'s library part: the noise-aware verdicts, and matching two stores or exports.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "check/result_comparison.hpp"
#include "core/error.hpp"
#include "report/compare_report.hpp"
#include "report/export_format.hpp"
#include "store/result_store.hpp"
#include "store/store_test_util.hpp"

namespace flashtune::check {
namespace {

using store::testing::ScratchDir;

struct Row {
  AttentionProblem problem;
  double ms = 1;
  double noise = 0.01;
  int block_m = 64;
};

// A database with one finished sweep whose winners are `rows`, each from a trial with that median and noise.
void make_db(const std::filesystem::path& path, const GpuIdentity& gpu, const std::vector<Row>& rows) {
  store::ResultStore db(path);
  store::SweepRecord s;
  s.space_file = "x.yaml";
  s.template_id = "fa2_fwd";
  s.strategy = "exhaustive";
  s.arch = "sm_90a";
  s.has_gpu = true;
  s.gpu = gpu;
  const std::int64_t sweep = db.begin_sweep(s);
  for (const Row& r : rows) {
    store::TrialRecord t;
    t.sweep_id = sweep;
    t.problem = r.problem;
    t.smem_budget = store::testing::kMaxBudget;
    t.template_id = "fa2_fwd";
    t.params = {{"block_m", r.block_m}, {"block_n", 64}, {"stages", 2}, {"warps", 4}};
    t.samples = 10;
    t.median_ms = r.ms;
    t.noise = r.noise;
    const std::int64_t id = db.add_trial(t);
    store::BestEntry e;
    e.key = store::testing::key_for(r.problem, store::testing::kMaxBudget, gpu);
    e.problem = r.problem;
    e.params = t.params;
    e.median_ms = r.ms;
    e.trial_id = id;
    e.sweep_id = sweep;
    db.put_best(e);
  }
  db.finish_sweep(sweep, "finished", "{}");
}

AttentionProblem p(int seqlen) {
  return store::testing::problem(seqlen);
}

TEST(Compare, Verdicts) {
  EXPECT_EQ(classify(0.01, 0, 0.03), Verdict::same);
  EXPECT_EQ(classify(0.05, 0, 0.03), Verdict::slower);
  EXPECT_EQ(classify(-0.05, 0, 0.03), Verdict::faster);
  EXPECT_EQ(classify(0.05, 0.02, 0.03), Verdict::ambiguous);  // within 3 x noise (6%), beyond the threshold
  EXPECT_EQ(classify(-0.05, 0.02, 0.03), Verdict::ambiguous);
  EXPECT_EQ(classify(0.07, 0.02, 0.03), Verdict::slower);
  EXPECT_EQ(classify(0.035, 0.04, 0.03), Verdict::same);  // within the noise itself
  EXPECT_EQ(to_string(Verdict::ambiguous), "AMBIGUOUS");
}

TEST(Compare, TwoDatabases) {
  ScratchDir dir;
  GpuIdentity newer_driver = store::testing::h100();
  newer_driver.driver_version = 13010;
  make_db(dir / "old.db", store::testing::h100(),
          {{p(512), 1.0}, {p(1024), 2.0}, {p(2048), 4.0}, {p(4096), 8.0, 0.02}, {p(8192), 16.0}});
  make_db(dir / "new.db", newer_driver,
          {{p(512), 1.01},             // +1%: SAME
           {p(1024), 1.6, 0.01, 128},  // -20%: FASTER, another configuration
           {p(2048), 4.8},             // +20%: SLOWER
           {p(4096), 8.4, 0.02},       // +5% with 2.8% combined noise: AMBIGUOUS
           {p(16384), 30.0}});         // ADDED; 8192 REMOVED
  const Comparison c =
      compare(load_comparison_side(dir / "old.db"), load_comparison_side(dir / "new.db"), {});
  ASSERT_EQ(c.rows.size(), 6u);
  EXPECT_EQ(c.count(Verdict::same), 1u);
  EXPECT_EQ(c.count(Verdict::faster), 1u);
  EXPECT_EQ(c.count(Verdict::slower), 1u);
  EXPECT_EQ(c.count(Verdict::ambiguous), 1u);
  EXPECT_EQ(c.count(Verdict::added), 1u);
  EXPECT_EQ(c.count(Verdict::removed), 1u);
  EXPECT_TRUE(c.regressed());
  for (const ComparisonRow& r : c.rows) {
    if (r.verdict == Verdict::ambiguous) {
      EXPECT_TRUE(r.noise_known);
      EXPECT_NEAR(r.noise, 0.0283, 1e-3);
      EXPECT_NEAR(r.change, 0.05, 1e-9);
    }
    if (r.verdict == Verdict::faster) {
      EXPECT_EQ(r.new_entry->params.at("block_m"), 128);
    }
  }
  // The driver changed: said, not refused.
  EXPECT_NE(c.notes.at(0).find("driver 13000 in OLD, 13010 in NEW"), std::string::npos) << c.notes.at(0);

  std::ostringstream table;
  report::print_comparison(c, table);
  EXPECT_NE(table.str().find("1 SLOWER, 1 AMBIGUOUS, 1 FASTER, 1 SAME, 1 ADDED, 1 REMOVED"),
            std::string::npos)
      << table.str();
  EXPECT_NE(table.str().find("+20.0%"), std::string::npos) << table.str();
  const nlohmann::json j = nlohmann::json::parse(report::comparison_json(c));
  EXPECT_EQ(j.at("counts").at("SLOWER"), 1);
  EXPECT_EQ(j.at("regressed"), true);
  EXPECT_EQ(j.at("rows").size(), 6u);
}

TEST(Compare, AnExportWithoutNoiseIsJudgedByTheThresholdAlone) {
  ScratchDir dir;
  make_db(dir / "old.db", store::testing::h100(), {{p(4096), 8.0, 0.02}});
  make_db(dir / "new.db", store::testing::h100(), {{p(4096), 8.4, 0.02}});
  const store::ResultStore db(dir / "new.db");
  std::ofstream(dir / "new.json") << report::export_best(db.best_entries(), report::ExportFormat::json);
  const ComparisonSide exported = load_comparison_side(dir / "new.json");
  EXPECT_EQ(exported.kind, "export");
  ASSERT_EQ(exported.entries.size(), 1u);
  EXPECT_FALSE(exported.entries[0].noise);
  const Comparison c = compare(load_comparison_side(dir / "old.db"), exported, {});
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].verdict, Verdict::slower);  // +5% > 3%: no noise to make it ambiguous
  EXPECT_FALSE(c.rows[0].noise_known);
  ASSERT_FALSE(c.notes.empty());
  EXPECT_NE(c.notes.back().find("threshold alone"), std::string::npos) << c.notes.back();
  // With a larger threshold it is the same.
  EXPECT_EQ(compare(load_comparison_side(dir / "old.db"), exported, {.threshold = 0.1}).rows[0].verdict,
            Verdict::same);
}

TEST(Compare, DifferentGpusAreRefusedUnlessAsked) {
  ScratchDir dir;
  make_db(dir / "old.db", store::testing::h100(), {{p(4096), 8.0}});
  make_db(dir / "new.db", store::testing::a100(), {{p(4096), 8.0}});
  try {
    compare(load_comparison_side(dir / "old.db"), load_comparison_side(dir / "new.db"), {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("--any-gpu"), std::string::npos) << e.what();
  }
  const Comparison c =
      compare(load_comparison_side(dir / "old.db"), load_comparison_side(dir / "new.db"), {.any_gpu = true});
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_EQ(c.rows[0].verdict, Verdict::same);
}

TEST(Compare, UnreadableSides) {
  ScratchDir dir;
  EXPECT_THROW(load_comparison_side(dir / "missing.db"), Error);
  std::ofstream(dir / "junk.json") << "{\"something\": 1}";
  EXPECT_THROW(load_comparison_side(dir / "junk.json"), Error);
  std::ofstream(dir / "text.txt") << "not json at all";
  EXPECT_THROW(load_comparison_side(dir / "text.txt"), Error);
}

}  // namespace
}  // namespace flashtune::check
