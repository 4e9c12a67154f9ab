// ResultStore: round trips of sweeps, trials and best entries; WAL; reopening; two writers; and the errors
// for corrupt, foreign, newer and unwritable databases.
#include "store/result_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "store/detail/sqlite.hpp"
#include "store_test_util.hpp"

namespace flashtune::store {
namespace {
using namespace testing;

// Same value, NaN included.
bool same(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

void expect_same_problem(const AttentionProblem& a, const AttentionProblem& b) {
  EXPECT_EQ(a.batch, b.batch);
  EXPECT_EQ(a.heads, b.heads);
  EXPECT_EQ(a.seqlen, b.seqlen);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.dtype, b.dtype);
  EXPECT_EQ(a.causal, b.causal);
  EXPECT_EQ(a.softmax_scale, b.softmax_scale);
}

void expect_same_sweep(const SweepRecord& a, const SweepRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.started_at, b.started_at);
  EXPECT_EQ(a.finished_at, b.finished_at);
  EXPECT_EQ(a.space_file, b.space_file);
  EXPECT_EQ(a.space_hash, b.space_hash);
  EXPECT_EQ(a.template_id, b.template_id);
  EXPECT_EQ(a.source_hash, b.source_hash);
  EXPECT_EQ(a.strategy, b.strategy);
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.has_gpu, b.has_gpu);
  EXPECT_EQ(a.gpu, b.gpu);
  EXPECT_EQ(a.nvrtc_version, b.nvrtc_version);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.summary_json, b.summary_json);
}

void expect_same_trial(const TrialRecord& a, const TrialRecord& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.sweep_id, b.sweep_id);
  expect_same_problem(a.problem, b.problem);
  EXPECT_EQ(a.smem_budget, b.smem_budget);
  EXPECT_EQ(a.template_id, b.template_id);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.detail, b.detail);
  EXPECT_EQ(a.registers, b.registers);
  EXPECT_EQ(a.spill_bytes, b.spill_bytes);
  EXPECT_EQ(a.smem_bytes, b.smem_bytes);
  EXPECT_EQ(a.blocks_per_sm, b.blocks_per_sm);
  EXPECT_EQ(a.carveout_percent, b.carveout_percent);
  EXPECT_EQ(a.compile_ms, b.compile_ms);
  EXPECT_EQ(a.cache_key, b.cache_key);
  EXPECT_EQ(a.verified, b.verified);
  EXPECT_TRUE(same(a.o_rel_l2, b.o_rel_l2)) << a.o_rel_l2 << " vs " << b.o_rel_l2;
  EXPECT_TRUE(same(a.o_max_abs, b.o_max_abs)) << a.o_max_abs << " vs " << b.o_max_abs;
  EXPECT_TRUE(same(a.lse_max_abs, b.lse_max_abs)) << a.lse_max_abs << " vs " << b.lse_max_abs;
  EXPECT_EQ(a.reference, b.reference);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.median_ms, b.median_ms);
  EXPECT_EQ(a.mean_ms, b.mean_ms);
  EXPECT_EQ(a.min_ms, b.min_ms);
  EXPECT_EQ(a.noise, b.noise);
  EXPECT_EQ(a.stop, b.stop);
  EXPECT_EQ(a.timed_budget, b.timed_budget);
  EXPECT_EQ(a.remeasured_ms, b.remeasured_ms);
  EXPECT_EQ(a.clock_fraction, b.clock_fraction);
  EXPECT_EQ(a.tflops, b.tflops);
  EXPECT_EQ(a.created_at, b.created_at);
}

void expect_same_best(const BestEntry& a, const BestEntry& b) {
  EXPECT_EQ(a.key, b.key);
  expect_same_problem(a.problem, b.problem);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.median_ms, b.median_ms);
  EXPECT_EQ(a.tflops, b.tflops);
  EXPECT_EQ(a.trial_id, b.trial_id);
  EXPECT_EQ(a.sweep_id, b.sweep_id);
  EXPECT_EQ(a.clock_fraction, b.clock_fraction);
  EXPECT_EQ(a.updated_at, b.updated_at);
}

SweepRecord sample_sweep() {
  return {.started_at = "2026-11-24T03:13:21Z",
          .space_file = "search_spaces/fa2_h100.yaml",
          .space_hash = "feedface",
          .template_id = "fa2_fwd",
          .source_hash = "0123456789abcdef0123456789abcdef",
          .strategy = "random",
          .arch = "sm_90a",
          .seed = 0xfedcba9876543210ULL,  // above 2^63: stored as its bits
          .has_gpu = true,
          .gpu = h100(),
          .nvrtc_version = 12080};
}

// Every field away from its default.
TrialRecord sample_trial(std::int64_t sweep_id) {
  TrialRecord t;
  t.sweep_id = sweep_id;
  t.problem = problem(3000, 2, 12, true, DType::f16, 64);
  t.problem.softmax_scale = 0.0883883f;
  t.smem_budget = 101376;
  t.template_id = "fa2_fwd";
  t.params = {{"block_m", 64}, {"block_n", 128}, {"stages", 3}, {"warps", 4}};
  t.status = TrialStatus::incorrect;
  t.detail = "O rel L2 = nan > 1e-2 \"quoted\"\nsecond line";
  t.registers = 168;
  t.spill_bytes = 24;
  t.smem_bytes = 98304;
  t.blocks_per_sm = 2;
  t.carveout_percent = 43;
  t.compile_ms = 812.625;
  t.cache_key = "abcdef0123456789abcdef0123456789";
  t.verified = true;
  t.o_rel_l2 = std::numeric_limits<double>::quiet_NaN();
  t.o_max_abs = std::numeric_limits<double>::infinity();
  t.lse_max_abs = 1.5e-7;
  t.reference = "cpu_fp32";
  t.samples = 37;
  t.median_ms = 1.2345678901234;
  t.mean_ms = 1.25;
  t.min_ms = 1.2;
  t.noise = 0.0125;
  t.stop = "converged";
  t.timed_budget = 232448;
  t.remeasured_ms = 1.2222;
  t.clock_fraction = 0.8125;
  t.tflops = 321.5;
  t.created_at = "2026-11-24T03:14:00Z";
  return t;
}

TEST(ResultStore, CreatesItsDirectoryWithWalAndTheSchemaVersion) {
  ScratchDir dir;
  const fs::path path = dir / "a/b/flashtune.db";
  {
    ResultStore db(path);
    EXPECT_EQ(db.path(), path);
    EXPECT_TRUE(fs::exists(path));
  }
  detail::Database raw(path);
  detail::Statement mode(raw, "PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
  detail::Statement version(raw, "PRAGMA user_version");
  ASSERT_TRUE(version.step());
  EXPECT_EQ(version.int32(0), ResultStore::kSchemaVersion);
}

TEST(ResultStore, DefaultPathIsInTheCacheDir) {
  const char* old = std::getenv("FLASHTUNE_CACHE_DIR");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("FLASHTUNE_CACHE_DIR", "/some/cache", 1);
  EXPECT_EQ(ResultStore::default_path(), fs::path("/some/cache/flashtune.db"));
  if (old != nullptr) {
    ::setenv("FLASHTUNE_CACHE_DIR", saved.c_str(), 1);
  } else {
    ::unsetenv("FLASHTUNE_CACHE_DIR");
  }
}

TEST(ResultStore, SweepRoundTrip) {
  ScratchDir dir;
  ResultStore db(dir / "flashtune.db");
  SweepRecord s = sample_sweep();
  s.id = db.begin_sweep(s);
  EXPECT_GT(s.id, 0);
  auto back = db.sweep(s.id);
  ASSERT_TRUE(back.has_value());
  expect_same_sweep(*back, s);

  SweepRecord compile_only = sample_sweep();
  compile_only.has_gpu = false;
  compile_only.gpu = {};
  compile_only.started_at = "";  // filled with the current time
  compile_only.id = db.begin_sweep(compile_only);
  back = db.sweep(compile_only.id);
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->has_gpu);
  EXPECT_EQ(back->gpu, GpuIdentity{});
  EXPECT_TRUE(std::regex_match(back->started_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << back->started_at;

  db.finish_sweep(s.id, "finished", R"({"trials": 12})");
  back = db.sweep(s.id);
  EXPECT_EQ(back->status, "finished");
  EXPECT_EQ(back->summary_json, R"({"trials": 12})");
  EXPECT_EQ(back->finished_at.size(), 20u);

  const std::vector<SweepRecord> all = db.sweeps();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, compile_only.id);  // newest first
  EXPECT_EQ(all[1].id, s.id);

  EXPECT_FALSE(db.sweep(9999).has_value());
  try {
    db.finish_sweep(s.id, "done", "{}");
    FAIL() << "status 'done' accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
  }
  try {
    db.finish_sweep(9999, "failed", "{}");
    FAIL() << "unknown sweep accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

TEST(ResultStore, TrialRoundTripKeepsEveryField) {
  ScratchDir dir;
  ResultStore db(dir / "flashtune.db");
  const std::int64_t sweep = db.begin_sweep(sample_sweep());
  const std::int64_t other = db.begin_sweep(sample_sweep());

  TrialRecord a = sample_trial(sweep);
  a.id = db.add_trial(a);
  TrialRecord noise = sample_trial(other);
  db.add_trial(noise);
  TrialRecord b;  // the defaults, with a fresh created_at
  b.sweep_id = sweep;
  b.id = db.add_trial(b);
  EXPECT_GT(b.id, a.id);

  const std::vector<TrialRecord> got = db.trials(sweep);
  ASSERT_EQ(got.size(), 2u);
  expect_same_trial(got[0], a);
  EXPECT_TRUE(std::regex_match(got[1].created_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  b.created_at = got[1].created_at;
  expect_same_trial(got[1], b);
  EXPECT_EQ(got[0].clock_fraction, 0.8125);
  EXPECT_FALSE(got[1].clock_fraction.has_value());  // unknown stays unknown (NULL), not 0

  db.set_remeasured(a.id, 1.1875);
  EXPECT_EQ(db.trials(sweep)[0].remeasured_ms, 1.1875);
  EXPECT_EQ(db.trials(other).size(), 1u);
  EXPECT_TRUE(db.trials(9999).empty());
  try {
    db.set_remeasured(9999, 1.0);
    FAIL() << "unknown trial accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

TEST(ResultStore, TrialOfAnUnknownSweepIsRejected) {
  ScratchDir dir;
  ResultStore db(dir / "flashtune.db");
  try {
    db.add_trial(sample_trial(42));
    FAIL() << "trial without its sweep accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("FOREIGN KEY"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find((dir / "flashtune.db").string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(db.trials(42).empty());
}

TEST(ResultStore, BestRoundTripAndReplaceByKey) {
  ScratchDir dir;
  ResultStore db(dir / "flashtune.db");
  BestEntry e = entry_for(problem(3000, 2, 24, true, DType::f16, 64), 101376);
  e.problem.softmax_scale = 0.125f;
  db.put_best(e);
  auto back = db.find_best(e.key);
  ASSERT_TRUE(back.has_value());
  expect_same_best(*back, e);

  BestEntry better = e;
  better.params["block_m"] = 64;
  better.median_ms = 0.25;
  better.updated_at = "";  // filled with the current time
  db.put_best(better);
  const std::vector<BestEntry> all = db.best_entries();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].params.at("block_m"), 64);
  EXPECT_EQ(all[0].median_ms, 0.25);
  EXPECT_EQ(all[0].updated_at.size(), 20u);
}

// Block-sparse problems: a trial keeps its block, density and seed (a seed above 2^63 stored as its bits); a
// best entry keys the block and the density's percent, keeps the example's density and seed, and sits
// beside the dense entry of the same buckets.
TEST(ResultStore, BlockSparseTrialAndBestRoundTrip) {
  ScratchDir dir;
  ResultStore db(dir / "flashtune.db");
  const std::int64_t sweep = db.begin_sweep(sample_sweep());
  TrialRecord t = sample_trial(sweep);
  t.problem.sparse_block = 128;
  t.problem.sparse_density = 0.3f;
  t.problem.sparse_seed = 0xfedcba9876543210ULL;
  t.id = db.add_trial(t);
  const TrialRecord dense = sample_trial(sweep);
  db.add_trial(dense);
  const std::vector<TrialRecord> got = db.trials(sweep);
  ASSERT_EQ(got.size(), 2u);
  expect_same_trial(got[0], t);
  EXPECT_EQ(got[0].problem.sparse_block, 128);
  EXPECT_EQ(got[0].problem.sparse_density, 0.3f);
  EXPECT_EQ(got[0].problem.sparse_seed, 0xfedcba9876543210ULL);
  EXPECT_TRUE(same_problem(got[0].problem, t.problem)) << got[0].problem.to_string();
  EXPECT_FALSE(got[1].problem.block_sparse());
  EXPECT_TRUE(same_problem(got[1].problem, dense.problem)) << got[1].problem.to_string();
  // The backward pass round-trips (and is not the forward problem).
  TrialRecord bwd = sample_trial(sweep);
  bwd.problem.pass = Pass::bwd;
  db.add_trial(bwd);
  const TrialRecord bwd_back = db.trials(sweep).back();
  EXPECT_EQ(bwd_back.problem.pass, Pass::bwd);
  EXPECT_FALSE(same_problem(bwd_back.problem, dense.problem));

  const BestEntry e = entry_for(t.problem, 101376);
  db.put_best(e);
  db.put_best(entry_for(dense.problem, 101376));
  ASSERT_EQ(db.best_entries().size(), 2u);
  const std::optional<BestEntry> back = db.find_best(e.key);
  ASSERT_TRUE(back.has_value());
  expect_same_best(*back, e);
  EXPECT_EQ(back->key.problem.sparse_block, 128);
  EXPECT_EQ(back->key.problem.density_pct, 30);
  EXPECT_TRUE(same_problem(back->problem, t.problem)) << back->problem.to_string();
  const std::optional<BestEntry> plain = db.find_best(key_for(dense.problem, 101376));
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->problem.block_sparse());
}

// A best entry reads the clock fraction of the trial it came from; unknown for a trial without one or one the
// database does not have.
TEST(ResultStore, BestEntriesCarryTheirTrialsClockFraction) {
  ScratchDir dir;
  ResultStore db(dir / "flashtune.db");
  const std::int64_t sweep = db.begin_sweep(sample_sweep());
  TrialRecord measured = sample_trial(sweep);
  measured.clock_fraction = 0.9375;
  const std::int64_t with_clock = db.add_trial(measured);
  measured.clock_fraction.reset();
  const std::int64_t without_clock = db.add_trial(measured);

  BestEntry a = entry_for(problem(1024));
  a.trial_id = with_clock;
  a.clock_fraction = 0.1;  // not written: the trial's value is what reads back
  db.put_best(a);
  BestEntry b = entry_for(problem(4096));
  b.trial_id = without_clock;
  db.put_best(b);
  BestEntry c = entry_for(problem(16384));
  c.trial_id = 424242;  // pruned, or from another database
  db.put_best(c);

  const std::vector<BestEntry> all = db.best_entries();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].trial_id, with_clock);
  EXPECT_EQ(all[0].clock_fraction, 0.9375);
  EXPECT_EQ(all[1].trial_id, without_clock);
  EXPECT_FALSE(all[1].clock_fraction.has_value());
  EXPECT_EQ(all[2].trial_id, 424242);
  EXPECT_FALSE(all[2].clock_fraction.has_value());
  EXPECT_EQ(db.find_best(a.key)->clock_fraction, 0.9375);
  EXPECT_EQ(db.best_config(a.key)->clock_fraction, 0.9375);
}

TEST(ResultStore, BestEntriesAreOrderedByGpuTemplateAndProblem) {
  ScratchDir dir;
  ResultStore db(dir / "flashtune.db");
  db.put_best(entry_for(problem(8192)));
  db.put_best(entry_for(problem(1024), kMaxBudget, 128, a100()));
  db.put_best(entry_for(problem(1024)));
  db.put_best(entry_for(problem(1024), 49152));
  const std::vector<BestEntry> all = db.best_entries();
  ASSERT_EQ(all.size(), 4u);
  // "NVIDIA A100..." < "NVIDIA H100..."; then by problem key: seqlen bucket before budget.
  EXPECT_EQ(all[0].key.gpu, a100());
  EXPECT_EQ(all[1].key.problem.smem_budget, 49152);
  EXPECT_EQ(all[2].key.problem.seqlen_bucket, 1024);
  EXPECT_EQ(all[2].key.problem.smem_budget, kMaxBudget);
  EXPECT_EQ(all[3].key.problem.seqlen_bucket, 8192);
}

TEST(ResultStore, PutBestRejectsAnExampleOutsideItsKey) {
  ScratchDir dir;
  ResultStore db(dir / "flashtune.db");
  BestEntry e = entry_for(problem(4096));
  e.problem.seqlen = 8192;
  EXPECT_THROW(db.put_best(e), Error);
  EXPECT_TRUE(db.best_entries().empty());
}

TEST(ResultStore, ReopeningKeepsTheData) {
  ScratchDir dir;
  const fs::path path = dir / "flashtune.db";
  std::int64_t sweep = 0, trial = 0;
  {
    ResultStore db(path);
    sweep = db.begin_sweep(sample_sweep());
    trial = db.add_trial(sample_trial(sweep));
    db.put_best(entry_for(problem(4096)));
  }
  ResultStore db(path);
  ASSERT_TRUE(db.sweep(sweep).has_value());
  ASSERT_EQ(db.trials(sweep).size(), 1u);
  EXPECT_EQ(db.trials(sweep)[0].id, trial);
  EXPECT_TRUE(db.find_best(key_for(problem(4096))).has_value());
  EXPECT_EQ(db.begin_sweep(sample_sweep()), sweep + 1);
}

TEST(ResultStore, TwoStoresOnOneFileFromTwoThreadsLoseNothing) {
  ScratchDir dir;
  const fs::path path = dir / "flashtune.db";
  ResultStore first(path);
  ResultStore second(path);
  const std::int64_t sweep = first.begin_sweep(sample_sweep());
  constexpr int kPerThread = 60;
  auto writer = [&](ResultStore& db, const std::string& who) {
    for (int i = 0; i < kPerThread; ++i) {
      TrialRecord t = sample_trial(sweep);
      t.detail = who + std::to_string(i);
      db.add_trial(t);
      if (i % 10 == 0) db.put_best(entry_for(problem(1 << (i / 10 + 6)), kMaxBudget, who == "a" ? 64 : 128));
    }
  };
  std::thread ta(writer, std::ref(first), "a");
  std::thread tb(writer, std::ref(second), "b");
  ta.join();
  tb.join();

  std::set<std::string> details;
  std::set<std::int64_t> ids;
  for (const TrialRecord& t : ResultStore(path).trials(sweep)) {
    details.insert(t.detail);
    ids.insert(t.id);
  }
  EXPECT_EQ(details.size(), 2u * kPerThread);
  EXPECT_EQ(ids.size(), 2u * kPerThread);
  EXPECT_TRUE(details.count("a0") && details.count("b59"));
  EXPECT_EQ(second.best_entries().size(), 6u);
}

TEST(ResultStore, RandomBytesAreNotAFlashtuneDatabase) {
  ScratchDir dir;
  const fs::path path = dir / "flashtune.db";
  {
    std::mt19937 rng(7);
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 8192; ++i) out.put(static_cast<char>(rng() & 0xff));
  }
  try {
    ResultStore db(path);
    FAIL() << "random bytes opened as a database";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_EQ(std::string(e.what()), path.string() + " is not a flashtune database (file is not a database)");
  }
}

TEST(ResultStore, AnotherProgramsDatabaseIsRefused) {
  ScratchDir dir;
  const fs::path path = dir / "other.db";
  {
    detail::Database raw(path);
    raw.exec("CREATE TABLE notes (text TEXT)");
  }
  try {
    ResultStore db(path);
    FAIL() << "a foreign database accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("is not a flashtune database"), std::string::npos) << e.what();
  }
}

TEST(ResultStore, ANewerSchemaIsRefused) {
  ScratchDir dir;
  const fs::path path = dir / "flashtune.db";
  { ResultStore db(path); }
  {
    detail::Database raw(path);
    raw.exec("PRAGMA user_version = 99");
  }
  try {
    ResultStore db(path);
    FAIL() << "schema 99 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_EQ(std::string(e.what()), path.string() + " was written by a newer flashtune (schema 99 > " +
                                         std::to_string(ResultStore::kSchemaVersion) + ")");
  }
}

TEST(ResultStore, AnUncreatableDirectoryIsAnIoError) {
  ScratchDir dir;
  { std::ofstream(dir / "plain_file") << "x"; }
  try {
    ResultStore db(dir / "plain_file/sub/flashtune.db");  // a file where a directory must go
    FAIL() << "opened below a regular file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("plain_file"), std::string::npos) << e.what();
  }
  try {
    ResultStore db(dir.path());  // a directory where the file must go
    FAIL() << "opened a directory as a database";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos) << e.what();
  }
}

// The checks of an unwritable directory and file under `dir`, as the current user; returns the failures.
std::vector<std::string> unwritable_failures(const fs::path& dir) {
  std::vector<std::string> failures;
  auto expect_io = [&](const fs::path& p, std::string_view needle) {
    try {
      ResultStore db(p);
      failures.push_back("opened " + p.string());
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::io || std::string(e.what()).find(needle) == std::string::npos)
        failures.push_back(std::string("unexpected error: ") + e.what());
    }
  };
  const fs::path ro = dir / "read_only";
  fs::create_directories(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  expect_io(ro / "flashtune.db", ro.string());
  expect_io(ro / "sub" / "flashtune.db", ro.string());
  fs::permissions(ro, fs::perms::owner_all);

  const fs::path file = dir / "flashtune.db";
  { ResultStore db(file); }
  fs::permissions(file, fs::perms::owner_read);
  expect_io(file, "not writable");
  return failures;
}

// Root ignores permissions: then the checks run in a child process as the unprivileged user 65534 (nobody).
TEST(ResultStore, AnUnwritableDirectoryOrFileIsAnIoError) {
  ScratchDir dir;
  if (::geteuid() != 0) {
    for (const std::string& f : unwritable_failures(dir.path())) ADD_FAILURE() << f;
    return;
  }
  constexpr uid_t kNobody = 65534;
  ASSERT_EQ(::chown(dir.path().c_str(), kNobody, kNobody), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(77);
    int code = 0;
    try {
      for (const std::string& f : unwritable_failures(dir.path())) {
        std::fprintf(stderr, "%s\n", f.c_str());
        code = 1;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      code = 2;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "running as root and cannot switch to user 65534";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the failures above";
}

}  // namespace
}  // namespace flashtune::store
