// Expr::parse: a recursive-descent parser for the grammar in expr.hpp, over the tokens of expr_lexer.hpp.
// Every error names the offset of the token at fault; recursion is bounded by Expr::kMaxDepth and the text by
// Expr::kMaxLength.
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "space/detail/expr_lexer.hpp"
#include "space/detail/expr_node.hpp"
#include "space/expr.hpp"

namespace flashtune::space {
namespace {

using detail::ExprNode;
using detail::ExprOp;
using detail::Tok;
using detail::Token;
using NodePtr = std::unique_ptr<const ExprNode>;

struct Function {
  std::string_view name;
  ExprOp op;
  int arity;
};
constexpr Function kFunctions[] = {
    {"min", ExprOp::min, 2},   {"max", ExprOp::max, 2},         {"abs", ExprOp::abs, 1},
    {"log2", ExprOp::log2, 1}, {"is_pow2", ExprOp::is_pow2, 1},
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  NodePtr parse_all() {
    NodePtr root = parse_or();
    if (peek().kind != Tok::end) throw ExprError(peek().offset, "trailing input " + describe(peek()));
    return root;
  }
  std::vector<std::pair<std::string, int>> take_variables() { return std::move(variables_); }

 private:
  // Counts one level of nesting for as long as it lives.
  class Nest {
   public:
    Nest(Parser& p, int offset) : p_(p) {
      if (++p_.depth_ > Expr::kMaxDepth)
        throw ExprError(offset, fmt::format("expression nested deeper than {} levels", Expr::kMaxDepth));
    }
    ~Nest() { --p_.depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;

   private:
    Parser& p_;
  };

  const Token& peek() const { return tokens_[pos_]; }
  const Token& take() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  static std::string describe(const Token& t) {
    return t.kind == Tok::end ? std::string("end of input") : fmt::format("'{}'", t.text);
  }
  [[noreturn]] static void unexpected(const Token& t) {
    throw ExprError(t.offset, "unexpected " + describe(t));
  }

  static NodePtr node(ExprOp op, int offset, NodePtr lhs = nullptr, NodePtr rhs = nullptr) {
    auto n = std::make_unique<ExprNode>();
    n->op = op;
    n->offset = offset;
    n->lhs = std::move(lhs);
    n->rhs = std::move(rhs);
    return n;
  }
  static NodePtr literal(int offset, std::int64_t value) {
    auto n = std::make_unique<ExprNode>();
    n->offset = offset;
    n->value = value;
    return n;
  }

  NodePtr parse_or() {
    NodePtr lhs = parse_and();
    while (peek().kind == Tok::kw_or) {
      const int at = take().offset;
      lhs = node(ExprOp::logical_or, at, std::move(lhs), parse_and());
    }
    return lhs;
  }

  NodePtr parse_and() {
    NodePtr lhs = parse_not();
    while (peek().kind == Tok::kw_and) {
      const int at = take().offset;
      lhs = node(ExprOp::logical_and, at, std::move(lhs), parse_not());
    }
    return lhs;
  }

  NodePtr parse_not() {
    if (peek().kind != Tok::kw_not) return parse_compare();
    const int at = take().offset;
    Nest nest(*this, at);
    return node(ExprOp::logical_not, at, parse_not());
  }

  static std::optional<ExprOp> comparison(Tok t) {
    switch (t) {
      case Tok::eq:
        return ExprOp::equal;
      case Tok::ne:
        return ExprOp::not_equal;
      case Tok::lt:
        return ExprOp::less;
      case Tok::le:
        return ExprOp::less_equal;
      case Tok::gt:
        return ExprOp::greater;
      case Tok::ge:
        return ExprOp::greater_equal;
      default:
        return std::nullopt;
    }
  }

  NodePtr parse_compare() {
    NodePtr lhs = parse_sum();
    const auto op = comparison(peek().kind);
    if (!op) return lhs;
    const int at = take().offset;
    NodePtr result = node(*op, at, std::move(lhs), parse_sum());
    if (comparison(peek().kind))
      throw ExprError(peek().offset,
                      fmt::format("comparisons do not chain: '{}' follows the comparison at {} "
                                  "(write 'a < b and b < c')",
                                  peek().text, at));
    return result;
  }

  NodePtr parse_sum() {
    NodePtr lhs = parse_term();
    while (peek().kind == Tok::plus || peek().kind == Tok::minus) {
      const ExprOp op = peek().kind == Tok::plus ? ExprOp::add : ExprOp::subtract;
      const int at = take().offset;
      lhs = node(op, at, std::move(lhs), parse_term());
    }
    return lhs;
  }

  NodePtr parse_term() {
    NodePtr lhs = parse_unary();
    for (;;) {
      ExprOp op;
      switch (peek().kind) {
        case Tok::star:
          op = ExprOp::multiply;
          break;
        case Tok::slash:
          op = ExprOp::divide;
          break;
        case Tok::percent:
          op = ExprOp::modulo;
          break;
        default:
          return lhs;
      }
      const int at = take().offset;
      lhs = node(op, at, std::move(lhs), parse_unary());
    }
  }

  NodePtr parse_unary() {
    if (peek().kind != Tok::minus) return parse_primary();
    const int at = take().offset;
    Nest nest(*this, at);
    return node(ExprOp::negate, at, parse_unary());
  }

  // '(' already taken at `open`: expect ')' and name the '(' it closes.
  void close(int open, std::string_view also = "") {
    if (peek().kind == Tok::rparen) {
      take();
      return;
    }
    throw ExprError(peek().offset,
                    fmt::format("expected {}')' to close '(' at {}, got {}", also, open, describe(peek())));
  }

  NodePtr parse_primary() {
    const Token& t = take();
    switch (t.kind) {
      case Tok::number:
        return literal(t.offset, t.value);
      case Tok::kw_true:
        return literal(t.offset, 1);
      case Tok::kw_false:
        return literal(t.offset, 0);
      case Tok::lparen: {
        Nest nest(*this, t.offset);
        NodePtr inner = parse_or();
        close(t.offset);
        return inner;
      }
      case Tok::identifier: {
        if (peek().kind == Tok::lparen) return parse_call(t);
        variables_.emplace_back(std::string(t.text), t.offset);
        auto n = std::make_unique<ExprNode>();
        n->op = ExprOp::variable;
        n->offset = t.offset;
        n->name = std::string(t.text);
        return n;
      }
      default:
        unexpected(t);
    }
  }

  NodePtr parse_call(const Token& name) {
    const Function* f = nullptr;
    for (const Function& candidate : kFunctions)
      if (candidate.name == name.text) f = &candidate;
    if (f == nullptr)
      throw ExprError(name.offset,
                      fmt::format("unknown function '{}' (known: min, max, abs, log2, is_pow2)", name.text));
    const int open = take().offset;
    Nest nest(*this, open);
    NodePtr args[2];
    int count = 0;
    if (peek().kind != Tok::rparen) {
      for (;;) {
        NodePtr arg = parse_or();
        if (count < 2) args[count] = std::move(arg);
        ++count;
        if (peek().kind != Tok::comma) break;
        take();
      }
    }
    close(open, "',' or ");
    if (count != f->arity)
      throw ExprError(name.offset, fmt::format("{}() takes {} argument{}, got {}", f->name, f->arity,
                                               f->arity == 1 ? "" : "s", count));
    return node(f->op, name.offset, std::move(args[0]), std::move(args[1]));
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::vector<std::pair<std::string, int>> variables_;
};

}  // namespace

Expr Expr::parse(std::string_view text) {
  if (text.size() > kMaxLength)
    throw ExprError(static_cast<int>(kMaxLength),
                    fmt::format("expression longer than {} characters", kMaxLength));
  Parser parser(detail::tokenize(text));
  Expr e;
  e.root_ = parser.parse_all();
  e.text_ = std::string(text);
  e.variables_ = parser.take_variables();
  return e;
}

}  // namespace flashtune::space
