// CubinCache and compile_cached(): hits return the same bytes, edits miss, failures are cached, and a damaged
// entry is a miss that the next compile overwrites.
#include "jit/cubin_cache.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "core/error.hpp"
#include "jit/cache_key.hpp"
#include "jit_test_util.hpp"

namespace flashtune::jit {
namespace {
using namespace testing;

TEST(CubinCache, SecondCompileIsAHitWithTheSameCubin) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  const CompileResult first = compile_cached(tiny_request(), cache);
  ASSERT_TRUE(first.ok) << first.log;
  EXPECT_FALSE(first.cache_hit);
  EXPECT_EQ(first.cache_key, cache_key(tiny_request()));
  EXPECT_TRUE(std::filesystem::exists(dir / (first.cache_key + ".cubin")));
  EXPECT_TRUE(std::filesystem::exists(dir / (first.cache_key + ".json")));

  const CompileResult second = compile_cached(tiny_request(), cache);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_TRUE(second.ok);
  EXPECT_EQ(second.cubin, first.cubin);
  EXPECT_EQ(second.lowered_names, first.lowered_names);
  EXPECT_EQ(second.ptxas, first.ptxas);
  EXPECT_EQ(second.log, first.log);
  EXPECT_DOUBLE_EQ(second.compile_ms, first.compile_ms);

  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))  // no temporary files left behind
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST(CubinCache, EditedSourceOrHeaderMisses) {
  ScratchDir src, dir;
  CubinCache cache(dir.path());
  const CompileRequest r = tiny_request("sm_80", src.copy_tiny_kernel());
  ASSERT_TRUE(compile_cached(r, cache).ok);
  ASSERT_TRUE(compile_cached(r, cache).cache_hit);

  write_text(src / "tiny_kernel.cuh", read_text(src / "tiny_kernel.cuh") + "\n// edited\n");
  EXPECT_FALSE(compile_cached(r, cache).cache_hit);
  EXPECT_TRUE(compile_cached(r, cache).cache_hit);

  write_text(src / "tiny_helper.cuh", read_text(src / "tiny_helper.cuh") + "\n// edited\n");
  EXPECT_FALSE(compile_cached(r, cache).cache_hit);
}

TEST(CubinCache, FailedCompilesAreCachedToo) {
  ScratchDir src, dir;
  CubinCache cache(dir.path());
  write_text(src / "broken.cuh", "__global__ void k() { int x = ; }\n");
  CompileRequest r = tiny_request("sm_80", src / "broken.cuh");
  r.name_expressions = {"k"};
  const CompileResult first = compile_cached(r, cache);
  EXPECT_FALSE(first.ok);
  EXPECT_FALSE(first.cache_hit);
  const CompileResult second = compile_cached(r, cache);
  EXPECT_FALSE(second.ok);
  EXPECT_TRUE(second.cache_hit);
  EXPECT_EQ(second.log, first.log);
  EXPECT_NE(second.log.find("error"), std::string::npos);
}

TEST(CubinCache, CorruptJsonIsAMissThenOverwritten) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  const CompileResult first = compile_cached(tiny_request("sm_80"), cache);
  ASSERT_TRUE(first.ok);
  write_text(dir / (first.cache_key + ".json"), "{\"ok\": true, \"log\": ");
  EXPECT_FALSE(cache.load(first.cache_key).has_value());
  EXPECT_FALSE(compile_cached(tiny_request("sm_80"), cache).cache_hit);
  const auto reloaded = cache.load(first.cache_key);
  ASSERT_TRUE(reloaded.has_value());
  EXPECT_EQ(reloaded->cubin, first.cubin);

  write_text(dir / (first.cache_key + ".json"), "[1, 2, 3]\n");  // valid JSON, wrong shape
  EXPECT_FALSE(cache.load(first.cache_key).has_value());
}

// The .json carries a checksum of itself: an edited fact (fewer registers, no spills) is a miss, so a sweep
// never prunes or reports from numbers the compiler did not give.
TEST(CubinCache, EditedFactsAreAMiss) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  const CompileResult first = compile_cached(tiny_request("sm_80"), cache);
  ASSERT_TRUE(first.ok);
  ASSERT_FALSE(first.ptxas.empty());
  const fs::path meta = dir / (first.cache_key + ".json");
  std::string text = read_text(meta);
  const std::string from = "\"registers\":" + std::to_string(first.ptxas.front().registers);
  const std::size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, from.size(), "\"registers\":7");
  write_text(meta, text);
  EXPECT_FALSE(cache.load(first.cache_key).has_value());
  const CompileResult again = compile_cached(tiny_request("sm_80"), cache);
  EXPECT_FALSE(again.cache_hit);
  EXPECT_EQ(again.ptxas.front().registers, first.ptxas.front().registers);
}

// Another user could edit a shared cache: a directory that others can write, or that another user owns, is
// refused on load and on store, with the reason.
TEST(CubinCache, ADirectoryOthersCanWriteIsRefused) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  const CompileResult first = compile_cached(tiny_request("sm_80"), cache);
  ::chmod(dir.path().c_str(), 0777);
  try {
    (void)cache.load(first.cache_key);
    FAIL() << "loaded from a world-writable cache";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("writable by every user"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cache.store(first), Error);
  ::chmod(dir.path().c_str(), 0700);
  EXPECT_TRUE(cache.load(first.cache_key).has_value());
}

TEST(CubinCache, ANewCacheDirectoryIsPrivate) {
  ScratchDir dir;
  CubinCache cache(dir / "new" / "cubin");
  (void)compile_cached(tiny_request("sm_80"), cache);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "new" / "cubin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir / "new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(CubinCache, TruncatedOrMissingCubinIsAMissThenOverwritten) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  const CompileResult first = compile_cached(tiny_request("sm_80"), cache);
  ASSERT_TRUE(first.ok);
  const auto cubin_file = dir / (first.cache_key + ".cubin");
  std::filesystem::resize_file(cubin_file, first.cubin.size() / 2);
  EXPECT_FALSE(cache.load(first.cache_key).has_value());
  EXPECT_FALSE(compile_cached(tiny_request("sm_80"), cache).cache_hit);
  EXPECT_EQ(std::filesystem::file_size(cubin_file), first.cubin.size());
  EXPECT_TRUE(compile_cached(tiny_request("sm_80"), cache).cache_hit);

  std::string bytes = read_text(cubin_file);  // same size, one byte flipped
  bytes[bytes.size() / 2] ^= 0x5a;
  write_text(cubin_file, bytes);
  EXPECT_FALSE(cache.load(first.cache_key).has_value());

  std::filesystem::remove(cubin_file);
  EXPECT_FALSE(cache.load(first.cache_key).has_value());
  EXPECT_FALSE(cache.load("").has_value());
  EXPECT_FALSE(cache.load("0123456789abcdef0123456789abcdef").has_value());
}

TEST(CubinCache, ConcurrentStoresNeverShowAPartialEntry) {
  ScratchDir dir;
  CubinCache cache(dir.path());
  CompileResult r;
  r.ok = true;
  r.cache_key = "00112233445566778899aabbccddeeff";
  r.cubin.assign(1 << 20, 'x');
  r.log = "log";
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      for (int k = 0; k < 20; ++k) cache.store(r);
    });
  std::thread reader([&] {
    while (!stop) {
      auto got = cache.load(r.cache_key);
      if (got && got->cubin != r.cubin) ++bad;
    }
  });
  for (auto& t : threads) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(bad, 0);
  EXPECT_TRUE(cache.load(r.cache_key).has_value());
}

TEST(CubinCache, UnwritableDirectoryThrowsIo) {
  ScratchDir dir;
  write_text(dir / "a_file", "");
  CubinCache cache(dir / "a_file" / "cubin");
  CompileResult r;
  r.cache_key = "00112233445566778899aabbccddeeff";
  try {
    cache.store(r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
  }
  EXPECT_FALSE(cache.load(r.cache_key).has_value());
}

TEST(CubinCache, DefaultDirIsUnderTheFlashtuneCache) {
  EXPECT_EQ(CubinCache().dir().filename(), "cubin");
}

}  // namespace
}  // namespace flashtune::jit
