// The exports of the best-configuration cache: JSON and YAML read back (block-sparse keys included); the C++
// header compiles (C++17, -Werror), its constexpr lookup works in a static_assert, and at run time it answers
// exactly like the store's rule, the block-sparse density's included.
#include "report/export_format.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "store/best_config_rule.hpp"
#include "store/best_entry_json.hpp"
#include "store/store_test_util.hpp"

namespace flashtune::report {
namespace {
using namespace store;
using namespace store::testing;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// Two GPUs; on the H100 two templates, one with a digits-only source hash (YAML must quote it).
std::vector<BestEntry> two_gpu_entries() {
  std::vector<BestEntry> v = {entry_for(problem(4096)), entry_for(problem(1024), 101376, 64),
                              entry_for(problem(2048), kMaxBudget, 32, a100())};
  BestEntry other = entry_for(problem(512, 1, 8, true, DType::f16, 64));
  other.key.template_id = "fa2_bwd";
  other.key.source_hash = "12345678901234567890123456789012";
  other.params = {{"tile", 16}};
  other.median_ms = 0.1;
  v.push_back(other);
  return v;
}

TEST(ExportFormat, ParsesAndNamesEveryFormat) {
  for (ExportFormat f : {ExportFormat::yaml, ExportFormat::json, ExportFormat::header})
    EXPECT_EQ(parse_export_format(to_string(f)), f);
  EXPECT_EQ(to_string(ExportFormat::header), "header");
  EXPECT_EQ(parse_export_format("json"), ExportFormat::json);
  EXPECT_FALSE(parse_export_format("xml").has_value());
  EXPECT_FALSE(parse_export_format("").has_value());
}

TEST(ExportJson, ParsesBackGroupedByGpu) {
  const nlohmann::json j = nlohmann::json::parse(export_best(two_gpu_entries(), ExportFormat::json));
  EXPECT_EQ(j["flashtune_export"], 3);
  EXPECT_EQ(j["generated_by"], "flashtune 0.1.0");
  ASSERT_EQ(j["gpus"].size(), 2u);
  const auto& a100_gpu = j["gpus"][0];  // ordered by identity key: "NVIDIA A100..." first
  EXPECT_EQ(a100_gpu["name"], a100().name);
  EXPECT_EQ(a100_gpu["key"], a100().key());
  EXPECT_EQ(a100_gpu["driver_version"], 12080);
  EXPECT_EQ(a100_gpu["entries"].size(), 1u);

  const auto& h100_gpu = j["gpus"][1];
  EXPECT_EQ(h100_gpu["cc_major"], 9);
  EXPECT_EQ(h100_gpu["sm_count"], 132);
  EXPECT_EQ(h100_gpu["smem_optin_per_block"], 232448);
  EXPECT_EQ(h100_gpu["l2_bytes"], 52428800);
  ASSERT_EQ(h100_gpu["entries"].size(), 3u);
  EXPECT_EQ(h100_gpu["entries"][0]["template"], "fa2_bwd");  // by template, then problem key
  const auto& e = h100_gpu["entries"][1];
  EXPECT_EQ(e["template"], "fa2_fwd");
  EXPECT_EQ(e["source_hash"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(e["nvrtc_version"], 12080);
  EXPECT_EQ(e["problem"], nlohmann::json({{"dtype", "bf16"},
                                          {"head_dim", 128},
                                          {"causal", false},
                                          {"window_left", -1},
                                          {"window_right", -1},
                                          {"softcap", false},
                                          {"layout", "bhsd"},
                                          {"kv_group", 1},
                                          {"sparse_block", 0},
                                          {"density_pct", 0},
                                          {"seqlen_bucket", 1024},
                                          {"seqlen_k_bucket", 1024},
                                          {"batch_heads_bucket", 64},
                                          {"smem_budget", 101376}}));
  EXPECT_EQ(e["config"], nlohmann::json({{"block_m", 64}, {"block_n", 64}, {"stages", 2}, {"warps", 8}}));
  EXPECT_EQ(e["median_ms"].get<double>(), 0.5 + 1024 / 8192.0);
  EXPECT_EQ(e["tflops"].get<double>(), 400.25);
  EXPECT_EQ(e["example_problem"], nlohmann::json({{"batch", 4},
                                                  {"heads", 16},
                                                  {"seqlen", 1024},
                                                  {"kv_heads", 16},
                                                  {"seqlen_k", 1024},
                                                  {"softcap", 0.0},
                                                  {"sparse_density", 0.0},
                                                  {"sparse_seed", 0}}));
  // Read back, it is the entry it came from (every variant field included).
  const BestEntry back = store::entry_from_json(e, store::gpu_from_json(h100_gpu));
  EXPECT_TRUE(same_problem(back.problem, two_gpu_entries()[1].problem)) << back.problem.to_string();
}

AttentionProblem sparse(int seqlen, float density, int block = 128) {
  AttentionProblem p = problem(seqlen, 1, 16);
  p.sparse_block = block;
  p.sparse_density = density;
  p.sparse_seed = 0xfedcba9876543210ULL;
  return p;
}

TEST(ExportJson, ABlockSparseEntryReadsBackWholeAndAnOlderOneAsDense) {
  const BestEntry e = entry_for(sparse(16384, 0.3f));
  const nlohmann::json j = nlohmann::json::parse(export_best({e}, ExportFormat::json));
  const nlohmann::json& entry = j["gpus"][0]["entries"][0];
  EXPECT_EQ(entry["problem"]["sparse_block"], 128);
  EXPECT_EQ(entry["problem"]["density_pct"], 30);
  EXPECT_EQ(entry["example_problem"]["sparse_density"].get<float>(), 0.3f);
  EXPECT_EQ(entry["example_problem"]["sparse_seed"].get<std::uint64_t>(), 0xfedcba9876543210ULL);
  const BestEntry back = store::entry_from_json(entry, store::gpu_from_json(j["gpus"][0]));
  EXPECT_EQ(back.key, e.key);
  EXPECT_TRUE(same_problem(back.problem, e.problem)) << back.problem.to_string();
  // Format 2 had no block-sparse fields: such an entry is dense.
  nlohmann::json old = entry;
  old["problem"].erase("sparse_block");
  old["problem"].erase("density_pct");
  old["example_problem"].erase("sparse_density");
  old["example_problem"].erase("sparse_seed");
  const BestEntry dense = store::entry_from_json(old, store::gpu_from_json(j["gpus"][0]));
  EXPECT_EQ(dense.key.problem.sparse_block, 0);
  EXPECT_EQ(dense.key.problem.density_pct, 0);
  EXPECT_FALSE(dense.problem.block_sparse());
  EXPECT_EQ(dense.problem.sparse_seed, 0u);
}

TEST(ExportYaml, LoadsWithTheSameContent) {
  const std::string text = export_best(two_gpu_entries(), ExportFormat::yaml);
  const YAML::Node root = YAML::Load(text);
  EXPECT_EQ(root["flashtune_export"].as<int>(), 3);
  EXPECT_EQ(root["generated_by"].as<std::string>(), "flashtune 0.1.0");
  ASSERT_EQ(root["gpus"].size(), 2u);
  const YAML::Node h = root["gpus"][1];
  EXPECT_EQ(h["key"].as<std::string>(), h100().key());
  EXPECT_EQ(h["l2_bytes"].as<long long>(), 52428800);
  ASSERT_EQ(h["entries"].size(), 3u);
  const YAML::Node bwd = h["entries"][0];
  EXPECT_EQ(bwd["source_hash"].as<std::string>(), "12345678901234567890123456789012");
  EXPECT_TRUE(bwd["problem"]["causal"].as<bool>());
  EXPECT_EQ(bwd["problem"]["dtype"].as<std::string>(), "fp16");
  EXPECT_EQ(bwd["config"]["tile"].as<int>(), 16);
  EXPECT_EQ(bwd["median_ms"].as<double>(), 0.1);
  const YAML::Node fwd = h["entries"][2];
  EXPECT_EQ(fwd["config"]["block_m"].as<int>(), 128);
  EXPECT_EQ(fwd["problem"]["smem_budget"].as<long long>(), kMaxBudget);
  EXPECT_EQ(fwd["median_ms"].as<double>(), 1.0);
  EXPECT_EQ(fwd["example_problem"]["seqlen"].as<int>(), 4096);

  // What other YAML readers see too: the digits-only hash is a quoted string, numbers are plain numbers.
  EXPECT_NE(text.find("\"12345678901234567890123456789012\""), std::string::npos) << text;
  EXPECT_NE(text.find("median_ms: 1.0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("config: {block_m: 128, block_n: 64, stages: 2, warps: 8}"), std::string::npos) << text;
}

TEST(ExportYaml, ABlockSparseEntryKeepsItsKeyDensityAndSeed) {
  const YAML::Node root = YAML::Load(export_best({entry_for(sparse(16384, 0.25f, 64))}, ExportFormat::yaml));
  const YAML::Node e = root["gpus"][0]["entries"][0];
  EXPECT_EQ(e["problem"]["sparse_block"].as<int>(), 64);
  EXPECT_EQ(e["problem"]["density_pct"].as<int>(), 25);
  EXPECT_EQ(e["example_problem"]["sparse_density"].as<double>(), 0.25);
  EXPECT_EQ(e["example_problem"]["sparse_seed"].as<std::uint64_t>(), 0xfedcba9876543210ULL);
}

TEST(ExportYaml, EmptyIsAnEmptyList) {
  const YAML::Node root = YAML::Load(export_best({}, ExportFormat::yaml));
  ASSERT_TRUE(root["gpus"].IsSequence());
  EXPECT_EQ(root["gpus"].size(), 0u);
  EXPECT_EQ(nlohmann::json::parse(export_best({}, ExportFormat::json))["gpus"], nlohmann::json::array());
}

void expect_invalid(const std::vector<BestEntry>& entries, const std::string& message) {
  try {
    export_best(entries, ExportFormat::header);
    FAIL() << "exported: " << message;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
}

TEST(ExportHeader, NeedsOneGpuAndOneSourcePerTemplate) {
  expect_invalid(two_gpu_entries(), "the header export needs one GPU: found 2 (use --gpu)");
  std::vector<BestEntry> drivers = {entry_for(problem(4096))};
  drivers.push_back(drivers[0]);
  drivers[1].key.gpu.driver_version = 13010;  // another driver is another GPU for the cache
  expect_invalid(drivers, "found 2");
  expect_invalid({}, "nothing to export");

  std::vector<BestEntry> sources = {entry_for(problem(4096)), entry_for(problem(1024))};
  sources[1].key.source_hash = "ffffffffffffffffffffffffffffffff";
  expect_invalid(sources, "fa2_fwd has 2");
  std::vector<BestEntry> params = {entry_for(problem(4096)), entry_for(problem(1024))};
  params[1].params.erase("stages");
  expect_invalid(params, "the same parameters");
}

// One GPU, two templates. fa2_fwd's block_m numbers its entries, so the output names the entry chosen.
std::vector<BestEntry> header_entries() {
  std::vector<BestEntry> v = {
      entry_for(problem(1024), kMaxBudget, 1),               // n1024 bh64
      entry_for(problem(4096), kMaxBudget, 2),               // n4096 bh64
      entry_for(problem(16384), kMaxBudget, 3),              // n16384 bh64
      entry_for(problem(4096, 1, 16), kMaxBudget, 4),        // n4096 bh16
      entry_for(problem(4096), 101376, 5),                   // a smaller budget
      entry_for(problem(1024), 49152, 6),                    // the smallest budget: n1024 only
      entry_for(problem(4096, 4, 16, true), kMaxBudget, 7),  // causal
      entry_for(problem(2048, 8, 16, false, DType::f16, 64), kMaxBudget, 8),  // fp16 d64
      entry_for(sparse(16384, 0.1f), kMaxBudget, 9),                          // block-sparse 128, p10
      entry_for(sparse(16384, 0.3f), kMaxBudget, 10),                         // p30
      entry_for(sparse(4096, 0.5f), kMaxBudget, 11),                          // p50, another seqlen bucket
      entry_for(sparse(4096, 0.5f), 101376, 12),                              // a smaller budget
      entry_for(sparse(16384, 0.5f, 64), kMaxBudget, 13),
      entry_for(varlen_problem(problem(4096, 1, 16), {4096, 1000, 37}), kMaxBudget, 14),  // thd // block 64
  };
  BestEntry bwd = entry_for(problem(4096));
  bwd.key.template_id = "fa2-bwd.v2";
  bwd.params = {{"class", 3}, {"huge", std::int64_t{1} << 40}};
  bwd.median_ms = 2.5;
  v.push_back(bwd);
  return v;
}

struct Query {
  DType dtype;
  int head_dim;
  bool causal;
  int seqlen;
  int bh;
  std::int64_t budget;
  int sparse_block = 0;  // block-sparse: the block and the density
  float density = 0.0f;
  Layout layout = Layout::bhsd;
};

std::string call(const Query& q) {
  std::string c = fmt::format("fa2_fwd_select(DType::{}, {}, {}, {}, {}, {}", to_string(q.dtype), q.head_dim,
                              q.causal ? "true" : "false", q.seqlen, q.bh, q.budget);
  if (q.sparse_block > 0 || q.layout != Layout::bhsd) {
    std::string density = fmt::format("{}", q.density);  // the float's shortest form, as a float literal
    if (density.find_first_of(".e") == std::string::npos) density += ".0";
    c += fmt::format(", 0, Variant{{1, -1, -1, false, Layout::{}, {}}}, {}f", to_string(q.layout),
                     q.sparse_block, density);
  }
  return c + ")";
}

// The line main.cpp prints for q, computed with the store's rule.
std::string expected_line(const std::vector<BestEntry>& entries, const Query& q) {
  BestKey k = entries.front().key;
  k.problem = {.dtype = q.dtype,
               .head_dim = q.head_dim,
               .causal = q.causal,
               .layout = q.layout,
               .sparse_block = q.sparse_block,
               .density_pct = q.sparse_block > 0 ? density_percent(q.density) : 0,
               .seqlen_bucket = seqlen_bucket(q.seqlen),
               .seqlen_k_bucket = seqlen_bucket(q.seqlen),
               .bh_bucket = batch_heads_bucket(q.bh),
               .smem_budget = q.budget};
  const BestEntry* e = choose_best(entries, k);
  return e == nullptr ? "null" : fmt::format("{}", e->params.at("block_m"));
}

TEST(ExportHeader, CompilesAsCpp17AndSelectsLikeTheStore) {
  const std::vector<BestEntry> entries = header_entries();
  const std::string header = export_best(entries, ExportFormat::header);
  EXPECT_EQ(header.rfind("#pragma once\n", 0), 0u);
  std::istringstream lines(header);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#include", 0) == 0) {
      EXPECT_TRUE(line == "#include <cstddef>" || line == "#include <cstdint>") << line;
    }
  }
  EXPECT_NE(header.find(h100().name), std::string::npos);
  EXPECT_NE(
      header.find("struct Fa2FwdConfig {\n  int block_m;\n  int block_n;\n  int stages;\n  int warps;\n};"),
      std::string::npos)
      << header;
  EXPECT_NE(header.find("struct Fa2BwdV2Config {\n  int class_;  // class\n  long long huge;\n};"),
            std::string::npos)
      << header;

  // Hand-picked cases first (their expected answers written out), then a grid checked against choose_best().
  const std::vector<std::pair<Query, std::string>> picked = {
      {{DType::bf16, 128, false, 4096, 64, kMaxBudget}, "2"},  // exact
      {{DType::bf16, 128, false, 3000, 50, kMaxBudget}, "2"},  // exact bucket
      {{DType::bf16, 128, false, 2048, 64, kMaxBudget}, "2"},  // 1024 and 4096 tie: the larger
      {{DType::bf16, 128, false, 100000, 64, kMaxBudget}, "3"},
      {{DType::bf16, 128, false, 4096, 20, kMaxBudget}, "2"},  // bh 32: 16 and 64 tie: the larger
      {{DType::bf16, 128, false, 4096, 8, kMaxBudget}, "4"},
      {{DType::bf16, 128, false, 4096, 64, 200000}, "5"},  // budget: the largest below
      {{DType::bf16, 128, false, 4096, 64, 60000}, "6"},
      {{DType::bf16, 128, false, 4096, 64, -1}, "2"},  // the largest exported
      {{DType::bf16, 128, false, 4096, 64, 40000}, "null"},
      {{DType::bf16, 128, true, 100, 1, -1}, "7"},
      {{DType::f16, 64, false, 8192, 512, -1}, "8"},
      {{DType::bf16, 64, false, 4096, 64, -1}, "null"},                 // no entry of this head_dim
      {{DType::bf16, 128, false, 16384, 16, -1, 128, 0.1f}, "9"},       // block-sparse: exact
      {{DType::bf16, 128, false, 16384, 16, -1, 128, 0.14f}, "9"},      // the nearest density
      {{DType::bf16, 128, false, 16384, 16, -1, 128, 0.2f}, "10"},      // p10 and p30 tie: the denser
      {{DType::bf16, 128, false, 16384, 16, -1, 128, 0.45f}, "11"},     // density before the seqlen bucket
      {{DType::bf16, 128, false, 16384, 16, 200000, 128, 0.1f}, "12"},  // the budget before the density
      {{DType::bf16, 128, false, 1024, 16, -1, 64, 0.9f}, "13"},        // the block is exact
      {{DType::bf16, 128, false, 16384, 16, -1, 256, 0.1f}, "null"},    // no entry of this block
      {{DType::bf16, 128, false, 2000, 48, -1, 0, 0.0f, Layout::thd}, "14"},  // varlen (layout thd)
      {{DType::bf16, 128, false, 2000, 48, -1, 0, 0.0f, Layout::bshd}, "null"},
  };
  std::vector<std::pair<Query, std::string>> queries = picked;
  for (DType dtype : {DType::bf16, DType::f16})
    for (int d : {64, 128})
      for (bool causal : {false, true})
        for (int n : {1, 1000, 2048, 5000, 70000})
          for (int bh : {1, 20, 64, 1000})
            for (std::int64_t budget : {-1, 40000, 49152, 150000, 232448, 500000}) {
              const Query q{dtype, d, causal, n, bh, budget};
              queries.emplace_back(q, expected_line(entries, q));
            }
  for (int block : {64, 128})
    for (float density : {0.01f, 0.1f, 0.125f, 0.2f, 0.35f, 0.5f, 0.995f})
      for (int n : {1000, 4096, 16384, 70000})
        for (std::int64_t budget : {-1, 49152, 150000}) {
          const Query q{DType::bf16, 128, false, n, 16, budget, block, density};
          queries.emplace_back(q, expected_line(entries, q));
        }
  for (const auto& [q, want] : picked)
    EXPECT_EQ(expected_line(entries, q), want) << call(q);  // the store agrees

  std::string main_cpp = fmt::format(
      "#include \"tuned.hpp\"\n"
      "#include <cstdio>\n"
      "using namespace flashtune_tuned;\n"
      "static_assert({}->config.block_m == 2, \"exact hit\");\n"
      "static_assert({} == nullptr, \"no entry\");\n"
      "static_assert({}->config.block_m == 10, \"block-sparse: the denser of two as near\");\n"
      "static_assert(kFa2FwdEntryCount == 14 && kFa2BwdV2EntryCount == 1, \"entries\");\n"
      "static void show(const Fa2FwdEntry* e) {{\n"
      "  if (e == nullptr) std::printf(\"null\\n\");\n"
      "  else std::printf(\"%d\\n\", e->config.block_m);\n"
      "}}\n"
      "int main() {{\n",
      call(picked[0].first), call(picked[12].first), call(picked[15].first));
  for (const auto& [q, want] : queries) main_cpp += fmt::format("  show({});\n", call(q));
  main_cpp +=
      "  const Fa2BwdV2Entry* b = fa2_bwd_v2_select(DType::bf16, 128, false, 4096, 64);\n"
      "  std::printf(\"bwd %d %lld %s %s\\n\", b->config.class_, b->config.huge, kFa2BwdV2TemplateId, "
      "kGpuName);\n"
      "}\n";

  ScratchDir dir;
  write_text(dir / "tuned.hpp", header);
  write_text(dir / "main.cpp", main_cpp);
  const fs::path exe = dir / "main";
  const std::string compile =
      fmt::format("{} -std=c++17 -Wall -Wextra -Werror -pedantic -o {} {} > {} 2>&1", FLASHTUNE_CXX_COMPILER,
                  exe.string(), (dir / "main.cpp").string(), (dir / "compile.log").string());
  ASSERT_EQ(std::system(compile.c_str()), 0) << read_text(dir / "compile.log") << "\n" << header;
  ASSERT_EQ(std::system(fmt::format("{} > {}", exe.string(), (dir / "out.txt").string()).c_str()), 0);

  std::string want;
  for (const auto& [q, line] : queries) want += line + "\n";
  want += fmt::format("bwd 3 {} fa2-bwd.v2 {}\n", std::int64_t{1} << 40, h100().name);
  const std::string got = read_text(dir / "out.txt");
  ASSERT_EQ(got.size(), want.size());
  std::istringstream got_lines(got), want_lines(want);
  std::string g, w;
  for (std::size_t i = 0; std::getline(want_lines, w) && std::getline(got_lines, g); ++i)
    EXPECT_EQ(g, w) << (i < queries.size() ? call(queries[i].first) : "the fa2-bwd.v2 line");
}

}  // namespace
}  // namespace flashtune::report
