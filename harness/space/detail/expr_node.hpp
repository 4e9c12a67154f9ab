#pragma once
// The syntax tree of an Expr (internal: expr_parser.cpp builds it, expr.cpp evaluates it).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace flashtune::space::detail {

enum class ExprOp {
  literal,   // value
  variable,  // name
  negate,
  logical_not,
  add,
  subtract,
  multiply,
  divide,
  modulo,
  equal,
  not_equal,
  less,
  less_equal,
  greater,
  greater_equal,
  logical_and,
  logical_or,
  min,  // functions: lhs is the first argument, rhs the second
  max,
  abs,
  log2,
  is_pow2,
};

// The operator as written, for messages: "*", "and", "min".
std::string_view symbol(ExprOp op);

struct ExprNode {
  ExprOp op = ExprOp::literal;
  int offset = 0;  // of the literal, identifier, operator or function name in the text
  std::int64_t value = 0;
  std::string name;
  std::unique_ptr<const ExprNode> lhs;  // the operand of unary operators and one-argument functions
  std::unique_ptr<const ExprNode> rhs;
};

}  // namespace flashtune::space::detail
