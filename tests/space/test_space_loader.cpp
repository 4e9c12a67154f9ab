#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "core/error.hpp"
#include "core/hash128.hpp"
#include "space/space_loader.hpp"

namespace flashtune::space {
namespace {
namespace fs = std::filesystem;

const fs::path kFixtures = FLASHTUNE_SPACE_FIXTURE_DIR;

// A valid space around `parameters` (the text after "parameters:\n") and `rest` (appended).
std::string space_text(const std::string& parameters, const std::string& rest = "") {
  return "template: fa2_fwd\nparameters:\n" + parameters +
         "problems:\n  - {batch: 1, heads: 4, seqlen: 1024, head_dim: 64}\n" + rest;
}
const std::string kOtherParams = "  block_n: 64\n  warps: 4\n  stages: 2\n";  // all but block_m
const std::string kParams = "  block_m: [64, 128]\n" + kOtherParams;

SpaceError parse_error(const std::string& text) {
  try {
    parse_search_space(text, "t.yaml");
  } catch (const SpaceError& e) {
    return e;
  }
  ADD_FAILURE() << "parsed:\n" << text;
  return SpaceError({}, "");
}

TEST(SourceLocation, Formats) {
  EXPECT_EQ((SourceLocation{"spaces/x.yaml", 3, 7}.to_string()), "spaces/x.yaml:3:7");
  EXPECT_EQ((SourceLocation{"x.yaml", 3}.to_string()), "x.yaml:3");
  EXPECT_EQ((SourceLocation{"x.yaml"}.to_string()), "x.yaml");
}

TEST(SpaceError, IsAnInvalidArgumentErrorWithLocation) {
  const SpaceError e({"x.yaml", 3, 5}, "bad thing");
  EXPECT_STREQ(e.what(), "x.yaml:3:5: bad thing");
  EXPECT_EQ(e.message(), "bad thing");
  EXPECT_EQ(e.where().line, 3);
  const Error& base = e;
  EXPECT_EQ(base.kind(), ErrorKind::invalid_argument);
}

TEST(SpaceLoader, DefaultSpace) {
  const fs::path file = default_search_space();
  EXPECT_EQ(file.filename(), "fa2_fwd.yaml");
  const SearchSpace s = load_search_space(file);
  EXPECT_EQ(s.file, file);
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(s.template_id, "fa2_fwd");
  EXPECT_EQ(s.arch, "");
  EXPECT_EQ(s.size(), 108u);

  ASSERT_EQ(s.parameters.size(), 4u);
  EXPECT_EQ(s.parameters[0].name, "block_m");
  EXPECT_EQ(s.parameters[0].values, (std::vector<std::int64_t>{64, 128, 192, 256}));
  EXPECT_EQ(s.parameters[1].values, (std::vector<std::int64_t>{32, 64, 128}));
  EXPECT_EQ(s.parameters[2].name, "warps");
  EXPECT_EQ(s.parameters[2].values, (std::vector<std::int64_t>{2, 4, 8}));
  EXPECT_EQ(s.parameters[3].name, "stages");
  EXPECT_EQ(s.parameters[3].values, (std::vector<std::int64_t>{1, 2, 3}));

  ASSERT_EQ(s.constraints.size(), 2u);
  EXPECT_EQ(s.constraints[0].expr.text(), "block_m % (16 * warps) == 0");
  EXPECT_EQ(s.constraints[0].where.line, 17);
  EXPECT_EQ(s.constraints[0].where.column, 5);
  EXPECT_EQ(s.constraints[1].expr.text(), "block_m / warps <= 64");

  ASSERT_EQ(s.sram_budgets.size(), 4u);
  EXPECT_EQ(s.sram_budgets[0].bytes, 48 * 1024);
  EXPECT_EQ(s.sram_budgets[1].bytes, 99 * 1024);
  EXPECT_EQ(s.sram_budgets[2].bytes, 163 * 1024);
  EXPECT_TRUE(s.sram_budgets[3].is_max());
  EXPECT_EQ(s.sram_budgets[2].label(), "163 KiB");
  EXPECT_EQ(s.sram_budgets[3].label(), "max");
  EXPECT_EQ(s.sram_budgets[1].where.line, 22);

  // dtype, head_dim, causal, seqlen: seqlen varies fastest.
  ASSERT_EQ(s.problems.size(), 8u);
  int i = 0;
  for (int d : {64, 128})
    for (bool causal : {false, true})
      for (int n : {1024, 4096}) {
        const AttentionProblem& p = s.problems[i++];
        EXPECT_EQ(p.seqlen, n);
        EXPECT_EQ(p.head_dim, d);
        EXPECT_EQ(p.causal, causal);
        EXPECT_EQ(p.batch, 16384 / n);
        EXPECT_EQ(p.heads, 2048 / d);
        EXPECT_EQ(p.dtype, DType::bf16);
        EXPECT_EQ(p.softmax_scale, 0.0f);
      }
  EXPECT_EQ(s.problems.front().to_string(), "B16 H32 N1024 d64 bf16");

  EXPECT_EQ(s.measure.warmup, 1);
  EXPECT_EQ(s.measure.min_samples, 5);
  EXPECT_EQ(s.measure.max_samples, 50);
  EXPECT_DOUBLE_EQ(s.measure.min_time_s, 0.01);
  EXPECT_DOUBLE_EQ(s.measure.max_noise, 0.02);
  EXPECT_DOUBLE_EQ(s.measure.timeout_s, 5);
  EXPECT_EQ(s.measure.top_k, 3);
  EXPECT_EQ(s.measure.remeasure_rounds, 10);
  EXPECT_DOUBLE_EQ(s.measure.throttle_threshold, 0.75);
  EXPECT_EQ(s.measure.throttle_retries, 2);
  EXPECT_EQ(s.prune.max_spill_bytes, 0);
  EXPECT_EQ(s.prune.max_registers, 255);
  EXPECT_EQ(s.strategy.kind, StrategyKind::racing);
  EXPECT_EQ(s.strategy.seed, 20261124u);

  std::ifstream in(file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  Hash128 h;
  h.bytes(bytes.str().data(), bytes.str().size());
  EXPECT_EQ(s.content_hash, h.hex());
}

TEST(SpaceLoader, SmallSpace) {
  const SearchSpace s = load_search_space(search_space_dir() / "small.yaml");
  EXPECT_GE(s.size(), 4u);
  EXPECT_LE(s.size(), 6u);
  EXPECT_FALSE(s.problems.empty());
  EXPECT_LE(s.problems.size(), 2u);
}

TEST(SpaceLoader, ValueForms) {
  const SearchSpace s = parse_search_space(space_text("  block_m: {range: [64, 256], step: 64}\n"
                                                      "  block_n: {range: [16, 18]}\n"
                                                      "  warps: {pow2: [1, 16]}\n"
                                                      "  stages: 3\n"),
                                           "t.yaml");
  EXPECT_EQ(s.parameters[0].values, (std::vector<std::int64_t>{64, 128, 192, 256}));
  EXPECT_EQ(s.parameters[1].values, (std::vector<std::int64_t>{16, 17, 18}));
  EXPECT_EQ(s.parameters[2].values, (std::vector<std::int64_t>{1, 2, 4, 8, 16}));
  EXPECT_EQ(s.parameters[3].values, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(s.size(), 4u * 3 * 5 * 1);
  EXPECT_EQ(s.parameters[2].where, (SourceLocation{"t.yaml", 5, 3}));
  // A step that does not land on hi stops below it.
  const SearchSpace t =
      parse_search_space(space_text("  block_m: {range: [64, 200], step: 64}\n" + kOtherParams), "t.yaml");
  EXPECT_EQ(t.parameters[0].values, (std::vector<std::int64_t>{64, 128, 192}));
}

TEST(SpaceLoader, Defaults) {
  const SearchSpace s = parse_search_space(space_text(kParams), "t.yaml");
  ASSERT_EQ(s.sram_budgets.size(), 1u);
  EXPECT_TRUE(s.sram_budgets[0].is_max());
  EXPECT_TRUE(s.constraints.empty());
  EXPECT_EQ(s.measure.max_samples, MeasureSettings{}.max_samples);
  EXPECT_EQ(s.prune.max_spill_bytes, -1);
  EXPECT_EQ(s.strategy.kind, StrategyKind::racing);
  EXPECT_EQ(s.problems.size(), 1u);
  EXPECT_EQ(s.file, "t.yaml");
  EXPECT_EQ(s.content_hash.size(), 32u);
  EXPECT_NE(parse_search_space(space_text(kParams) + "# changed\n", "t.yaml").content_hash, s.content_hash);
}

TEST(SpaceLoader, OptionalParametersMayBeLeftOut) {
  // fa2_fwd's q_regs and pipeline are optional: a space without them sweeps the four required ones only
  // (the kernel gets their defaults); listed, they are swept like any other.
  const SearchSpace s = parse_search_space(space_text(kParams), "t.yaml");
  EXPECT_EQ(s.parameters.size(), 4u);
  const SearchSpace t =
      parse_search_space(space_text(kParams + "  pipeline: [0, 1]\n  q_regs: [0, 1, 2]\n"), "t.yaml");
  EXPECT_EQ(t.parameters.size(), 6u);
  EXPECT_EQ(t.size(), 2u * 2 * 3);
  EXPECT_NE(parse_error(space_text(kParams + "  pipeline: 2\n")).message().find("pipeline"),
            std::string::npos);
}

TEST(SpaceLoader, BudgetSizes) {
  const SearchSpace s = parse_search_space(
      space_text(kParams, "sram_budgets: [48 KiB, 50000 B, 1000, 99KiB, max, 2048 B]\n"), "t.yaml");
  ASSERT_EQ(s.sram_budgets.size(), 6u);
  EXPECT_EQ(s.sram_budgets[0].bytes, 49152);
  EXPECT_EQ(s.sram_budgets[1].bytes, 50000);
  EXPECT_EQ(s.sram_budgets[2].bytes, 1000);
  EXPECT_EQ(s.sram_budgets[3].bytes, 99 * 1024);
  EXPECT_EQ(s.sram_budgets[4].bytes, 0);
  EXPECT_EQ(s.sram_budgets[0].label(), "48 KiB");
  EXPECT_EQ(s.sram_budgets[1].label(), "50000 B");
  EXPECT_EQ(s.sram_budgets[5].label(), "2 KiB");
  EXPECT_EQ(s.sram_budgets[1].where, (SourceLocation{"t.yaml", 9, 24}));
  EXPECT_NE(parse_error(space_text(kParams, "sram_budgets: [0]\n")).message().find("must be > 0"),
            std::string::npos);
  EXPECT_NE(parse_error(space_text(kParams, "sram_budgets: [-4 KiB]\n")).message().find("must be > 0"),
            std::string::npos);
  EXPECT_NE(parse_error(space_text(kParams, "sram_budgets: [1.5 KiB]\n")).message().find("expected bytes"),
            std::string::npos);
  EXPECT_NE(parse_error(space_text(kParams, "sram_budgets: []\n")).message().find("empty"),
            std::string::npos);
}

TEST(SpaceLoader, DurationsAndFractions) {
  const SearchSpace s = parse_search_space(
      space_text(kParams,
                 "measure: {min_time: 250 ms, timeout: 2 s, trial_timeout: 30, max_noise: 0.5,\n"
                 "          flush_l2: false, verify: false, share_equal_occupancy: false}\n"
                 "strategy: {kind: random, budget: 40, seed: 7, race_margin: 5%}\n"
                 "prune: {max_spill_bytes: 16, max_registers: 128, min_blocks_per_sm: 2}\n"
                 "arch: sm_80\n"),
      "t.yaml");
  EXPECT_DOUBLE_EQ(s.measure.min_time_s, 0.25);
  EXPECT_DOUBLE_EQ(s.measure.timeout_s, 2);
  EXPECT_DOUBLE_EQ(s.measure.trial_timeout_s, 30);
  EXPECT_DOUBLE_EQ(s.measure.max_noise, 0.5);
  EXPECT_FALSE(s.measure.flush_l2);
  EXPECT_FALSE(s.measure.verify);
  EXPECT_FALSE(s.measure.share_equal_occupancy);
  EXPECT_EQ(s.strategy.kind, StrategyKind::random);
  EXPECT_EQ(s.strategy.budget, 40);
  EXPECT_EQ(s.strategy.seed, 7u);
  EXPECT_DOUBLE_EQ(s.strategy.race_margin, 0.05);
  EXPECT_EQ(s.prune.max_spill_bytes, 16);
  EXPECT_EQ(s.prune.max_registers, 128);
  EXPECT_EQ(s.prune.min_blocks_per_sm, 2);
  EXPECT_EQ(s.arch, "sm_80");
  EXPECT_EQ(parse_search_space(space_text(kParams, "arch: sm_90a\n"), "t.yaml").arch, "sm_90a");

  EXPECT_NE(
      parse_error(space_text(kParams, "measure: {timeout: 5 min}\n")).message().find("expected a duration"),
      std::string::npos);
  // Every re-measurement of a throttled measurement must fit in the trial's limit.
  EXPECT_NE(parse_error(space_text(kParams, "measure: {timeout: 30 s, throttle_retries: 2}\n"))
                .message()
                .find("must be below trial_timeout (60 s)"),
            std::string::npos);
  EXPECT_NE(parse_error(space_text(kParams, "measure: {throttle_retries: 100}\n")).message().find("505 s"),
            std::string::npos);
  EXPECT_NE(parse_error(space_text(kParams, "measure: {timeout: 0}\n")).message().find("must be in (0"),
            std::string::npos);
  EXPECT_NE(parse_error(space_text(kParams, "arch: 90a\n")).message().find("arch"), std::string::npos);
  EXPECT_NE(parse_error(space_text(kParams, "arch: sm_90x\n")).message().find("arch"), std::string::npos);
  EXPECT_NE(parse_error(space_text(kParams, "strategy: {seed: -1}\n")).message().find("must be >= 0"),
            std::string::npos);
  EXPECT_NE(
      parse_error(space_text(kParams, "measure: {verify: yes}\n")).message().find("expected true or false"),
      std::string::npos);
}

TEST(SpaceLoader, ThrottleSettings) {
  auto measure_of = [](const std::string& yaml) {
    return parse_search_space(space_text(kParams, yaml), "t.yaml").measure;
  };
  const MeasureSettings m = measure_of("measure: {throttle_threshold: 80%, throttle_retries: 5}\n");
  EXPECT_DOUBLE_EQ(m.throttle_threshold, 0.8);
  EXPECT_EQ(m.throttle_retries, 5);
  EXPECT_DOUBLE_EQ(measure_of("measure: {throttle_threshold: 0.9}\n").throttle_threshold, 0.9);
  EXPECT_DOUBLE_EQ(measure_of("measure: {throttle_threshold: 0}\n").throttle_threshold, 0);  // off
  EXPECT_DOUBLE_EQ(measure_of("measure: {throttle_threshold: 1}\n").throttle_threshold, 1);
  EXPECT_EQ(measure_of("measure: {throttle_retries: 0}\n").throttle_retries, 0);

  const SpaceError high = parse_error(space_text(kParams, "measure: {throttle_threshold: 120%}\n"));
  EXPECT_NE(high.message().find("measure.throttle_threshold must be in [0, 1], got '120%'"),
            std::string::npos)
      << high.what();
  EXPECT_EQ(high.where(), (SourceLocation{"t.yaml", 9, 31})) << high.what();
  // Each bad measure value, and what its error says.
  const std::pair<const char*, const char*> bad[] = {
      {"throttle_threshold: -0.1", "[0, 1]"},
      {"throttle_threshold: fast", "expected a fraction"},
      {"throttle_retries: 101", "measure.throttle_retries"},
      {"throttle_retries: -1", "measure.throttle_retries"},
      {"throttle_retries: 1.5", "expected an integer"},
  };
  for (const auto& [value, says] : bad) {
    const std::string message =
        parse_error(space_text(kParams, std::string("measure: {") + value + "}\n")).message();
    EXPECT_NE(message.find(says), std::string::npos) << value << ": " << message;
  }
}

TEST(SpaceLoader, VersionIsCheckedBeforeUnknownKeys) {
  const SpaceError e = parse_error("version: 2\nnew_section: {}\n" + space_text(kParams));
  EXPECT_EQ(e.where(), (SourceLocation{"t.yaml", 1, 10}));
  EXPECT_NE(e.message().find("unsupported version 2"), std::string::npos);
  EXPECT_NE(parse_error("version: 1\nnew_section: {}\n" + space_text(kParams)).message().find("unknown key"),
            std::string::npos);
}

TEST(SpaceLoader, StrategyNames) {
  for (StrategyKind k : {StrategyKind::exhaustive, StrategyKind::random, StrategyKind::racing})
    EXPECT_EQ(parse_strategy(to_string(k)), k);
  EXPECT_FALSE(parse_strategy("greedy").has_value());
}

TEST(SpaceLoader, IntegersMustBeIntegers) {
  for (const char* bad : {"abc", "1e3", "1.5", "0x40", "99999999999999999999"}) {
    const SpaceError e =
        parse_error(space_text(std::string("  block_m: [64, ") + bad + "]\n" + kOtherParams));
    EXPECT_NE(e.message().find("expected an integer"), std::string::npos) << bad << ": " << e.what();
    EXPECT_EQ(e.where(), (SourceLocation{"t.yaml", 3, 17})) << bad;
  }
}

TEST(SpaceLoader, ProblemExpansion) {
  const SearchSpace s = parse_search_space("template: fa2_fwd\nparameters:\n" + kParams +
                                               "problems:\n"
                                               "  - {batch: [2, 1], heads: 8, seqlen: 512, head_dim: 128,"
                                               " dtype: [fp16, bf16], scale: 0.25}\n"
                                               "  - {tokens: 8192, hidden: 1024, seqlen: 8192, head_dim: 64,"
                                               " causal: true}\n",
                                           "t.yaml");
  ASSERT_EQ(s.problems.size(), 5u);
  // dtype varies slowest, batch (one of "the rest") fastest.
  EXPECT_EQ(s.problems[0].to_string(), "B2 H8 N512 d128 fp16");
  EXPECT_EQ(s.problems[1].to_string(), "B1 H8 N512 d128 fp16");
  EXPECT_EQ(s.problems[2].to_string(), "B2 H8 N512 d128 bf16");
  EXPECT_FLOAT_EQ(s.problems[2].softmax_scale, 0.25f);
  EXPECT_EQ(s.problems[4].to_string(), "B1 H16 N8192 d64 bf16 causal");

  EXPECT_NE(parse_error("template: fa2_fwd\nparameters:\n" + kParams +
                        "problems:\n  - {batch: 1, seqlen: 64, head_dim: 64}\n")
                .message()
                .find("hidden or heads is required"),
            std::string::npos);
  EXPECT_NE(parse_error("template: fa2_fwd\nparameters:\n" + kParams +
                        "problems:\n  - {batch: 1, tokens: 64, heads: 1, seqlen: 64, head_dim: 64}\n")
                .message()
                .find("not both"),
            std::string::npos);
  EXPECT_NE(
      parse_error("template: fa2_fwd\nparameters:\n" + kParams + "problems: []\n").message().find("empty"),
      std::string::npos);
}

TEST(SpaceLoader, ProblemVariants) {
  const SearchSpace s = parse_search_space(
      "template: fa2_fwd\nparameters:\n" + kParams +
          "problems:\n"
          "  - {batch: 1, heads: 32, kv_heads: [8, 1], seqlen: 1, seqlen_k: 4096, head_dim: 128, causal: "
          "true}\n"
          "  - {batch: 1, heads: 8, seqlen: 2048, head_dim: 128, window_left: 256, window_right: 0,"
          " softcap: 50, layout: bshd}\n",
      "t.yaml");
  ASSERT_EQ(s.problems.size(), 3u);
  EXPECT_EQ(s.problems[0].to_string(), "B1 H32 KV8 N1 Nk4096 d128 bf16 causal");
  EXPECT_EQ(s.problems[1].to_string(), "B1 H32 KV1 N1 Nk4096 d128 bf16 causal");
  EXPECT_EQ(s.problems[2].to_string(), "B1 H8 N2048 d128 bf16 window 256,0 softcap 50 bshd");
  auto fails = [&](const std::string& entry, const std::string& why) {
    const SpaceError e =
        parse_error("template: fa2_fwd\nparameters:\n" + kParams + "problems:\n  - " + entry + "\n");
    EXPECT_NE(e.message().find(why), std::string::npos) << e.message();
    EXPECT_EQ(e.where().line, 8) << e.message();  // the entry's line
  };
  // A problem the template does not run is refused at its entry with the template's reason.
  fails("{batch: 1, heads: 8, seqlen: 64, head_dim: 256}",
        "problem B1 H8 N64 d256 bf16: fa2_fwd does not support head_dim 256 (it has 64, 96, 128)");
  fails("{batch: 1, heads: 6, kv_heads: 4, seqlen: 64, head_dim: 64}", "it must divide heads = 6");
  fails("{batch: 1, heads: 6, seqlen: 64, head_dim: 64, layout: bsdh}", "expected bhsd or bshd");
  fails("{batch: 1, heads: 6, seqlen: 64, head_dim: 64, window_left: -2}", "window_left");
  fails("{batch: 1, heads: 6, seqlen: 64, head_dim: 64, softcap: -1}", "softcap");
  fails("{batch: 1, heads: 6, seqlen: 64, seqlen_k: 0, head_dim: 64}", "seqlen_k");
  // The plain problem spelled with its variant fields' defaults is the plain problem: the same twice.
  EXPECT_NE(parse_error("template: fa2_fwd\nparameters:\n" + kParams +
                        "problems:\n  - {batch: 1, heads: 6, seqlen: 64, head_dim: 64}\n"
                        "  - {batch: 1, heads: 6, kv_heads: 6, seqlen: 64, seqlen_k: 64, head_dim: 64}\n")
                .message()
                .find("duplicate problem B1 H6 N64 d64 bf16"),
            std::string::npos);
}

// Variable lengths: a list, or drawn with a recorded seed; lengths_k as long; the fields they replace
// refused.
TEST(SpaceLoader, ProblemLengths) {
  const SearchSpace s = parse_search_space(
      "template: fa2_fwd\nparameters:\n" + kParams +
          "problems:\n"
          "  - {heads: 8, head_dim: 64, causal: [false, true], lengths: [1, 17, 0, 300], lengths_k: [100, "
          "17, 5, "
          "300]}\n"
          "  - {heads: 16, head_dim: 128, lengths: {total: 16384, min: 128, max: 8192, seed: 3}}\n",
      "t.yaml");
  ASSERT_EQ(s.problems.size(), 3u);
  EXPECT_EQ(s.problems[0].to_string(), "B4 H8 N300 d64 bf16 thd T318 Tk422");
  EXPECT_EQ(s.problems[0].seqlens, (std::vector<int>{1, 17, 0, 300}));
  EXPECT_EQ(s.problems[0].seqlens_k, (std::vector<int>{100, 17, 5, 300}));
  EXPECT_TRUE(s.problems[1].causal);
  EXPECT_EQ(s.problems[2].seqlens, draw_seqlens(16384, 128, 8192, 3));
  EXPECT_EQ(s.problems[2].total_q(), 16384);
  auto fails = [&](const std::string& entry, const std::string& why) {
    const SpaceError e =
        parse_error("template: fa2_fwd\nparameters:\n" + kParams + "problems:\n  - " + entry + "\n");
    EXPECT_NE(e.message().find(why), std::string::npos) << e.message();
  };
  fails("{heads: 8, head_dim: 64, seqlen: 64, lengths: [1, 2]}", "seqlen does not go with lengths");
  fails("{heads: 8, head_dim: 64, lengths: [1, 2], lengths_k: [3]}", "lengths_k: 1 sequences, lengths has 2");
  fails("{heads: 8, head_dim: 64, lengths: {total: 100, min: 5}}", "max is required");
  fails("{heads: 8, head_dim: 64, lengths: {total: 2000000000, min: 1, max: 8, seed: 1}}",
        "may need more than 1048576 sequences");
  fails("{heads: 8, head_dim: 64, lengths: [1, -2]}", "lengths");
  fails("{batch: 1, heads: 8, head_dim: 64, seqlen: 64, layout: thd}", "thd comes with lengths");
  fails("{batch: 1, heads: 8, head_dim: 64, seqlen: 64, lengths_k: [3]}", "lengths_k needs lengths");
}

// Block-sparse: sparse_block with sparse_density (a list expands), the seed recorded; the fields come
// together, and a block the template's default tiles do not divide is refused with the template's reason.
TEST(SpaceLoader, ProblemBlockSparse) {
  const SearchSpace s = parse_search_space("template: fa2_fwd\nparameters:\n" + kParams +
                                               "problems:\n"
                                               "  - {batch: 1, heads: 4, seqlen: 4096, head_dim: 128, "
                                               "sparse_block: 128, sparse_density: [0.1, 0.5], "
                                               "sparse_seed: 9}\n",
                                           "t.yaml");
  ASSERT_EQ(s.problems.size(), 2u);
  EXPECT_EQ(s.problems[0].sparse_block, 128);
  EXPECT_FLOAT_EQ(s.problems[0].sparse_density, 0.1f);
  EXPECT_FLOAT_EQ(s.problems[1].sparse_density, 0.5f);
  EXPECT_EQ(s.problems[1].sparse_seed, 9u);
  EXPECT_TRUE(s.problems[0].block_sparse());
  auto fails = [&](const std::string& entry, const std::string& why) {
    const SpaceError e =
        parse_error("template: fa2_fwd\nparameters:\n" + kParams + "problems:\n  - " + entry + "\n");
    EXPECT_NE(e.message().find(why), std::string::npos) << e.message();
  };
  fails("{batch: 1, heads: 4, seqlen: 256, head_dim: 64, sparse_block: 128}", "come together");
  fails("{batch: 1, heads: 4, seqlen: 256, head_dim: 64, sparse_density: 0.5}", "come together");
  fails("{batch: 1, heads: 4, seqlen: 256, head_dim: 64, sparse_block: 128, sparse_density: 0}", "(0, 1]");
  fails("{batch: 1, heads: 4, seqlen: 256, head_dim: 64, sparse_seed: 3}", "sparse_seed needs");
  fails("{batch: 1, heads: 4, seqlen: 256, head_dim: 64, sparse_block: 48, sparse_density: 0.5}",
        "a block-sparse block of 48");
  fails("{heads: 4, head_dim: 64, lengths: [3, 5], sparse_block: 128, sparse_density: 0.5}",
        "variable lengths");
}

TEST(SpaceLoader, ConstraintLocations) {
  // Plain and quoted scalars point into the expression; a multi-line scalar points at its start.
  SpaceError e = parse_error(space_text(kParams, "constraints:\n  - 'block_m > 0 and x > 1'\n"));
  EXPECT_EQ(e.where(), (SourceLocation{"t.yaml", 10, 22}));
  e = parse_error(space_text(kParams, "constraints:\n  - block_m > 0 and\n    x > 1\n"));
  EXPECT_EQ(e.where(), (SourceLocation{"t.yaml", 10, 5}));
  EXPECT_NE(e.message().find("unknown variable 'x'"), std::string::npos);
  e = parse_error(space_text(kParams, "constraints:\n  - {a: 1}\n"));
  EXPECT_NE(e.message().find("expected an expression"), std::string::npos);

  const SearchSpace s = parse_search_space(
      space_text(kParams, "constraints: [\"block_m <= seqlen * causal + head_dim\"]\n"), "t.yaml");
  EXPECT_EQ(s.constraints[0].where, (SourceLocation{"t.yaml", 9, 16}));
}

TEST(SpaceLoader, SizeIsCapped) {
  const SpaceError e =
      parse_error(space_text("  block_m: {range: [16, 512]}\n  block_n: {range: [16, 512]}\n"
                             "  warps: {range: [1, 32]}\n  stages: 2\n"));
  EXPECT_NE(e.message().find("exceeds 1000000 combinations"), std::string::npos) << e.what();
  EXPECT_EQ(e.where().line, 5);
}

TEST(SpaceLoader, CannotRead) {
  try {
    load_search_space("/nonexistent/space.yaml");
    FAIL() << "loaded";
  } catch (const SpaceError& e) {
    EXPECT_EQ(e.where().file, "/nonexistent/space.yaml");
    EXPECT_EQ(e.where().line, 0);
    EXPECT_NE(e.message().find("cannot read"), std::string::npos);
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/space.yaml: cannot read", 0), 0u);
  }
  EXPECT_THROW(load_search_space(kFixtures), SpaceError);  // a directory
  // Not regular files: refused at once, never read (a FIFO would block, /dev/zero never ends).
  for (const char* special : {"/dev/zero", "/dev/null"}) {
    try {
      load_search_space(special);
      ADD_FAILURE() << special << " was read";
    } catch (const SpaceError& e) {
      EXPECT_NE(e.message().find("a character device"), std::string::npos) << e.what();
    }
  }
  {
    const fs::path big =
        fs::temp_directory_path() / ("flashtune-big-" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(big) << std::string(kMaxSpaceFileBytes + 1, '#');
    try {
      load_search_space(big);
      ADD_FAILURE() << "a file over the size limit was read";
    } catch (const SpaceError& e) {
      EXPECT_NE(e.message().find("larger than"), std::string::npos) << e.what();
    }
    fs::remove(big);
  }
  EXPECT_EQ(parse_error("").where(), (SourceLocation{"t.yaml", 1, 1}));
  EXPECT_NE(parse_error("[1, 2]\n").message().find("expected a map"), std::string::npos);
}

TEST(SpaceLoader, SearchSpaceDirFollowsTheEnvironment) {
  const fs::path dir = fs::temp_directory_path() / "flashtune-test-space-dir";
  fs::create_directories(dir);
  std::ofstream(dir / "fa2_fwd.yaml") << space_text(kParams);
  ::setenv("FLASHTUNE_SPACE_DIR", dir.c_str(), 1);
  EXPECT_EQ(search_space_dir(), dir);
  EXPECT_EQ(load_search_space(default_search_space()).size(), 2u);
  // Set but wrong is an error naming the variable, not a silent fall back to the source tree's copy.
  ::setenv("FLASHTUNE_SPACE_DIR", "/nonexistent", 1);
  try {
    (void)search_space_dir();
    ADD_FAILURE() << "a wrong FLASHTUNE_SPACE_DIR was ignored";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("FLASHTUNE_SPACE_DIR=/nonexistent"), std::string::npos) << e.what();
  }
  ::unsetenv("FLASHTUNE_SPACE_DIR");
  fs::remove_all(dir);
}

// Each file under bad/ starts with "# expect: LINE:COL: <message substring>".
TEST(SpaceLoader, MalformedSpacesReportLineAndColumn) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kFixtures / "bad"))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 12u);

  const std::regex expect_line(R"(# expect: (\d+):(\d+): (.+))");
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    std::string first;
    std::getline(in, first);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(first, m, expect_line)) << first;
    try {
      load_search_space(file);
      ADD_FAILURE() << "loaded without error";
    } catch (const SpaceError& e) {
      EXPECT_EQ(e.where().file, file.string());
      EXPECT_EQ(e.where().line, std::stoi(m[1])) << e.what();
      EXPECT_EQ(e.where().column, std::stoi(m[2])) << e.what();
      EXPECT_NE(e.message().find(m[3].str()), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace flashtune::space
