// The flashtune executable: exit codes and messages for bad arguments, and the no-GPU paths.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gpu/driver_api.hpp"
#include "store/result_store.hpp"
#include "store/store_test_util.hpp"
#include "testing/cli_run.hpp"

namespace {

using flashtune::cli_test::CliRun;
using flashtune::cli_test::contains;

CliRun flashtune(const std::string& args) {
  return flashtune::cli_test::run_flashtune(args);
}

TEST(Cli, NoSubcommandIsAUsageError) {
  EXPECT_EQ(flashtune("").code, 2);
}

TEST(Cli, UnknownSubcommandIsAUsageError) {
  const CliRun r = flashtune("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "frobnicate")) << r.output;
}

TEST(Cli, HelpListsTheSubcommands) {
  const CliRun r = flashtune("--help");
  EXPECT_EQ(r.code, 0);
  for (const char* s : {"info", "compile", "bench"}) EXPECT_TRUE(contains(r.output, s)) << s;
}

TEST(Cli, BadProblemValuesNameTheOption) {
  for (const char* args :
       {"bench --head-dim 80", "bench --seqlen 0", "bench --dtype fp32", "bench --batch -1",
        "compile --arch compute_90", "compile --head-dim 32", "bench --seqlen abc", "bench --kv-heads 0",
        "bench --kv-heads 70000", "bench --kv-heads 3", "bench --seqlen-k 0", "bench --window-left -2",
        "bench --window-right 99999999", "bench --softcap nan", "bench --softcap -1",
        "bench --layout bsdh"}) {
    const CliRun r = flashtune(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_FALSE(r.output.empty()) << args;
  }
  EXPECT_TRUE(contains(flashtune("bench --head-dim 80").output, "--head-dim"));
  // A problem the template does not run says why; the variants fa2_fwd runs get past that check (without a
  // GPU: compiled, then exit 3).
  const CliRun d256 = flashtune("bench --head-dim 256");
  EXPECT_EQ(d256.code, 2) << d256.output;
  EXPECT_TRUE(contains(d256.output, "fa2_fwd does not support head_dim 256 (it has 64, 96, 128)"))
      << d256.output;
  const CliRun hopper = flashtune("bench --template hopper_fwd --param persistent=1 --kv-heads 4");
  EXPECT_EQ(hopper.code, 2) << hopper.output;
  EXPECT_TRUE(contains(hopper.output, "hopper_fwd does not support grouped key/value heads"))
      << hopper.output;
  const CliRun all = flashtune(
      "bench --block-m 128 --block-n 64 --warps 4 --stages 1 --kv-heads 4 --seqlen-k 100 --layout bshd "
      "--window-left 128 --softcap 30");
  EXPECT_FALSE(contains(all.output, "does not support")) << all.output;
  EXPECT_NE(all.code, 2) << all.output;
}

// --pass picks the pass: fa2_bwd computes the backward only, and says so for the forward (the default).
TEST(Cli, PassOptionPicksTheBackward) {
  const CliRun fwd = flashtune("bench --template fa2_bwd");
  EXPECT_EQ(fwd.code, 2) << fwd.output;
  EXPECT_TRUE(contains(fwd.output, "fa2_bwd does not support the fwd pass")) << fwd.output;
  const CliRun bad = flashtune("bench --pass sideways");
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_TRUE(contains(bad.output, "--pass")) << bad.output;
  // Past the checks (without a GPU: compiled, then exit 3).
  const CliRun bwd = flashtune("bench -q --template fa2_bwd --pass bwd --seqlen 256 --head-dim 64");
  EXPECT_FALSE(contains(bwd.output, "does not support")) << bwd.output;
  EXPECT_NE(bwd.code, 2) << bwd.output;
  const CliRun fwd_on_bwd = flashtune("bench --pass bwd --block-m 128 --block-n 64 --warps 4 --stages 1");
  EXPECT_EQ(fwd_on_bwd.code, 2) << fwd_on_bwd.output;
  EXPECT_TRUE(contains(fwd_on_bwd.output, "fa2_fwd does not support the bwd pass")) << fwd_on_bwd.output;
}

// --sparse-block and --sparse-density come together (--sparse-seed only with them), never with --lengths;
// each bad value or combination is a usage error that names what is wrong.
TEST(Cli, BlockSparseOptionsComeTogetherAndSayWhatIsWrong) {
  const std::pair<const char*, const char*> bad[] = {
      {"bench --sparse-block 128", "--sparse-density"},
      {"bench --sparse-density 0.25", "--sparse-block"},
      {"bench --sparse-seed 7", "--sparse-block"},
      {"bench --sparse-block 8 --sparse-density 0.25", "--sparse-block"},
      {"bench --sparse-block 100 --sparse-density 0.25", "--sparse-block must be a multiple of 16"},
      {"bench --sparse-block 128 --sparse-density 0", "--sparse-density must be in (0, 1]"},
      {"bench --sparse-block 128 --sparse-density 1.5", "--sparse-density"},
      {"bench --sparse-block 128 --sparse-density nan", "--sparse-density"},
      {"bench --sparse-block 128 --sparse-density 0.25 --sparse-seed -1", "--sparse-seed"},
      {"bench --sparse-block 128 --sparse-density 0.25 --lengths 100,200",
       "--lengths excludes --sparse-block"},
      {"bench --block-m 128 --block-n 64 --warps 4 --stages 1 --sparse-block 64 --sparse-density 0.25",
       "fa2_fwd does not support a block-sparse block of 64"},
  };
  for (const auto& [args, says] : bad) {
    const CliRun r = flashtune(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, says)) << args << ": expected '" << says << "'\n" << r.output;
  }
  // A block of the tiles' multiple gets past the checks (without a GPU: compiled, then exit 3).
  const CliRun ok = flashtune(
      "bench -q --block-m 128 --block-n 64 --warps 4 --stages 1 --sparse-block 128 --sparse-density 0.25 "
      "--sparse-seed 18446744073709551615");
  EXPECT_FALSE(contains(ok.output, "does not support")) << ok.output;
  EXPECT_NE(ok.code, 2) << ok.output;
}

TEST(Cli, InvalidConfigurationSaysWhy) {
  const CliRun r = flashtune("compile --block-m 64 --warps 8 -d 128 --dtype bf16 --causal no");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "16*warps")) << r.output;
}

TEST(Cli, CompileOneConfigurationWithoutAGpu) {
  const CliRun r = flashtune(
      "compile --arch sm_90a --block-m 128 --block-n 64 --warps 8 --stages 2 -d 64 --dtype bf16 --causal no "
      "-q");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "fa2_fwd block_m=128 block_n=64 stages=2 warps=8 (d64 bf16)")) << r.output;
  EXPECT_TRUE(contains(r.output, "1 compiled, 0 failed")) << r.output;
}

TEST(Cli, InfoAndBenchSayWhenThereIsNoGpu) {
  const CliRun info = flashtune("info");
  const CliRun bench =
      flashtune("bench -q -n 128 --batch 1 --heads 2 -d 64 --block-m 64 --block-n 64 --warps 4 --stages 2");
  if (flashtune::gpu::gpu_available()) {
    EXPECT_EQ(info.code, 0) << info.output;
    EXPECT_EQ(bench.code, 0) << bench.output;
    EXPECT_TRUE(contains(bench.output, "TFLOP/s")) << bench.output;
  } else {
    EXPECT_EQ(info.code, 3) << info.output;
    EXPECT_TRUE(contains(info.output, "none")) << info.output;
    EXPECT_EQ(bench.code, 3) << bench.output;
    EXPECT_TRUE(contains(bench.output, "Timing and verification need a GPU")) << bench.output;
  }
}

// Every malformed search space in tests/space/bad/ (first line "# expect: LINE:COL: message") is refused by
// `flashtune tune` with exit code 5 and a message that names file:line:column.
TEST(Cli, TuneRefusesMalformedSpacesWithFileLineColumn) {
  namespace fs = std::filesystem;
  int checked = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(FLASHTUNE_BAD_SPACES)) {
    std::ifstream in(e.path());
    std::string first;
    std::getline(in, first);
    const std::string prefix = "# expect: ";
    ASSERT_EQ(first.rfind(prefix, 0), 0u) << e.path();
    const std::string rest = first.substr(prefix.size());
    const std::size_t c1 = rest.find(':'), c2 = rest.find(':', c1 + 1);
    const std::string where = e.path().string() + ":" + rest.substr(0, c2);
    const std::string message = rest.substr(c2 + 2);
    const CliRun r = flashtune("tune --compile-only -q " + e.path().string());
    EXPECT_EQ(r.code, 5) << e.path() << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, where)) << where << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, message)) << message << "\n" << r.output;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST(Cli, TuneOfAMissingSpaceFileNamesIt) {
  const CliRun r = flashtune("tune --compile-only /nonexistent/space.yaml");
  EXPECT_EQ(r.code, 5) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/space.yaml")) << r.output;
}

TEST(Cli, TuneCompileOnlyCompilesAndResourceChecksTheSweep) {
  const CliRun r = flashtune("tune --compile-only -q " FLASHTUNE_SMALL_SPACE);
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_TRUE(contains(r.output, "Timing and verification need a GPU")) << r.output;
  EXPECT_TRUE(contains(r.output, "0 failed to compile")) << r.output;
}

TEST(Cli, ExportAndShowOnAnEmptyDatabase) {
  const std::string db =
      std::filesystem::temp_directory_path() / ("flashtune-cli-" + std::to_string(::getpid()) + ".db");
  { flashtune::store::ResultStore created(db); }  // readers never create one
  const CliRun show = flashtune("show --all --db " + db);
  EXPECT_EQ(show.code, 0) << show.output;
  EXPECT_TRUE(contains(show.output, "no cached configurations")) << show.output;
  const CliRun exp = flashtune("export --all --format json --db " + db);
  EXPECT_EQ(exp.code, 1) << exp.output;
  EXPECT_TRUE(contains(exp.output, "no cached configurations")) << exp.output;
  EXPECT_EQ(flashtune("export --format csv --db " + db).code, 2);
  std::filesystem::remove(db);
}

// show's clock column: the winning trial's lowest SM clock in percent of the maximum, "-" when unknown.
TEST(Cli, ShowHasTheWinningTrialsClockColumn) {
  namespace store = flashtune::store;
  const std::string db =
      std::filesystem::temp_directory_path() / ("flashtune-cli-clock-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(db);
  {
    store::ResultStore results(db);
    store::SweepRecord sweep;
    sweep.template_id = "fa2_fwd";
    store::TrialRecord trial;
    trial.sweep_id = results.begin_sweep(sweep);
    trial.clock_fraction = 0.934;
    store::BestEntry measured = store::testing::entry_for(store::testing::problem(1024));
    measured.trial_id = results.add_trial(trial);
    results.put_best(measured);
    store::BestEntry unknown = store::testing::entry_for(store::testing::problem(8192));
    unknown.trial_id = 0;
    results.put_best(unknown);
  }
  const CliRun show = flashtune("show --all --stale --db " + db);  // --stale: a made-up template source hash
  EXPECT_EQ(show.code, 0) << show.output;
  EXPECT_TRUE(contains(show.output, "TFLOP/s  clock")) << show.output;
  std::istringstream lines(show.output);
  int rows = 0;
  for (std::string line; std::getline(lines, line);) {
    if (contains(line, "N1024 ")) {
      ++rows;
      EXPECT_TRUE(contains(line, "  93%  ")) << line;
    }
    if (contains(line, "N8192 ")) {
      ++rows;
      EXPECT_TRUE(contains(line, "  -  ")) << line;
      EXPECT_FALSE(contains(line, "%")) << line;
    }
  }
  EXPECT_EQ(rows, 2) << show.output;
  std::filesystem::remove(db);
}

}  // namespace
