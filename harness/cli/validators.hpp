#pragma once
// Command-line validators with messages a user can act on. CLI11's own range checks print the bounds of a
// double ("Value 0 not in range 0.000000 to 1797693134862315708145274237317043567980..."); these say what the
// option takes: "--seqlen: must be an integer in 1..1048576, got '0'".
#include <CLI/CLI.hpp>

#include <cstdint>

namespace flashtune::cli {

// A whole number in [lo, hi], written in decimal digits (an optional sign).
CLI::Validator integer_in(std::int64_t lo, std::int64_t hi);

// An unsigned 64-bit number written in decimal digits only: "-1" is refused rather than wrapped to 2^64 - 1.
CLI::Validator unsigned_integer();

// A finite number in [lo, hi]; "nan" and "inf" are refused.
CLI::Validator finite_in(double lo, double hi);

}  // namespace flashtune::cli
