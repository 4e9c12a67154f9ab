#pragma once
// How far a kernel's output is from the float64 reference, and whether that is close enough.
//
//   ErrorStats o = compare(kernel_o, DType::bf16, ref.o);     // kernel_o: the O bits of the checked heads
//   ErrorStats l = compare(kernel_lse, ref.lse);              // fp32 LSE of the same heads
//   VerifyResult r = judge(o, l, problem, heads);             // r.ok, r.detail: "O rel_l2 3.2e-2 > 1.0e-2
//   (...)"
#include <cstdint>
#include <span>
#include <string>

#include "core/dtype.hpp"
#include "core/problem.hpp"

namespace flashtune::verify {

struct ErrorStats {
  double rel_l2 = 0;   // ||out - ref||_2 / ||ref||_2 over the finite outputs (0/0 counts as 0, x/0 inf)
  double max_abs = 0;  // max |out - ref| over the finite outputs
  std::int64_t worst_index = -1;  // first non-finite output if any, else where max_abs is; -1 when count == 0
  std::int64_t non_finite = 0;    // NaN / Inf outputs: any makes the comparison fail
  std::int64_t count = 0;         // elements compared
  bool finite() const { return non_finite == 0; }
};

// Element-wise comparison, all arithmetic in double. Sizes must match (else Error(invalid_argument)); the
// reference must be finite or -inf (the LSE of a row with no attended key, which only -inf matches; a finite
// output there makes max_abs inf), else Error(internal): a reference bug, not a kernel failure.
ErrorStats compare(std::span<const float> out, std::span<const double> ref);
// The same for outputs stored as bf16 / fp16 bit patterns (poisoned NaN patterns count as non-finite).
ErrorStats compare(std::span<const std::uint16_t> out, DType t, std::span<const double> ref);

// Bounds for inputs from make_inputs (N(0,1) Q, K, V; |O| <= ~4) and the default scale.
//
// Where the kernel's error comes from: S = QK^T and all of the softmax run in fp32 (relative error ~1e-6,
// negligible); P is rounded to the dtype before P.V (relative error <= u per element, random sign); O is
// accumulated in fp32 and rounded to the dtype once at the end (<= u relative). u, the unit roundoff, is
// 2^-8 = 3.9e-3 for bf16 (8 significand bits) and 2^-11 = 4.9e-4 for fp16. Each rounding contributes about
// u/sqrt(3) RMS relative to |O|, so a correct kernel lands near rel_l2 ~0.8u: 3e-3 (bf16), 4e-4 (fp16).
//   rel_l2  <= 1.0e-2 (bf16) / 2.0e-3 (fp16): ~3x / ~5x over that, while an off-by-one mask, a missed rescale
//              or a wrong block gives errors of order 1.
//   max_abs <= 4e-2 (bf16) / 5e-3 (fp16): half an ulp at |O| in [4, 8) is 1.6e-2 / 2.0e-3, plus P's share.
//   lse_abs <= 2e-3 for both: LSE is never rounded to the dtype (accumulated and stored in fp32); the bound
//              leaves room for fp32 sums over long rows and ex2.approx / lg2.approx.
struct Tolerance {
  double rel_l2;   // on O
  double max_abs;  // on O
  double lse_abs;  // max |lse - ref| on LSE
};
Tolerance tolerance_for(DType t);

struct VerifyResult {
  bool ok = false;
  ErrorStats o, lse;
  // Which bounds failed and by how much, "; "-separated:
  //   "O rel_l2 3.2e-2 > 1.0e-2 (worst at bh 5 (b 0, h 5), row 17, col 5)"
  // or, when ok, the measured errors: "ok: O rel_l2 2.9e-3, max_abs 1.5e-2; LSE max_abs 3.1e-6".
  std::string detail;
};

// Fails when O or LSE has a non-finite value, O breaks rel_l2 or max_abs, or LSE breaks lse_abs. An O
// comparison of zero elements fails (nothing was checked); an LSE comparison of zero elements means the LSE
// was not checked and is noted in the detail. Worst positions are reported as flat indices.
VerifyResult judge(const ErrorStats& o, const ErrorStats& lse, DType t);
VerifyResult judge(const ErrorStats& o, const ErrorStats& lse, const Tolerance& tol);
// The same, reporting worst positions as (bh, row, col) for stats computed on cpu_attention's layout for
// `bh_indices` of problem p (empty bh_indices: all heads in order). Uses tolerance_for(p.dtype).
VerifyResult judge(const ErrorStats& o, const ErrorStats& lse, const AttentionProblem& p,
                   std::span<const int> bh_indices);

// The backward pass (AttentionProblem::pass bwd): the gradients dQ, dK and dV, each judged on its own.
//
// Bounds for inputs from make_inputs and make_d_o (N(0,1) Q, K, V and dO), O and LSE as a forward kernel
// stores them (O rounded to the dtype, LSE fp32), and the default scale. Where the kernel's error comes from
// (fa2_bwd, FlashAttention-2's algorithm): S, P = exp(S - LSE), dP = dO V^T and D = rowsum(dO * O) are fp32
// (relative error ~1e-6, the reference reads the same O and LSE); P and dS = P (dP - D) are rounded to the
// dtype before the products dV = P^T dO, dK = scale dS^T Q and dQ = scale dS K (<= u relative per element,
// random sign); those accumulate in fp32 (dQ through fp32 atomics in any order: ~1e-7 relative) and each
// gradient is rounded to the dtype once at the end. Two roundings, as O has in the forward: a correct kernel
// lands near rel_l2 ~0.8u, 3e-3 (bf16) and 4e-4 (fp16).
//   rel_l2   <= 1.0e-2 (bf16) / 2.0e-3 (fp16), O's bounds, with an absolute floor:
//               ||out - ref||_2 <= rel_l2 * ||ref||_2 + sqrt(count) * rms_floor.
//   max_abs  <= max_rel * max |ref| + max_floor, max_rel 2e-2 (bf16, ~5u) / 3e-3 (fp16, ~6u): the worst
//               element carries its own rounding (<= u |x|) and the rounded products' random walk (~3u times
//               the typical size at a 5-sigma element). Relative to the largest reference element, not
//               absolute as O's: gradient sizes vary over orders of magnitude with the problem (under the
//               causal mask |dK_j|, |dV_j| ~ 1/sqrt(j + 1): key 0 is attended by every row).
//   rms_floor 1e-5, max_floor 1e-4 (both dtypes): where the exact gradient cancels to 0 (seqlen 1: P = 1 and
//               dP = D, so dS = 0 and dQ = dK = 0) a kernel keeps the fp32 rounding of dP - D, ~1e-6; the
//               floors allow 10 to 100 times that, far below the gradients of any problem that is not
//               degenerate (RMS ~1e-2 at N 131072).
struct GradientTolerance {
  double rel_l2;
  double max_rel;
  double rms_floor;
  double max_floor;
};
GradientTolerance gradient_tolerance_for(DType t);

// One gradient against its reference. err.rel_l2 is ||out - ref||_2 / (||ref||_2 + sqrt(count) * rms_floor /
// rel_l2): the bound above folded in, so that err.rel_l2 <= tol.rel_l2 is the test and an all-zero reference
// gives a finite number. The rest of err is compare()'s.
struct GradientStats {
  ErrorStats err;
  double ref_max_abs = 0;  // max |ref|
};
GradientStats compare_gradient(std::span<const std::uint16_t> out, DType t, std::span<const double> ref,
                               const GradientTolerance& tol);

struct BackwardStats {
  GradientStats dq, dk, dv;
};

// Fails when a gradient has a non-finite value, breaks rel_l2 or max_abs, or compared nothing. The result's o
// is the worst gradient's stats (the largest measured/bound ratio; non-finite is worst), lse is empty (the
// LSE is an input of the backward), and detail names each failed gradient, bound and position:
//   "dK rel_l2 3.2e-2 > 1.0e-2 (worst at kv 3 (b 0, kv_head 3), key 17, col 5)"
// or, when ok, every gradient's errors: "ok: dQ rel_l2 2.9e-3, max_abs 1.5e-2; dK ...; dV ...".
// Positions are flat indices here; the overload with the problem reports them for stats over the rows of the
// key/value heads `kv_heads` (flat batch * kv_heads + kv_head) for dK and dV, [kv heads, len_k, head_dim],
// and of their groups' query heads for dQ (head kv_head * group + g of each, in order), [query heads, len_q,
// head_dim], with gradient_tolerance_for(p.dtype).
VerifyResult judge_backward(const BackwardStats& s, const GradientTolerance& tol);
VerifyResult judge_backward(const BackwardStats& s, const AttentionProblem& p, std::span<const int> kv_heads);

}  // namespace flashtune::verify
