// Schema migrations: a version-1 database written by a real H100 sweep (results/h100/tune-default.db) opens
// in this build, is migrated to the latest version, and keeps every trial; profile counters and the clock
// fraction round-trip. A version-2 database (made here by undoing migration 3) gains the clock fraction. A
// version-5 database (the H100 one brought to version 5 by the migrations themselves) reads back dense and
// keys block-sparse entries beside its own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "store/detail/migrations.hpp"
#include "store/detail/sqlite.hpp"
#include "store/result_store.hpp"

namespace flashtune::store {
namespace {
namespace fs = std::filesystem;

TEST(Migration, AVersionOneDatabaseFromAnH100RunMigratesAndKeepsItsTrials) {
  const fs::path dir = fs::temp_directory_path() / ("flashtune-migration-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db_path = dir / "v1.db";
  fs::copy_file(FLASHTUNE_V1_DB, db_path);
  {
    ResultStore db(db_path);
    const std::vector<SweepRecord> sweeps = db.sweeps();
    ASSERT_EQ(sweeps.size(), 1u);
    const std::vector<TrialRecord> trials = db.trials(sweeps[0].id);
    EXPECT_EQ(trials.size(), 2256u);  // the default space: 72 configurations x 8 problems x 4 budgets
    for (const TrialRecord& t : trials) {
      EXPECT_FALSE(t.profiled);
      EXPECT_FALSE(t.clock_fraction.has_value());  // measured before the clock was sampled
    }
    const std::vector<BestEntry> best = db.best_entries();
    EXPECT_EQ(best.size(), 32u);
    for (const BestEntry& e : best) {
      EXPECT_GT(e.trial_id, 0);
      EXPECT_FALSE(e.clock_fraction.has_value());
    }

    // A new trial with counters round-trips next to the old ones.
    TrialRecord t = trials.front();
    t.id = 0;
    t.profiled = true;
    t.dram_read_bytes = 210e6;
    t.dram_write_bytes = 78e6;
    t.l2_bytes = 5.67e9;
    t.profiled_ns = 1.54e6;
    t.activity_ns = 1.52e6;
    t.counters_json = R"({"sm__throughput.avg.pct_of_peak_sustained_elapsed": 61.5})";
    t.clock_fraction = 0.905;
    const std::int64_t id = db.add_trial(t);
    const std::vector<TrialRecord> again = db.trials(sweeps[0].id);
    ASSERT_EQ(again.size(), 2257u);
    const TrialRecord& back = again.back();
    EXPECT_EQ(back.id, id);
    EXPECT_TRUE(back.profiled);
    EXPECT_DOUBLE_EQ(back.dram_read_bytes, 210e6);
    EXPECT_DOUBLE_EQ(back.dram_write_bytes, 78e6);
    EXPECT_DOUBLE_EQ(back.l2_bytes, 5.67e9);
    EXPECT_DOUBLE_EQ(back.profiled_ns, 1.54e6);
    EXPECT_DOUBLE_EQ(back.activity_ns, 1.52e6);
    EXPECT_EQ(back.counters_json, t.counters_json);
    EXPECT_EQ(back.clock_fraction, 0.905);

    // Counters added to a stored trial later (the top k are profiled after they were stored).
    TrialRecord c;
    c.profiled = true;
    c.l2_bytes = 123;
    db.set_counters(trials[5].id, c);
    const TrialRecord updated = db.trials(sweeps[0].id)[5];
    EXPECT_TRUE(updated.profiled);
    EXPECT_DOUBLE_EQ(updated.l2_bytes, 123);
    EXPECT_EQ(updated.median_ms, trials[5].median_ms);
    EXPECT_THROW(db.set_counters(999999, c), Error);
  }
  // Reopening a migrated database is a no-op.
  EXPECT_NO_THROW(ResultStore{db_path});
  fs::remove_all(dir);
}

int user_version(detail::Database& db) {
  detail::Statement st(db, "PRAGMA user_version");
  return st.step() ? st.int32(0) : -1;
}

TEST(Migration, AVersionTwoDatabaseGainsAnUnknownClockFraction) {
  const fs::path dir = fs::temp_directory_path() / ("flashtune-migration-v2-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db_path = dir / "v2.db";
  std::int64_t sweep = 0;
  {
    ResultStore db(db_path);
    SweepRecord s;
    s.template_id = "fa2_fwd";
    sweep = db.begin_sweep(s);
    TrialRecord t;
    t.sweep_id = sweep;
    t.median_ms = 1.5;
    db.add_trial(t);
  }
  {  // what a version-2 build wrote: no clock_fraction column (nor version 4's)
    detail::Database raw(db_path);
    raw.exec(
        "ALTER TABLE trials DROP COLUMN clock_fraction; ALTER TABLE trials DROP COLUMN kv_heads; "
        "ALTER TABLE trials DROP COLUMN seqlen_k; ALTER TABLE trials DROP COLUMN window_left; "
        "ALTER TABLE trials DROP COLUMN window_right; ALTER TABLE trials DROP COLUMN softcap; "
        "ALTER TABLE trials DROP COLUMN layout; ALTER TABLE trials DROP COLUMN seqlens; ALTER TABLE trials "
        "DROP COLUMN sparse_block; ALTER TABLE trials DROP COLUMN sparse_density; ALTER TABLE trials DROP "
        "COLUMN sparse_seed; ALTER TABLE trials DROP COLUMN pass; PRAGMA user_version = 2");
  }
  {
    const ResultStore reader(db_path, ResultStore::Access::read_only);  // migrated in memory only
    ASSERT_EQ(reader.trials(sweep).size(), 1u);
    EXPECT_FALSE(reader.trials(sweep)[0].clock_fraction.has_value());
  }
  {
    detail::Database raw(db_path, detail::Database::Mode::read_only);
    EXPECT_EQ(user_version(raw), 2);
  }
  {
    ResultStore db(db_path);
    const std::vector<TrialRecord> old = db.trials(sweep);
    ASSERT_EQ(old.size(), 1u);
    EXPECT_EQ(old[0].median_ms, 1.5);
    EXPECT_FALSE(old[0].clock_fraction.has_value());
    TrialRecord t = old[0];
    t.id = 0;
    t.clock_fraction = 0.5;
    db.add_trial(t);
    EXPECT_EQ(db.trials(sweep).back().clock_fraction, 0.5);
  }
  detail::Database raw(db_path, detail::Database::Mode::read_only);
  EXPECT_EQ(user_version(raw), ResultStore::kSchemaVersion);
  fs::remove_all(dir);
}

TEST(Migration, AVersionThreeDatabaseReadsBackThePlainProblemAndKeepsItsBestEntries) {
  const fs::path dir = fs::temp_directory_path() / ("flashtune-migration-v3-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db_path = dir / "v3.db";
  {
    // What a version-3 build wrote, made here from the version-1 database of a real H100 sweep.
    fs::copy_file(FLASHTUNE_V1_DB, db_path);
    detail::Database raw(db_path);
    raw.exec(R"sql(
ALTER TABLE trials ADD COLUMN profiled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN dram_read_bytes REAL;
ALTER TABLE trials ADD COLUMN dram_write_bytes REAL;
ALTER TABLE trials ADD COLUMN l2_bytes REAL;
ALTER TABLE trials ADD COLUMN profiled_ns REAL;
ALTER TABLE trials ADD COLUMN activity_ns REAL;
ALTER TABLE trials ADD COLUMN counters_json TEXT NOT NULL DEFAULT '';
ALTER TABLE trials ADD COLUMN clock_fraction REAL;
PRAGMA user_version = 3;
)sql");
  }
  ResultStore db(db_path);
  const std::vector<BestEntry> best = db.best_entries();
  ASSERT_EQ(best.size(), 32u);
  for (const BestEntry& e : best) {
    EXPECT_TRUE(e.problem.plain()) << e.problem.to_string();
    EXPECT_EQ(e.key.problem.kv_group, 1);
    EXPECT_EQ(e.key.problem.seqlen_k_bucket, e.key.problem.seqlen_bucket);
    EXPECT_EQ(e.key.problem.window_left, -1);
    EXPECT_EQ(e.key.problem.layout, Layout::bhsd);
    // The migrated entry answers the lookup of its own example problem.
    const std::optional<BestEntry> found = db.find_best(e.key);
    ASSERT_TRUE(found.has_value()) << e.key.to_string();
    EXPECT_EQ(found->params, e.params);
  }
  const std::vector<TrialRecord> trials = db.trials(db.sweeps().at(0).id);
  ASSERT_EQ(trials.size(), 2256u);
  EXPECT_TRUE(trials.front().problem.plain());
  // A trial of a variant round-trips every field.
  TrialRecord t = trials.front();
  t.id = 0;
  t.problem.kv_heads = 2;
  t.problem.seqlen_k = 777;
  t.problem.window_left = 64;
  t.problem.window_right = 0;
  t.problem.softcap = 12.5f;
  t.problem.layout = Layout::bshd;
  db.add_trial(t);
  const TrialRecord back = db.trials(t.sweep_id).back();
  EXPECT_TRUE(same_problem(back.problem, t.problem))
      << back.problem.to_string() << " vs " << t.problem.to_string();
  // A varlen trial keeps its lengths (schema 5's seqlens).
  TrialRecord packed = t;
  packed.problem = varlen_problem(t.problem, {3, 0, 700}, {5, 2, 900});
  packed.problem.window_left = -1;
  db.add_trial(packed);
  const TrialRecord packed_back = db.trials(t.sweep_id).back();
  EXPECT_EQ(packed_back.problem.layout, Layout::thd);
  EXPECT_EQ(packed_back.problem.seqlens, (std::vector<int>{3, 0, 700}));
  EXPECT_EQ(packed_back.problem.seqlens_k, (std::vector<int>{5, 2, 900}));
  EXPECT_TRUE(same_problem(packed_back.problem, packed.problem)) << packed_back.problem.to_string();
  // And a best entry of a variant sits beside the plain one of the same buckets.
  BestEntry v = best.front();
  v.problem = t.problem;
  v.problem.batch = best.front().problem.batch;
  v.key.problem = ProblemKey::of(v.problem, best.front().key.problem.smem_budget);
  db.put_best(v);
  EXPECT_EQ(db.best_entries().size(), 33u);
  const std::optional<BestEntry> found = db.find_best(v.key);
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(same_problem(found->problem, v.problem)) << found->problem.to_string();
  fs::remove_all(dir);
}

bool has_column(detail::Database& db, std::string_view table, std::string_view column) {
  detail::Statement st(db, "SELECT count(*) FROM pragma_table_info(?) WHERE name = ?");
  st.bind(1, table).bind(2, column);
  return st.step() && st.int64(0) > 0;
}

TEST(Migration, AVersionFiveDatabaseReadsBackDenseAndKeysBlockSparseEntriesBesideItsOwn) {
  const fs::path dir = fs::temp_directory_path() / ("flashtune-migration-v5-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db_path = dir / "v5.db";
  {
    // What a version-5 build wrote: the version-1 database of a real H100 sweep brought to version 5.
    fs::copy_file(FLASHTUNE_V1_DB, db_path);
    detail::Database raw(db_path);
    detail::migrate(raw, 5);
    EXPECT_EQ(user_version(raw), 5);
    EXPECT_TRUE(has_column(raw, "trials", "seqlens"));
    EXPECT_FALSE(has_column(raw, "trials", "sparse_block"));
    EXPECT_FALSE(has_column(raw, "best", "density_pct"));
  }
  {
    const ResultStore reader(db_path, ResultStore::Access::read_only);  // migrated in memory only
    EXPECT_EQ(reader.best_entries().size(), 32u);
  }
  {
    detail::Database raw(db_path, detail::Database::Mode::read_only);
    EXPECT_EQ(user_version(raw), 5);
  }
  ResultStore db(db_path);
  const std::vector<BestEntry> best = db.best_entries();
  ASSERT_EQ(best.size(), 32u);
  for (const BestEntry& e : best) {
    EXPECT_EQ(e.key.problem.sparse_block, 0);
    EXPECT_EQ(e.key.problem.density_pct, 0);
    EXPECT_FALSE(e.problem.block_sparse()) << e.problem.to_string();
    EXPECT_EQ(e.problem.sparse_density, 0.0f);
    EXPECT_EQ(e.problem.sparse_seed, 0u);
    EXPECT_EQ(ProblemKey::of(e.problem, e.key.problem.smem_budget), e.key.problem);
    const std::optional<BestEntry> found = db.find_best(e.key);
    ASSERT_TRUE(found.has_value()) << e.key.to_string();
    EXPECT_EQ(found->params, e.params);
  }
  const std::vector<TrialRecord> trials = db.trials(db.sweeps().at(0).id);
  ASSERT_EQ(trials.size(), 2256u);
  for (const TrialRecord& t : trials) {
    EXPECT_FALSE(t.problem.block_sparse());
    EXPECT_EQ(t.problem.sparse_seed, 0u);
    EXPECT_EQ(t.problem.pass, Pass::fwd);
  }

  // A block-sparse trial round-trips next to the old ones.
  TrialRecord t = trials.front();
  t.id = 0;
  t.problem.sparse_block = 64;
  t.problem.sparse_density = 0.125f;
  t.problem.sparse_seed = 0x8000000000000001ULL;
  db.add_trial(t);
  const TrialRecord back = db.trials(t.sweep_id).back();
  EXPECT_TRUE(same_problem(back.problem, t.problem))
      << back.problem.to_string() << " vs " << t.problem.to_string();

  // Block-sparse entries of two densities sit beside the dense one of the same buckets; a dense lookup
  // still finds the dense entry, a sparse one the nearest density.
  const BestEntry& plain = best.front();
  for (float density : {0.125f, 0.5f}) {
    BestEntry v = plain;
    v.problem.sparse_block = 64;
    v.problem.sparse_density = density;
    v.problem.sparse_seed = 3;
    v.params["block_m"] = density_percent(density);
    v.key.problem = ProblemKey::of(v.problem, plain.key.problem.smem_budget);
    db.put_best(v);
  }
  EXPECT_EQ(db.best_entries().size(), 34u);
  EXPECT_EQ(db.best_config(plain.key)->params, plain.params);
  BestKey want = plain.key;
  want.problem.sparse_block = 64;
  want.problem.density_pct = 35;
  const std::optional<BestEntry> nearest = db.best_config(want);
  ASSERT_TRUE(nearest.has_value());
  EXPECT_EQ(nearest->params.at("block_m"), 50);  // 13 and 50: 22 and 15 percent away
  EXPECT_EQ(nearest->problem.sparse_density, 0.5f);
  EXPECT_EQ(nearest->problem.sparse_seed, 3u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flashtune::store
