// The tuner's pipeline without a GPU: a stand-in trial worker (fake_trial_worker.cpp) that dies or hangs on
// chosen configurations, real NVRTC compiles, a real SQLite store.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "space/space_loader.hpp"
#include "store/result_store.hpp"
#include "tune/tuner.hpp"

namespace flashtune::tune {
namespace {
namespace fs = std::filesystem;

class QuietObserver : public trial::Observer {
 public:
  std::vector<std::string> notes;
  std::size_t calls = 0;
  void progress(const trial::Progress&) override { ++calls; }
  void note(std::string_view m) override { notes.emplace_back(m); }
};

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("flashtune-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

int lines_in(const fs::path& f) {
  std::ifstream in(f);
  int n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

// A sweep of the space `text` against the stand-in worker, stored in dir/results.db.
TuneSummary tune_with_fake_worker(const char* text, const fs::path& dir, trial::Observer& observer) {
  TuneOptions o;
  o.db = dir / "results.db";
  o.trial_worker = {FAKE_TRIAL_WORKER};
  o.jobs = 2;
  return tune(space::parse_search_space(text, "space.yaml"), o, observer);
}

// How many of the observer's notes contain `text`.
std::ptrdiff_t notes_with(const QuietObserver& obs, const std::string& text) {
  return std::count_if(obs.notes.begin(), obs.notes.end(),
                       [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

constexpr const char* kSpace = R"(template: fa2_fwd
parameters:
  block_m: 64
  block_n: [32, 64]
  warps: 4
  stages: [1, 3]
sram_budgets: [max]
problems:
  - {batch: 1, heads: 2, seqlen: 256, head_dim: 64, dtype: bf16}
measure: {timeout: 500 ms, trial_timeout: 3 s, top_k: 2, remeasure_rounds: 3}
strategy: {kind: exhaustive, seed: 5}
)";

TEST(Tuner, AWorkerThatDiesOrHangsCostsOnlyThatTrial) {
  const fs::path dir = temp_dir("tuner");
  const fs::path log = dir / "workers.log";
  ::setenv("FAKE_WORKER_LOG", log.c_str(), 1);
  const space::SearchSpace space = space::parse_search_space(kSpace, "fake.yaml");
  TuneOptions o;
  o.db = dir / "results.db";
  o.trial_worker = {FAKE_TRIAL_WORKER};
  o.jobs = 2;
  QuietObserver obs;
  const TuneSummary s = tune(space, o, obs);

  // Configurations, first parameter slowest: bn32 s1 (dies), bn32 s3 (dies), bn64 s1 (hangs), bn64 s3 (ok).
  EXPECT_EQ(s.trials, 4u);
  EXPECT_EQ(s.trials_by_status.at("crashed"), 2u);
  EXPECT_EQ(s.trials_by_status.at("timeout"), 1u);
  EXPECT_EQ(s.trials_by_status.at("ok"), 1u);
  EXPECT_EQ(s.restarts, 3u);    // after each death and after the watchdog's kill
  EXPECT_EQ(lines_in(log), 4);  // the first worker and three replacements
  ASSERT_EQ(s.winners.size(), 1u);
  EXPECT_EQ(s.winners[0].params.at("block_n"), 64);
  EXPECT_EQ(s.winners[0].params.at("stages"), 3);
  EXPECT_GT(obs.calls, 0u);

  // Nothing lost: every trial is in the store, with its status and why.
  const store::ResultStore db(o.db);
  const std::vector<store::TrialRecord> trials = db.trials(s.sweep_id);
  ASSERT_EQ(trials.size(), 4u);
  EXPECT_EQ(trials[0].status, TrialStatus::crashed);
  EXPECT_NE(trials[0].detail.find("trial worker died"), std::string::npos) << trials[0].detail;
  EXPECT_NE(trials[0].detail.find("exit status 9"), std::string::npos) << trials[0].detail;
  EXPECT_EQ(trials[1].status, TrialStatus::crashed);
  EXPECT_EQ(trials[2].status, TrialStatus::timeout);
  EXPECT_NE(trials[2].detail.find("no reply in 3 s"), std::string::npos) << trials[2].detail;
  EXPECT_EQ(trials[3].status, TrialStatus::ok);  // after the kill: a fresh worker, the problem set up again
  EXPECT_GT(trials[3].median_ms, 0);
  const auto sweep = db.sweep(s.sweep_id);
  ASSERT_TRUE(sweep);
  EXPECT_EQ(sweep->status, "finished");
  EXPECT_EQ(sweep->seed, 5u);
  ::unsetenv("FAKE_WORKER_LOG");
  fs::remove_all(dir);
}

constexpr const char* kProfiledSpace = R"(template: fa2_fwd
parameters:
  block_m: 64
  block_n: [64, 128]
  warps: 4
  stages: [2, 3]
sram_budgets: [99 KiB, max]
problems:
  - {batch: 1, heads: 2, seqlen: 256, head_dim: 64, dtype: bf16}
measure: {top_k: 2, remeasure_rounds: 2, profile: all, profile_utilization: true}
strategy: {kind: exhaustive}
)";

// Every ok trial gets traffic counters (profile: all), the top k of each budget also utilization, and nothing
// of the one overwrites the other.
TEST(Tuner, ProfileAllKeepsTrafficCountersAndAddsUtilizationToTheTopK) {
  const fs::path dir = temp_dir("tuner-profile");
  QuietObserver obs;
  const TuneSummary s = tune_with_fake_worker(kProfiledSpace, dir, obs);
  const store::ResultStore db(dir / "results.db");
  int ok = 0, with_util = 0;
  for (const store::TrialRecord& t : db.trials(s.sweep_id)) {
    if (t.status != TrialStatus::ok) continue;
    ++ok;
    EXPECT_TRUE(t.profiled) << t.id;
    EXPECT_GT(t.dram_read_bytes, 0) << t.id;
    EXPECT_NE(t.counters_json.find("l1tex__m_xbar2l1tex_read_bytes.sum"), std::string::npos)
        << t.counters_json;
    if (t.counters_json.find("sm__throughput") != std::string::npos) ++with_util;
  }
  EXPECT_GT(ok, 0);
  EXPECT_EQ(with_util, 4);  // top 2 of each of the 2 budgets
  EXPECT_GT(s.profiled, 0u);
  fs::remove_all(dir);
}

// Two budgets, so that some trials share a measurement of equal occupancy.
constexpr const char* kThrottledSpace = R"(template: fa2_fwd
parameters:
  block_m: 128
  block_n: [64, 128]
  warps: [4, 8]
  stages: 2
sram_budgets: [99 KiB, max]
problems:
  - {batch: 1, heads: 2, seqlen: 512, head_dim: 64, dtype: bf16}
measure: {throttle_threshold: 50%, throttle_retries: 1}
strategy: {kind: exhaustive}
)";

// The space's throttle settings reach the worker, and each timing's clock fraction reaches the store (also
// for trials that share a measurement of equal occupancy) and the winners' best entries.
TEST(Tuner, ClockFractionsAreStoredWithTheirTrialsAndWinners) {
  const fs::path dir = temp_dir("tuner-clock");
  QuietObserver obs;
  const TuneSummary s = tune_with_fake_worker(kThrottledSpace, dir, obs);
  const store::ResultStore db(dir / "results.db");
  int timed = 0;
  for (const store::TrialRecord& t : db.trials(s.sweep_id)) {
    if (t.samples == 0) continue;
    ++timed;
    EXPECT_EQ(t.clock_fraction, 0.625) << t.id;  // the fake's 50% + 0.125
  }
  EXPECT_EQ(timed, 8);  // 4 configurations x 2 budgets
  EXPECT_GT(s.gpu_trials, 0u);
  EXPECT_GT(s.shared_trials, 0u);               // the copy of a shared measurement carries the fraction too
  EXPECT_EQ(s.throttle_repeats, s.gpu_trials);  // throttle_retries (1) repeats reported by each
  EXPECT_TRUE(s.sm_clock_note.empty()) << s.sm_clock_note;
  const std::vector<store::BestEntry> best = db.best_entries();
  ASSERT_EQ(best.size(), 2u);
  for (const store::BestEntry& e : best) EXPECT_EQ(e.clock_fraction, 0.625);
  fs::remove_all(dir);
}

// A worker without an SM clock: said once, and every fraction is unknown (never a made-up number).
TEST(Tuner, NoSmClockIsSaidOnceAndFractionsAreUnknown) {
  const fs::path dir = temp_dir("tuner-no-clock");
  ::setenv("FAKE_WORKER_NO_CLOCK", "1", 1);
  QuietObserver obs;
  const TuneSummary s = tune_with_fake_worker(kThrottledSpace, dir, obs);
  ::unsetenv("FAKE_WORKER_NO_CLOCK");
  EXPECT_EQ(s.sm_clock_note, "NVML unavailable (fake)");
  EXPECT_EQ(s.throttle_repeats, 0u);
  EXPECT_EQ(notes_with(obs, "the SM clock cannot be read (NVML unavailable (fake))"), 1);
  const store::ResultStore db(dir / "results.db");
  EXPECT_FALSE(db.trials(s.sweep_id).empty());
  for (const store::TrialRecord& t : db.trials(s.sweep_id))
    EXPECT_FALSE(t.clock_fraction.has_value()) << t.id;
  for (const store::BestEntry& e : db.best_entries()) EXPECT_FALSE(e.clock_fraction.has_value());
  fs::remove_all(dir);
}

// Without counter access the sweep goes on, says why once, and stores unprofiled trials.
TEST(Tuner, NoCounterAccessIsSaidOnceAndTheSweepGoesOn) {
  const fs::path dir = temp_dir("tuner-no-counters");
  ::setenv("FAKE_WORKER_NO_COUNTERS", "1", 1);
  QuietObserver obs;
  const TuneSummary s = tune_with_fake_worker(kProfiledSpace, dir, obs);
  ::unsetenv("FAKE_WORKER_NO_COUNTERS");
  EXPECT_EQ(s.profile_note, "counters restricted (fake)");
  EXPECT_EQ(s.profiled, 0u);
  EXPECT_EQ(s.winners.size(), 2u);
  EXPECT_EQ(notes_with(obs, "counters restricted (fake)"), 1);
  fs::remove_all(dir);
}

TEST(Tuner, CompileOnlyChecksResourcesAndStoresNothing) {
  const fs::path dir = temp_dir("tuner-compile-only");
  const space::SearchSpace space = space::parse_search_space(kSpace, "fake.yaml");
  TuneOptions o;
  o.db = dir / "results.db";
  o.compile_only = true;
  o.jobs = 2;
  QuietObserver obs;
  const TuneSummary s = tune(space, o, obs);
  EXPECT_EQ(s.no_gpu, "--compile-only");
  EXPECT_EQ(s.kernels, 4u);
  EXPECT_EQ(s.compile_errors, 0u);
  EXPECT_EQ(s.trials, 4u);
  EXPECT_EQ(s.trials_by_status.at("needs_gpu"), 4u);
  EXPECT_TRUE(s.winners.empty());
  EXPECT_FALSE(fs::exists(o.db));
  fs::remove_all(dir);
}

TEST(Tuner, ConstraintsTemplateRulesAndBudgetsPruneBeforeCompiling) {
  const std::string yaml = R"(template: fa2_fwd
parameters:
  block_m: [64, 128, 256]
  block_n: 128
  warps: [4, 8]
  stages: [1, 4]
constraints: ["block_m != 256 or warps == 8"]
sram_budgets: [48 KiB, 99 KiB]
problems:
  - {batch: 1, heads: 1, seqlen: 128, head_dim: 128, dtype: bf16}
)";
  const space::SearchSpace space = space::parse_search_space(yaml, "prune.yaml");
  TuneOptions o;
  o.compile_only = true;
  o.jobs = 2;
  QuietObserver obs;
  const TuneSummary s = tune(space, o, obs);
  // 12 combinations. The constraint drops bm256 w4 (s1, s4): 2. The template's rules drop bm64 w8 (8 rows a
  // warp; s1, s4) and every other s4 (2*(bm*128 + 8*128*128) B > 227 KiB: bm64 w4, bm128 w4, bm128 w8, bm256
  // w8): 6. Left: bm64 w4 (80 KiB), bm128 w4 and w8 (96 KiB), bm256 w8 (128 KiB), which is over both budgets:
  // 1 (stored as resource_exceeded under each budget, never compiled). Three kernels compile; each meets two
  // budgets: under 48 KiB all three are over (resource_exceeded), under 99 KiB all three may run.
  EXPECT_EQ(s.combinations, 12u);
  EXPECT_EQ(s.pruned_constraint, 2u);
  EXPECT_EQ(s.pruned_template, 6u);
  EXPECT_EQ(s.pruned_over_budget, 1u);
  EXPECT_EQ(s.kernels, 3u);
  EXPECT_EQ(s.trials, 8u);  // bm256 w8 too, as resource_exceeded under both budgets, never compiled
  EXPECT_EQ(s.trials_by_status.at("resource_exceeded"), 5u);
  EXPECT_EQ(s.trials_by_status.at("needs_gpu"), 3u);
}

}  // namespace
}  // namespace flashtune::tune

namespace flashtune::tune {
namespace {

// Without a GPU the fault-injection space still shows what the host can tell: the compile error, and the two
// configurations over the SM's limits; the rest wait for a GPU.
TEST(Tuner, FaultInjectionSpaceCompileOnly) {
  const space::SearchSpace space = space::load_search_space(FLASHTUNE_FAULT_SPACE);
  TuneOptions o;
  o.compile_only = true;
  o.jobs = 2;
  trial::Observer quiet;
  const TuneSummary s = tune(space, o, quiet);
  EXPECT_EQ(s.trials, 8u);
  EXPECT_EQ(s.trials_by_status.at("compile_error"), 1u);      // fault 4
  EXPECT_EQ(s.trials_by_status.at("resource_exceeded"), 2u);  // faults 5 (shared memory) and 6 (registers)
  EXPECT_EQ(s.trials_by_status.at("needs_gpu"), 5u);          // 0, 7 and the faults only a GPU shows: 1, 2, 3
  EXPECT_EQ(s.pruned_over_budget, 1u);
}

}  // namespace
}  // namespace flashtune::tune
