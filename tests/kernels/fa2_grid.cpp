#include "fa2_grid.hpp"

namespace flashtune {

std::vector<Fa2Config> default_fa2_grid() {
  std::vector<Fa2Config> grid;
  for (int bm : {64, 128})
    for (int bn : {32, 64, 128})
      for (int w : {4, 8})
        for (int s : {1, 2, 3}) {
          const Fa2Config c{bm, bn, w, s};
          // Valid for both head dims: the grid is the same for every problem.
          if (!fa2::invalid_reason({c, 128, DType::bf16, false}) &&
              !fa2::invalid_reason({c, 64, DType::bf16, false}))
            grid.push_back(c);
        }
  return grid;
}

std::vector<Fa2Instance> default_fa2_instances(int head_dim, DType dtype, bool causal) {
  std::vector<Fa2Instance> out;
  for (const Fa2Config& c : default_fa2_grid()) out.push_back({c, head_dim, dtype, causal});
  return out;
}

}  // namespace flashtune
