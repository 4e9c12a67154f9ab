#pragma once
// The FA2 tests' grid (test data: the CLI's default grid is a shipped search space): every valid combination
// of block_m {64, 128}, block_n {32, 64, 128}, warps {4, 8}, stages {1, 2, 3}, 27 configurations.
#include <vector>

#include "kernels/fa2_config.hpp"

namespace flashtune {

std::vector<Fa2Config> default_fa2_grid();

// The instantiations of the grid that are valid for (head_dim, dtype, causal).
std::vector<Fa2Instance> default_fa2_instances(int head_dim, DType dtype, bool causal);

}  // namespace flashtune
