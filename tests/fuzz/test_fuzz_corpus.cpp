// Replays the committed fuzz corpus (tests/fuzz/corpus/) through the fuzz targets' bodies under the normal
// build, and checks that a search space cannot inject text into kernel source: hostile names and values are
// rejected by the loader, and every name expression a valid space produces matches a strict pattern.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "fuzz_entries.hpp"
#include "kernels/kernel_template.hpp"
#include "space/space_loader.hpp"

namespace flashtune::fuzz {
namespace {
namespace fs = std::filesystem;

const fs::path kFuzzDir = FLASHTUNE_FUZZ_DIR;
const fs::path kSpacesDir = FLASHTUNE_SPACES_DIR;         // search_spaces/
const fs::path kBadSpacesDir = FLASHTUNE_BAD_SPACES_DIR;  // tests/space/bad/

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs every file of corpus/<name> through `once`; returns how many ran.
template <typename Once>
std::size_t replay(const std::string& name, Once once) {
  std::size_t n = 0;
  for (const fs::path& file : files_in(kFuzzDir / "corpus" / name)) {
    try {
      once(read_file(file));
    } catch (const std::exception& e) {
      ADD_FAILURE() << file.filename() << ": " << e.what();
    }
    ++n;
  }
  return n;
}

TEST(FuzzCorpus, SpaceCorpusReplaysCleanly) {
  EXPECT_GE(replay("space", fuzz_space_once), 30u);
}

TEST(FuzzCorpus, ExprCorpusReplaysCleanly) {
  EXPECT_GE(replay("expr", fuzz_expr_once), 30u);
}

TEST(FuzzCorpus, CorpusStaysSmall) {  // docs/fuzzing.md: ~200 files / ~200 KB per target
  for (const char* name : {"space", "expr"}) {
    std::uintmax_t bytes = 0;
    const std::vector<fs::path> files = files_in(kFuzzDir / "corpus" / name);
    for (const fs::path& f : files) bytes += fs::file_size(f);
    EXPECT_LE(files.size(), 250u) << name;
    EXPECT_LE(bytes, 256u * 1024) << name;
  }
}

// The space target's other seed folders (scripts/fuzz.sh reads them in place of copies in the corpus).
TEST(FuzzCorpus, TheShippedAndMalformedSpacesPassTheSpaceTarget) {
  std::size_t n = 0;
  for (const fs::path& dir : {kSpacesDir, kBadSpacesDir})
    for (const fs::path& file : files_in(dir)) {
      EXPECT_NO_THROW(fuzz_space_once(read_file(file))) << file;
      ++n;
    }
  EXPECT_GE(n, 25u);
}

// --- the name-expression pattern
// ----------------------------------------------------------------------------

TEST(NameExpressionPattern, AcceptsWhatTheTemplatesBuild) {
  EXPECT_TRUE(is_safe_name_expression("flashtune::fa2_fwd<128, 64, 128, 8, 2, false, __nv_bfloat16>"));
  EXPECT_TRUE(is_safe_name_expression("flashtune::standard_softmax<4, true, __half>"));
  EXPECT_TRUE(is_safe_name_expression(
      "flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64, 128, 4, 1, 0, 0, 1, 2, 0, 1>, true, __nv_bfloat16>"));
  EXPECT_TRUE(is_safe_name_expression("flashtune::x<1,2>"));
  EXPECT_TRUE(is_safe_name_expression("flashtune::x<-1>"));
}

TEST(NameExpressionPattern, RejectsEverythingElse) {
  for (const char* bad : {
           "",
           "flashtune::fa2_fwd",
           "flashtune::fa2_fwd<>",
           "fa2_fwd<64>",
           "::flashtune::fa2_fwd<64>",
           "flashtune::fa2_fwd<64>, evil<1>",
           "flashtune::fa2_fwd<64>\n",
           "flashtune::fa2_fwd<64>;",
           "flashtune::fa2_fwd<64, evil>",
           "flashtune::fa2_fwd<64, \"x\">",
           "flashtune::fa2_fwd<64,  2>",
           "flashtune::fa2_fwd<flashtune::A<flashtune::B<1>>, 2>",
           "flashtune::fa2_fwd<flashtune::Fa2Traits<64>",
           "flashtune::fa2_fwd<flashtune::Fa2Traits<64>>, 1>",
           "flashtune::fa2_fwd<Fa2Traits<64>, 1>",
           "flashtune::fa2_fwd<64 ,2>",
           "flashtune::fa2_fwd<64,>",
           "flashtune::fa2_fwd<(64)>",
           "flashtune::fa2_fwd<64 + 1>",
           "flashtune::fa2_fwd<0x40>",
           "flashtune::fa2_fwd<1e3>",
           "flashtune::fa2_fwd<99999999999999999999>",
           "flashtune::fa2_fwd<64>::x<1>",
           "flashtune::fa2 fwd<64>",
           "flashtune::9fa<64>",
           "flashtune::fa2_fwd<float>",
           "flashtune::fa2_fwd<__half*>",
           "flashtune::fa2_fwd<__nv_bfloat16 >",
           "flashtune::fa2_fwd<64>>",
           "flashtune::fa2_fwd<<64>",
       })
    EXPECT_FALSE(is_safe_name_expression(bad)) << bad;
}

// --- injection
// -----------------------------------------------------------------------------------------------

// A valid fa2_fwd space with `parameters` (the lines after "parameters:") and `rest` appended.
std::string fa2_space(const std::string& parameters, const std::string& rest = "") {
  return "template: fa2_fwd\nparameters:\n" + parameters +
         "problems:\n  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 64}\n" + rest;
}
const std::string kOthers = "  block_n: 64\n  warps: 4\n  stages: 2\n";  // all but block_m
std::string with_block_m(const std::string& value) {
  return fa2_space("  block_m: " + value + "\n" + kOthers);
}
std::string with_problem(const std::string& problem) {
  return "template: fa2_fwd\nparameters:\n  block_m: 64\n" + kOthers + "problems:\n  - " + problem + "\n";
}

TEST(SpaceInjection, TheBaseSpacesLoad) {  // so that each rejection below is due to the hostile part
  EXPECT_NO_THROW(space::parse_search_space(with_block_m("64"), "inject.yaml"));
  EXPECT_NO_THROW(space::parse_search_space(
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: 64, dtype: bf16, causal: false}"),
      "inject.yaml"));
  EXPECT_NO_THROW(space::parse_search_space(
      fa2_space("  block_m: 64\n" + kOthers, "constraints: [block_m > 0]\narch: sm_90a\n"), "inject.yaml"));
}

TEST(SpaceInjection, HostileSpacesAreRejectedBySpaceError) {
  const std::vector<std::string> hostile = {
      // Values that try to close the template argument list, or are not plain in-bounds integers.
      with_block_m("\"64>, evil<\""),
      with_block_m("64>, evil<"),
      with_block_m("'64>, evil<1'"),
      with_block_m("[64>, evil<1]"),
      with_block_m("\"64\""),
      with_block_m("!!str 64"),
      with_block_m("64; system(\"rm -rf /\")"),
      with_block_m("\"64\\n#include <cstdlib>\""),
      with_block_m("0x40"),
      with_block_m("1e2"),
      with_block_m("64.0"),
      with_block_m("(64)"),
      with_block_m("64 + 1"),
      with_block_m("{range: [64, \"128>\"]}"),
      with_block_m("{range: [16, 512], step: \"16; evil\"}"),
      with_block_m("{pow2: [16, \"512 >\"]}"),
      with_block_m("{range: [16, 512], pow2: [16, 512]}"),
      with_block_m("{range: [16, 512], evil: 1}"),
      // Huge and negative values, and values that would wrap to a valid int.
      with_block_m("99999999999999999999999"),
      with_block_m("9223372036854775807"),
      with_block_m("-9223372036854775808"),
      with_block_m("4294967360"),  // 2^32 + 64: 64 as a 32-bit int
      with_block_m("-64"),
      with_block_m("-1"),
      with_block_m("0"),
      with_block_m("{range: [-64, 64]}"),
      with_block_m("{range: [16, 9223372036854775807], step: 9223372036854775807}"),
      with_block_m("{pow2: [16, 4611686018427387904]}"),
      // Unicode: full-width digits, a right-to-left override, a zero-width space, a non-ASCII name.
      with_block_m("６４"),
      with_block_m("6４"),
      with_block_m("\"64\\u202e\""),
      with_block_m("\"6\\u200b4\""),
      fa2_space("  blöck_m: 64\n" + kOthers),
      fa2_space("  \"block_m\\u0000\": 64\n" + kOthers),
      // Parameter names that are not the template's.
      fa2_space("  block_m: 64\n  \"x); system(\\\"rm -rf /\": 64\n" + kOthers),
      fa2_space("  \"block_m, evil\": 64\n" + kOthers),
      fa2_space("  \"block_m\\n#define block_m 64\": 64\n" + kOthers),
      fa2_space("  \"block_m \": 64\n" + kOthers),
      fa2_space("  ? [block_m]\n  : 64\n" + kOthers),
      // Template ids with quotes, newlines, template syntax, namespaces.
      "template: \"fa2_fwd\\\"; evil\"\nparameters: {block_m: 64}\nproblems: []\n",
      "template: \"fa2_fwd\\n#include <cstdlib>\"\nparameters:\n  block_m: 64\n" + kOthers +
          "problems:\n  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 64}\n",
      "template: \"fa2_fwd<1>\"\nparameters:\n  block_m: 64\n" + kOthers +
          "problems:\n  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 64}\n",
      "template: flashtune::fa2_fwd\nparameters:\n  block_m: 64\n" + kOthers +
          "problems:\n  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 64}\n",
      "template: \" fa2_fwd\"\nparameters:\n  block_m: 64\n" + kOthers +
          "problems:\n  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 64}\n",
      "template: [fa2_fwd]\nparameters:\n  block_m: 64\n" + kOthers +
          "problems:\n  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 64}\n",
      // Constraints with shell or CUDA code: no function but min/max/abs/log2/is_pow2, no unknown names.
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"system(\\\"rm -rf /\\\")\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"block_m; asm(\\\"trap;\\\")\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"$(reboot)\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"`reboot`\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"block_m > 0 /* x */\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"block_m > 0 // x\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"#include <cstdlib>\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"block_m > 0\\n; evil()\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"__nv_bfloat16 == 0\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"block_m = 0\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"block_m ? 1 : 0\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"block_m[0]\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"'block_m'\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [\"exit(1)\"]\n"),
      fa2_space(kOthers + "  block_m: 64\n", "constraints: [{block_m: 64}]\n"),
      // The architecture becomes an NVRTC option: nothing but sm_<digits>[a|f].
      fa2_space("  block_m: 64\n" + kOthers, "arch: \"sm_90a --device-debug\"\n"),
      fa2_space("  block_m: 64\n" + kOthers, "arch: \"sm_90a\\n\"\n"),
      fa2_space("  block_m: 64\n" + kOthers, "arch: -I/etc\n"),
      fa2_space("  block_m: 64\n" + kOthers, "arch: compute_90\n"),
      fa2_space("  block_m: 64\n" + kOthers, "arch: \"sm_９０\"\n"),
      // Problem fields that become template arguments (head_dim, dtype, causal).
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: \"64>, evil<\"}"),
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: 256}"),  // a head_dim fa2_fwd does not take
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: 80}"),
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: 4294967360}"),
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: 64, dtype: \"bf16>, evil<\"}"),
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: 64, dtype: __nv_bfloat16}"),
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: 64, dtype: float}"),
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: 64, causal: \"false>\"}"),
      with_problem("{batch: 1, heads: 4, seqlen: 1024, head_dim: 64, causal: 2}"),
      with_problem("{batch: -1, heads: 4, seqlen: 1024, head_dim: 64}"),
      with_problem("{batch: 2147483647, heads: 2147483647, seqlen: 2147483647, head_dim: 64}"),
      with_problem(
          "{batch: 1073741824, heads: 1073741824, seqlen: 16, head_dim: 64}"),  // 2^64 rows: wraps to 0
      with_problem("{tokens: 2147483647, heads: 4, seqlen: 1, head_dim: 64, scale: 1e300}"),
      // Versions, including one that would wrap to 1 as a 32-bit int.
      "version: 4294967297\n" + with_block_m("64"),
      "version: -4294967295\n" + with_block_m("64"),
      "version: \"1\"\n" + with_block_m("64"),
  };
  for (const std::string& yaml : hostile) {
    try {
      const space::SearchSpace s = space::parse_search_space(yaml, "inject.yaml");
      ADD_FAILURE() << "loaded:\n" << yaml;
    } catch (const space::SpaceError&) {
      // rejected, as it must be
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a SpaceError (" << e.what() << "):\n" << yaml;
    }
  }
}

// Every name expression of every configuration that a valid space enumerates, for each template, dtype and
// causal mode and both head dimensions.
TEST(SpaceInjection, ValidSpacesBuildOnlyStrictNameExpressions) {
  std::size_t checked = 0;
  for (const fs::path& file : files_in(kSpacesDir))
    if (file.extension() == ".yaml")
      checked += check_name_expressions(space::load_search_space(file), 1000000);
  const std::string problems =
      "problems:\n  - {batch: 1, heads: 2, seqlen: 256, head_dim: [64, 128], dtype: [bf16, fp16], "
      "causal: [false, true]}\n";
  for (const std::string& id : template_ids()) {
    const KernelTemplate& t = find_template(id);
    const bool bwd = t.support(t.default_config(ProblemVariant{})).passes.front() == Pass::bwd;
    std::string yaml = "template: " + id + "\nparameters:\n";
    for (const ParamSpec& p : find_template(id).params()) {  // the powers of two within the bounds, or all
      const bool pow2 = p.min > 0 && (p.min & (p.min - 1)) == 0 && (p.max & (p.max - 1)) == 0;
      yaml += "  " + p.name + ": {" + (pow2 ? "pow2" : "range") + ": [" + std::to_string(p.min) + ", " +
              std::to_string(p.max) + "]}\n";
    }
    yaml += bwd ? problems.substr(0, problems.size() - 2) + ", pass: bwd}\n" : problems;
    const std::size_t n = check_name_expressions(space::parse_search_space(yaml, id + ".yaml"), 1000000);
    EXPECT_GT(n, 0u) << id;
    checked += n;
  }
  EXPECT_GT(checked, 1000u);
}

// Replays of findings, fixed in harness/space (docs/fuzzing.md lists them).
TEST(FuzzRegressions, VersionDoesNotWrapToOne) {
  EXPECT_THROW(space::parse_search_space("version: 4294967297\n" + with_block_m("64"), "v.yaml"),
               space::SpaceError);
}

}  // namespace
}  // namespace flashtune::fuzz
