// libFuzzer target for the constraint-expression parser and evaluator: space::Expr::parse(input), then
// evaluation with a few lookups and the invariants of fuzz_entries.hpp. Built by scripts/fuzz.sh (clang,
// -fsanitize=fuzzer,address,undefined), never by the normal build; docs/fuzzing.md.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>
#include <typeinfo>

#include "fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    flashtune::fuzz::fuzz_expr_once(input);
  } catch (const std::exception& e) {  // a broken invariant or an unexpected exception: a finding
    std::fprintf(stderr, "fuzz_expr: finding: %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "fuzz_expr: finding: an exception of unknown type\n");
    std::abort();
  }
  return 0;
}
