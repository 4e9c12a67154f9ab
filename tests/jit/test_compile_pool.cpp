// CompilePool: worker processes give the same cubins as an in-process compile, in request order; cached and
// duplicate requests skip the workers; a crashing or babbling worker fails its requests without hanging.
#include "jit/compile_pool.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "core/error.hpp"
#include "jit/compiler.hpp"
#include "jit_test_util.hpp"

namespace flashtune::jit {
namespace {
using namespace testing;
using std::chrono::seconds;

std::vector<CompileRequest> eight_requests() {
  std::vector<CompileRequest> out;
  for (const char* type : {"float", "__nv_bfloat16"})
    for (int n : {1, 2, 4, 8}) {
      CompileRequest r = tiny_request("sm_90a");
      r.name_expressions = {"scale_kernel<" + std::to_string(n) + ", " + type + ">"};
      out.push_back(r);
    }
  return out;
}

TEST(CompilePool, DefaultWorkerComesFromTheEnvironment) {
  const auto command = default_worker_command();  // CTest sets FLASHTUNE_JIT_WORKER to the built worker
  ASSERT_EQ(command.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(command[0])) << command[0];
}

TEST(CompilePool, MatchesInProcessCompilesInOrder) {
  const auto requests = eight_requests();
  std::vector<CompileResult> expected;
  for (const auto& r : requests) expected.push_back(compile(r));

  ScratchDir dir;
  CubinCache cache(dir.path());
  CompilePool pool(2);
  std::size_t last_done = 0, calls = 0;
  const auto results = within(seconds(120), [&] {
    return pool.compile(requests, cache, [&](std::size_t done, std::size_t total) {
      EXPECT_EQ(total, requests.size());
      EXPECT_EQ(done, last_done + 1);
      last_done = done;
      ++calls;
    });
  });
  EXPECT_EQ(last_done, requests.size());
  EXPECT_EQ(calls, requests.size());
  ASSERT_EQ(results.size(), requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE(requests[i].name_expressions[0]);
    ASSERT_TRUE(results[i].ok) << results[i].log;
    EXPECT_FALSE(results[i].cache_hit);
    EXPECT_EQ(results[i].cubin, expected[i].cubin);
    EXPECT_EQ(results[i].lowered_names, expected[i].lowered_names);
    EXPECT_EQ(results[i].ptxas, expected[i].ptxas);
  }

  // Everything is cached now: answered here, no worker involved (even a broken one).
  CompilePool broken(2, {"/bin/false"});
  const auto again = within(seconds(30), [&] { return broken.compile(requests, cache); });
  for (std::size_t i = 0; i < requests.size(); ++i) {
    EXPECT_TRUE(again[i].cache_hit);
    EXPECT_EQ(again[i].cubin, expected[i].cubin);
  }
}

TEST(CompilePool, DuplicatesCompileOnceAndFailuresAreValues) {
  ScratchDir src, dir;
  write_text(src / "broken.cuh", "__global__ void k() { undefined_thing(); }\n");
  CompileRequest broken = tiny_request("sm_80", src / "broken.cuh");
  broken.name_expressions = {"k"};
  const std::vector<CompileRequest> requests = {tiny_request("sm_80"), broken, tiny_request("sm_80")};
  CubinCache cache(dir.path());
  CompilePool pool(4);
  std::size_t last_done = 0;
  const auto results = within(seconds(60), [&] {
    return pool.compile(requests, cache, [&](std::size_t done, std::size_t) { last_done = done; });
  });
  EXPECT_EQ(last_done, 3u);
  ASSERT_TRUE(results[0].ok) << results[0].log;
  EXPECT_EQ(results[2].cubin, results[0].cubin);
  EXPECT_FALSE(results[1].ok);
  EXPECT_NE(results[1].log.find("undefined_thing"), std::string::npos) << results[1].log;
  EXPECT_TRUE(within(seconds(30), [&] { return pool.compile({broken}, cache); })[0].cache_hit);
}

TEST(CompilePool, InProcessWhenZeroWorkers) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  CompilePool pool(0, {"/nonexistent/worker"});
  const auto results = pool.compile({tiny_request("sm_80")}, cache);
  ASSERT_TRUE(results[0].ok) << results[0].log;
  EXPECT_FALSE(results[0].cubin.empty());
}

// Each worker reads one request and then misbehaves; every request must fail with "crashed" and the batch
// must end in seconds.
void expect_all_crash(const std::vector<std::string>& command, const std::string& detail,
                      std::chrono::seconds timeout = default_compile_timeout()) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  const auto requests = eight_requests();
  CompilePool pool(2, command, timeout);
  std::size_t last_done = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto results = within(seconds(30), [&] {
    return pool.compile(requests, cache, [&](std::size_t done, std::size_t) { last_done = done; });
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
  EXPECT_EQ(last_done, requests.size());
  for (const auto& r : results) {
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.log.find("compile worker crashed ("), std::string::npos) << r.log;
    EXPECT_NE(r.log.find(detail), std::string::npos) << r.log;
    EXPECT_FALSE(cache.load(r.cache_key).has_value());  // a crash is not a verdict on the source: not cached
  }
}

TEST(CompilePool, WorkerThatExitsFailsEveryRequest) {
  expect_all_crash({"/bin/sh", "-c", "read x; exit 3"}, "exit status 3");
}

TEST(CompilePool, WorkerKilledBySignalFailsEveryRequest) {
  expect_all_crash({"/bin/sh", "-c", "read x; kill -SEGV $$"}, "signal 11");
}

TEST(CompilePool, WorkerWritingGarbageIsKilled) {
  expect_all_crash({"/bin/sh", "-c", "read x; echo not-json; exec sleep 60"}, "bad reply 'not-json'");
}

// A worker that never answers (or closed its stdin, so that it never even reads the request) is killed once
// the timeout passes: 8 requests on 2 workers with 1 s each end in about 4 s instead of never.
TEST(CompilePool, WorkerThatHangsIsKilledAtTheTimeout) {
  expect_all_crash({"/bin/sh", "-c", "exec sleep 60"}, "no reply within 1 s, killed", seconds(1));
}

// Whether the request reaches it before it closes its stdin is a race: either it is killed at the timeout or
// the write fails at once; both end the request as a crash, in bounded time.
TEST(CompilePool, WorkerThatClosesItsStdinIsKilledAtTheTimeout) {
  expect_all_crash({"/bin/sh", "-c", "exec 0<&-; exec sleep 60"}, "compile worker crashed (", seconds(1));
}

// A reply line without end is cut at WorkerProcess::Options::max_line_bytes: the worker is killed instead of
// growing this process without bound.
TEST(CompilePool, WorkerWithAnEndlessReplyIsKilled) {
  expect_all_crash({"/bin/sh", "-c", "read x; head -c 40000000 /dev/zero; exec sleep 60"},
                   "a reply line over the size limit, killed");
}

TEST(CompilePool, TheTimeoutComesFromTheEnvironment) {
  ::setenv("FLASHTUNE_COMPILE_TIMEOUT", "17", 1);
  EXPECT_EQ(default_compile_timeout(), seconds(17));
  for (const char* bad : {"0", "-5", "abc", "12x", "99999999999999999999"}) {
    ::setenv("FLASHTUNE_COMPILE_TIMEOUT", bad, 1);
    EXPECT_THROW(default_compile_timeout(), Error) << bad;
  }
  ::unsetenv("FLASHTUNE_COMPILE_TIMEOUT");
  EXPECT_EQ(default_compile_timeout(), seconds(600));
}

// The real worker cannot store into the cache (its directory lies under a file): that is an I/O error that
// stops the batch and names the path, not one "compile error" per request.
TEST(CompilePool, ACacheTheWorkerCannotWriteIsAnIoError) {
  ScratchDir dir;
  write_text(dir / "a_file", "");
  CubinCache cache(dir / "a_file" / "cubin");
  CompilePool pool(1);
  try {
    within(seconds(60), [&] { return pool.compile({tiny_request("sm_80")}, cache); });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find((dir / "a_file").string()), std::string::npos) << e.what();
  }
}

TEST(CompilePool, WorkerThatNeverStartsThrows) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  CompilePool pool(2, {"/nonexistent/flashtune-jit-worker"});
  try {
    pool.compile({tiny_request("sm_80")}, cache);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

// Request 0's worker exits, and the progress callback throws on that; request 1's worker is still
// "compiling": leaving compile() must end it rather than wait for it.
TEST(CompilePool, ExceptionFromProgressEndsBusyWorkers) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  const auto start = std::chrono::steady_clock::now();
  within(seconds(30), [&] {
    CompilePool pool(2,
                     {"/bin/sh", "-c", "read x; case \"$x\" in *'\"id\":0,'*) exit 3;; esac; exec sleep 60"});
    EXPECT_THROW(pool.compile({tiny_request("sm_80"), tiny_request("sm_90a")}, cache,
                              [](std::size_t, std::size_t) { throw std::runtime_error("stop"); }),
                 std::runtime_error);
    return 0;
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
}

}  // namespace
}  // namespace flashtune::jit
