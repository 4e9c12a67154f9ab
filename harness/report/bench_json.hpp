#pragma once
// JSON form of benchmark results (flashtune bench --json), read by bench/peers.py.
#include <nlohmann/json.hpp>

#include "run/bench.hpp"

namespace flashtune::report {

nlohmann::json to_json(const run::BenchResult& r);

}  // namespace flashtune::report
