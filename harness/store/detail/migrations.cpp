// The schema of the results store (flashtune.db), version 1:
//
//   gpus    one row per GpuIdentity, keyed by GpuIdentity::key() (name, cc, SMs, shared memory, L2, driver).
//   sweeps  one row per tuning run: when, the search space (file, hash), the template and its source hash,
//   the
//           strategy, arch, seed (the uint64's bits as a signed 64-bit integer), the GPU (NULL: no GPU), the
//           NVRTC version, the status (running | finished | interrupted | failed) and the tuner's summary
//           JSON.
//   trials  one row per configuration tried, in insertion order (id), linked to its sweep (deleted with it):
//   the
//           problem (batch, heads, seqlen, head_dim, dtype, causal, softmax_scale), the resolved budget, the
//           template and its parameters as canonical JSON (keys sorted), the TrialStatus name and detail,
//           ptxas and occupancy facts, compile time and cubin cache key, verification errors, timing
//           statistics, the re-measured median and TFLOP/s. Indexed by (sweep_id, id) for trials(sweep).
//   best    one row per BestKey: gpu_key, template_id, source_hash, nvrtc_version, dtype, head_dim, causal,
//           seqlen_bucket, bh_bucket, smem_budget (the primary key, whose first seven columns are what
//           best_config() looks up), the example problem (batch, heads, seqlen, softmax_scale), the
//           parameters (canonical JSON), median_ms, tflops, the trial and sweep it came from (0: unknown; not
//           foreign keys, so that an entry outlives pruned trials) and updated_at.
//
// Version 2 adds to trials the hardware counters of a profiled launch (CUPTI, harness/profile/): profiled
// (0/1), dram_read_bytes, dram_write_bytes, l2_bytes (lts__t_bytes), profiled_ns (gpu__time_duration of the
// profiled launch, all kernels), activity_ns (the kernels' durations from the Activity API, an unprofiled
// launch) and counters_json (any further metrics, name -> value). Trials of version 1 read back unprofiled.
//
// Version 3 adds to trials clock_fraction: the lowest SM clock read during the trial's timing as a fraction
// of the maximum SM clock (gpu/clock_check.hpp); NULL where it is unknown (no NVML, not timed, or an older
// trial).
//
// Version 4 carries the attention variants (core/problem.hpp). trials gains kv_heads and seqlen_k (0: as
// many as heads / seqlen, as older trials read back), window_left and window_right (-1: unbounded), softcap
// (0: none) and layout ('bhsd' | 'bshd'). best is rebuilt with the variant in its key: window_left,
// window_right, softcap (0/1), layout and kv_group (heads / kv_heads) join the family columns,
// seqlen_k_bucket the buckets; the example problem gains kv_heads, seqlen_k and softcap_value. Older entries
// become the plain problem's (group 1, seqlen_k_bucket = seqlen_bucket, no window, no softcap, bhsd).
//
// Version 5 adds variable lengths: layout 'thd' (packed sequences; best keys it like any layout, bucketed by
// the longest sequence) and trials' seqlens, the sequences' query lengths "q1,q2,..." with ";k1,k2,..."
// when the keys' differ ('' for every fixed-length trial; core/problem.hpp's seqlens_text).
//
// Version 6 adds block-sparse attention (core/block_layout.hpp). trials gains sparse_block (0: dense),
// sparse_density (0 when dense) and sparse_seed (the uint64's bits as a signed 64-bit integer, as
// sweeps.seed). best is rebuilt with sparse_block among the family columns and density_pct (round(density *
// 100), 0 when dense) among the buckets; the example problem gains sparse_density and sparse_seed. Older
// trials and entries become dense (sparse_block 0, density_pct 0). trials also gains pass ('fwd' | 'bwd', the
// problem's AttentionProblem::pass; older trials are forward ones); best needs no pass column, a template
// computing one pass (its template_id says which).
//
// Time stamps are TEXT, UTC ISO 8601 ("2026-11-24T03:13:21Z"). REAL columns are nullable because sqlite
// stores NaN as NULL; the store reads NULL back as NaN. Booleans are INTEGER 0/1.
//
// To change the schema, append a migration with the next version (never edit a released one), bump
// kLatestSchemaVersion and ResultStore::kSchemaVersion, and extend this comment.
#include "store/detail/migrations.hpp"

#include <array>
#include <string_view>

#include <fmt/format.h>

namespace flashtune::store::detail {
namespace {

struct Migration {
  int version;
  std::string_view sql;
};

constexpr std::array kMigrations{
    Migration{1, R"sql(
CREATE TABLE gpus (
  key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  cc_major INTEGER NOT NULL,
  cc_minor INTEGER NOT NULL,
  sm_count INTEGER NOT NULL,
  smem_optin_per_block INTEGER NOT NULL,
  l2_bytes INTEGER NOT NULL,
  driver_version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sweeps (
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  space_file TEXT NOT NULL,
  space_hash TEXT NOT NULL,
  template_id TEXT NOT NULL,
  source_hash TEXT NOT NULL,
  strategy TEXT NOT NULL,
  arch TEXT NOT NULL,
  seed INTEGER NOT NULL,
  gpu_key TEXT REFERENCES gpus (key),
  nvrtc_version INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted', 'failed')),
  summary_json TEXT NOT NULL DEFAULT ''
);

CREATE TABLE trials (
  id INTEGER PRIMARY KEY,
  sweep_id INTEGER NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  batch INTEGER NOT NULL,
  heads INTEGER NOT NULL,
  seqlen INTEGER NOT NULL,
  head_dim INTEGER NOT NULL,
  dtype TEXT NOT NULL,
  causal INTEGER NOT NULL,
  softmax_scale REAL,
  smem_budget INTEGER NOT NULL,
  template_id TEXT NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  detail TEXT NOT NULL,
  registers INTEGER NOT NULL,
  spill_bytes INTEGER NOT NULL,
  smem_bytes INTEGER NOT NULL,
  blocks_per_sm INTEGER NOT NULL,
  carveout_percent INTEGER NOT NULL,
  compile_ms REAL,
  cache_key TEXT NOT NULL,
  verified INTEGER NOT NULL,
  o_rel_l2 REAL,
  o_max_abs REAL,
  lse_max_abs REAL,
  reference TEXT NOT NULL,
  samples INTEGER NOT NULL,
  median_ms REAL,
  mean_ms REAL,
  min_ms REAL,
  noise REAL,
  stop TEXT NOT NULL,
  timed_budget INTEGER NOT NULL,
  remeasured_ms REAL,
  tflops REAL,
  created_at TEXT NOT NULL
);
CREATE INDEX trials_by_sweep ON trials (sweep_id, id);

CREATE TABLE best (
  gpu_key TEXT NOT NULL REFERENCES gpus (key),
  template_id TEXT NOT NULL,
  source_hash TEXT NOT NULL,
  nvrtc_version INTEGER NOT NULL,
  dtype TEXT NOT NULL,
  head_dim INTEGER NOT NULL,
  causal INTEGER NOT NULL,
  seqlen_bucket INTEGER NOT NULL,
  bh_bucket INTEGER NOT NULL,
  smem_budget INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  heads INTEGER NOT NULL,
  seqlen INTEGER NOT NULL,
  softmax_scale REAL,
  params TEXT NOT NULL,
  median_ms REAL,
  tflops REAL,
  trial_id INTEGER NOT NULL,
  sweep_id INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (gpu_key, template_id, source_hash, nvrtc_version, dtype, head_dim, causal, seqlen_bucket,
               bh_bucket, smem_budget)
) WITHOUT ROWID;
)sql"},
    Migration{2, R"sql(
ALTER TABLE trials ADD COLUMN profiled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN dram_read_bytes REAL;
ALTER TABLE trials ADD COLUMN dram_write_bytes REAL;
ALTER TABLE trials ADD COLUMN l2_bytes REAL;
ALTER TABLE trials ADD COLUMN profiled_ns REAL;
ALTER TABLE trials ADD COLUMN activity_ns REAL;
ALTER TABLE trials ADD COLUMN counters_json TEXT NOT NULL DEFAULT '';
)sql"},
    Migration{3, R"sql(
ALTER TABLE trials ADD COLUMN clock_fraction REAL;
)sql"},
    Migration{4, R"sql(
ALTER TABLE trials ADD COLUMN kv_heads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN seqlen_k INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN window_left INTEGER NOT NULL DEFAULT -1;
ALTER TABLE trials ADD COLUMN window_right INTEGER NOT NULL DEFAULT -1;
ALTER TABLE trials ADD COLUMN softcap REAL NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN layout TEXT NOT NULL DEFAULT 'bhsd';

CREATE TABLE best_v4 (
  gpu_key TEXT NOT NULL REFERENCES gpus (key),
  template_id TEXT NOT NULL,
  source_hash TEXT NOT NULL,
  nvrtc_version INTEGER NOT NULL,
  dtype TEXT NOT NULL,
  head_dim INTEGER NOT NULL,
  causal INTEGER NOT NULL,
  window_left INTEGER NOT NULL,
  window_right INTEGER NOT NULL,
  softcap INTEGER NOT NULL,
  layout TEXT NOT NULL,
  kv_group INTEGER NOT NULL,
  seqlen_bucket INTEGER NOT NULL,
  seqlen_k_bucket INTEGER NOT NULL,
  bh_bucket INTEGER NOT NULL,
  smem_budget INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  heads INTEGER NOT NULL,
  seqlen INTEGER NOT NULL,
  softmax_scale REAL,
  kv_heads INTEGER NOT NULL,
  seqlen_k INTEGER NOT NULL,
  softcap_value REAL NOT NULL,
  params TEXT NOT NULL,
  median_ms REAL,
  tflops REAL,
  trial_id INTEGER NOT NULL,
  sweep_id INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (gpu_key, template_id, source_hash, nvrtc_version, dtype, head_dim, causal, window_left,
               window_right, softcap, layout, kv_group, seqlen_bucket, seqlen_k_bucket, bh_bucket, smem_budget)
) WITHOUT ROWID;
INSERT INTO best_v4
  SELECT gpu_key, template_id, source_hash, nvrtc_version, dtype, head_dim, causal, -1, -1, 0, 'bhsd', 1,
         seqlen_bucket, seqlen_bucket, bh_bucket, smem_budget, batch, heads, seqlen, softmax_scale, heads, seqlen,
         0, params, median_ms, tflops, trial_id, sweep_id, updated_at
  FROM best;
DROP TABLE best;
ALTER TABLE best_v4 RENAME TO best;
)sql"},
    Migration{5, R"sql(
ALTER TABLE trials ADD COLUMN seqlens TEXT NOT NULL DEFAULT '';
)sql"},
    Migration{6, R"sql(
ALTER TABLE trials ADD COLUMN sparse_block INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN sparse_density REAL NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN sparse_seed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE trials ADD COLUMN pass TEXT NOT NULL DEFAULT 'fwd';

CREATE TABLE best_v6 (
  gpu_key TEXT NOT NULL REFERENCES gpus (key),
  template_id TEXT NOT NULL,
  source_hash TEXT NOT NULL,
  nvrtc_version INTEGER NOT NULL,
  dtype TEXT NOT NULL,
  head_dim INTEGER NOT NULL,
  causal INTEGER NOT NULL,
  window_left INTEGER NOT NULL,
  window_right INTEGER NOT NULL,
  softcap INTEGER NOT NULL,
  layout TEXT NOT NULL,
  kv_group INTEGER NOT NULL,
  sparse_block INTEGER NOT NULL,
  density_pct INTEGER NOT NULL,
  seqlen_bucket INTEGER NOT NULL,
  seqlen_k_bucket INTEGER NOT NULL,
  bh_bucket INTEGER NOT NULL,
  smem_budget INTEGER NOT NULL,
  batch INTEGER NOT NULL,
  heads INTEGER NOT NULL,
  seqlen INTEGER NOT NULL,
  softmax_scale REAL,
  kv_heads INTEGER NOT NULL,
  seqlen_k INTEGER NOT NULL,
  softcap_value REAL NOT NULL,
  sparse_density REAL NOT NULL,
  sparse_seed INTEGER NOT NULL,
  params TEXT NOT NULL,
  median_ms REAL,
  tflops REAL,
  trial_id INTEGER NOT NULL,
  sweep_id INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (gpu_key, template_id, source_hash, nvrtc_version, dtype, head_dim, causal, window_left,
               window_right, softcap, layout, kv_group, sparse_block, density_pct, seqlen_bucket,
               seqlen_k_bucket, bh_bucket, smem_budget)
) WITHOUT ROWID;
INSERT INTO best_v6
  SELECT gpu_key, template_id, source_hash, nvrtc_version, dtype, head_dim, causal, window_left, window_right,
         softcap, layout, kv_group, 0, 0, seqlen_bucket, seqlen_k_bucket, bh_bucket, smem_budget, batch, heads,
         seqlen, softmax_scale, kv_heads, seqlen_k, softcap_value, 0, 0, params, median_ms, tflops, trial_id,
         sweep_id, updated_at
  FROM best;
DROP TABLE best;
ALTER TABLE best_v6 RENAME TO best;
)sql"},
};
static_assert(kMigrations.back().version == kLatestSchemaVersion,
              "kLatestSchemaVersion is the last migration");

struct Header {
  int user_version = 0;
  int application_id = 0;
  int objects = 0;  // tables, indexes, views, triggers
};

int pragma_int(Database& db, std::string_view sql) {
  Statement st(db, sql);
  return st.step() ? st.int32(0) : 0;
}

// Throws for a database this build must not touch; returns its schema version.
int checked_version(Database& db) {
  const Header h{pragma_int(db, "PRAGMA user_version"), pragma_int(db, "PRAGMA application_id"),
                 pragma_int(db, "SELECT count(*) FROM sqlite_master")};
  const std::string path = db.path().string();
  if (h.application_id != 0 && h.application_id != kApplicationId)
    throw Error(ErrorKind::io, fmt::format("{} is not a flashtune database (application_id {:#x})", path,
                                           static_cast<unsigned>(h.application_id)));
  if (h.application_id == 0 && h.objects > 0)
    throw Error(ErrorKind::io, fmt::format("{} is not a flashtune database (it holds {} tables or indexes of "
                                           "another program)",
                                           path, h.objects));
  if (h.user_version > kLatestSchemaVersion)
    throw Error(ErrorKind::io, fmt::format("{} was written by a newer flashtune (schema {} > {})", path,
                                           h.user_version, kLatestSchemaVersion));
  return h.user_version;
}

}  // namespace

void migrate(Database& db) {
  migrate(db, kLatestSchemaVersion);
}

void migrate(Database& db, int version) {
  if (version < 1 || version > kLatestSchemaVersion)
    throw Error(ErrorKind::internal, fmt::format("no schema version {} to migrate to", version));
  if (checked_version(db) >= version) return;
  Transaction tx(db);
  const int from = checked_version(db);  // again, under the write lock: another process may have migrated
  if (from >= version) return;
  for (const Migration& m : kMigrations)
    if (m.version > from && m.version <= version) db.exec(m.sql);
  // PRAGMA takes no bound parameters: the version is checked above, the application id a constant.
  db.exec(fmt::format("PRAGMA user_version = {}; PRAGMA application_id = {}", version, kApplicationId));
  tx.commit();
}

}  // namespace flashtune::store::detail
