// cache_key(): stable for the same inputs; changes with the source, any quoted header it reaches, the
// options, the arch and the name expressions.
#include "jit/cache_key.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "jit_test_util.hpp"

namespace flashtune::jit {
namespace {
using namespace testing;

TEST(CacheKey, IsStable128BitHex) {
  const std::string key = cache_key(tiny_request());
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(cache_key(tiny_request()), key);
}

TEST(CacheKey, FollowsQuotedIncludesRecursively) {
  const auto deps = source_dependencies(tiny_request());
  ASSERT_EQ(deps.size(), 2u);
  EXPECT_EQ(deps[0].filename(), "tiny_kernel.cuh");
  EXPECT_EQ(deps[1].filename(), "tiny_helper.cuh");
}

TEST(CacheKey, ChangesWithSourceAndIncludedHeader) {
  ScratchDir dir;
  const CompileRequest r = tiny_request("sm_90a", dir.copy_tiny_kernel());
  const std::string original = cache_key(r);

  write_text(dir / "tiny_kernel.cuh", read_text(dir / "tiny_kernel.cuh") + "// edited\n");
  const std::string source_edited = cache_key(r);
  EXPECT_NE(source_edited, original);

  write_text(dir / "tiny_helper.cuh", read_text(dir / "tiny_helper.cuh") + "// edited\n");
  EXPECT_NE(cache_key(r), source_edited);
}

TEST(CacheKey, ChangesWithOptionsArchAndNameExpressions) {
  const CompileRequest base = tiny_request();
  const std::string key = cache_key(base);
  CompileRequest r = base;
  r.arch = "sm_80";
  EXPECT_NE(cache_key(r), key);
  r = base;
  r.extra_options = {"-lineinfo"};
  EXPECT_NE(cache_key(r), key);
  r = base;
  r.include_dirs = {fixture_dir()};
  EXPECT_NE(cache_key(r), key);
  r = base;
  r.name_expressions = {"scale_kernel<8, __nv_bfloat16>"};
  EXPECT_NE(cache_key(r), key);
  r = base;
  r.name_expressions.push_back("scale_kernel<1, float>");
  EXPECT_NE(cache_key(r), key);
}

TEST(CacheKey, ResolvesIncludeDirsAndHashesMissingHeadersByName) {
  ScratchDir src, common;
  write_text(src / "k.cuh",
             "#include \"shared.cuh\"\n  #  include \"missing_one.cuh\"\n#include <cuda_fp16.h>\n");
  write_text(common / "shared.cuh", "#include \"shared.cuh\"  // a cycle: walked once\nint v = 1;\n");
  CompileRequest r = tiny_request("sm_90a", src / "k.cuh");
  const std::string unresolved = cache_key(r);  // shared.cuh not found yet: hashed by name
  r.include_dirs = {common.path()};
  const auto deps = source_dependencies(r);
  ASSERT_EQ(deps.size(), 2u);
  EXPECT_EQ(deps[1], common / "shared.cuh");
  const std::string resolved = cache_key(r);
  EXPECT_NE(resolved, unresolved);

  write_text(common / "shared.cuh", "#include \"shared.cuh\"\nint v = 2;\n");
  EXPECT_NE(cache_key(r), resolved);

  const std::string before_rename = cache_key(r);
  write_text(src / "k.cuh",
             "#include \"shared.cuh\"\n#include \"missing_two.cuh\"\n#include <cuda_fp16.h>\n");
  EXPECT_NE(cache_key(r), before_rename);
}

TEST(CacheKey, MissingSourceThrowsNotFound) {
  try {
    cache_key(tiny_request("sm_90a", fixture_dir() / "nope.cuh"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

}  // namespace
}  // namespace flashtune::jit

namespace flashtune::jit {
namespace {
using namespace testing;

// source_hash() names a template's code in the results cache: it follows edits of the source and of every
// header it includes, and ignores where the tree is, the options, the arch and the name expressions.
TEST(SourceHash, ChangesWithTheTemplateOrAHeaderOnlyWhenTheirBytesChange) {
  ScratchDir a, b;
  const CompileRequest ra = tiny_request("sm_90a", a.copy_tiny_kernel());
  CompileRequest rb = tiny_request("sm_80", b.copy_tiny_kernel());
  rb.name_expressions = {"something_else<1>"};
  const std::string original = source_hash(ra);
  EXPECT_EQ(original.size(), 32u);
  EXPECT_EQ(source_hash(rb), original);  // another directory, arch and name expression: the same code

  write_text(b / "tiny_helper.cuh", read_text(b / "tiny_helper.cuh") + "// edited\n");
  const std::string header_edited = source_hash(rb);
  EXPECT_NE(header_edited, original);
  write_text(b / "tiny_kernel.cuh", read_text(b / "tiny_kernel.cuh") + "// edited\n");
  EXPECT_NE(source_hash(rb), header_edited);
  EXPECT_EQ(source_hash(ra), original);
}

}  // namespace
}  // namespace flashtune::jit
