// The flashtune executable: exit codes and messages for bad arguments, and the no-GPU paths.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "gpu/driver_api.hpp"

namespace {

struct CliRun {
  int code;
  std::string output;  // stdout and stderr
};

CliRun flashtune(const std::string& args) {
  const std::string cmd = std::string(FLASHTUNE_EXE) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string out;
  std::array<char, 4096> buf;
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
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
       {"bench --head-dim 96", "bench --seqlen 0", "bench --dtype fp32", "bench --batch -1",
        "compile --arch compute_90", "compile --head-dim 32", "bench --seqlen abc"}) {
    const CliRun r = flashtune(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_FALSE(r.output.empty()) << args;
  }
  EXPECT_TRUE(contains(flashtune("bench --head-dim 96").output, "--head-dim"));
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
  EXPECT_TRUE(contains(r.output, "bm128 bn64 w8 s2")) << r.output;
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

}  // namespace
