#pragma once
// Typed, located reads of yaml-cpp nodes for the search-space loader (internal). Every failure is a
// SpaceError at the offending node's file:line:column, naming what was expected:
//
//   YamlReader r(text, "x.yaml");
//   Value root{r.load(), {"x.yaml", 1, 1}};
//   Fields top = r.map(root, "the search space");
//   r.allow_only(top, "the search space", {"version", "template"});
//   if (const Field* f = top.find("version")) r.integer(f->value, "version");
//   // "version: 1.5" -> SpaceError "x.yaml:1:10: version: expected an integer, got '1.5'"
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "space/source_location.hpp"

namespace flashtune::space::detail {

// A node and where it is; for an empty value ("key:" and nothing), where its key is.
struct Value {
  YAML::Node node;
  SourceLocation where;
};

struct Field {
  std::string key;
  SourceLocation key_where;
  Value value;
};

// The entries of a map, in file order, keys unique.
class Fields {
 public:
  explicit Fields(std::vector<Field> entries) : entries_(std::move(entries)) {}
  const Field* find(std::string_view key) const;
  const std::vector<Field>& all() const { return entries_; }

 private:
  std::vector<Field> entries_;
};

class YamlReader {
 public:
  YamlReader(std::string_view text, std::string file) : text_(text), file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  // The document; a YAML syntax error becomes a SpaceError at its mark.
  YAML::Node load() const;
  SourceLocation at(const YAML::Mark& mark) const;
  // Where `node` starts, or `fallback` for a node without a position (empty values).
  SourceLocation at(const YAML::Node& node, const SourceLocation& fallback) const;
  [[noreturn]] void fail(const SourceLocation& where, std::string message) const;

  // A map with plain, unique keys ("duplicate key 'x' in measure (first at 3:5)").
  Fields map(const Value& v, std::string_view context) const;
  // "unknown key 'x' in measure (expected warmup, min_samples, ...)" for a key not in `keys`.
  void allow_only(const Fields& f, std::string_view context,
                  std::initializer_list<std::string_view> keys) const;
  // The elements of a non-empty sequence.
  std::vector<Value> list(const Value& v, std::string_view what) const;
  // The elements of a sequence, or the value itself when it is not one ("head_dim: 64" or "[64, 128]").
  std::vector<Value> one_or_list(const Value& v, std::string_view what) const;

  // The text of a scalar; anything else fails with "{what}: expected {expected}, got a map".
  const std::string& scalar(const Value& v, std::string_view what, std::string_view expected) const;
  std::string string(const Value& v, std::string_view what) const;
  // A plain decimal integer (not 1.5, 1e3, "64" or 0x40) within [lo, hi].
  std::int64_t integer(const Value& v, std::string_view what, std::int64_t lo = INT64_MIN,
                       std::int64_t hi = INT64_MAX) const;
  bool boolean(const Value& v, std::string_view what) const;
  // A finite number.
  double number(const Value& v, std::string_view what) const;
  // Seconds: a number, "<n> s" or "<n> ms".
  double duration(const Value& v, std::string_view what) const;
  // A number, or "<n>%" (2% = 0.02).
  double fraction(const Value& v, std::string_view what) const;

  // The location `offset` characters into the text of scalar `v`: exact when the scalar appears verbatim on
  // one line of the file (plain or quoted, without escapes), else the start of its text.
  SourceLocation inside(const Value& v, int offset) const;

 private:
  std::string_view text_;
  std::string file_;
};

}  // namespace flashtune::space::detail
