#pragma once
// Rows of the compile/resource table shared by `compile` and `bench`.
#include <vector>

#include "report/table.hpp"
#include "run/precompile.hpp"

namespace flashtune::cli {

report::Table compile_table(const std::vector<run::CompiledInstance>& compiled);

}  // namespace flashtune::cli
