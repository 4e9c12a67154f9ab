#pragma once
// Constraint expressions of search spaces: integer arithmetic, comparisons and logic over named int64
// variables, parsed by our own recursive-descent parser (no code is ever executed) and evaluated with checked
// arithmetic. Booleans are the integers 0 and 1; any non-zero value is true.
//
//   Expr e = Expr::parse("block_m % (16 * warps) == 0 and block_m / warps <= 64");
//   e.holds([](std::string_view n) -> std::optional<std::int64_t> {
//     if (n == "block_m") return 128;
//     if (n == "warps") return 4;
//     return std::nullopt;
//   });                                           // true
//   Expr::parse("(a + 1");                        // ExprError at 6: "expected ')' to close '(' at 0"
//
// Grammar, loosest first (docs/search-spaces.md has the full description):
//   or      := and   { ("or" | "||") and }
//   and     := not   { ("and" | "&&") not }
//   not     := ("not" | "!") not | compare
//   compare := sum   [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum ]      (a < b < c is an error)
//   sum     := term  { ("+" | "-") term }
//   term    := unary { ("*" | "/" | "%") unary }                          (C semantics: truncate toward 0)
//   unary   := "-" unary | primary
//   primary := integer | identifier | "true" | "false" | "(" or ")"
//            | ("min" | "max") "(" or "," or ")" | ("abs" | "log2" | "is_pow2") "(" or ")"
// Identifiers are [A-Za-z_][A-Za-z0-9_]* except the keywords and, or, not, true, false; a function name not
// followed by '(' is an ordinary identifier. Texts longer than kMaxLength characters and nesting deeper than
// kMaxDepth levels are parse errors, so that hostile input cannot exhaust the stack.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flashtune::space {

namespace detail {
struct ExprNode;
}

// A parse or evaluation error: what() is the message alone ("unknown variable 'blok_m'"); offset() is the
// 0-based offset into the expression's text of the token or operator at fault.
class ExprError : public std::runtime_error {
 public:
  ExprError(int offset, std::string message) : std::runtime_error(std::move(message)), offset_(offset) {}
  int offset() const noexcept { return offset_; }

 private:
  int offset_;
};

class Expr {
 public:
  static constexpr std::size_t kMaxLength = 4096;
  static constexpr int kMaxDepth = 200;

  // The constant "true".
  Expr();

  // Throws ExprError with the 0-based offset into `text`.
  static Expr parse(std::string_view text);

  // The value of a variable, or nullopt when there is no such variable.
  using Lookup = std::function<std::optional<std::int64_t>(std::string_view name)>;

  // Throws ExprError at the failing node: unknown variable, division or modulo by zero, log2 of a value <= 0,
  // int64 overflow. `and` / `or` evaluate their right side only when needed.
  std::int64_t evaluate(const Lookup& lookup) const;
  bool holds(const Lookup& lookup) const { return evaluate(lookup) != 0; }

  const std::string& text() const { return text_; }
  // Each identifier reference in text order, with its offset: "a + b * a" -> {a, 0}, {b, 4}, {a, 8}.
  std::vector<std::pair<std::string, int>> variables() const { return variables_; }

 private:
  std::string text_;
  std::shared_ptr<const detail::ExprNode> root_;  // immutable, so copies share it; null for the constant true
  std::vector<std::pair<std::string, int>> variables_;
};

}  // namespace flashtune::space
