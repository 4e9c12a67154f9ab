// libFuzzer target for the search-space loader: space::parse_search_space(input, "fuzz.yaml"), then the
// invariants of a loaded space and the name expressions of its configurations. Built by scripts/fuzz.sh
// (clang, -fsanitize=fuzzer,address,undefined), never by the normal build; docs/fuzzing.md.
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
    flashtune::fuzz::fuzz_space_once(input);
  } catch (const std::exception& e) {  // a broken invariant or an unexpected exception: a finding
    std::fprintf(stderr, "fuzz_space_loader: finding: %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "fuzz_space_loader: finding: an exception of unknown type\n");
    std::abort();
  }
  return 0;
}
