#include "space/detail/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "space/space_error.hpp"

namespace flashtune::space::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "128", "-3", "+5" -> the integer; nullopt for anything else, including overflow.
std::optional<std::int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "10 ms" -> {10, "ms"}; "0.5" -> {0.5, ""}; nullopt when it does not start with a finite number.
std::optional<std::pair<double, std::string_view>> parse_quantity(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || !std::isfinite(v)) return std::nullopt;
  return std::pair{v, trim(s.substr(static_cast<std::size_t>(ptr - s.data())))};
}

// Quoted ("64", '64') or tagged !!str: a string, whatever its text.
bool is_string(const Value& v) {
  return v.node.Tag() == "!" || v.node.Tag() == "tag:yaml.org,2002:str";
}

// Plain and untagged ("?"), or tagged with `tag` (!!int 64): a string or any other tag is not a number.
bool has_tag(const Value& v, std::initializer_list<std::string_view> tags) {
  const std::string& t = v.node.Tag();
  return t == "?" || std::find(tags.begin(), tags.end(), t) != tags.end();
}

std::string_view kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

}  // namespace

const Field* Fields::find(std::string_view key) const {
  for (const Field& f : entries_)
    if (f.key == key) return &f;
  return nullptr;
}

YAML::Node YamlReader::load() const {
  // A NUL byte ends yaml-cpp's view of the text and misleads its messages ("unknown escape character"): say
  // where it is.
  if (const std::size_t nul = text_.find('\0'); nul != std::string_view::npos) {
    const std::string_view before = text_.substr(0, nul);
    const std::size_t line_start = before.rfind('\n');
    const int line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
    const int column = static_cast<int>(line_start == std::string_view::npos ? nul + 1 : nul - line_start);
    fail({file_, line, column}, "a NUL byte: a search space is a YAML text file");
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text_));
  } catch (const YAML::ParserException& e) {
    fail(at(e.mark), "YAML syntax error: " + e.msg);
  }
  if (documents.size() > 1)
    fail(at(documents[1].Mark()),
         "a second YAML document: a search space is one document (remove the '---')");
  return documents.empty() ? YAML::Node() : documents.front();
}

SourceLocation YamlReader::at(const YAML::Mark& mark) const {
  if (mark.line < 0) return {file_};
  return {file_, mark.line + 1, mark.column + 1};
}

SourceLocation YamlReader::at(const YAML::Node& node, const SourceLocation& fallback) const {
  if (!node.IsDefined() || node.IsNull() || node.Mark().line < 0) return fallback;
  return at(node.Mark());
}

void YamlReader::fail(const SourceLocation& where, std::string message) const {
  throw SpaceError(where, std::move(message));
}

Fields YamlReader::map(const Value& v, std::string_view context) const {
  if (!v.node.IsMap()) fail(v.where, fmt::format("{}: expected a map, got {}", context, kind_of(v.node)));
  std::vector<Field> entries;
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    const SourceLocation key_where = at(it->first, v.where);
    if (!it->first.IsScalar()) fail(key_where, fmt::format("{}: keys must be plain names", context));
    const std::string& key = it->first.Scalar();
    for (const Field& f : entries)
      if (f.key == key)
        fail(key_where, fmt::format("duplicate key '{}' in {} (first at {}:{})", key, context,
                                    f.key_where.line, f.key_where.column));
    entries.push_back({key, key_where, Value{it->second, at(it->second, key_where)}});
  }
  return Fields(std::move(entries));
}

void YamlReader::allow_only(const Fields& f, std::string_view context,
                            std::initializer_list<std::string_view> keys) const {
  for (const Field& field : f.all()) {
    bool known = false;
    for (std::string_view k : keys) known = known || k == field.key;
    if (!known)
      fail(field.key_where,
           fmt::format("unknown key '{}' in {} (expected {})", field.key, context, fmt::join(keys, ", ")));
  }
}

std::vector<Value> YamlReader::list(const Value& v, std::string_view what) const {
  if (!v.node.IsSequence()) fail(v.where, fmt::format("{}: expected a list, got {}", what, kind_of(v.node)));
  if (v.node.size() == 0) fail(v.where, fmt::format("{}: the list is empty", what));
  std::vector<Value> out;
  for (const YAML::Node& e : v.node) out.push_back({e, at(e, v.where)});
  return out;
}

std::vector<Value> YamlReader::one_or_list(const Value& v, std::string_view what) const {
  if (v.node.IsSequence()) return list(v, what);
  return {v};
}

const std::string& YamlReader::scalar(const Value& v, std::string_view what,
                                      std::string_view expected) const {
  if (!v.node.IsScalar())
    fail(v.where, fmt::format("{}: expected {}, got {}", what, expected, kind_of(v.node)));
  return v.node.Scalar();
}

std::string YamlReader::string(const Value& v, std::string_view what) const {
  return scalar(v, what, "a string");
}

std::int64_t YamlReader::integer(const Value& v, std::string_view what, std::int64_t lo,
                                 std::int64_t hi) const {
  const std::string& s = scalar(v, what, "an integer");
  if (!has_tag(v, {"tag:yaml.org,2002:int"})) {
    if (is_string(v)) fail(v.where, fmt::format("{}: expected an integer, got the string \"{}\"", what, s));
    fail(v.where, fmt::format("{}: expected an integer, got '{}' tagged {}", what, s, v.node.Tag()));
  }
  const std::optional<std::int64_t> i = parse_int(s);
  if (!i) {
    const bool digits = !s.empty() && s.find_first_not_of("+-0123456789") == std::string::npos;
    fail(v.where,
         fmt::format("{}: expected an integer, got '{}'{}", what, s, digits ? " (out of range)" : ""));
  }
  if (*i < lo || *i > hi) {
    if (hi == INT64_MAX) fail(v.where, fmt::format("{} must be >= {}, got {}", what, lo, *i));
    fail(v.where, fmt::format("{} must be in {}..{}, got {}", what, lo, hi, *i));
  }
  return *i;
}

bool YamlReader::boolean(const Value& v, std::string_view what) const {
  const std::string& s = scalar(v, what, "true or false");
  if (has_tag(v, {"tag:yaml.org,2002:bool"})) {
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  fail(v.where, fmt::format("{}: expected true or false, got '{}'", what, s));
}

double YamlReader::number(const Value& v, std::string_view what) const {
  const std::string& s = scalar(v, what, "a number");
  const auto q = parse_quantity(s);
  if (!q || !q->second.empty()) fail(v.where, fmt::format("{}: expected a number, got '{}'", what, s));
  return q->first;
}

double YamlReader::duration(const Value& v, std::string_view what) const {
  const std::string& s = scalar(v, what, "a duration");
  const auto q = parse_quantity(s);
  if (q && (q->second.empty() || q->second == "s")) return q->first;
  if (q && q->second == "ms") return q->first / 1000;
  fail(v.where, fmt::format("{}: expected a duration (seconds, '<n> s' or '<n> ms'), got '{}'", what, s));
}

double YamlReader::fraction(const Value& v, std::string_view what) const {
  const std::string& s = scalar(v, what, "a fraction");
  const auto q = parse_quantity(s);
  if (q && q->second.empty()) return q->first;
  if (q && q->second == "%") return q->first / 100;
  fail(v.where, fmt::format("{}: expected a fraction (0.02 or '2%'), got '{}'", what, s));
}

SourceLocation YamlReader::inside(const Value& v, int offset) const {
  SourceLocation where = v.where;
  const YAML::Mark mark = v.node.Mark();
  if (mark.line < 0 || mark.pos < 0 || static_cast<std::size_t>(mark.pos) >= text_.size()) return where;
  const char first = text_[static_cast<std::size_t>(mark.pos)];
  const bool quoted = first == '"' || first == '\'';
  if (quoted) where.column += 1;
  const std::string& s = v.node.Scalar();
  const std::size_t start = static_cast<std::size_t>(mark.pos) + (quoted ? 1 : 0);
  if (s.find('\n') == std::string::npos && text_.substr(start, s.size()) == s) where.column += offset;
  return where;
}

}  // namespace flashtune::space::detail
