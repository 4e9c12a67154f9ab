// Fault injection on the GPU (label gpu): a sweep that mixes an out-of-bounds write, a hang, a wrong result,
// a compile error and two resource failures with good kernels finishes; every bad configuration is stored
// with the right status and why; the trial worker is restarted after the crash and after the watchdog's kill;
// the good configurations after them are verified and timed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "gpu/driver_api.hpp"
#include "space/space_loader.hpp"
#include "store/result_store.hpp"
#include "tune/tuner.hpp"

namespace flashtune::tune {
namespace {
namespace fs = std::filesystem;

TEST(FaultGpu, EveryFailureCostsOnlyItsConfiguration) {
  std::string why;
  if (!gpu::gpu_available(&why)) GTEST_SKIP() << "no GPU: " << why;
  const fs::path dir = fs::temp_directory_path() / ("flashtune-fault-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const space::SearchSpace space = space::load_search_space(FLASHTUNE_FAULT_SPACE);
  TuneOptions o;
  o.db = dir / "faults.db";
  trial::Observer quiet;
  const TuneSummary s = tune(space, o, quiet);
  EXPECT_GE(s.restarts, 2u);  // after the illegal address and after the hang
  ASSERT_EQ(s.winners.size(), 1u);
  const std::int64_t winner = s.winners[0].params.at("fault");
  EXPECT_TRUE(winner == 0 || winner == 7) << winner;

  const store::ResultStore db(o.db);
  std::map<std::int64_t, store::TrialRecord> by_fault;
  for (const store::TrialRecord& t : db.trials(s.sweep_id)) by_fault[t.params.at("fault")] = t;
  ASSERT_EQ(by_fault.size(), 8u);
  auto expect = [&](std::int64_t fault, TrialStatus st, const std::string& detail_part) {
    const store::TrialRecord& t = by_fault.at(fault);
    EXPECT_EQ(t.status, st) << "fault " << fault << ": " << t.detail;
    EXPECT_NE(t.detail.find(detail_part), std::string::npos) << "fault " << fault << ": " << t.detail;
  };
  expect(1, TrialStatus::crashed, "ILLEGAL_ADDRESS");
  expect(2, TrialStatus::timeout, "no reply in 10 s");
  expect(3, TrialStatus::incorrect, "rel_l2");
  expect(4, TrialStatus::compile_error, "deliberate compile error");
  expect(5, TrialStatus::resource_exceeded, "shared memory");
  expect(6, TrialStatus::resource_exceeded, "blocks per SM");
  for (std::int64_t good : {0, 7}) {
    const store::TrialRecord& t = by_fault.at(good);
    EXPECT_EQ(t.status, TrialStatus::ok) << "fault " << good << ": " << t.detail;
    EXPECT_TRUE(t.verified);
    EXPECT_GT(t.median_ms, 0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flashtune::tune
