#pragma once
// The results store: one SQLite file (default: cache_dir()/flashtune.db) holding every sweep, every trial and
// the per-GPU best-configuration cache. Several processes may share it (WAL journal, a 10 s busy timeout);
// one ResultStore may be used from several threads (its calls are serialized). Every write is one transaction
// that is durable when the call returns.
//
//   ResultStore db(ResultStore::default_path());
//   const std::int64_t sweep = db.begin_sweep({.template_id = "fa2_fwd", ...});
//   db.add_trial({.sweep_id = sweep, ...});
//   db.finish_sweep(sweep, "finished", summary.dump());
//   if (auto best = db.best_config(key)) launch(best->params);
//
// Errors are flashtune::Error of kind io naming the call, the database and sqlite's message, except for
// arguments the store rejects (invalid_argument) and ids it does not have (not_found).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/best_key.hpp"
#include "store/records.hpp"

namespace flashtune::store {

class ResultStore {
 public:
  enum class Access {
    read_write,  // tune: created when missing, migrated in place
    read_only,   // show, export, compare, report: never created or written
  };
  // read_write opens (creating it and its directory when missing) the database: WAL journal, a busy timeout
  // so two processes can share it, foreign keys on; creates or migrates the schema (its version is PRAGMA
  // user_version); a file that fails PRAGMA quick_check is refused.
  // read_only opens an existing database without writing anything (not even a journal where the directory is
  // read-only); it must pass PRAGMA integrity_check; an older schema is migrated in an in-memory copy. The
  // writing calls below then fail with Error(io).
  // Throws Error(not_found) for a missing file (read_only), Error(io) for a path that is not a regular file,
  // a file that is not a database ("<path> is not a flashtune database (file is not a database)"), a damaged
  // one ("<path> is damaged (PRAGMA integrity_check says: ...)"), a schema newer than this build knows
  // ("<path> was written by a newer flashtune (schema 7 > 1)"), an unwritable directory or file, or a cache
  // directory that is not private (core/private_dir.hpp).
  explicit ResultStore(const std::filesystem::path& path, Access access = Access::read_write);
  ~ResultStore();  // noexcept
  ResultStore(const ResultStore&) = delete;
  ResultStore& operator=(const ResultStore&) = delete;

  // flashtune::cache_dir() / "flashtune.db" (cache_dir honours FLASHTUNE_CACHE_DIR and XDG_CACHE_HOME).
  static std::filesystem::path default_path();
  static constexpr int kSchemaVersion = 6;
  const std::filesystem::path& path() const;

  // Returns the new sweep's id. An empty started_at is the current time. Throws Error(invalid_argument) for
  // an unknown status.
  std::int64_t begin_sweep(const SweepRecord& s);
  // Sets status (running | finished | interrupted | failed), summary_json and finished_at = now. Throws
  // Error(not_found) for an unknown id.
  void finish_sweep(std::int64_t id, const std::string& status, const std::string& summary_json);
  std::optional<SweepRecord> sweep(std::int64_t id) const;
  std::vector<SweepRecord> sweeps() const;  // newest first

  // One transaction: durable when it returns. Returns the trial's id; an empty created_at is the current
  // time. The sweep must exist.
  std::int64_t add_trial(const TrialRecord& t);
  // Throws Error(not_found) for an unknown id.
  void set_remeasured(std::int64_t trial_id, double median_ms);
  // Stores the hardware-counter fields of `counters` (profiled ... counters_json) on trial `trial_id`, for a
  // trial profiled after it was added (the top k). Throws Error(not_found) for an unknown id.
  void set_counters(std::int64_t trial_id, const TrialRecord& counters);
  std::vector<TrialRecord> trials(std::int64_t sweep_id) const;  // in insertion order

  // Insert, or replace the entry with the same key. An empty updated_at is the current time. Throws
  // Error(invalid_argument) when e.problem does not fall in e.key.problem's buckets.
  void put_best(const BestEntry& e);
  std::optional<BestEntry> find_best(const BestKey& k) const;  // exact key only
  // The library's answer for a problem: the exact key if present, else the fallback of best_config_rule.hpp
  // (same GPU, template, source, NVRTC, dtype, head_dim, causal; the same budget else the largest below it;
  // the nearest seqlen bucket, then the nearest batch*heads bucket). nullopt when nothing matches.
  std::optional<BestEntry> best_config(const BestKey& wanted) const;
  std::vector<BestEntry> best_entries() const;  // every entry, ordered by gpu key, template, problem key

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flashtune::store
