#include "space/detail/expr_lexer.hpp"

#include <charconv>
#include <string>

#include <fmt/format.h>

#include "space/expr.hpp"

namespace flashtune::space::detail {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}

// "'x'" for a printable character, "character 0x07" otherwise, so that messages stay one printable line.
std::string describe_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("character 0x{:02x}", u);
}

struct Spelling {
  std::string_view text;
  Tok kind;
};
// Operators, two-character ones first so that "<=" is not read as "<" "=".
constexpr Spelling kOperators[] = {
    {"==", Tok::eq},    {"!=", Tok::ne},    {"<=", Tok::le},    {">=", Tok::ge},     {"&&", Tok::kw_and},
    {"||", Tok::kw_or}, {"(", Tok::lparen}, {")", Tok::rparen}, {",", Tok::comma},   {"+", Tok::plus},
    {"-", Tok::minus},  {"*", Tok::star},   {"/", Tok::slash},  {"%", Tok::percent}, {"<", Tok::lt},
    {">", Tok::gt},     {"!", Tok::kw_not},
};
constexpr Spelling kKeywords[] = {
    {"and", Tok::kw_and},   {"or", Tok::kw_or},       {"not", Tok::kw_not},
    {"true", Tok::kw_true}, {"false", Tok::kw_false},
};

}  // namespace

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    const int at = static_cast<int>(i);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (is_digit(c)) {
      std::size_t j = i;
      while (j < s.size() && is_digit(s[j])) ++j;
      std::size_t k = j;  // "1.5", "1e3", "12abc": one bad literal, not a number and a stray identifier
      while (k < s.size() && (is_ident_char(s[k]) || s[k] == '.')) ++k;
      if (k != j) throw ExprError(at, fmt::format("invalid integer literal '{}'", s.substr(i, k - i)));
      std::int64_t v = 0;
      const auto [ptr, ec] = std::from_chars(s.data() + i, s.data() + j, v);
      if (ec != std::errc() || ptr != s.data() + j)
        throw ExprError(at, fmt::format("integer literal '{}' is out of range", s.substr(i, j - i)));
      out.push_back({Tok::number, at, s.substr(i, j - i), v});
      i = j;
    } else if (is_ident_start(c)) {
      std::size_t j = i;
      while (j < s.size() && is_ident_char(s[j])) ++j;
      Token t{Tok::identifier, at, s.substr(i, j - i)};
      for (const Spelling& k : kKeywords)
        if (k.text == t.text) t.kind = k.kind;
      out.push_back(t);
      i = j;
    } else {
      const Spelling* op = nullptr;
      for (const Spelling& o : kOperators)
        if (op == nullptr && s.substr(i, o.text.size()) == o.text) op = &o;
      if (op == nullptr) {
        std::string hint;
        if (c == '=') hint = " (comparison is '==')";
        if (c == '&') hint = " (logical and is 'and' or '&&')";
        if (c == '|') hint = " (logical or is 'or' or '||')";
        throw ExprError(at, "unexpected " + describe_char(c) + hint);
      }
      out.push_back({op->kind, at, op->text});
      i += op->text.size();
    }
  }
  out.push_back({Tok::end, static_cast<int>(s.size()), {}});
  return out;
}

}  // namespace flashtune::space::detail
