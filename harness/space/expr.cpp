// Expr evaluation: checked int64 arithmetic over the tree that expr_parser.cpp builds.
#include "space/expr.hpp"

#include <limits>

#include <fmt/format.h>

#include "core/enum_names.hpp"
#include "space/detail/expr_node.hpp"

namespace flashtune::space {

namespace detail {

constexpr EnumNames<ExprOp, 22> kSymbols{{{
    {ExprOp::literal, "literal"},
    {ExprOp::variable, "variable"},
    {ExprOp::negate, "-"},
    {ExprOp::logical_not, "not"},
    {ExprOp::add, "+"},
    {ExprOp::subtract, "-"},
    {ExprOp::multiply, "*"},
    {ExprOp::divide, "/"},
    {ExprOp::modulo, "%"},
    {ExprOp::equal, "=="},
    {ExprOp::not_equal, "!="},
    {ExprOp::less, "<"},
    {ExprOp::less_equal, "<="},
    {ExprOp::greater, ">"},
    {ExprOp::greater_equal, ">="},
    {ExprOp::logical_and, "and"},
    {ExprOp::logical_or, "or"},
    {ExprOp::min, "min"},
    {ExprOp::max, "max"},
    {ExprOp::abs, "abs"},
    {ExprOp::log2, "log2"},
    {ExprOp::is_pow2, "is_pow2"},
}}};

std::string_view symbol(ExprOp op) {
  return kSymbols.name(op);
}

}  // namespace detail

namespace {

using detail::ExprNode;
using detail::ExprOp;
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

[[noreturn]] void overflow(const ExprNode& n, std::int64_t a, std::int64_t b) {
  if (n.rhs == nullptr)
    throw ExprError(n.offset, fmt::format("integer overflow in '{}' of {}", detail::symbol(n.op), a));
  throw ExprError(n.offset, fmt::format("integer overflow in {} {} {}", a, detail::symbol(n.op), b));
}

std::int64_t eval(const ExprNode& n, const Expr::Lookup& lookup) {
  switch (n.op) {
    case ExprOp::literal:
      return n.value;
    case ExprOp::variable: {
      const std::optional<std::int64_t> v = lookup ? lookup(n.name) : std::nullopt;
      if (!v) throw ExprError(n.offset, fmt::format("unknown variable '{}'", n.name));
      return *v;
    }
    case ExprOp::logical_and:
      return eval(*n.lhs, lookup) != 0 && eval(*n.rhs, lookup) != 0 ? 1 : 0;
    case ExprOp::logical_or:
      return eval(*n.lhs, lookup) != 0 || eval(*n.rhs, lookup) != 0 ? 1 : 0;
    default:
      break;
  }

  const std::int64_t a = eval(*n.lhs, lookup);
  switch (n.op) {  // one operand
    case ExprOp::negate:
      if (a == kMin) overflow(n, a, 0);
      return -a;
    case ExprOp::abs:
      if (a == kMin) overflow(n, a, 0);
      return a < 0 ? -a : a;
    case ExprOp::logical_not:
      return a == 0 ? 1 : 0;
    case ExprOp::log2: {
      if (a <= 0) throw ExprError(n.offset, fmt::format("log2 needs a value > 0, got {}", a));
      std::int64_t r = 0;
      for (std::int64_t x = a; x > 1; x >>= 1) ++r;
      return r;
    }
    case ExprOp::is_pow2:
      return a > 0 && (a & (a - 1)) == 0 ? 1 : 0;
    default:
      break;
  }

  const std::int64_t b = eval(*n.rhs, lookup);
  std::int64_t r = 0;
  switch (n.op) {  // two operands
    case ExprOp::add:
      if (__builtin_add_overflow(a, b, &r)) overflow(n, a, b);
      return r;
    case ExprOp::subtract:
      if (__builtin_sub_overflow(a, b, &r)) overflow(n, a, b);
      return r;
    case ExprOp::multiply:
      if (__builtin_mul_overflow(a, b, &r)) overflow(n, a, b);
      return r;
    case ExprOp::divide:
    case ExprOp::modulo:
      if (b == 0) throw ExprError(n.offset, n.op == ExprOp::divide ? "division by zero" : "modulo by zero");
      if (a == kMin && b == -1) overflow(n, a, b);  // INT64_MIN / -1 does not fit; C leaves % undefined too
      return n.op == ExprOp::divide ? a / b : a % b;
    case ExprOp::equal:
      return a == b;
    case ExprOp::not_equal:
      return a != b;
    case ExprOp::less:
      return a < b;
    case ExprOp::less_equal:
      return a <= b;
    case ExprOp::greater:
      return a > b;
    case ExprOp::greater_equal:
      return a >= b;
    case ExprOp::min:
      return a < b ? a : b;
    case ExprOp::max:
      return a > b ? a : b;
    default:
      break;
  }
  throw ExprError(n.offset, fmt::format("internal error: unhandled operator '{}'", detail::symbol(n.op)));
}

}  // namespace

Expr::Expr() : text_("true") {}

std::int64_t Expr::evaluate(const Lookup& lookup) const {
  return root_ ? eval(*root_, lookup) : 1;
}

}  // namespace flashtune::space
