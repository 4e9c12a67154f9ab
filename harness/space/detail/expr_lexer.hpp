#pragma once
// The tokens of constraint expressions (internal: expr_parser.cpp reads them).
//
//   tokenize("a<=16")  // {identifier "a" @0}, {le "<=" @1}, {number 16 @3}, {end @5}
#include <cstdint>
#include <string_view>
#include <vector>

namespace flashtune::space::detail {

enum class Tok {
  end,
  number,
  identifier,
  lparen,
  rparen,
  comma,
  plus,
  minus,
  star,
  slash,
  percent,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  kw_and,  // also &&
  kw_or,   // also ||
  kw_not,  // also !
  kw_true,
  kw_false,
};

struct Token {
  Tok kind = Tok::end;
  int offset = 0;          // into the text
  std::string_view text;   // as written; empty for end
  std::int64_t value = 0;  // of a number
};

// The tokens of `text`, ending with one Tok::end at text.size(). Throws ExprError at the offending
// character: "unexpected '@'", "invalid integer literal '1.5'", "integer literal '...' is out of range".
// The tokens view `text`, which must outlive them.
std::vector<Token> tokenize(std::string_view text);

}  // namespace flashtune::space::detail
