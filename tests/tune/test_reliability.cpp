// flashtune tune as a process, against a stand-in trial worker (fake_trial_worker.cpp, no GPU): kill -9 in
// the middle of a sweep loses nothing and --resume repeats nothing; two tuners on one database at once
// corrupt nothing; a corrupt or newer database, an unusable cache directory and a full disk end with a clear
// message and exit code, never a crash.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "store/result_store.hpp"

extern char** environ;

namespace flashtune {
namespace {
namespace fs = std::filesystem;

struct CliRun {
  int code = -1;  // exit status; 128 + signal when killed by one
  std::string output;
};

// Runs `flashtune <args>` through the shell with extra environment assignments (`env` like "A=1 B=2").
CliRun flashtune(const std::string& env, const std::string& args) {
  const std::string cmd = env + " " + FLASHTUNE_EXE + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CliRun r;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) r.output.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("flashtune-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// 2 problems x 4 configurations x 2 budgets = 16 trials, none of which the stand-in worker fails.
fs::path write_space(const fs::path& dir) {
  const fs::path f = dir / "space.yaml";
  std::ofstream(f) << R"(template: fa2_fwd
parameters:
  block_m: 64
  block_n: [64, 128]
  warps: 4
  stages: [2, 3]
sram_budgets: [99 KiB, max]
problems:
  - {batch: 1, heads: 2, seqlen: [256, 512], head_dim: 64, dtype: bf16}
measure: {top_k: 2, remeasure_rounds: 2}
strategy: {kind: exhaustive, seed: 9}
)";
  return f;
}

std::string worker_env(int delay_ms) {
  return std::string("FLASHTUNE_TRIAL_WORKER=") + FAKE_TRIAL_WORKER +
         " FAKE_WORKER_DELAY_MS=" + std::to_string(delay_ms);
}

std::size_t stored_trials(const fs::path& db) {
  if (!fs::exists(db)) return 0;
  try {
    const store::ResultStore s(db);
    std::size_t n = 0;
    for (const store::SweepRecord& sw : s.sweeps()) n += s.trials(sw.id).size();
    return n;
  } catch (const std::exception&) {
    return 0;  // being created
  }
}

TEST(Reliability, KillNineMidSweepThenResumeLosesAndRepeatsNothing) {
  const fs::path dir = temp_dir("resume");
  const fs::path space = write_space(dir), db = dir / "r.db";
  // Start a slow sweep in the background and kill it (-9) once a few trials are stored.
  const std::string cmd = worker_env(300) + " exec " + FLASHTUNE_EXE + " tune -q --db " + db.string() + " " +
                          space.string() + " > " + (dir / "first.log").string() + " 2>&1";
  pid_t pid = 0;
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (stored_trials(db) < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::size_t before = stored_trials(db);
  ASSERT_GE(before, 5u) << "the first sweep stored too few trials in time";
  ASSERT_LT(before, 16u) << "the first sweep finished before it could be killed";
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  const CliRun resumed =
      flashtune(worker_env(0), "tune -q --resume --db " + db.string() + " " + space.string());
  EXPECT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming sweep 1"), std::string::npos) << resumed.output;

  const store::ResultStore s(db);
  const std::vector<store::SweepRecord> sweeps = s.sweeps();
  ASSERT_EQ(sweeps.size(), 1u);  // the same sweep, continued
  EXPECT_EQ(sweeps[0].status, "finished");
  std::set<std::string> keys;
  const std::vector<store::TrialRecord> trials = s.trials(sweeps[0].id);
  for (const store::TrialRecord& t : trials)
    keys.insert(t.problem.to_string() + "|" + std::to_string(t.smem_budget) + "|" + to_string(t.params));
  for (const store::TrialRecord& t : trials)  // ok, or over the 99 KiB budget (bn128 s3: 104 KiB)
    EXPECT_TRUE(t.status == TrialStatus::ok || t.status == TrialStatus::resource_exceeded) << t.detail;
  EXPECT_EQ(trials.size(), 16u);  // none lost ...
  EXPECT_EQ(keys.size(), 16u);    // ... none repeated
  EXPECT_EQ(s.best_entries().size(), 4u);
  fs::remove_all(dir);
}

TEST(Reliability, TwoTunersOnOneDatabaseAtOnce) {
  const fs::path dir = temp_dir("concurrent");
  const fs::path space = write_space(dir), db = dir / "c.db";
  CliRun a, b;
  std::thread ta(
      [&] { a = flashtune(worker_env(20), "tune -q --force --db " + db.string() + " " + space.string()); });
  std::thread tb(
      [&] { b = flashtune(worker_env(20), "tune -q --force --db " + db.string() + " " + space.string()); });
  ta.join();
  tb.join();
  EXPECT_EQ(a.code, 0) << a.output;
  EXPECT_EQ(b.code, 0) << b.output;
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(raw);
  const store::ResultStore s(db);
  ASSERT_EQ(s.sweeps().size(), 2u);
  for (const store::SweepRecord& sw : s.sweeps()) {
    EXPECT_EQ(sw.status, "finished");
    EXPECT_EQ(s.trials(sw.id).size(), 16u);
  }
  fs::remove_all(dir);
}

TEST(Reliability, BadStateEndsWithAClearMessageAndExitCode) {
  const fs::path dir = temp_dir("bad-state");
  const fs::path space = write_space(dir);
  // A file that is not a database.
  const fs::path garbage = dir / "garbage.db";
  std::ofstream(garbage) << std::string(8192, 'x');
  CliRun r = flashtune(worker_env(0), "tune -q --db " + garbage.string() + " " + space.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(garbage.string()), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not a"), std::string::npos) << r.output;

  // A database from a newer flashtune.
  const fs::path newer = dir / "newer.db";
  { store::ResultStore s(newer); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(newer.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  r = flashtune(worker_env(0), "tune -q --db " + newer.string() + " " + space.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("newer flashtune"), std::string::npos) << r.output;

  // A cache directory that cannot be created (its parent is a file).
  const fs::path file = dir / "a-file";
  std::ofstream(file) << "x";
  r = flashtune(worker_env(0) + " FLASHTUNE_CACHE_DIR=" + (file / "cache").string(),
                "tune -q " + space.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find((file / "cache").string()), std::string::npos) << r.output;

  // A full disk: a file-size limit of 16 KiB (the database grows past it).
  r = flashtune("ulimit -f 16; " + worker_env(0),
                "tune -q --force --db " + (dir / "full.db").string() + " " + space.string());
  EXPECT_EQ(r.code, 1) << r.output;  // an error message, not SIGXFSZ
  EXPECT_TRUE(r.output.find("full") != std::string::npos || r.output.find("I/O") != std::string::npos ||
              r.output.find("too large") != std::string::npos)
      << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flashtune
