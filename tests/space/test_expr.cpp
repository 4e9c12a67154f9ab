#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "space/expr.hpp"

namespace flashtune::space {
namespace {

using Vars = std::map<std::string, std::int64_t, std::less<>>;

Expr::Lookup lookup_in(const Vars& vars) {
  return [&vars](std::string_view name) -> std::optional<std::int64_t> {
    if (auto it = vars.find(name); it != vars.end()) return it->second;
    return std::nullopt;
  };
}

std::int64_t eval(std::string_view text, const Vars& vars = {}) {
  return Expr::parse(text).evaluate(lookup_in(vars));
}

// The ExprError of parsing `text` (fails the test when it parses).
ExprError parse_error(std::string_view text) {
  try {
    Expr::parse(text);
  } catch (const ExprError& e) {
    return e;
  }
  ADD_FAILURE() << "'" << text << "' parsed";
  return ExprError(-1, "");
}

ExprError eval_error(std::string_view text, const Vars& vars = {}) {
  const Expr e = Expr::parse(text);
  try {
    e.evaluate(lookup_in(vars));
  } catch (const ExprError& err) {
    return err;
  }
  ADD_FAILURE() << "'" << text << "' evaluated";
  return ExprError(-1, "");
}

TEST(Expr, ArithmeticPrecedence) {
  EXPECT_EQ(eval("1 + 2 * 3"), 7);
  EXPECT_EQ(eval("(1 + 2) * 3"), 9);
  EXPECT_EQ(eval("10 - 4 - 3"), 3);  // left-associative
  EXPECT_EQ(eval("100 / 10 / 5"), 2);
  EXPECT_EQ(eval("2 * 3 % 4"), 2);  // (2 * 3) % 4
  EXPECT_EQ(eval("-2 * 3"), -6);
  EXPECT_EQ(eval("- -5"), 5);
  EXPECT_EQ(eval("1 - -1"), 2);
  EXPECT_EQ(eval("  42\t\n"), 42);
}

TEST(Expr, IntegerDivisionTruncatesTowardZeroLikeC) {
  EXPECT_EQ(eval("7 / 2"), 3);
  EXPECT_EQ(eval("-7 / 2"), -3);
  EXPECT_EQ(eval("7 / -2"), -3);
  EXPECT_EQ(eval("-7 / -2"), 3);
  EXPECT_EQ(eval("7 % 3"), 1);
  EXPECT_EQ(eval("-7 % 3"), -1);
  EXPECT_EQ(eval("7 % -3"), 1);
  EXPECT_EQ(eval("-7 % -3"), -1);
}

TEST(Expr, ComparisonsAndBooleansAreZeroOrOne) {
  EXPECT_EQ(eval("3 < 4"), 1);
  EXPECT_EQ(eval("4 < 4"), 0);
  EXPECT_EQ(eval("4 <= 4"), 1);
  EXPECT_EQ(eval("5 > 4"), 1);
  EXPECT_EQ(eval("4 >= 5"), 0);
  EXPECT_EQ(eval("4 == 4"), 1);
  EXPECT_EQ(eval("4 != 4"), 0);
  EXPECT_EQ(eval("true"), 1);
  EXPECT_EQ(eval("false"), 0);
  EXPECT_EQ(eval("5 and 7"), 1);  // normalized, not 7
  EXPECT_EQ(eval("0 or 9"), 1);
  EXPECT_EQ(eval("not 0"), 1);
  EXPECT_EQ(eval("!3"), 0);
  EXPECT_EQ(eval("1 + 1 == 2"), 1);  // arithmetic binds tighter than comparison
  EXPECT_EQ(eval("(1 < 2) + (3 < 4)"), 2);
}

TEST(Expr, LogicPrecedenceOrAndNot) {
  EXPECT_EQ(eval("true or true and false"), 1);  // or (and ...)
  EXPECT_EQ(eval("(true or true) and false"), 0);
  EXPECT_EQ(eval("not 1 == 2"), 1);  // not (1 == 2)
  EXPECT_EQ(eval("not true and false"), 0);
  EXPECT_EQ(eval("not false and false"), 0);  // (not false) and false
  EXPECT_EQ(eval("1 == 1 && 2 == 3 || 4 == 4"), 1);
  EXPECT_EQ(eval("!!5"), 1);
}

TEST(Expr, AndOrShortCircuit) {
  const Vars v{{"x", 0}};
  EXPECT_EQ(eval("x != 0 and 10 / x > 1", v), 0);  // no division by zero
  EXPECT_EQ(eval("x == 0 or 10 % x == 0", v), 1);
  EXPECT_EQ(eval("false and unknown_name", v), 0);
  EXPECT_EQ(eval_error("x == 0 and 10 / x > 1", v).offset(), 14);
}

TEST(Expr, Functions) {
  EXPECT_EQ(eval("min(3, -4)"), -4);
  EXPECT_EQ(eval("max(3, -4)"), 3);
  EXPECT_EQ(eval("abs(-9)"), 9);
  EXPECT_EQ(eval("abs(9)"), 9);
  EXPECT_EQ(eval("log2(1)"), 0);
  EXPECT_EQ(eval("log2(64)"), 6);
  EXPECT_EQ(eval("log2(65)"), 6);  // floor
  EXPECT_EQ(eval("log2(9223372036854775807)"), 62);
  EXPECT_EQ(eval("is_pow2(64)"), 1);
  EXPECT_EQ(eval("is_pow2(96)"), 0);
  EXPECT_EQ(eval("is_pow2(0)"), 0);
  EXPECT_EQ(eval("is_pow2(-8)"), 0);
  EXPECT_EQ(eval("max(min(1, 2), abs(-3)) * 2"), 6);
  EXPECT_EQ(eval("min + max", {{"min", 1}, {"max", 2}}), 3);  // names of functions are variables without '('
}

TEST(Expr, Variables) {
  const Vars v{{"block_m", 128}, {"warps", 4}, {"seqlen", 1024}};
  EXPECT_TRUE(Expr::parse("block_m % (16 * warps) == 0").holds(lookup_in(v)));
  EXPECT_FALSE(Expr::parse("block_m / warps > 64").holds(lookup_in(v)));
  EXPECT_EQ(eval("seqlen / block_m", v), 8);

  const Expr e = Expr::parse("a + b*a");
  ASSERT_EQ(e.variables().size(), 3u);
  EXPECT_EQ(e.variables()[0], (std::pair<std::string, int>{"a", 0}));
  EXPECT_EQ(e.variables()[1], (std::pair<std::string, int>{"b", 4}));
  EXPECT_EQ(e.variables()[2], (std::pair<std::string, int>{"a", 6}));
  EXPECT_EQ(e.text(), "a + b*a");
  EXPECT_TRUE(Expr::parse("min(x, 1)").variables().size() == 1);
}

TEST(Expr, DefaultIsTrue) {
  const Expr e;
  EXPECT_EQ(e.text(), "true");
  EXPECT_TRUE(e.holds(nullptr));
}

TEST(Expr, EvaluationErrorsNameTheNode) {
  ExprError e = eval_error("block_m + blok_m", {{"block_m", 1}});
  EXPECT_EQ(e.offset(), 10);
  EXPECT_STREQ(e.what(), "unknown variable 'blok_m'");

  e = eval_error("1 + 4 / (2 - 2)");
  EXPECT_EQ(e.offset(), 6);
  EXPECT_STREQ(e.what(), "division by zero");
  e = eval_error("4 % 0");
  EXPECT_EQ(e.offset(), 2);
  EXPECT_STREQ(e.what(), "modulo by zero");

  e = eval_error("9223372036854775807 + 1");
  EXPECT_EQ(e.offset(), 20);
  EXPECT_NE(std::string(e.what()).find("overflow"), std::string::npos);
  EXPECT_EQ(eval_error("x * 2", {{"x", std::numeric_limits<std::int64_t>::max()}}).offset(), 2);
  EXPECT_EQ(eval_error("0 - 9223372036854775807 - 2").offset(), 24);
  const Vars min{{"m", std::numeric_limits<std::int64_t>::min()}};
  EXPECT_NE(std::string(eval_error("-m", min).what()).find("overflow"), std::string::npos);
  EXPECT_NE(std::string(eval_error("abs(m)", min).what()).find("overflow"), std::string::npos);
  EXPECT_NE(std::string(eval_error("m / -1", min).what()).find("overflow"), std::string::npos);
  EXPECT_NE(std::string(eval_error("m % -1", min).what()).find("overflow"), std::string::npos);
  EXPECT_EQ(eval("m / 1", min), std::numeric_limits<std::int64_t>::min());

  e = eval_error("1 + log2(0)");
  EXPECT_EQ(e.offset(), 4);
  EXPECT_NE(std::string(e.what()).find("log2"), std::string::npos);
  EXPECT_EQ(eval_error("log2(-3)").offset(), 0);
}

struct ParseErrorCase {
  const char* text;
  int offset;
  const char* message;  // a substring of what()
};

TEST(Expr, ParseErrorsHaveExactOffsets) {
  const ParseErrorCase cases[] = {
      {"", 0, "unexpected end of input"},
      {"(a + 1", 6, "expected ')' to close '(' at 0"},
      {"x * (a + 1", 10, "expected ')' to close '(' at 4"},
      {"1 +", 3, "unexpected end of input"},
      {"1 + * 2", 4, "unexpected '*'"},
      {"a b", 2, "trailing input 'b'"},
      {"(1))", 3, "trailing input ')'"},
      {"foo(1)", 0, "unknown function 'foo'"},
      {"1 + bar(2, 3)", 4, "unknown function 'bar'"},
      {"min(1)", 0, "min() takes 2 arguments, got 1"},
      {"abs(1, 2)", 0, "abs() takes 1 argument, got 2"},
      {"min(1 2)", 6, "expected ',' or ')' to close '(' at 3"},
      {"min(,1)", 4, "unexpected ','"},
      {"a < b < c", 6, "comparisons do not chain"},
      {"a == b != c", 7, "comparisons do not chain"},
      {"a = 1", 2, "unexpected '='"},
      {"a & b", 2, "unexpected '&'"},
      {"a | b", 2, "unexpected '|'"},
      {"a @ b", 2, "unexpected '@'"},
      {"1.5 > 1", 0, "invalid integer literal '1.5'"},
      {"x < 1e3", 4, "invalid integer literal '1e3'"},
      {"12abc", 0, "invalid integer literal"},
      {"9223372036854775808", 0, "out of range"},
      {"1 + and", 4, "unexpected 'and'"},
      {"a == not b", 5, "unexpected 'not'"},
      {"+1", 0, "unexpected '+'"},
      {"true(1)", 4, "trailing input '('"},
      {"a\x01", 1, "character 0x01"},
  };
  for (const ParseErrorCase& c : cases) {
    const ExprError e = parse_error(c.text);
    EXPECT_EQ(e.offset(), c.offset) << c.text << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << c.text << ": " << e.what();
  }
}

TEST(Expr, HostileInputIsBounded) {
  // Nesting deeper than kMaxDepth is a parse error, not a stack overflow.
  const std::string deep = std::string(1000, '(') + "1" + std::string(1000, ')');
  ExprError e = parse_error(deep);
  EXPECT_EQ(e.offset(), Expr::kMaxDepth);
  EXPECT_NE(std::string(e.what()).find("nested deeper"), std::string::npos);
  EXPECT_NE(std::string(parse_error(std::string(500, '-') + "1").what()).find("nested deeper"),
            std::string::npos);
  EXPECT_NE(std::string(parse_error(std::string(500, '!') + "1").what()).find("nested deeper"),
            std::string::npos);
  std::string calls;
  for (int i = 0; i < 300; ++i) calls += "abs(";
  EXPECT_NE(std::string(parse_error(calls + "1").what()).find("nested deeper"), std::string::npos);

  // Within the limits, depth is fine.
  EXPECT_EQ(eval(std::string(150, '(') + "7" + std::string(150, ')')), 7);

  // Long texts are rejected; a long flat chain up to the limit evaluates.
  e = parse_error(std::string(Expr::kMaxLength + 1, '1'));
  EXPECT_EQ(e.offset(), static_cast<int>(Expr::kMaxLength));
  std::string chain = "1";
  while (chain.size() + 2 <= Expr::kMaxLength) chain += "+1";
  EXPECT_EQ(eval(chain), static_cast<std::int64_t>(chain.size() / 2 + 1));
}

}  // namespace
}  // namespace flashtune::space
