// load_search_space / parse_search_space: the top level of the file; the sections are read by
// detail/section_readers.hpp.
#include "space/space_loader.hpp"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "core/hash128.hpp"
#include "space/detail/section_readers.hpp"
#include "space/detail/yaml_reader.hpp"
#include "space/enumerate.hpp"

namespace flashtune::space {
namespace {

using detail::Field;
using detail::Fields;
using detail::Value;
using detail::YamlReader;

bool valid_arch(std::string_view s) {  // sm_[0-9]+[af]?
  if (!s.starts_with("sm_")) return false;
  s.remove_prefix(3);
  if (!s.empty() && (s.back() == 'a' || s.back() == 'f')) s.remove_suffix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One expression of `constraints` or `check`: parsed, and every identifier a parameter or a problem variable.
// `what` names it in errors: "constraint 'block_m %': expected an expression ...".
Constraint read_expression(const YamlReader& r, const Value& v, const std::string& what,
                           const std::vector<std::string>& known) {
  const std::string& text = r.scalar(v, what, "an expression");
  try {
    Expr e = Expr::parse(text);
    for (const auto& [name, offset] : e.variables())
      if (std::find(known.begin(), known.end(), name) == known.end())
        throw ExprError(offset,
                        fmt::format("unknown variable '{}' (known: {})", name, fmt::join(known, ", ")));
    return {std::move(e), r.inside(v, 0)};
  } catch (const ExprError& e) {
    r.fail(r.inside(v, e.offset()), fmt::format("{} '{}': {}", what, text, e.what()));
  }
}

// The names an expression may use: the parameters, then the problem variables.
std::vector<std::string> expression_variables(const std::vector<Parameter>& parameters) {
  std::vector<std::string> known;
  for (const Parameter& p : parameters) known.push_back(p.name);
  for (std::string_view v : kProblemVariables) known.emplace_back(v);
  return known;
}

std::vector<Constraint> read_constraints(const YamlReader& r, const Field& section,
                                         const std::vector<Parameter>& parameters) {
  const std::vector<std::string> known = expression_variables(parameters);
  std::vector<Constraint> out;
  for (const Value& v : r.list(section.value, "constraints"))
    out.push_back(read_expression(r, v, "constraint", known));
  return out;
}

// `check:`, the failures `flashtune check` expects: each key an expression over the same variables as the
// constraints.
CheckSettings read_check(const YamlReader& r, const Field& section,
                         const std::vector<Parameter>& parameters) {
  const std::vector<std::string> known = expression_variables(parameters);
  const Fields fields = r.map(section.value, "check");
  r.allow_only(fields, "check", {"expect_compile_error", "expect_incorrect"});
  CheckSettings c;
  if (const Field* f = fields.find("expect_compile_error"))
    c.expect_compile_error = read_expression(r, f->value, "check.expect_compile_error", known);
  if (const Field* f = fields.find("expect_incorrect"))
    c.expect_incorrect = read_expression(r, f->value, "check.expect_incorrect", known);
  return c;
}

}  // namespace

SearchSpace parse_search_space(std::string_view yaml_text, const std::string& file_name) {
  const YamlReader r(yaml_text, file_name);
  const YAML::Node root = r.load();
  if (!root.IsDefined() || root.IsNull())
    r.fail({file_name, 1, 1}, "empty search space: expected a map with template, parameters and problems");
  const Fields top = r.map(Value{root, r.at(root, {file_name, 1, 1})}, "the search space");
  auto required = [&](std::string_view key) -> const Field& {
    if (const Field* f = top.find(key)) return *f;
    r.fail({file_name, 1, 1}, fmt::format("missing required key '{}'", key));
  };

  SearchSpace s;
  s.file = file_name;
  Hash128 h;
  h.bytes(yaml_text.data(), yaml_text.size());
  s.content_hash = h.hex();

  if (const Field* f = top.find("version")) {
    // Compared as read: narrowed to int first, 4294967297 would pass as 1.
    const std::int64_t version = r.integer(f->value, "version");
    if (version != 1)
      r.fail(f->value.where, fmt::format("unsupported version {} (this flashtune reads version 1)", version));
    s.version = 1;
  }
  // After the version: a newer file's new keys are reported as the version they need.
  r.allow_only(top, "the search space",
               {"version", "template", "arch", "parameters", "constraints", "sram_budgets", "problems",
                "measure", "prune", "strategy", "check"});

  const Field& tf = required("template");
  s.template_id = r.string(tf.value, "template");
  const KernelTemplate* t = nullptr;
  try {
    t = &find_template(s.template_id);
  } catch (const Error& e) {
    r.fail(tf.value.where, e.what());
  }

  if (const Field* f = top.find("arch")) {
    s.arch = r.string(f->value, "arch");
    s.arch_where = f->value.where;
    if (!valid_arch(s.arch))
      r.fail(f->value.where,
             fmt::format("arch: expected sm_<digits> with an optional a or f suffix (sm_90a), "
                         "got '{}'",
                         s.arch));
  }

  s.parameters = detail::read_parameters(r, required("parameters"), *t);
  if (const Field* f = top.find("constraints")) s.constraints = read_constraints(r, *f, s.parameters);
  if (const Field* f = top.find("sram_budgets"))
    s.sram_budgets = detail::read_sram_budgets(r, *f);
  else
    s.sram_budgets = {SramBudget{}};
  s.problems = detail::read_problems(r, required("problems"), *t);
  if (const Field* f = top.find("measure")) s.measure = detail::read_measure(r, *f);
  if (const Field* f = top.find("prune")) s.prune = detail::read_prune(r, *f);
  if (const Field* f = top.find("strategy")) s.strategy = detail::read_strategy(r, *f);
  if (const Field* f = top.find("check")) s.check = read_check(r, *f, s.parameters);
  return s;
}

SearchSpace load_search_space(const std::filesystem::path& file) {
  std::string text;
  try {
    text = read_regular_file(file, kMaxSpaceFileBytes, "search space");
  } catch (const Error& e) {
    // read_regular_file's message starts "search space <file>: "; the location says the file already.
    const std::string what = e.what();
    const std::string prefix = "search space " + file.string() + ": ";
    throw SpaceError({file.string()}, what.starts_with(prefix) ? what.substr(prefix.size()) : what);
  }
  return parse_search_space(text, file.string());
}

}  // namespace flashtune::space
