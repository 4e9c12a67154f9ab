// What a hostile but realistic user tried against the flashtune executable, each a regression test: unbounded
// integers, hanging or babbling compile workers, a shared cache, damaged or special database files, lost
// output, misreported causes, ignored settings, unbounded files and misleading messages. Each must end in a
// bounded, clear error with the documented exit code, creating or losing nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "store/result_store.hpp"
#include "store/store_test_util.hpp"
#include "testing/cli_run.hpp"

namespace {
namespace fs = std::filesystem;
using flashtune::cli_test::CliRun;
using flashtune::cli_test::contains;
using flashtune::cli_test::run_flashtune;
using flashtune::store::testing::ScratchDir;
using flashtune::store::testing::write_damaged_copy;
using flashtune::store::testing::write_sample_database;

const std::string kSmall = FLASHTUNE_SMALL_SPACE;
const std::string kOneConfig =
    "compile -q -j 1 --arch sm_90a -d 64 --dtype bf16 --causal no --block-m 64 --block-n 64 --warps 4 "
    "--stages 2";

void write_text(const fs::path& p, const std::string& text, fs::perms mode = fs::perms::owner_all) {
  std::ofstream(p, std::ios::binary) << text;
  fs::permissions(p, mode);
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// 1. Configuration integers are bounded before any arithmetic: no overflowed shared-memory size, no
// crashing or spinning worker.
TEST(HostileInput, HugeConfigurationIntegersAreUsageErrors) {
  for (const char* n : {"1073741824", "2147483632", "-16"}) {
    for (const char* cmd : {"compile -j 1 -d 64 --dtype bf16 --causal no", "bench -q -d 64 -n 128"}) {
      const CliRun r =
          run_flashtune(std::string(cmd) + " --block-m 64 --block-n " + n + " --warps 4 --stages 2");
      EXPECT_EQ(r.code, 2) << cmd << " " << n << "\n" << r.output;
      EXPECT_TRUE(contains(r.output, "--block-n: must be an integer in 16..512")) << r.output;
    }
  }
}

// 2. A compile worker that never answers, or closed its stdin, is killed at FLASHTUNE_COMPILE_TIMEOUT; one
// that writes an endless line is cut off. Each fails its configuration (exit 4), bounded in time.
TEST(HostileInput, MisbehavingCompileWorkersAreKilled) {
  ScratchDir dir;
  const std::pair<const char*, const char*> workers[] = {
      {"exec sleep 100000", "no reply within 2 s, killed"},
      // Whether the request is written before the worker closes its stdin is a race: killed at the timeout,
      // or the write fails at once; either way a crash in bounded time.
      {"exec 0<&-; exec sleep 100000", "compile worker crashed ("},
      {"head -c 100000000 /dev/zero; exec sleep 100000", "a reply line over the size limit, killed"},
  };
  int i = 0;
  for (const auto& [script, why] : workers) {
    const fs::path worker = dir / ("worker" + std::to_string(i++) + ".sh");
    write_text(worker, std::string("#!/bin/sh\n") + script + "\n");
    const auto start = std::chrono::steady_clock::now();
    const CliRun r =
        run_flashtune(kOneConfig, "FLASHTUNE_COMPILE_TIMEOUT=2 FLASHTUNE_JIT_WORKER=" + worker.string() +
                                      " FLASHTUNE_CACHE_DIR=" + (dir / "cache").string());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << script;
    EXPECT_EQ(r.code, 4) << script << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, why)) << script << "\n" << r.output;
  }
}

// 3. The cache is private: created 0700; refused when others can write it or another user owns it; an
// edited fact in an entry is a miss, never reported.
TEST(HostileInput, TheCacheIsPrivateAndVerified) {
  ScratchDir dir;
  const fs::path cache = dir / "cache";
  const std::string env = "FLASHTUNE_CACHE_DIR=" + cache.string();
  const CliRun first = run_flashtune(kOneConfig, env);
  ASSERT_EQ(first.code, 0) << first.output;
  struct stat st {};
  ASSERT_EQ(::stat(cache.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // Edit the registers of the one entry: the next run recompiles (miss) and shows the compiler's number.
  fs::path meta;
  for (const auto& e : fs::directory_iterator(cache / "cubin"))
    if (e.path().extension() == ".json") meta = e.path();
  ASSERT_FALSE(meta.empty());
  std::string text = bytes_of(meta);
  const std::size_t at = text.find("\"registers\":");
  ASSERT_NE(at, std::string::npos);
  const std::size_t end = text.find_first_not_of("0123456789", at + 12);
  const std::string real = text.substr(at + 12, end - at - 12);
  text.replace(at + 12, end - at - 12, "7");
  write_text(meta, text);
  const CliRun edited = run_flashtune(kOneConfig, env);
  EXPECT_EQ(edited.code, 0) << edited.output;
  EXPECT_TRUE(contains(edited.output, " " + real + " ")) << edited.output;
  EXPECT_TRUE(contains(edited.output, "0 from the cache")) << edited.output;

  ::chmod(cache.c_str(), 0777);
  const CliRun open = run_flashtune(kOneConfig, env);
  EXPECT_EQ(open.code, 1) << open.output;
  EXPECT_TRUE(contains(open.output, "writable by every user")) << open.output;
  ::chmod(cache.c_str(), 0700);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(cache.c_str(), 65534, 65534), 0);
    const CliRun other = run_flashtune(kOneConfig, env);
    EXPECT_EQ(other.code, 1) << other.output;
    EXPECT_TRUE(contains(other.output, "owned by uid 65534")) << other.output;
    ASSERT_EQ(::chown(cache.c_str(), 0, 0), 0);
  }
  // With no cache variables at all the cache is per user under /tmp, never a shared /tmp/flashtune-cache.
  const CliRun info = run_flashtune("info", "env -u HOME -u XDG_CACHE_HOME -u FLASHTUNE_CACHE_DIR");
  EXPECT_TRUE(contains(info.output, "/tmp/flashtune-cache-" + std::to_string(::geteuid()))) << info.output;
}

// 4. A database with flipped bits that sqlite still opens is refused by every reader: exit 1, named.
TEST(HostileInput, ADamagedDatabaseIsRefused) {
  ScratchDir dir;
  write_sample_database(dir / "good.db", 400);
  ASSERT_TRUE(write_damaged_copy(dir / "good.db", dir / "bad.db"));
  const std::string bad = (dir / "bad.db").string();
  for (const std::string& cmd :
       {"show --all --stale --db " + bad, "export --all --stale --format json --db " + bad,
        "compare " + bad + " " + (dir / "good.db").string(),
        "report io --db " + bad + " -o " + (dir / "report").string()}) {
    const CliRun r = run_flashtune(cmd);
    EXPECT_EQ(r.code, 1) << cmd << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, bad + " is damaged")) << cmd << "\n" << r.output;
  }
  EXPECT_FALSE(fs::exists(dir / "report"));
}

// 5. Output that does not arrive is an error: stdout and every output file are checked on close.
TEST(HostileInput, LostOutputIsAnError) {
  ScratchDir dir;
  const std::string db = (dir / "r.db").string();
  write_sample_database(db, 3);
  for (const std::string& cmd :
       {"show --all --stale --db " + db + " > /dev/full", "export --all --stale --db " + db + " > /dev/full",
        "export --all --stale --db " + db + " -o /dev/full", std::string("info > /dev/full"),
        "compare " + db + " " + db + " > /dev/full", "compare " + db + " " + db + " --json /dev/full",
        "tune -q --compile-only -j 1 --json /dev/full " + kSmall,
        "check -q --compile-only -j 1 --junit /dev/full " + kSmall}) {
    const CliRun r = run_flashtune(cmd);
    EXPECT_EQ(r.code, 1) << cmd << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "No space left on device")) << cmd << "\n" << r.output;
  }
}

// 6. The real cause, with exit 1: a cache that cannot be written, a file-size limit; an architecture NVRTC
// does not know is a bad space (exit 5), not five compile errors.
TEST(HostileInput, CacheWriteFailuresAreIoErrorsNamingTheFile) {
  ScratchDir dir;
  write_text(dir / "a_file", "");
  const CliRun blocked = run_flashtune("tune -q --compile-only -j 1 " + kSmall,
                                       "FLASHTUNE_CACHE_DIR=" + (dir / "a_file" / "cache").string());
  EXPECT_EQ(blocked.code, 1) << blocked.output;
  EXPECT_TRUE(contains(blocked.output, (dir / "a_file").string())) << blocked.output;
  EXPECT_FALSE(contains(blocked.output, "compile_error")) << blocked.output;

  const CliRun limited = run_flashtune("tune -q --compile-only -j 1 " + kSmall,
                                       "ulimit -f 20; FLASHTUNE_CACHE_DIR=" + (dir / "limited").string());
  EXPECT_EQ(limited.code, 1) << limited.output;
  EXPECT_TRUE(contains(limited.output, "File too large")) << limited.output;
  EXPECT_TRUE(contains(limited.output, (dir / "limited").string())) << limited.output;
}

TEST(HostileInput, AnUnknownArchitectureIsABadSpace) {
  ScratchDir dir;
  std::string text = bytes_of(kSmall);
  text.replace(text.find("template: fa2_fwd"), 17, "template: fa2_fwd\narch: sm_10");
  write_text(dir / "arch.yaml", text);
  const CliRun r = run_flashtune("tune -q --compile-only " + (dir / "arch.yaml").string());
  EXPECT_EQ(r.code, 5) << r.output;
  EXPECT_TRUE(contains(r.output, "arch.yaml:4:7: arch: sm_10 is not an architecture NVRTC")) << r.output;
  const CliRun c = run_flashtune("compile --arch sm_99999 -q -j 1");
  EXPECT_EQ(c.code, 2) << c.output;
  EXPECT_TRUE(contains(c.output, "sm_99999 is not an architecture NVRTC")) << c.output;
}

// 7. Readers open read-only and never create: a missing path stays missing, /dev/null is no database, and a
// 0444 database is read without a byte changed.
TEST(HostileInput, ReadersNeverCreateOrWrite) {
  ScratchDir dir;
  const fs::path typo = dir / "x" / "typo.db";
  const CliRun missing = run_flashtune("show --db " + typo.string());
  EXPECT_EQ(missing.code, 1) << missing.output;
  EXPECT_TRUE(contains(missing.output, "no results database at " + typo.string())) << missing.output;
  EXPECT_FALSE(fs::exists(dir / "x"));

  const CliRun null = run_flashtune("show --db /dev/null");
  EXPECT_EQ(null.code, 1) << null.output;
  EXPECT_TRUE(contains(null.output, "not a regular file")) << null.output;
  EXPECT_FALSE(fs::exists("/dev/null-journal"));

  const fs::path db = dir / "ro.db";
  write_sample_database(db, 3);
  fs::permissions(db, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const std::string before = bytes_of(db);
  const CliRun show = run_flashtune("show --all --stale --db " + db.string());
  EXPECT_EQ(show.code, 0) << show.output;
  EXPECT_TRUE(contains(show.output, "3 configurations")) << show.output;
  EXPECT_EQ(run_flashtune("export --all --stale --format json --db " + db.string()).code, 0);
  EXPECT_EQ(run_flashtune("compare " + db.string() + " " + db.string()).code, 0);
  EXPECT_EQ(bytes_of(db), before);
  EXPECT_FALSE(fs::exists(db.string() + "-wal"));
}

// 8. Settings and files that used to be ignored or read without end.
TEST(HostileInput, WrongSettingsAndSpecialFilesAreRefused) {
  const CliRun kernels = run_flashtune("info", "FLASHTUNE_KERNEL_DIR=/nonexistent");
  EXPECT_EQ(kernels.code, 1) << kernels.output;
  EXPECT_TRUE(contains(kernels.output, "FLASHTUNE_KERNEL_DIR=/nonexistent")) << kernels.output;

  const CliRun zero = run_flashtune("tune -q --compile-only /dev/zero");
  EXPECT_EQ(zero.code, 5) << zero.output;
  EXPECT_TRUE(contains(zero.output, "/dev/zero: cannot read: a character device")) << zero.output;

  ScratchDir dir;
  const fs::path fifo = dir / "space.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const CliRun f = run_flashtune("tune -q --compile-only " + fifo.string());
  EXPECT_EQ(f.code, 5) << f.output;
  EXPECT_TRUE(contains(f.output, "a FIFO")) << f.output;

  // NVRTC is loaded at run time: without it `info` still works and says so; compiling fails naming it.
  const CliRun no_nvrtc = run_flashtune("info", "FLASHTUNE_NVRTC_LIBRARY=/nonexistent/libnvrtc.so.13");
  EXPECT_TRUE(contains(no_nvrtc.output, "NVRTC          none: NVRTC is not available")) << no_nvrtc.output;
  EXPECT_TRUE(contains(no_nvrtc.output, "/nonexistent/libnvrtc.so.13")) << no_nvrtc.output;
  const CliRun compile = run_flashtune(kOneConfig, "FLASHTUNE_NVRTC_LIBRARY=/nonexistent/libnvrtc.so.13");
  EXPECT_NE(compile.code, 0) << compile.output;
  EXPECT_TRUE(contains(compile.output, "NVRTC is not available")) << compile.output;

  const CliRun timeout = run_flashtune(kOneConfig, "FLASHTUNE_COMPILE_TIMEOUT=soon");
  EXPECT_EQ(timeout.code, 2) << timeout.output;
  EXPECT_TRUE(contains(timeout.output, "FLASHTUNE_COMPILE_TIMEOUT=soon")) << timeout.output;
}

// 9. Messages that say what the option takes; values that are not numbers are refused, not wrapped.
TEST(HostileInput, MessagesNameTheOptionAndWhatItTakes) {
  const CliRun seqlen = run_flashtune("bench --seqlen 0");
  EXPECT_EQ(seqlen.code, 2);
  EXPECT_TRUE(contains(seqlen.output, "--seqlen: must be an integer in 1..")) << seqlen.output;
  EXPECT_LT(seqlen.output.size(), 200u) << seqlen.output;
  for (const char* args : {"tune --compile-only --seed -1", "bench --seed -1", "bench --seed 1e3"}) {
    const CliRun r = run_flashtune(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "--seed: must be an integer in 0..18446744073709551615")) << r.output;
  }
  for (const char* t : {"nan", "inf", "-1", "101"}) {
    const CliRun r = run_flashtune(std::string("compare a b --threshold ") + t);
    EXPECT_EQ(r.code, 2) << t << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "--threshold: must be a number in [0, 100]")) << r.output;
  }
}

// The configuration options of compile and bench: malformed --param values, unknown names and templates, a
// space of another template are usage errors that say what is wrong; nothing is compiled.
TEST(HostileInput, ConfigurationOptionsAreChecked) {
  const std::pair<std::string, std::string> cases[] = {
      {"--param block_n", "expected key=integer"},
      {"--param =64", "expected key=integer"},
      {"--param block_n=abc", "expected key=integer"},
      {"--param block_n=99999999999999999999", "expected key=integer"},
      {"--param blok_n=64", "unknown parameter 'blok_n'"},
      {"--param block_n=100000", "block_n"},
      {"--block-n 64 --param block_n=128", "given twice"},
      {"--template nope", "--template:"},
      {"--template hopper_fwd --space " + kSmall, "is a space of fa2_fwd, not of --template hopper_fwd"},
  };
  for (const auto& [args, message] : cases) {
    const CliRun r = run_flashtune("compile -q -j 1 -d 64 --dtype bf16 --causal no " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, message)) << args << "\n" << r.output;
  }
}

// An export whose median is not a time (negative, zero, absurd) is refused, not compared as "+inf%".
TEST(HostileInput, ExportsWithImpossibleTimesAreRefused) {
  ScratchDir dir;
  const fs::path db = dir / "r.db";
  write_sample_database(db, 2);
  const CliRun exp = run_flashtune("export --all --stale --format json --db " + db.string() + " -o " +
                                   (dir / "e.json").string());
  ASSERT_EQ(exp.code, 0) << exp.output;
  const std::string good = bytes_of(dir / "e.json");
  for (const char* median : {"-0.5", "0", "1e308"}) {
    std::string text = good;
    const std::size_t at = text.find("\"median_ms\":");
    ASSERT_NE(at, std::string::npos) << text;
    const std::size_t value = text.find_first_not_of(" ", at + 12);
    const std::size_t end = text.find_first_of(",\n}", value);
    text.replace(value, end - value, median);
    write_text(dir / "bad.json", text);
    const CliRun r =
        run_flashtune("compare " + (dir / "e.json").string() + " " + (dir / "bad.json").string());
    EXPECT_EQ(r.code, 1) << median << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "is not a time")) << median << "\n" << r.output;
    EXPECT_FALSE(contains(r.output, "inf%")) << r.output;
  }
}

}  // namespace
