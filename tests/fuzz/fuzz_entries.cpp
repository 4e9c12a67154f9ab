// The bodies of the fuzz targets and of test_fuzz_corpus: one input through the search-space loader or the
// constraint-expression parser, and the invariants a result must satisfy.
#include "fuzz_entries.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/problem.hpp"
#include "kernels/kernel_template.hpp"
#include "space/enumerate.hpp"
#include "space/expr.hpp"
#include "space/space_loader.hpp"

namespace flashtune::fuzz {
namespace {

using space::Expr;
using space::ExprError;
using space::SearchSpace;

// The configurations (before constraints, over all problems) one space input may cost: keeps an input that
// loads a large space at a few milliseconds.
constexpr std::size_t kFuzzMaxConfigs = 1024;

template <typename... Args>
[[noreturn]] void finding(fmt::format_string<Args...> format, Args&&... args) {
  throw FuzzFinding(fmt::format(format, std::forward<Args>(args)...));
}

// Hostile text, shortened and printable, for messages.
std::string excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    out += u >= 0x20 && u < 0x7f ? c : '?';
  }
  if (s.size() > 80) out += "...";
  return out;
}

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}
bool is_identifier(std::string_view s) {
  return !s.empty() && is_ident_start(s.front()) && std::all_of(s.begin(), s.end(), is_ident_char);
}
// -?[0-9]{1,19}
bool is_integer(std::string_view s) {
  if (s.starts_with('-')) s.remove_prefix(1);
  return !s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), is_digit);
}
bool is_safe_argument(std::string_view a) {
  return a == "true" || a == "false" || a == "__nv_bfloat16" || a == "__half" || is_integer(a);
}

bool valid_arch(std::string_view s) {  // sm_[0-9]+[af]?, as jit/compiler.cpp demands
  if (!s.starts_with("sm_")) return false;
  s.remove_prefix(3);
  if (!s.empty() && (s.back() == 'a' || s.back() == 'f')) s.remove_suffix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// --- the search-space target
// ---------------------------------------------------------------------------------

void check_error(const space::SpaceError& e) {
  if (e.where().file != kFuzzFile)
    finding("SpaceError names file '{}': {}", excerpt(e.where().file), e.what());
  if (e.where().line < 0 || e.where().column < 0)
    finding("SpaceError at a negative line or column: {}", excerpt(e.what()));
  if (e.message().empty()) finding("SpaceError without a message at {}", e.where().to_string());
  if (e.kind() != ErrorKind::invalid_argument) finding("SpaceError of kind {}", to_string(e.kind()));
}

// What search_space.hpp and space_loader.hpp promise about a space that loaded.
void check_space(const SearchSpace& s) {
  if (s.file != kFuzzFile) finding("loaded space names file '{}'", excerpt(s.file.string()));
  if (s.version != 1) finding("loaded space has version {}", s.version);
  if (s.content_hash.empty()) finding("loaded space has no content hash");
  const KernelTemplate* t = nullptr;
  try {
    t = &find_template(s.template_id);
  } catch (const Error&) {
    finding("loaded space names an unknown template '{}'", excerpt(s.template_id));
  }
  if (t->id() != s.template_id) finding("template id '{}' is not the catalog's", excerpt(s.template_id));
  if (!s.arch.empty() && !valid_arch(s.arch)) finding("loaded space has arch '{}'", excerpt(s.arch));

  if (s.parameters.size() > t->params().size())
    finding("{} parameters loaded, {} has {}", s.parameters.size(), t->id(), t->params().size());
  std::vector<std::string> constraint_names;
  for (const ParamSpec& spec : t->params()) {
    const auto n = std::count_if(s.parameters.begin(), s.parameters.end(),
                                 [&](const space::Parameter& p) { return p.name == spec.name; });
    // Required parameters exactly once; optional ones at most once.
    if (n != 1 && (spec.required || n != 0)) finding("parameter '{}' loaded {} times", spec.name, n);
    constraint_names.push_back(spec.name);
  }
  for (const space::Parameter& p : s.parameters) {
    if (p.values.empty()) finding("parameter '{}' has no values", p.name);
    std::vector<std::int64_t> sorted = p.values;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      finding("parameter '{}' has a duplicate value", p.name);
    for (const ParamSpec& spec : t->params())
      if (spec.name == p.name && (sorted.front() < spec.min || sorted.back() > spec.max))
        finding("parameter '{}' has values outside {}..{}", p.name, spec.min, spec.max);
  }
  if (s.size() == 0 || s.size() > 1000000) finding("loaded space has {} combinations", s.size());

  for (std::string_view v : space::kProblemVariables) constraint_names.emplace_back(v);
  std::vector<const space::Constraint*> expressions;  // the constraints and the check: expressions
  for (const space::Constraint& c : s.constraints) expressions.push_back(&c);
  for (const std::optional<space::Constraint>* c : {&s.check.expect_compile_error, &s.check.expect_incorrect})
    if (*c) expressions.push_back(&**c);
  for (const space::Constraint* c : expressions)
    for (const auto& [name, offset] : c->expr.variables())
      if (std::find(constraint_names.begin(), constraint_names.end(), name) == constraint_names.end())
        finding("expression '{}' uses unknown variable '{}'", excerpt(c->expr.text()), excerpt(name));

  if (s.sram_budgets.empty()) finding("loaded space has no sram budget");
  for (std::size_t i = 0; i < s.sram_budgets.size(); ++i) {
    if (s.sram_budgets[i].bytes < 0) finding("sram budget of {} bytes", s.sram_budgets[i].bytes);
    for (std::size_t j = 0; j < i; ++j)
      if (s.sram_budgets[i].bytes == s.sram_budgets[j].bytes) finding("duplicate sram budget survived");
  }

  if (s.problems.empty()) finding("loaded space has no problems");
  for (std::size_t i = 0; i < s.problems.size(); ++i) {
    const AttentionProblem& p = s.problems[i];  // rows without overflow: validate() computes them in int64
    if (static_cast<double>(p.batch) * p.heads * p.seqlen > 2147483648.0)
      finding("loaded problem {} has more than 2^31 rows", p.to_string());
    try {
      validate(s.problems[i]);
    } catch (const Error& e) {
      finding("loaded problem {} is invalid: {}", s.problems[i].to_string(), e.what());
    }
    for (std::size_t j = 0; j < i; ++j)
      if (same_problem(s.problems[i], s.problems[j]))
        finding("duplicate problem {} survived", s.problems[i].to_string());
  }

  const space::MeasureSettings& m = s.measure;
  if (m.min_samples < 1 || m.max_samples < m.min_samples || m.warmup < 0 || m.top_k < 1 ||
      m.remeasure_rounds < 0 || !(m.max_noise > 0 && m.max_noise < 1) || !(m.min_time_s >= 0) ||
      !(m.timeout_s > 0) || !(m.trial_timeout_s > 0))
    finding("measure settings out of range");
  if (s.prune.max_registers < 1 || s.prune.max_registers > 255 || s.prune.min_blocks_per_sm < 1 ||
      s.prune.max_spill_bytes < -1)
    finding("prune settings out of range");
  if (s.strategy.budget < 0 || !(s.strategy.race_margin >= 0 && s.strategy.race_margin < 1))
    finding("strategy settings out of range");

  check_name_expressions(s, kFuzzMaxConfigs);
}

// --- the expression target
// -----------------------------------------------------------------------------------

using Vars = std::map<std::string, std::int64_t, std::less<>>;

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

// Values as a search space has them, and values at the edges of int64 for the overflow checks. expr.dict
// lists these names.
const Vars& typical_vars() {
  static const Vars v = {{"block_m", 128}, {"block_n", 64},    {"warps", 4},     {"stages", 2},
                         {"batch", 4},     {"heads", 16},      {"seqlen", 4096}, {"head_dim", 128},
                         {"causal", 1},    {"dtype_bytes", 2}, {"x", 3},         {"y", -7},
                         {"z", 0}};
  return v;
}
const Vars& extreme_vars() {
  static const Vars v = {{"block_m", kMax},
                         {"block_n", kMin},
                         {"warps", -1},
                         {"stages", 0},
                         {"batch", 1LL << 62},
                         {"heads", -(1LL << 62)},
                         {"seqlen", 1LL << 32},
                         {"head_dim", kMax - 1},
                         {"causal", kMin + 1},
                         {"dtype_bytes", 2},
                         {"x", kMax},
                         {"y", kMin},
                         {"z", 0}};
  return v;
}

Expr::Lookup lookup_in(const Vars& vars) {
  return [&vars](std::string_view name) -> std::optional<std::int64_t> {
    if (const auto it = vars.find(name); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

// The result of one evaluation: a value or an error.
struct Outcome {
  bool ok = false;
  std::int64_t value = 0;
  int offset = 0;
  std::string message;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

std::string describe(const Outcome& o) {
  return o.ok ? fmt::format("{}", o.value) : fmt::format("error at {}: {}", o.offset, excerpt(o.message));
}

Outcome evaluate(const Expr& e, const Expr::Lookup& lookup) {
  try {
    return {true, e.evaluate(lookup), 0, {}};
  } catch (const ExprError& err) {
    return {false, 0, err.offset(), err.what()};
  }
}

void check_offset(std::string_view text, int offset, std::string_view message, std::string_view when) {
  if (offset < 0 || static_cast<std::size_t>(offset) > text.size())
    finding("expr '{}': {} error offset {} outside 0..{}: {}", excerpt(text), when, offset, text.size(),
            excerpt(message));
  if (message.empty()) finding("expr '{}': {} error without a message", excerpt(text), when);
}

void check_variables(const Expr& e) {
  const std::string& text = e.text();
  for (const auto& [name, offset] : e.variables()) {
    if (!is_identifier(name) || name == "and" || name == "or" || name == "not" || name == "true" ||
        name == "false")
      finding("expr '{}': variable '{}' is not an identifier", excerpt(text), excerpt(name));
    const auto at = static_cast<std::size_t>(offset);
    if (offset < 0 || at + name.size() > text.size() || text.compare(at, name.size(), name) != 0 ||
        (at > 0 && is_ident_char(text[at - 1])) ||
        (at + name.size() < text.size() && is_ident_char(text[at + name.size()])))
      finding("expr '{}': variable '{}' is not at offset {}", excerpt(text), excerpt(name), offset);
  }
}

// `wrapped` is "(" + the text of `e` + ")": the same value, its errors one character later.
void check_wrapped(const Expr& e, const Expr& wrapped, const Expr::Lookup& lookup, const Outcome& plain) {
  Outcome w = evaluate(wrapped, lookup);
  if (!w.ok) w.offset -= 1;
  if (w != plain)
    finding("expr '{}': '(...)' evaluates to {}, the plain text to {}", excerpt(e.text()), describe(w),
            describe(plain));
}

}  // namespace

namespace {

// Reads "flashtune::name<arg, arg, ...>" from the front of `e` and returns what follows it; an argument is
// is_safe_argument, or (depth > 0) such a template id itself. nullopt when `e` does not start with one.
std::optional<std::string_view> read_template_id(std::string_view e, int depth) {
  constexpr std::string_view kPrefix = "flashtune::";
  if (!e.starts_with(kPrefix)) return std::nullopt;
  e.remove_prefix(kPrefix.size());
  const std::size_t open = e.find('<');
  if (open == std::string_view::npos || !is_identifier(e.substr(0, open))) return std::nullopt;
  e.remove_prefix(open + 1);
  for (;;) {
    if (depth > 0 && e.starts_with(kPrefix)) {
      const std::optional<std::string_view> rest = read_template_id(e, depth - 1);
      if (!rest) return std::nullopt;
      e = *rest;
    } else {
      const std::size_t end = e.find_first_of(",>");
      if (end == std::string_view::npos || !is_safe_argument(e.substr(0, end))) return std::nullopt;
      e.remove_prefix(end);
    }
    if (e.starts_with('>')) return e.substr(1);
    if (!e.starts_with(',')) return std::nullopt;
    e.remove_prefix(1);
    if (e.starts_with(' ')) e.remove_prefix(1);
  }
}

}  // namespace

bool is_safe_name_expression(std::string_view e) {
  const std::optional<std::string_view> rest = read_template_id(e, 1);
  return rest && rest->empty();
}

std::size_t check_name_expressions(const SearchSpace& s, std::size_t max_configs) {
  const KernelTemplate& t = find_template(s.template_id);
  std::size_t budget = max_configs;
  std::size_t checked = 0;
  for (const AttentionProblem& p : s.problems) {
    if (s.size() > budget) break;
    budget -= s.size();
    const space::Enumeration en = space::enumerate(s, p);
    if (en.total != s.size() || en.kept.size() + en.pruned.size() != en.total)
      finding("enumerate: {} kept + {} pruned of {} (space size {})", en.kept.size(), en.pruned.size(),
              en.total, s.size());
    const ProblemVariant variant = variant_of(p);
    for (const ParamValues& values : en.kept) {
      if (const auto why = check_params(t, values))
        finding("enumerated configuration {} fails check_params: {}", to_string(values), *why);
      std::vector<std::string> names;
      if (t.invalid_reason(values, variant)) {
        try {
          names = t.name_expressions(values, variant);
        } catch (const Error&) {
          continue;  // as documented: the template rejects it
        }
        finding("{} built name expressions for {} ({}), which invalid_reason rejects", t.id(),
                to_string(values), to_string(variant));
      }
      try {
        names = t.name_expressions(values, variant);
      } catch (const Error& e) {
        finding("{} {} ({}): name_expressions threw for a valid configuration: {}", t.id(), to_string(values),
                to_string(variant), e.what());
      }
      if (names.empty()) finding("{} {}: no name expressions", t.id(), to_string(values));
      for (const std::string& n : names)
        if (!is_safe_name_expression(n))
          finding("{} {} ({}): unsafe name expression '{}'", t.id(), to_string(values), to_string(variant),
                  excerpt(n));
      checked += names.size();
    }
  }
  return checked;
}

void fuzz_space_once(std::string_view yaml_text) {
  std::optional<SearchSpace> s;
  try {
    s = space::parse_search_space(yaml_text, std::string(kFuzzFile));
  } catch (const space::SpaceError& e) {
    check_error(e);
    return;
  } catch (const Error&) {
    return;  // a flashtune::Error that is not a SpaceError: still a clean rejection
  }
  check_space(*s);
}

void fuzz_expr_once(std::string_view text) {
  std::optional<Expr> parsed;
  try {
    parsed = Expr::parse(text);
  } catch (const ExprError& e) {
    check_offset(text, e.offset(), e.what(), "parse");
    try {
      Expr::parse(text);
    } catch (const ExprError& again) {
      if (again.offset() != e.offset() || std::string_view(again.what()) != e.what())
        finding("expr '{}': parsing twice fails differently", excerpt(text));
      return;
    }
    finding("expr '{}': parses the second time only", excerpt(text));
  }
  const Expr& e = *parsed;
  if (e.text() != text) finding("expr '{}': text() is '{}'", excerpt(text), excerpt(e.text()));
  check_variables(e);

  // text() round-trips: it parses again to the same variables and the same results.
  const Expr reparsed = Expr::parse(e.text());
  if (reparsed.variables() != e.variables() || reparsed.text() != e.text())
    finding("expr '{}': parsing text() again gives other variables", excerpt(text));
  const Expr copy = e;  // NOLINT: copies share the tree
  std::optional<Expr> wrapped;
  if (text.size() + 2 <= Expr::kMaxLength) {
    try {
      std::string in_parens;  // built by appending: GCC 12 warns (-Wrestrict) on "(" + std::string(text)
      in_parens.reserve(text.size() + 2);
      in_parens.append("(").append(text).append(")");
      wrapped = Expr::parse(in_parens);
    } catch (const ExprError& err) {  // only one level deeper: nothing else may change
      if (std::string_view(err.what()).find("nested deeper") == std::string_view::npos)
        finding("expr '{}': parses, but '(...)' around it does not: {}", excerpt(text), err.what());
    }
  }

  const Expr::Lookup none;  // an empty function: every variable is unknown
  const Expr::Lookup lookups[] = {lookup_in(typical_vars()), lookup_in(extreme_vars()), none};
  for (const Expr::Lookup& lookup : lookups) {
    const Outcome first = evaluate(e, lookup);
    if (!first.ok) check_offset(text, first.offset, first.message, "evaluation");
    for (const Outcome& other : {evaluate(e, lookup), evaluate(copy, lookup), evaluate(reparsed, lookup)})
      if (other != first)
        finding("expr '{}': evaluation is not deterministic ({} vs {})", excerpt(text), describe(first),
                describe(other));
    if (first.ok) {
      bool holds = false;
      try {
        holds = e.holds(lookup);
      } catch (const ExprError& err) {
        finding("expr '{}': evaluate() gives {}, holds() throws {}", excerpt(text), first.value, err.what());
      }
      if (holds != (first.value != 0))
        finding("expr '{}': holds() is {} for the value {}", excerpt(text), holds, first.value);
    }
    if (wrapped) check_wrapped(e, *wrapped, lookup, first);
  }
  if (e.variables().empty() && evaluate(e, none) != evaluate(e, lookups[0]))
    finding("expr '{}': without variables, the result depends on the lookup", excerpt(text));
}

}  // namespace flashtune::fuzz
