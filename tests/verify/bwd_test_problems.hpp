#pragma once
// Small problems of every attention variant (core/problem.hpp), shared by the backward references' tests:
// fp16 (finite differences step by fp16 neighbours, 2^-10 apart relative), head_dim 64, a few heads and rows.
#include <stdexcept>
#include <string>
#include <vector>

#include "core/problem.hpp"

namespace flashtune::verify::testing {

struct BwdCase {
  std::string name;
  AttentionProblem problem;
};

inline AttentionProblem bwd_problem(int heads, int kv_heads, int n, int nk, bool causal, int left = -1,
                                    int right = -1, float softcap = 0, Layout layout = Layout::bhsd) {
  return {.batch = 2,
          .heads = heads,
          .seqlen = n,
          .head_dim = 64,
          .dtype = DType::f16,
          .causal = causal,
          .kv_heads = kv_heads,
          .seqlen_k = nk,
          .window_left = left,
          .window_right = right,
          .softcap = softcap,
          .layout = layout};
}

inline std::vector<BwdCase> bwd_cases() {
  std::vector<BwdCase> v;
  v.push_back({"Gqa", bwd_problem(4, 2, 9, 9, false)});
  v.push_back({"MqaCausal", bwd_problem(3, 1, 9, 9, true)});
  v.push_back({"MoreQueriesThanKeys", bwd_problem(2, 2, 13, 5, true)});  // rows 0..7 see no key
  v.push_back({"FewerQueriesThanKeys", bwd_problem(2, 2, 5, 13, true)});
  v.push_back({"Window", bwd_problem(2, 2, 20, 20, false, 3, 2)});
  v.push_back({"CausalWindow", bwd_problem(2, 1, 16, 16, true, 4)});
  v.push_back({"OneKeyPerRow", bwd_problem(2, 2, 8, 20, false, 0, 0)});  // keys 0..11: no row attends them
  // Scale 0.4 spreads x = scale * q.k over about N(0, 3.2^2): the cap's tanh is far from linear.
  AttentionProblem cap = bwd_problem(2, 2, 12, 12, false, -1, -1, 2.0f);
  cap.softmax_scale = 0.4f;
  v.push_back({"Softcap", cap});
  v.push_back({"BshdGqaUnequal", bwd_problem(4, 2, 7, 11, true, -1, -1, 0, Layout::bshd)});
  v.push_back({"BshdAllTogether", bwd_problem(4, 2, 12, 12, true, 5, -1, 3.0f, Layout::bshd)});
  // Sequences of 6 queries on 4 keys (rows 0, 1 see none), 0 queries on 2 keys (no row attends them), 1 on 1.
  v.push_back(
      {"Varlen", varlen_problem(bwd_problem(4, 2, 1, 1, true, 3, -1, 4.0f), {6, 0, 1, 9}, {4, 2, 1, 9})});
  AttentionProblem sparse = bwd_problem(2, 2, 40, 40, false);  // layout 010 / 011 / 000: rows 32.. see none
  sparse.sparse_block = 16;
  sparse.sparse_density = 0.4f;
  sparse.sparse_seed = 5;
  v.push_back({"BlockSparse", sparse});
  AttentionProblem sparse_gqa = bwd_problem(4, 2, 40, 56, true, 20);
  sparse_gqa.sparse_block = 16;
  sparse_gqa.sparse_density = 0.5f;
  sparse_gqa.sparse_seed = 3;
  v.push_back({"BlockSparseGqaCausalWindow", sparse_gqa});
  return v;
}

// The case of this name in bwd_cases().
inline AttentionProblem bwd_case(const std::string& name) {
  for (const BwdCase& c : bwd_cases())
    if (c.name == name) return c.problem;
  throw std::invalid_argument("no backward test case " + name);
}

}  // namespace flashtune::verify::testing
