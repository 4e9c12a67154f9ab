// compute-sanitizer around the trial worker: its command line, what its logs say, and the worker's stderr
// kept in a file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "check/sanitizer.hpp"
#include "core/error.hpp"
#include "core/worker_process.hpp"

namespace flashtune::check {
namespace {

TEST(Sanitizer, CommandPrefixesTheWorker) {
  const std::vector<std::string> argv =
      sanitized_command({"/opt/cuda/bin/compute-sanitizer"}, SanitizerTool::racecheck,
                        "/tmp/x/racecheck-0001.log", {"flashtune-trial-worker"});
  const std::vector<std::string> expected = {"/opt/cuda/bin/compute-sanitizer",
                                             "--tool",
                                             "racecheck",
                                             "--error-exitcode",
                                             "86",
                                             "--print-limit",
                                             "20",
                                             "--log-file",
                                             "/tmp/x/racecheck-0001.log",
                                             "flashtune-trial-worker"};
  EXPECT_EQ(argv, expected);
  EXPECT_EQ(sanitized_command({"sh", "fake.sh"}, SanitizerTool::memcheck, "l", {"w", "a"}).size(), 12u);
}

TEST(Sanitizer, ToolLists) {
  using V = std::vector<SanitizerTool>;
  EXPECT_EQ(parse_sanitizer_tools(""), (V{SanitizerTool::memcheck, SanitizerTool::racecheck}));
  EXPECT_EQ(parse_sanitizer_tools("racecheck,memcheck"),
            (V{SanitizerTool::memcheck, SanitizerTool::racecheck}));
  EXPECT_EQ(parse_sanitizer_tools("racecheck"), (V{SanitizerTool::racecheck}));
  EXPECT_EQ(parse_sanitizer_tools("memcheck,memcheck"), (V{SanitizerTool::memcheck}));
  try {
    parse_sanitizer_tools("memcheck,initcheck");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("'initcheck'"), std::string::npos) << e.what();
  }
}

TEST(SanitizerLog, CleanRun) {
  const SanitizerReport r = read_sanitizer_log(
      "========= COMPUTE-SANITIZER\n"
      "========= Target application returned an error\n"
      "========= ERROR SUMMARY: 0 errors\n");
  EXPECT_TRUE(r.clean);
  EXPECT_TRUE(r.has_summary);
  EXPECT_EQ(r.errors, 0);
  EXPECT_TRUE(r.error_lines.empty());
}

TEST(SanitizerLog, MemcheckErrors) {
  const SanitizerReport r = read_sanitizer_log(
      "========= COMPUTE-SANITIZER\n"
      "========= Invalid __global__ write of size 2 bytes\n"
      "=========     at void flashtune::fault_inject<1, 64, false, __nv_bfloat16>(AttentionParams)+0x2b0\n"
      "=========     by thread (0,0,0) in block (0,0,0)\n"
      "=========     Address 0x7f0000000000 is out of bounds\n"
      "========= \n"
      "========= Program hit CUDA_ERROR_LAUNCH_FAILED (error 719) due to \"unspecified launch failure\" on "
      "CUDA "
      "API call to cuStreamSynchronize.\n"
      "=========     Saved host backtrace up to driver entry point at error\n"
      "========= ERROR SUMMARY: 2 errors\n");
  EXPECT_FALSE(r.clean);
  EXPECT_EQ(r.errors, 2);
  ASSERT_EQ(r.error_lines.size(), 2u);
  EXPECT_EQ(r.error_lines[0],
            "Invalid __global__ write of size 2 bytes at void flashtune::fault_inject<1, 64, false, "
            "__nv_bfloat16>(AttentionParams)+0x2b0");
  EXPECT_TRUE(r.error_lines[1].starts_with("Program hit CUDA_ERROR_LAUNCH_FAILED"));
}

TEST(SanitizerLog, RacecheckHazards) {
  const SanitizerReport r = read_sanitizer_log(
      "========= COMPUTE-SANITIZER\n"
      "========= Error: Race reported between Write access at fa2_fwd+0x1f0\n"
      "=========     and Read access at fa2_fwd+0x230 [128 hazards]\n"
      "========= \n"
      "========= RACECHECK SUMMARY: 1 hazard displayed (1 error, 0 warnings)\n");
  EXPECT_FALSE(r.clean);
  EXPECT_EQ(r.errors, 1);
  ASSERT_EQ(r.error_lines.size(), 1u);
  EXPECT_EQ(r.error_lines[0], "Error: Race reported between Write access at fa2_fwd+0x1f0");

  const SanitizerReport warnings = read_sanitizer_log(
      "========= Warning: Race reported between Read access at k+0x10\n"
      "=========     and Write access at k+0x20\n"
      "========= RACECHECK SUMMARY: 1 hazard displayed (0 errors, 1 warning)\n");
  EXPECT_TRUE(warnings.clean);
}

TEST(SanitizerLog, AReportWithoutASummaryStillFails) {
  // The worker was killed before the sanitizer could summarize.
  const SanitizerReport r = read_sanitizer_log("========= Invalid __shared__ read of size 16 bytes\n", 8);
  EXPECT_FALSE(r.clean);
  EXPECT_FALSE(r.has_summary);
  EXPECT_EQ(read_sanitizer_log("").clean, true);
  std::string many;
  for (int i = 0; i < 20; ++i)
    many += "========= Invalid __global__ read of size " + std::to_string(i) + " bytes\n";
  EXPECT_EQ(read_sanitizer_log(many, 3).error_lines.size(), 3u);
}

// Every thread of a faulting kernel reports the same thing: one line, counted.
TEST(SanitizerLog, RepeatedReportsAreCounted) {
  std::string log = "========= COMPUTE-SANITIZER\n";
  for (int t = 0; t < 20; ++t)
    log +=
        "========= Invalid __global__ write of size 2 bytes\n"
        "=========     at k+0x170\n"
        "=========     by thread (" +
        std::to_string(t) + ",0,0) in block (0,0,0)\n";
  log += "========= Invalid __global__ write of size 2 bytes\n=========     at k+0x200\n";
  log += "========= ERROR SUMMARY: 135073 errors\n";
  const SanitizerReport r = read_sanitizer_log(log);
  EXPECT_EQ(r.errors, 135073);
  ASSERT_EQ(r.error_lines.size(), 2u);
  EXPECT_EQ(r.error_lines[0], "Invalid __global__ write of size 2 bytes at k+0x170 (20 reports)");
  EXPECT_EQ(r.error_lines[1], "Invalid __global__ write of size 2 bytes at k+0x200");
}

TEST(WorkerProcessStderr, GoesToTheFileWhenAsked) {
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("flashtune-stderr-" + std::to_string(::getpid()) + ".txt");
  std::filesystem::remove(file);
  {
    WorkerProcess p({"/bin/sh", "-c", "echo to-stderr >&2; echo ready; read x; exit 0"},
                    {.stderr_file = file, .exit_grace = std::chrono::milliseconds(5000)});
    std::optional<std::string> line;
    for (int i = 0; i < 500 && !line; ++i) {
      p.read_available();
      line = p.take_line();
      if (!line) ::usleep(10000);
    }
    ASSERT_TRUE(line);
    EXPECT_EQ(*line, "ready");
    EXPECT_EQ(p.finish(false), "exit status 0");  // `read` ends at EOF on its stdin
  }
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "to-stderr\n");
  std::filesystem::remove(file);
  EXPECT_THROW(WorkerProcess({"/bin/true"}, {.stderr_file = "/nonexistent/dir/x.txt"}), Error);
}

}  // namespace
}  // namespace flashtune::check
