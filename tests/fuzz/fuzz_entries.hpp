#pragma once
// The bodies of the libFuzzer targets (fuzz_space_loader.cpp, fuzz_expr.cpp), shared with test_fuzz_corpus,
// which replays the committed corpus (tests/fuzz/corpus/) through them in every normal test run.
// docs/fuzzing.md says how to fuzz.
//
// Each call runs one input. An expected rejection (SpaceError or flashtune::Error for a search space,
// ExprError for an expression) returns normally, after checking that the error itself is sane; a broken
// invariant throws FuzzFinding; any other exception escapes as it is. Both are findings: the fuzz targets
// abort on them, the test fails on them.
//
//   fuzz_space_once("template: fa2_fwd\n...");   // parses, enumerates, checks every name expression
//   fuzz_expr_once("block_m % (16 * warps) == 0");
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "space/search_space.hpp"

namespace flashtune::fuzz {

// An invariant that an input broke: "expr 'a+1': evaluation differs between two runs (3 vs 4)".
class FuzzFinding : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// The file name the space target passes to parse_search_space.
inline constexpr std::string_view kFuzzFile = "fuzz.yaml";

// space::parse_search_space(text, "fuzz.yaml"). A space that loads must satisfy what the loader promises
// (search_space.hpp: template known, every parameter once and within bounds, problems valid, ...), and every
// name expression of the configurations it enumerates must pass is_safe_name_expression
// (check_name_expressions with a bound that keeps one input fast).
void fuzz_space_once(std::string_view yaml_text);

// space::Expr::parse(text), then evaluation with a few lookups (typical values, extreme values, none). For an
// expression that parses: text() is the input, parsing text() again gives the same variables and results,
// evaluation is deterministic (twice, on a copy, on the reparsed expression), holds() agrees with evaluate(),
// variables() name identifiers at their offsets. Every ExprError's offset lies within the text.
void fuzz_expr_once(std::string_view expr_text);

// True when `expr` is exactly `flashtune::<identifier><arg, arg, ...>`, each arg an integer, true, false,
// __nv_bfloat16, __half, or a traits type `flashtune::<identifier><arg, ...>` of such args (one level),
// separated by "," and at most one space. Nothing else can reach NVRTC's nvrtcAddNameExpression: no quotes,
// parentheses, semicolons, newlines or deeper template brackets.
//
//   is_safe_name_expression("flashtune::fa2_fwd<128, 64, 128, 8, 2, false, __nv_bfloat16>")  // true
//   is_safe_name_expression("flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64>, true, __half>") // true
//   is_safe_name_expression("flashtune::fa2_fwd<64>, evil<1>")                               // false
bool is_safe_name_expression(std::string_view expr);

// For each problem of `space` (at most `max_configs` configurations in all, counted before the constraints;
// the rest is skipped): enumerate() it, and for every kept configuration that the template accepts
// (invalid_reason() is nullopt), build find_template(id).name_expressions() and require
// is_safe_name_expression of each; a configuration the template rejects must make name_expressions() throw
// flashtune::Error. Returns the number of name expressions checked; throws FuzzFinding.
std::size_t check_name_expressions(const space::SearchSpace& space, std::size_t max_configs);

}  // namespace flashtune::fuzz
