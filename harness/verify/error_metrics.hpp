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

}  // namespace flashtune::verify
