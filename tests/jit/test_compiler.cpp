// compile() and NvrtcProgram through the fixture kernel: real architectures, name expressions, ptxas facts,
// and failures that are values (the source does not compile) versus exceptions (a broken setup).
#include "jit/compiler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "core/error.hpp"
#include "jit/nvrtc_program.hpp"
#include "jit_test_util.hpp"

namespace flashtune::jit {
namespace {
using namespace testing;

TEST(Nvrtc, VersionAndArchs) {
  const int v = nvrtc_version();
  EXPECT_GE(v, 12000);
  EXPECT_EQ(v % 10, 0);
  EXPECT_EQ(nvrtc_version_string(), std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10));
  const auto archs = supported_archs();
  EXPECT_NE(std::find(archs.begin(), archs.end(), "sm_80"), archs.end());
  EXPECT_NE(std::find(archs.begin(), archs.end(), "sm_90"), archs.end());
}

class CompileTiny : public ::testing::TestWithParam<const char*> {};

TEST_P(CompileTiny, GivesCubinLoweredNameAndPtxasFacts) {
  const CompileResult r = compile(tiny_request(GetParam()));
  ASSERT_TRUE(r.ok) << r.log;
  ASSERT_GT(r.cubin.size(), 4u);
  EXPECT_EQ(std::string(r.cubin.data(), 4),
            "\x7f"
            "ELF");
  ASSERT_EQ(r.lowered_names.count(kTinyBf16), 1u);
  EXPECT_EQ(r.lowered_names.at(kTinyBf16), kTinyBf16Lowered);
  const PtxasInfo* info = r.ptxas_for(kTinyBf16Lowered);
  ASSERT_NE(info, nullptr) << r.log;
  EXPECT_GT(info->registers, 0);
  EXPECT_EQ(info->static_smem_bytes, 128 * 4 * 4);
  EXPECT_EQ(info->barriers, 1);
  EXPECT_GT(r.compile_ms, 0);
  EXPECT_NE(r.log.find(std::string("for '") + GetParam() + "'"), std::string::npos) << r.log;
}

INSTANTIATE_TEST_SUITE_P(Archs, CompileTiny, ::testing::Values("sm_90a", "sm_80"));

TEST(Compile, SyntaxErrorIsAValueWithTheLog) {
  ScratchDir dir;
  write_text(dir / "broken.cuh", "template <int N> __global__ void k(float* x) { x[0] = N +; }\n");
  CompileRequest r = tiny_request("sm_80", dir / "broken.cuh");
  r.name_expressions = {"k<1>"};
  CompileResult res;
  ASSERT_NO_THROW(res = compile(r));
  EXPECT_FALSE(res.ok);
  EXPECT_TRUE(res.cubin.empty());
  EXPECT_TRUE(res.lowered_names.empty());
  EXPECT_NE(res.log.find("broken.cuh"), std::string::npos) << res.log;
  EXPECT_NE(res.log.find("error"), std::string::npos) << res.log;
}

TEST(Compile, BadNameExpressionIsAValue) {
  CompileRequest r = tiny_request("sm_80");
  r.name_expressions = {"scale_kernel<4, no_such_type>"};
  const CompileResult res = compile(r);
  EXPECT_FALSE(res.ok);
  EXPECT_NE(res.log.find("no_such_type"), std::string::npos) << res.log;
}

TEST(Compile, BrokenSetupThrowsNamingTheCall) {
  CompileRequest bad_option = tiny_request("sm_80");
  bad_option.extra_options = {"--no-such-option"};
  try {
    compile(bad_option);
    FAIL() << "an invalid option was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::compile);
    EXPECT_NE(std::string(e.what()).find("nvrtcCompileProgram(tiny_kernel.cuh): NVRTC_ERROR_INVALID_OPTION"),
              std::string::npos)
        << e.what();
  }
  try {
    compile(tiny_request("compute_90"));
    FAIL() << "a virtual architecture was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
  }
  try {
    compile(tiny_request("sm_80", fixture_dir() / "no_such_kernel.cuh"));
    FAIL() << "a missing source was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

TEST(Compile, OptionsAreSeparateStringsInOrder) {
  CompileRequest r = tiny_request("sm_80");
  r.include_dirs = {fixture_dir()};
  r.extra_options = {"-lineinfo"};
  const auto opts = nvrtc_options(r);
  ASSERT_GE(opts.size(), 7u);
  EXPECT_EQ(opts[0], "-arch=sm_80");
  EXPECT_EQ(opts[1], "-std=c++17");
  EXPECT_EQ(opts[2], "-I" + cuda_include_dir().string());
  EXPECT_NE(std::find(opts.begin(), opts.end(), "-I" + fixture_dir().string()), opts.end());
  EXPECT_NE(std::find(opts.begin(), opts.end(), "--ptxas-options=-v"), opts.end());
  EXPECT_NE(std::find(opts.begin(), opts.end(), "-default-device"), opts.end());
  EXPECT_EQ(opts.back(), "-lineinfo");
  EXPECT_EQ(translation_unit(r), "#include \"" + (fixture_dir() / "tiny_kernel.cuh").string() + "\"\n");
}

TEST(Compile, CudaHomeOverridesTheIncludeDir) {
  const char* old = std::getenv("CUDA_HOME");
  const std::string saved = old ? old : "";
  ::setenv("CUDA_HOME", "/opt/some-cuda", 1);
  EXPECT_EQ(cuda_include_dir(), std::filesystem::path("/opt/some-cuda/include"));
  if (old)
    ::setenv("CUDA_HOME", saved.c_str(), 1);
  else
    ::unsetenv("CUDA_HOME");
  EXPECT_TRUE(std::filesystem::exists(cuda_include_dir() / "cuda_bf16.h")) << cuda_include_dir();
}

TEST(NvrtcProgram, CompilesPlainSourceText) {
  NvrtcProgram p("template <typename T> __global__ void f(T* x) { *x = T(1); }\n", "inline.cu");
  p.add_name_expression("f<int>");
  ASSERT_TRUE(p.compile({"-arch=sm_80"})) << p.log();
  EXPECT_EQ(p.lowered_name("f<int>"), "_Z1fIiEvPT_");
  EXPECT_FALSE(p.cubin().empty());
  try {
    (void)p.lowered_name("f<float>");
    FAIL() << "an expression that was not added has a lowered name";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nvrtcGetLoweredName(inline.cu, f<float>)"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace flashtune::jit
