#include "store/result_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <bit>
#include <functional>
#include <mutex>
#include <tuple>

#include <fmt/format.h>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/private_dir.hpp"
#include "store/best_config_rule.hpp"
#include "store/detail/migrations.hpp"
#include "store/detail/sqlite.hpp"
#include "store/time_stamp.hpp"

namespace flashtune::store {
namespace fs = std::filesystem;
using detail::Columns;
using detail::Database;
using detail::Statement;
using detail::Transaction;

static_assert(ResultStore::kSchemaVersion == detail::kLatestSchemaVersion);

namespace {

constexpr int kBusyTimeoutMs = 10'000;
constexpr std::array<std::string_view, 4> kSweepStatuses = {"running", "finished", "interrupted", "failed"};

void check_sweep_status(const std::string& status) {
  if (std::find(kSweepStatuses.begin(), kSweepStatuses.end(), status) == kSweepStatuses.end())
    throw Error(ErrorKind::invalid_argument,
                fmt::format("unknown sweep status '{}' (running, finished, interrupted or failed)", status));
}

std::string or_now(const std::string& stamp) {
  return stamp.empty() ? utc_now() : stamp;
}

std::string params_json(const ParamValues& params) {
  return nlohmann::json(params).dump();  // std::map: keys sorted, so the text is canonical
}

ParamValues parse_params(const std::string& text, const Database& db, std::string_view row) {
  try {
    return nlohmann::json::parse(text).get<ParamValues>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::io,
                fmt::format("{}: bad parameters in {}: {}", db.path().string(), row, e.what()));
  }
}

DType parse_dtype_column(const std::string& text, const Database& db) {
  if (auto d = parse_dtype(text)) return *d;
  throw Error(ErrorKind::io, fmt::format("{}: unknown dtype '{}'", db.path().string(), text));
}

void put_gpu(Database& db, const GpuIdentity& g) {
  Statement st(db,
               "INSERT OR IGNORE INTO gpus (key, name, cc_major, cc_minor, sm_count, smem_optin_per_block, "
               "l2_bytes, driver_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind_all(g.key(), g.name, g.cc_major, g.cc_minor, g.sm_count, g.smem_optin_per_block, g.l2_bytes,
              g.driver_version);
  st.run();
}

// name, cc_major, cc_minor, sm_count, smem_optin_per_block, l2_bytes, driver_version
GpuIdentity read_gpu(Columns& c) {
  GpuIdentity g;
  c.read(g.name, g.cc_major, g.cc_minor, g.sm_count, g.smem_optin_per_block, g.l2_bytes, g.driver_version);
  return g;
}

constexpr std::string_view kSweepSelect =
    "SELECT s.id, s.started_at, s.finished_at, s.space_file, s.space_hash, s.template_id, s.source_hash, "
    "s.strategy, s.arch, s.seed, s.gpu_key IS NOT NULL, g.name, g.cc_major, g.cc_minor, g.sm_count, "
    "g.smem_optin_per_block, g.l2_bytes, g.driver_version, s.nvrtc_version, s.status, s.summary_json "
    "FROM sweeps s LEFT JOIN gpus g ON g.key = s.gpu_key ";

SweepRecord read_sweep(const Statement& st) {
  Columns c(st);
  SweepRecord s;
  c.read(s.id, s.started_at, s.finished_at, s.space_file, s.space_hash, s.template_id, s.source_hash,
         s.strategy, s.arch);
  s.seed = std::bit_cast<std::uint64_t>(c.int64());
  s.has_gpu = c.boolean();
  GpuIdentity g = read_gpu(c);
  if (s.has_gpu) s.gpu = std::move(g);
  c.read(s.nvrtc_version, s.status, s.summary_json);
  return s;
}

Layout parse_layout_column(const std::string& text, const Database& db) {
  if (auto l = parse_layout(text)) return *l;
  throw Error(ErrorKind::io, fmt::format("{}: unknown layout '{}'", db.path().string(), text));
}

// kv_heads, seqlen_k, window_left, window_right, softcap, layout (schema 4); trials' seqlens (5) and
// sparse_block, sparse_density, sparse_seed and pass (6) follow.
void read_variant(Columns& c, AttentionProblem& p, const Database& db) {
  c.read(p.kv_heads, p.seqlen_k, p.window_left, p.window_right, p.softcap);
  p.layout = parse_layout_column(c.text(), db);
}

constexpr std::string_view kTrialColumns =
    "sweep_id, batch, heads, seqlen, head_dim, dtype, causal, softmax_scale, smem_budget, template_id, "
    "params, "
    "status, detail, registers, spill_bytes, smem_bytes, blocks_per_sm, carveout_percent, compile_ms, "
    "cache_key, verified, o_rel_l2, o_max_abs, lse_max_abs, reference, samples, median_ms, mean_ms, min_ms, "
    "noise, stop, timed_budget, remeasured_ms, tflops, created_at, profiled, dram_read_bytes, "
    "dram_write_bytes, l2_bytes, profiled_ns, activity_ns, counters_json, clock_fraction, kv_heads, "
    "seqlen_k, "
    "window_left, window_right, softcap, layout, seqlens, sparse_block, sparse_density, sparse_seed, pass";

TrialRecord read_trial(const Statement& st, const Database& db) {
  Columns c(st);
  TrialRecord t;
  c.read(t.id, t.sweep_id, t.problem.batch, t.problem.heads, t.problem.seqlen, t.problem.head_dim);
  t.problem.dtype = parse_dtype_column(c.text(), db);
  c.read(t.problem.causal, t.problem.softmax_scale, t.smem_budget, t.template_id);
  t.params = parse_params(c.text(), db, fmt::format("trial {}", t.id));
  const std::string status = c.text();
  if (auto s = parse_trial_status(status)) {
    t.status = *s;
  } else {
    throw Error(ErrorKind::io,
                fmt::format("{}: trial {} has an unknown status '{}'", db.path().string(), t.id, status));
  }
  c.read(t.detail, t.registers, t.spill_bytes, t.smem_bytes, t.blocks_per_sm, t.carveout_percent,
         t.compile_ms, t.cache_key, t.verified, t.o_rel_l2, t.o_max_abs, t.lse_max_abs, t.reference,
         t.samples, t.median_ms, t.mean_ms, t.min_ms, t.noise, t.stop, t.timed_budget, t.remeasured_ms,
         t.tflops, t.created_at, t.profiled, t.dram_read_bytes, t.dram_write_bytes, t.l2_bytes, t.profiled_ns,
         t.activity_ns, t.counters_json, t.clock_fraction);
  read_variant(c, t.problem, db);
  const std::string seqlens = c.text();
  try {
    parse_seqlens_text(seqlens, t.problem);
  } catch (const Error& e) {
    throw Error(ErrorKind::io, fmt::format("{}: trial {}: {}", db.path().string(), t.id, e.what()));
  }
  c.read(t.problem.sparse_block, t.problem.sparse_density);
  t.problem.sparse_seed = std::bit_cast<std::uint64_t>(c.int64());
  const std::string pass = c.text();
  if (auto ps = parse_pass(pass)) {
    t.problem.pass = *ps;
  } else {
    throw Error(ErrorKind::io,
                fmt::format("{}: trial {} has an unknown pass '{}'", db.path().string(), t.id, pass));
  }
  return t;
}

constexpr std::string_view kBestSelect =
    "SELECT g.name, g.cc_major, g.cc_minor, g.sm_count, g.smem_optin_per_block, g.l2_bytes, "
    "g.driver_version, "
    "b.template_id, b.source_hash, b.nvrtc_version, b.dtype, b.head_dim, b.causal, b.window_left, "
    "b.window_right, b.softcap, b.layout, b.kv_group, b.sparse_block, b.density_pct, b.seqlen_bucket, "
    "b.seqlen_k_bucket, b.bh_bucket, b.smem_budget, b.batch, b.heads, b.seqlen, b.softmax_scale, b.kv_heads, "
    "b.seqlen_k, b.softcap_value, b.sparse_density, b.sparse_seed, b.params, b.median_ms, b.tflops, "
    "b.trial_id, b.sweep_id, b.updated_at, t.clock_fraction FROM best b "
    "JOIN "
    "gpus g ON g.key = b.gpu_key LEFT JOIN trials t ON t.id = b.trial_id ";
// The columns best_config() narrows on: the primary key's first thirteen (ProblemKey::same_family).
constexpr std::string_view kBestFamily =
    "WHERE b.gpu_key = ? AND b.template_id = ? AND b.source_hash = ? AND b.nvrtc_version = ? AND b.dtype = ? "
    "AND b.head_dim = ? AND b.causal = ? AND b.window_left = ? AND b.window_right = ? AND b.softcap = ? AND "
    "b.layout = ? AND b.kv_group = ? AND b.sparse_block = ? ";
constexpr int kBestFamilyColumns = 13;

void bind_family(Statement& st, const BestKey& k) {
  st.bind(1, k.gpu.key())
      .bind(2, k.template_id)
      .bind(3, k.source_hash)
      .bind(4, k.nvrtc_version)
      .bind(5, to_string(k.problem.dtype))
      .bind(6, k.problem.head_dim)
      .bind(7, k.problem.causal)
      .bind(8, k.problem.window_left)
      .bind(9, k.problem.window_right)
      .bind(10, k.problem.softcap)
      .bind(11, to_string(k.problem.layout))
      .bind(12, k.problem.kv_group)
      .bind(13, k.problem.sparse_block);
}

BestEntry read_best(const Statement& st, const Database& db) {
  Columns c(st);
  BestEntry e;
  e.key.gpu = read_gpu(c);
  c.read(e.key.template_id, e.key.source_hash, e.key.nvrtc_version);
  ProblemKey& k = e.key.problem;
  k.dtype = parse_dtype_column(c.text(), db);
  c.read(k.head_dim, k.causal, k.window_left, k.window_right, k.softcap);
  k.layout = parse_layout_column(c.text(), db);
  c.read(k.kv_group, k.sparse_block, k.density_pct, k.seqlen_bucket, k.seqlen_k_bucket, k.bh_bucket,
         k.smem_budget, e.problem.batch, e.problem.heads, e.problem.seqlen, e.problem.softmax_scale,
         e.problem.kv_heads, e.problem.seqlen_k, e.problem.softcap, e.problem.sparse_density);
  e.problem.sparse_seed = std::bit_cast<std::uint64_t>(c.int64());
  e.problem.head_dim = k.head_dim;
  e.problem.dtype = k.dtype;
  e.problem.causal = k.causal;
  e.problem.window_left = k.window_left;
  e.problem.window_right = k.window_right;
  e.problem.layout = k.layout;
  e.problem.sparse_block = k.sparse_block;
  e.params = parse_params(c.text(), db, "best entry " + e.key.to_string());
  c.read(e.median_ms, e.tflops, e.trial_id, e.sweep_id, e.updated_at, e.clock_fraction);
  return e;
}

std::vector<BestEntry> read_bests(Statement& st, const Database& db) {
  std::vector<BestEntry> out;
  while (st.step()) out.push_back(read_best(st, db));
  return out;
}

// Opens and prepares the connection; see the constructor's contract.
// Switches a new database to the WAL journal (a no-op when it already is). Two processes creating the same
// database at once both try: SQLite may answer SQLITE_BUSY at once, without its busy handler (a lock
// escalation that could deadlock), so retry for as long as the busy timeout.
void enable_wal(Database& db, const fs::path& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (int attempt = 0;; ++attempt) {
    try {
      {
        Statement current(db, "PRAGMA journal_mode");  // finalized before the switch: no open read
        if (current.step() && current.text(0) == "wal") return;
      }
      Statement wal(db, "PRAGMA journal_mode = WAL");
      const std::string mode = wal.step() ? wal.text(0) : "";
      if (mode == "wal") return;
      throw Error(ErrorKind::io,
                  fmt::format("{}: the WAL journal could not be enabled (journal_mode is '{}')",
                              path.string(), mode));
    } catch (const detail::SqliteError& e) {
      if ((e.code() != SQLITE_BUSY && e.code() != SQLITE_LOCKED) ||
          std::chrono::steady_clock::now() > deadline)
        throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(5 + 5 * std::min(attempt, 20)));
    }
  }
}

// The first line of a PRAGMA quick_check / integrity_check: "ok" for a sound file.
std::string check_result(Database& db, std::string_view pragma) {
  Statement st(db, pragma);
  return st.step() ? st.text(0) : "no answer";
}

void refuse_if_damaged(Database& db, const fs::path& path, std::string_view pragma) {
  const std::string result = check_result(db, pragma);
  if (result != "ok")
    throw Error(ErrorKind::io, fmt::format("{} is damaged ({} says: {}); it is not used: restore it from a "
                                           "copy, or give --db a new file",
                                           path.string(), pragma, result));
}

// The results database's own folder: the cache directory must be private (core/private_dir.hpp); another
// folder is the user's choice, created when a writer needs it.
bool in_cache_dir(const fs::path& path) {
  std::error_code ec;
  const fs::path dir = fs::weakly_canonical(path.has_parent_path() ? path.parent_path() : ".", ec);
  return !ec && dir == fs::weakly_canonical(cache_dir(), ec);
}

void refuse_special_file(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::exists(st) && !fs::is_regular_file(st))
    throw Error(ErrorKind::io,
                fmt::format("{} is not a regular file, so not a results database", path.string()));
}

// Sets the busy timeout and reads the header: fails on a file that is not a database.
void probe(Database& db) {
  db.busy_timeout(kBusyTimeoutMs);
  Statement st(db, "SELECT count(*) FROM sqlite_master");
  st.run();
}

// Runs `open`, naming the file when sqlite finds it is no database or corrupt.
std::unique_ptr<Database> named_errors(const fs::path& path,
                                       const std::function<std::unique_ptr<Database>()>& open) {
  try {
    return open();
  } catch (const detail::SqliteError& e) {
    if (detail::is_not_a_database(e))
      throw Error(ErrorKind::io,
                  fmt::format("{} is not a flashtune database ({})", path.string(), e.message()));
    throw;
  }
}

std::unique_ptr<Database> open_for_writing(const fs::path& path) {
  refuse_special_file(path);
  if (const fs::path dir = path.parent_path(); !dir.empty()) {
    if (in_cache_dir(path)) {
      ensure_private_dir(dir);
    } else {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec)
        throw Error(ErrorKind::io, fmt::format("cannot create the directory {} for the results database: {}",
                                               dir.string(), ec.message()));
    }
  }
  return named_errors(path, [&] {
    auto db = std::make_unique<Database>(path);
    probe(*db);
    refuse_if_damaged(*db, path, "PRAGMA quick_check");
    enable_wal(*db, path);
    db->exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
    detail::migrate(*db);
    return db;
  });
}

// Read-only and never created: a missing file is an error, not an empty database. Without a -wal file beside
// it no writer has the database open (a writer's connection keeps one), so it is read as immutable and
// sqlite creates nothing (no -wal or -shm files left behind, also in a read-only directory); with one, it is
// read alongside that writer. An older schema is migrated in a private in-memory copy, never in the file.
std::unique_ptr<Database> open_for_reading(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error(ErrorKind::not_found,
                fmt::format("no results database at {} (flashtune tune writes one; --db names another)",
                            path.string()));
  refuse_special_file(path);
  if (in_cache_dir(path))
    if (auto why = not_private_reason(path.parent_path()))
      throw Error(ErrorKind::io, fmt::format("refusing the results database {}: its directory is not private "
                                             "({}); set FLASHTUNE_CACHE_DIR to a directory of your own",
                                             path.string(), *why));
  return named_errors(path, [&] {
    std::unique_ptr<Database> db;
    const bool writer_open = fs::exists(path.string() + "-wal", ec);
    for (Database::Mode mode :
         {writer_open ? Database::Mode::read_only : Database::Mode::immutable, Database::Mode::immutable}) {
      try {
        db = std::make_unique<Database>(path, mode);
        probe(*db);
        break;
      } catch (const detail::SqliteError& e) {
        // A -wal but no way to share its -shm (a read-only directory): read the file as it is.
        if (e.code() != SQLITE_CANTOPEN || mode == Database::Mode::immutable) throw;
      }
    }
    refuse_if_damaged(*db, path, "PRAGMA integrity_check");
    db->exec("PRAGMA foreign_keys = ON");
    Statement version(*db, "PRAGMA user_version");
    if (version.step() && version.int32(0) < detail::kLatestSchemaVersion) db = Database::copy_in_memory(*db);
    detail::migrate(*db);  // checks the owner and the version; writes nothing when current
    return db;
  });
}

}  // namespace

struct ResultStore::Impl {
  fs::path path;
  std::unique_ptr<Database> db;
  std::mutex mutex;  // one connection, used by one thread at a time
};

ResultStore::ResultStore(const fs::path& path, Access access) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->db = access == Access::read_only ? open_for_reading(path) : open_for_writing(path);
}

ResultStore::~ResultStore() = default;

fs::path ResultStore::default_path() {
  return cache_dir() / "flashtune.db";
}

const fs::path& ResultStore::path() const {
  return impl_->path;
}

std::int64_t ResultStore::begin_sweep(const SweepRecord& s) {
  check_sweep_status(s.status);
  std::lock_guard lock(impl_->mutex);
  Database& db = *impl_->db;
  Transaction tx(db);
  if (s.has_gpu) put_gpu(db, s.gpu);
  Statement st(
      db,
      "INSERT INTO sweeps (started_at, finished_at, space_file, space_hash, template_id, source_hash, "
      "strategy, arch, seed, gpu_key, nvrtc_version, status, summary_json) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind_all(or_now(s.started_at), s.finished_at, s.space_file, s.space_hash, s.template_id, s.source_hash,
              s.strategy, s.arch, std::bit_cast<std::int64_t>(s.seed), s.gpu.key(), s.nvrtc_version, s.status,
              s.summary_json);
  if (!s.has_gpu) st.bind_null(10);
  st.run();
  const std::int64_t id = db.last_insert_rowid();
  tx.commit();
  return id;
}

void ResultStore::finish_sweep(std::int64_t id, const std::string& status, const std::string& summary_json) {
  check_sweep_status(status);
  std::lock_guard lock(impl_->mutex);
  Database& db = *impl_->db;
  Statement st(db, "UPDATE sweeps SET status = ?, summary_json = ?, finished_at = ? WHERE id = ?");
  st.bind_all(status, summary_json, utc_now(), id);
  st.run();
  if (db.changes() == 0)
    throw Error(ErrorKind::not_found,
                fmt::format("finish_sweep: no sweep {} in {}", id, impl_->path.string()));
}

std::optional<SweepRecord> ResultStore::sweep(std::int64_t id) const {
  std::lock_guard lock(impl_->mutex);
  Statement st(*impl_->db, std::string(kSweepSelect) + "WHERE s.id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_sweep(st);
}

std::vector<SweepRecord> ResultStore::sweeps() const {
  std::lock_guard lock(impl_->mutex);
  Statement st(*impl_->db, std::string(kSweepSelect) + "ORDER BY s.id DESC");
  std::vector<SweepRecord> out;
  while (st.step()) out.push_back(read_sweep(st));
  return out;
}

std::int64_t ResultStore::add_trial(const TrialRecord& t) {
  std::lock_guard lock(impl_->mutex);
  Database& db = *impl_->db;
  Transaction tx(db);
  Statement st(
      db,
      fmt::format("INSERT INTO trials ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                  "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                  "?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  kTrialColumns));
  const AttentionProblem p = t.problem.resolved();
  st.bind_all(t.sweep_id, p.batch, p.heads, p.seqlen, p.head_dim, to_string(p.dtype), p.causal,
              static_cast<double>(p.softmax_scale), t.smem_budget, t.template_id, params_json(t.params),
              to_string(t.status), t.detail, t.registers, t.spill_bytes, t.smem_bytes, t.blocks_per_sm,
              t.carveout_percent, t.compile_ms, t.cache_key, t.verified, t.o_rel_l2, t.o_max_abs,
              t.lse_max_abs, t.reference, t.samples, t.median_ms, t.mean_ms, t.min_ms, t.noise, t.stop,
              t.timed_budget, t.remeasured_ms, t.tflops, or_now(t.created_at), t.profiled, t.dram_read_bytes,
              t.dram_write_bytes, t.l2_bytes, t.profiled_ns, t.activity_ns, t.counters_json, t.clock_fraction,
              p.kv_heads, p.seqlen_k, p.window_left, p.window_right, static_cast<double>(p.softcap),
              to_string(p.layout), seqlens_text(p), p.sparse_block, static_cast<double>(p.sparse_density),
              std::bit_cast<std::int64_t>(p.sparse_seed), to_string(p.pass));
  st.run();
  const std::int64_t id = db.last_insert_rowid();
  tx.commit();
  return id;
}

void ResultStore::set_remeasured(std::int64_t trial_id, double median_ms) {
  std::lock_guard lock(impl_->mutex);
  Database& db = *impl_->db;
  Statement st(db, "UPDATE trials SET remeasured_ms = ? WHERE id = ?");
  st.bind_all(median_ms, trial_id);
  st.run();
  if (db.changes() == 0)
    throw Error(ErrorKind::not_found,
                fmt::format("set_remeasured: no trial {} in {}", trial_id, impl_->path.string()));
}

void ResultStore::set_counters(std::int64_t trial_id, const TrialRecord& c) {
  std::lock_guard lock(impl_->mutex);
  Database& db = *impl_->db;
  Statement st(db,
               "UPDATE trials SET profiled = ?, dram_read_bytes = ?, dram_write_bytes = ?, l2_bytes = ?, "
               "profiled_ns = ?, activity_ns = ?, counters_json = ? WHERE id = ?");
  st.bind_all(c.profiled, c.dram_read_bytes, c.dram_write_bytes, c.l2_bytes, c.profiled_ns, c.activity_ns,
              c.counters_json, trial_id);
  st.run();
  if (db.changes() == 0)
    throw Error(ErrorKind::not_found,
                fmt::format("set_counters: no trial {} in {}", trial_id, impl_->path.string()));
}

std::vector<TrialRecord> ResultStore::trials(std::int64_t sweep_id) const {
  std::lock_guard lock(impl_->mutex);
  const Database& db = *impl_->db;
  Statement st(*impl_->db,
               fmt::format("SELECT id, {} FROM trials WHERE sweep_id = ? ORDER BY id", kTrialColumns));
  st.bind(1, sweep_id);
  std::vector<TrialRecord> out;
  while (st.step()) out.push_back(read_trial(st, db));
  return out;
}

void ResultStore::put_best(const BestEntry& e) {
  const ProblemKey& k = e.key.problem;
  if (ProblemKey::of(e.problem, k.smem_budget) != k)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("put_best: the example problem {} is not in the key's buckets ({})",
                            e.problem.to_string(), k.to_string()));
  std::lock_guard lock(impl_->mutex);
  Database& db = *impl_->db;
  Transaction tx(db);
  put_gpu(db, e.key.gpu);
  Statement st(
      db,
      "INSERT OR REPLACE INTO best (gpu_key, template_id, source_hash, nvrtc_version, dtype, head_dim, "
      "causal, window_left, window_right, softcap, layout, kv_group, sparse_block, density_pct, "
      "seqlen_bucket, "
      "seqlen_k_bucket, bh_bucket, smem_budget, batch, heads, seqlen, softmax_scale, kv_heads, seqlen_k, "
      "softcap_value, sparse_density, sparse_seed, params, median_ms, tflops, trial_id, sweep_id, "
      "updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?, "
      "?)");
  const AttentionProblem p = e.problem.resolved();
  st.bind_all(e.key.gpu.key(), e.key.template_id, e.key.source_hash, e.key.nvrtc_version, to_string(k.dtype),
              k.head_dim, k.causal, k.window_left, k.window_right, k.softcap, to_string(k.layout), k.kv_group,
              k.sparse_block, k.density_pct, k.seqlen_bucket, k.seqlen_k_bucket, k.bh_bucket, k.smem_budget,
              p.batch, p.heads, p.seqlen, static_cast<double>(p.softmax_scale), p.kv_heads, p.seqlen_k,
              static_cast<double>(p.softcap), static_cast<double>(p.sparse_density),
              std::bit_cast<std::int64_t>(p.sparse_seed), params_json(e.params), e.median_ms, e.tflops,
              e.trial_id, e.sweep_id, or_now(e.updated_at));
  st.run();
  tx.commit();
}

std::optional<BestEntry> ResultStore::find_best(const BestKey& k) const {
  std::lock_guard lock(impl_->mutex);
  Statement st(*impl_->db,
               fmt::format("{}{}AND b.density_pct = ? AND b.seqlen_bucket = ? AND b.seqlen_k_bucket = ? AND "
                           "b.bh_bucket = ? AND b.smem_budget = ?",
                           kBestSelect, kBestFamily));
  bind_family(st, k);
  st.bind(kBestFamilyColumns + 1, k.problem.density_pct)
      .bind(kBestFamilyColumns + 2, k.problem.seqlen_bucket)
      .bind(kBestFamilyColumns + 3, k.problem.seqlen_k_bucket)
      .bind(kBestFamilyColumns + 4, k.problem.bh_bucket)
      .bind(kBestFamilyColumns + 5, k.problem.smem_budget);
  if (!st.step()) return std::nullopt;
  return read_best(st, *impl_->db);
}

std::optional<BestEntry> ResultStore::best_config(const BestKey& wanted) const {
  std::vector<BestEntry> candidates;
  {
    std::lock_guard lock(impl_->mutex);
    Statement st(*impl_->db, fmt::format("{}{}", kBestSelect, kBestFamily));
    bind_family(st, wanted);
    candidates = read_bests(st, *impl_->db);
  }
  if (const BestEntry* e = choose_best(candidates, wanted)) return *e;
  return std::nullopt;
}

std::vector<BestEntry> ResultStore::best_entries() const {
  std::vector<BestEntry> out;
  {
    std::lock_guard lock(impl_->mutex);
    Statement st(*impl_->db, kBestSelect);
    out = read_bests(st, *impl_->db);
  }
  auto order = [](const BestEntry& e) {
    return std::tuple(e.key.gpu.key(), e.key.template_id, e.key.source_hash, e.key.nvrtc_version,
                      e.key.problem);
  };
  std::sort(out.begin(), out.end(),
            [&](const BestEntry& a, const BestEntry& b) { return order(a) < order(b); });
  return out;
}

}  // namespace flashtune::store
