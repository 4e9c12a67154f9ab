#pragma once
// Online softmax for rows held in mma accumulator fragments.
//
// Each thread owns, per 16-row MMA tile, two rows (g and g+8); a row's scores are spread over the 4 lanes of
// a quad (lanes 4g..4g+3). Scores are kept in the log2 domain: s2 = score * scale * log2(e), so that one FFMA
// and one ex2 give p = 2^(s2 - m). Merging a new block into the running state (m, l, O):
//   m' = max(m, rowmax(s2));  alpha = 2^(m - m');  l' = alpha * l + rowsum(2^(s2 - m'));  O' = alpha * O + P
//   V.
// A row with no unmasked key yet has m = -inf; its exponent base is taken as 0 so no -inf - -inf NaN appears.

namespace flashtune {

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// The logit soft-cap: softcap * tanh(s * softcap_scale), computed as softcap - 2 softcap / (1 + e^(2x)): its
// absolute error is a few ulps of softcap, and it costs an ex2 and a reciprocal (tanhf's polynomial and
// branch made hopper_fwd's 3-warpgroup d64 kernel spill). The exponent is clamped so that 1 + e^(2x) stays
// finite.
__device__ __forceinline__ float softcap_score(float s, float softcap, float softcap_scale) {
  constexpr float k2Log2e = 2.88539008177792681f;  // 2 log2(e)
  const float e = fast_exp2(fminf(s * softcap_scale * k2Log2e, 64.0f));
  return softcap - __fdividef(2.0f * softcap, 1.0f + e);
}

// Max and sum over the 4 lanes of a quad.
__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// v[0] op v[1] op ... op v[N-1] as a balanced tree (log2 N dependent steps instead of N - 1: with two warps
// per scheduler, or one warpgroup at a time doing softmax while the other's wgmma run, the serial chains of
// the row max and row sum were latency no other warp could hide).
template <int N, typename Op>
__device__ __forceinline__ float tree_reduce(float (&v)[N], Op op) {
#pragma unroll
  for (int w = 1; w < N; w *= 2)
#pragma unroll
    for (int i = 0; i + w < N; i += 2 * w) v[i] = op(v[i], v[i + w]);
  return v[0];
}

// Running state of one row.
struct RowState {
  float max;  // the exponent base, log2 domain: the row max (or up to a slack below it), -inf until a key
  float sum;  // sum of 2^(s2 - max) over the keys seen, this lane's share only until finalize
};

// The exponent base for a row whose running max is m (0 while the row has seen only masked keys).
__device__ __forceinline__ float safe_base(float m) {
  return m == neg_infinity() ? 0.0f : m;
}

// The log-sum-exp every template writes per query row (natural log, scale included), from the row's
// exponent base m (log2 domain) and its whole sum of 2^(s2 - m); -inf for a row that saw no unmasked key.
__device__ __forceinline__ float row_lse(float m, float total) {
  constexpr float kLn2 = 0.69314718055994530942f;
  return total > 0.0f ? (m + __log2f(total)) * kLn2 : neg_infinity();
}

}  // namespace flashtune
