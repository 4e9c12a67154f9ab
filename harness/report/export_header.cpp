// The C++ header export: the best configurations of one GPU as a self-contained C++17 header. Per template id
// ("fa2_fwd"): a config struct of its parameters (Fa2FwdConfig), an entry struct (Fa2FwdEntry: the problem
// key, the config, median_ms and tflops), an inline constexpr array of entries and a constexpr lookup
// (fa2_fwd_select) that applies the rule of store/best_config_rule.hpp. The rule is emitted once, as
// detail::select, a template over the entry type.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.hpp"
#include "report/detail/exporters.hpp"

namespace flashtune::report::detail {
namespace {

const std::set<std::string, std::less<>>& cpp_keywords() {
  static const std::set<std::string, std::less<>> k = {
      "alignas",     "alignof",   "and",        "and_eq",    "asm",      "auto",         "bitand",
      "bitor",       "bool",      "break",      "case",      "catch",    "char",         "char8_t",
      "char16_t",    "char32_t",  "class",      "compl",     "concept",  "const",        "consteval",
      "constexpr",   "constinit", "const_cast", "continue",  "co_await", "co_return",    "co_yield",
      "decltype",    "default",   "delete",     "do",        "double",   "dynamic_cast", "else",
      "enum",        "explicit",  "export",     "extern",    "false",    "float",        "for",
      "friend",      "goto",      "if",         "inline",    "int",      "long",         "mutable",
      "namespace",   "new",       "noexcept",   "not",       "not_eq",   "nullptr",      "operator",
      "or",          "or_eq",     "private",    "protected", "public",   "register",     "reinterpret_cast",
      "requires",    "return",    "short",      "signed",    "sizeof",   "static",       "static_assert",
      "static_cast", "struct",    "switch",     "template",  "this",     "thread_local", "throw",
      "true",        "try",       "typedef",    "typeid",    "typename", "union",        "unsigned",
      "using",       "virtual",   "void",       "volatile",  "wchar_t",  "while",        "xor",
      "xor_eq"};
  return k;
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_alnum(char c) {
  return is_alpha(c) || (c >= '0' && c <= '9');
}

// "block-m" -> "block_m", "2x" -> "p2x", "class" -> "class_": an identifier that is neither a keyword nor
// reserved (no leading underscore).
std::string snake_identifier(std::string_view name) {
  std::string out;
  for (char c : name) out += is_alnum(c) ? c : '_';
  if (out.empty() || !is_alpha(out[0])) out = "p" + out;
  if (cpp_keywords().count(out) != 0) out += '_';
  return out;
}

// "fa2_fwd" -> "Fa2Fwd"
std::string pascal_identifier(std::string_view name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (!is_alnum(c)) {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  if (out.empty() || !is_alpha(out[0])) out = "T" + out;
  return out;
}

// A C++ string literal; octal escapes (at most three digits, so a following digit is never swallowed).
std::string cpp_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      out += fmt::format("\\{:03o}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Text for a // comment: one line, printable.
std::string comment_text(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  return out;
}

std::string cpp_double(double v) {
  if (!std::isfinite(v)) return "0.0";  // never measured: NaN or infinity has no literal
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

struct TemplateBlock {
  std::string id;                   // "fa2_fwd"
  std::string type;                 // "Fa2Fwd"
  std::string prefix;               // "fa2_fwd"
  std::vector<std::string> params;  // ParamValues keys, in order
  std::vector<std::string> fields;  // their identifiers
  std::vector<bool> wide;           // a value outside int: long long
  std::vector<const store::BestEntry*> entries;
};

std::vector<TemplateBlock> template_blocks(const GpuGroup& g) {
  std::map<std::string, TemplateBlock> by_id;
  for (const store::BestEntry& e : g.entries) by_id[e.key.template_id].entries.push_back(&e);
  std::vector<TemplateBlock> out;
  std::set<std::string> types, prefixes;
  for (auto& [id, b] : by_id) {
    b.id = id;
    b.type = pascal_identifier(id);
    b.prefix = snake_identifier(id);
    if (!types.insert(b.type).second || !prefixes.insert(b.prefix).second)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("the header export cannot name template '{}': another template id has the same "
                              "C++ name ({})",
                              id, b.type));
    std::set<std::pair<std::string, int>> sources;
    for (const store::BestEntry* e : b.entries) sources.emplace(e->key.source_hash, e->key.nvrtc_version);
    if (sources.size() != 1) {
      std::vector<std::string> names;
      for (const auto& [hash, nvrtc] : sources)
        names.push_back(fmt::format("source {} with NVRTC {}", hash, nvrtc));
      throw Error(
          ErrorKind::invalid_argument,
          fmt::format("the header export needs one version of each template: {} has {} ({}); export the "
                      "entries of the current source only",
                      id, sources.size(), fmt::join(names, ", ")));
    }
    for (const auto& [name, value] : b.entries.front()->params) b.params.push_back(name);
    std::set<std::string> fields;
    for (const std::string& p : b.params) {
      b.fields.push_back(snake_identifier(p));
      if (!fields.insert(b.fields.back()).second)
        throw Error(
            ErrorKind::invalid_argument,
            fmt::format("the header export cannot name parameter '{}' of {}: another parameter has the "
                        "same C++ name ({})",
                        p, id, b.fields.back()));
      b.wide.push_back(false);
    }
    for (const store::BestEntry* e : b.entries) {
      std::vector<std::string> names;
      for (const auto& [name, value] : e->params) names.push_back(name);
      if (names != b.params)
        throw Error(ErrorKind::invalid_argument,
                    fmt::format("the header export needs the same parameters in every entry of {}: {} and {}",
                                id, fmt::join(b.params, ", "), fmt::join(names, ", ")));
      for (std::size_t i = 0; i < names.size(); ++i) {
        const std::int64_t v = e->params.at(names[i]);
        if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) b.wide[i] = true;
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

// The fallback rule of store/best_config_rule.hpp, in C++17, once per header.
constexpr std::string_view kRule = R"rule(namespace detail {

// floor(log2(v)); 0 for v < 1.
constexpr int log2_floor(long long v) {
  int k = 0;
  while (v > 1) {
    v >>= 1;
    ++k;
  }
  return k;
}

// A size's bucket as flashtune keys problems: the next power of two >= v (1 for v < 1).
constexpr long long bucket(long long v) {
  long long b = 1;
  while (b < v) b <<= 1;
  return b;
}

constexpr int log2_distance(long long a, long long b) {
  const int d = log2_floor(a) - log2_floor(b);
  return d < 0 ? -d : d;
}

// A block-sparse density in whole percent as flashtune keys it: round(density * 100), halves up.
constexpr int density_percent(float density) {
  const double x = static_cast<double>(density) * 100.0;
  const int whole = static_cast<int>(x);
  return x - whole >= 0.5 ? whole + 1 : whole;
}

// Whether a ranks before b for the density percent p and the buckets (n, nk, bh): the nearer density, then
// the denser; the nearer seqlen bucket in log2, then the larger one; the same for the seqlen_k bucket, then
// for the batch*heads bucket.
template <typename Entry>
constexpr bool ranks_before(const Entry& a, const Entry& b, int p, long long n, long long nk, long long bh) {
  const int dpa = a.density_pct > p ? a.density_pct - p : p - a.density_pct;
  const int dpb = b.density_pct > p ? b.density_pct - p : p - b.density_pct;
  if (dpa != dpb) return dpa < dpb;
  if (a.density_pct != b.density_pct) return a.density_pct > b.density_pct;
  const int dna = log2_distance(a.seqlen_bucket, n), dnb = log2_distance(b.seqlen_bucket, n);
  if (dna != dnb) return dna < dnb;
  if (a.seqlen_bucket != b.seqlen_bucket) return a.seqlen_bucket > b.seqlen_bucket;
  const int dka = log2_distance(a.seqlen_k_bucket, nk), dkb = log2_distance(b.seqlen_k_bucket, nk);
  if (dka != dkb) return dka < dkb;
  if (a.seqlen_k_bucket != b.seqlen_k_bucket) return a.seqlen_k_bucket > b.seqlen_k_bucket;
  const int dba = log2_distance(a.batch_heads_bucket, bh), dbb = log2_distance(b.batch_heads_bucket, bh);
  if (dba != dbb) return dba < dbb;
  return a.batch_heads_bucket > b.batch_heads_bucket;
}

template <typename Entry>
constexpr bool same_variant(const Entry& e, DType dtype, int head_dim, bool causal, const Variant& v) {
  return e.dtype == dtype && e.head_dim == head_dim && e.causal == causal &&
         e.variant.kv_group == v.kv_group && e.variant.window_left == v.window_left &&
         e.variant.window_right == v.window_right && e.variant.softcap == v.softcap &&
         e.variant.layout == v.layout && e.variant.sparse_block == v.sparse_block;
}

// flashtune's fallback rule. Among the entries of this dtype, head_dim, causal and variant (the block-sparse
// block included): the budget smem_budget if an entry has it, else the largest budget below it (smem_budget
// <= 0: the largest exported); within that budget, the nearest block-sparse density in whole percent (ties:
// the denser), then the nearest seqlen bucket, then the nearest seqlen_k bucket, then the nearest
// batch*heads bucket. nullptr when nothing matches.
template <typename Entry, std::size_t N>
constexpr const Entry* select(const Entry (&entries)[N], DType dtype, int head_dim, bool causal, int seqlen,
                              long long batch_heads, long long smem_budget, int seqlen_k, const Variant& v,
                              float sparse_density) {
  bool found = false;
  long long budget = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const Entry& e = entries[i];
    if (!same_variant(e, dtype, head_dim, causal, v)) continue;
    if (smem_budget > 0 && e.smem_budget > smem_budget) continue;
    if (!found || e.smem_budget > budget) budget = e.smem_budget;
    found = true;
  }
  if (!found) return nullptr;
  const int p = v.sparse_block > 0 ? density_percent(sparse_density) : 0;
  const long long n = bucket(seqlen), nk = bucket(seqlen_k > 0 ? seqlen_k : seqlen), bh = bucket(batch_heads);
  const Entry* best = nullptr;
  for (std::size_t i = 0; i < N; ++i) {
    const Entry& e = entries[i];
    if (!same_variant(e, dtype, head_dim, causal, v) || e.smem_budget != budget) continue;
    if (best == nullptr || ranks_before(e, *best, p, n, nk, bh)) best = &e;
  }
  return best;
}

}  // namespace detail
)rule";

void write_template(std::string& out, const TemplateBlock& b) {
  auto o = std::back_inserter(out);
  const store::BestEntry& first = *b.entries.front();
  fmt::format_to(o, "\n// {}: source hash {}, NVRTC {}, {} entries.\n", comment_text(b.id),
                 comment_text(first.key.source_hash), first.key.nvrtc_version, b.entries.size());
  fmt::format_to(o, "inline constexpr const char* k{}TemplateId = {};\n", b.type, cpp_string(b.id));
  fmt::format_to(o, "inline constexpr const char* k{}SourceHash = {};\n", b.type,
                 cpp_string(first.key.source_hash));
  fmt::format_to(o, "inline constexpr int k{}NvrtcVersion = {};\n\n", b.type, first.key.nvrtc_version);

  fmt::format_to(o, "struct {}Config {{\n", b.type);
  for (std::size_t i = 0; i < b.fields.size(); ++i)
    fmt::format_to(o, "  {} {};{}\n", b.wide[i] ? "long long" : "int", b.fields[i],
                   b.fields[i] != b.params[i] ? fmt::format("  // {}", comment_text(b.params[i])) : "");
  fmt::format_to(o, "}};\n\n");

  fmt::format_to(o,
                 "struct {0}Entry {{\n"
                 "  DType dtype;\n"
                 "  int head_dim;\n"
                 "  bool causal;\n"
                 "  Variant variant;\n"
                 "  int density_pct;               // block-sparse: the density in whole percent (0: dense)\n"
                 "  int seqlen_bucket;             // a power of two\n"
                 "  int seqlen_k_bucket;           // a power of two\n"
                 "  long long batch_heads_bucket;  // a power of two\n"
                 "  long long smem_budget;         // bytes of shared memory per block\n"
                 "  {0}Config config;\n"
                 "  double median_ms;  // on the example problem in the comment\n"
                 "  double tflops;\n"
                 "}};\n\n",
                 b.type);

  fmt::format_to(o, "inline constexpr {}Entry k{}Entries[] = {{\n", b.type, b.type);
  for (const store::BestEntry* e : b.entries) {
    const store::ProblemKey& k = e->key.problem;
    std::vector<std::string> values;
    for (const auto& [name, value] : e->params) values.push_back(fmt::format("{}", value));
    fmt::format_to(o,
                   "    {{DType::{}, {}, {}, {{{}, {}, {}, {}, Layout::{}, {}}}, {}, {}, {}, {}, {}, {{{}}}, "
                   "{}, {}}},  // {}\n",
                   to_string(k.dtype), k.head_dim, k.causal ? "true" : "false", k.kv_group, k.window_left,
                   k.window_right, k.softcap ? "true" : "false", to_string(k.layout), k.sparse_block,
                   k.density_pct, k.seqlen_bucket, k.seqlen_k_bucket, k.bh_bucket, k.smem_budget,
                   fmt::join(values, ", "), cpp_double(e->median_ms), cpp_double(e->tflops),
                   comment_text(e->problem.to_string()));
  }
  fmt::format_to(o, "}};\n");
  fmt::format_to(
      o, "inline constexpr std::size_t k{0}EntryCount = sizeof(k{0}Entries) / sizeof(k{0}Entries[0]);\n\n",
      b.type);

  const std::string head = fmt::format("constexpr const {}Entry* {}_select(", b.type, b.prefix);
  fmt::format_to(
      o,
      "// The tuned configuration for a problem; nullptr when no entry has its dtype, head_dim, causal "
      "and\n"
      "// variant (or every entry needs more than smem_budget bytes). smem_budget <= 0: the largest "
      "budget\n"
      "// exported; seqlen_k 0: seqlen; sparse_density: the block-sparse problem's (variant.sparse_block > "
      "0),\n"
      "// in (0, 1].\n"
      "{}DType dtype, int head_dim, bool causal, int seqlen,\n"
      "{}long long batch_heads, long long smem_budget = -1,\n"
      "{}int seqlen_k = 0, const Variant& variant = Variant{{}},\n"
      "{}float sparse_density = 0.0f) {{\n"
      "  return detail::select(k{}Entries, dtype, head_dim, causal, seqlen, batch_heads, "
      "smem_budget, seqlen_k,\n"
      "                        variant, sparse_density);\n"
      "}}\n",
      head, std::string(head.size(), ' '), std::string(head.size(), ' '), std::string(head.size(), ' '),
      b.type);
}

}  // namespace

std::string export_header(const std::vector<store::BestEntry>& entries) {
  if (entries.empty()) throw Error(ErrorKind::invalid_argument, "the header export has nothing to export");
  const std::vector<GpuGroup> groups = group_by_gpu(entries);
  if (groups.size() != 1)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("the header export needs one GPU: found {} (use --gpu)", groups.size()));
  const GpuGroup& g = groups.front();
  const std::vector<TemplateBlock> blocks = template_blocks(g);
  std::string newest;
  for (const store::BestEntry& e : g.entries) newest = std::max(newest, e.updated_at);

  std::string out;
  auto o = std::back_inserter(out);
  fmt::format_to(
      o,
      "#pragma once\n"
      "// Tuned attention kernel configurations for one GPU, generated by {} from its results store\n"
      "// (the header export of its best configurations). Do not edit: tune and export again.\n"
      "//\n"
      "//   GPU:     {} (cc {}.{}, {} SMs, {} B shared memory per block, {} B L2)\n"
      "//   driver:  {}\n",
      generated_by(), comment_text(g.gpu.name), g.gpu.cc_major, g.gpu.cc_minor, g.gpu.sm_count,
      g.gpu.smem_optin_per_block, g.gpu.l2_bytes, g.gpu.driver_version);
  for (const TemplateBlock& b : blocks)
    fmt::format_to(o, "//   {}: source hash {}, NVRTC {}, {} entries\n", comment_text(b.id),
                   comment_text(b.entries.front()->key.source_hash), b.entries.front()->key.nvrtc_version,
                   b.entries.size());
  fmt::format_to(
      o,
      "//   newest entry: {}\n"
      "//\n"
      "// Self-contained C++17. Each kernel template has a config struct, an array of entries (the best\n"
      "// configuration per problem bucket and shared-memory budget) and a constexpr lookup that falls "
      "back\n"
      "// like flashtune does: the same budget else the largest below it, then the nearest block-sparse\n"
      "// density (in whole percent; ties: the denser), then the nearest seqlen bucket (in log2; ties: the\n"
      "// larger), then the nearest seqlen_k bucket, then the nearest batch*heads bucket.\n"
      "//\n"
      "//   constexpr auto* e = flashtune_tuned::{}_select(flashtune_tuned::DType::bf16, 128, false, "
      "4096, 64);\n"
      "//   if (e != nullptr) launch(e->config);\n\n",
      comment_text(newest), blocks.front().prefix);
  fmt::format_to(
      o,
      "#include <cstddef>\n"
      "#include <cstdint>\n\n"
      "namespace flashtune_tuned {{\n\n"
      "enum class DType {{ bf16, fp16 }};\n"
      "// [batch, heads, seqlen, d], [batch, seqlen, heads, d] or [total tokens, heads, d] (variable "
      "lengths)\n"
      "enum class Layout {{ bhsd, bshd, thd }};\n\n"
      "// The attention variant of a problem; Variant{{}} is the plain one (flashtune's AttentionProblem).\n"
      "struct Variant {{\n"
      "  int kv_group = 1;       // query heads per key/value head (heads / kv_heads)\n"
      "  int window_left = -1;   // -1: unbounded\n"
      "  int window_right = -1;  // -1: unbounded\n"
      "  bool softcap = false;   // scores capped\n"
      "  Layout layout = Layout::bhsd;\n"
      "  int sparse_block = 0;   // block-sparse: positions per layout block; 0: dense\n"
      "}};\n\n"
      "inline constexpr int kExportVersion = {};\n"
      "inline constexpr const char* kGeneratedBy = {};\n"
      "inline constexpr const char* kGpuName = {};\n"
      "inline constexpr const char* kGpuKey = {};\n"
      "inline constexpr int kGpuCcMajor = {};\n"
      "inline constexpr int kGpuCcMinor = {};\n"
      "inline constexpr int kGpuSmCount = {};\n"
      "inline constexpr long long kGpuSmemOptinPerBlock = {};\n"
      "inline constexpr long long kGpuL2Bytes = {};\n"
      "inline constexpr int kDriverVersion = {};\n\n",
      kExportVersion, cpp_string(generated_by()), cpp_string(g.gpu.name), cpp_string(g.gpu.key()),
      g.gpu.cc_major, g.gpu.cc_minor, g.gpu.sm_count, g.gpu.smem_optin_per_block, g.gpu.l2_bytes,
      g.gpu.driver_version);
  out += kRule;
  for (const TemplateBlock& b : blocks) write_template(out, b);
  out += "\n}  // namespace flashtune_tuned\n";
  return out;
}

}  // namespace flashtune::report::detail
