#pragma once
// The FlashAttention-2 forward template as the host sees it: its tunable parameters, the instantiation they
// name, and the facts (threads, shared memory, grid) that the kernel's traits struct computes on the device
// side. Values are validated integers: they reach the kernel only as template arguments of a name expression.
#include <cstddef>
#include <optional>
#include <string>

#include "core/dtype.hpp"
#include "core/problem.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune {

// Tunable parameters of kernel_templates/fa2_fwd.cuh.
struct Fa2Config {
  int block_m = 128;   // query rows per CTA
  int block_n = 64;    // key/value rows per pipeline stage
  int warps = 8;       // warps per CTA; each owns block_m / warps query rows
  int stages = 2;      // K/V tiles in flight (shared-memory ring depth)
  int q_regs = 2;      // Q's fragments: 0 re-read from shared memory per tile, 1 in registers, 2 automatic
  int pipeline = 0;    // loop schedule: 0 tile by tile, 1 S_{j+1} = Q K_{j+1}^T overlapped with P_j V_j
  int min_blocks = 1;  // __launch_bounds__ minimum CTAs per SM (caps registers at 65536 / (threads * it))
  int lazy_rescale =
      0;               // 1: skip O *= alpha when no row max of the warp grew; 2: and bases move by > 2^8 only
  int persistent = 0;  // 1: a CTA per resident slot loops over the query tiles, the next Q prefetched
  int fuse_pv = 0;     // 1: softmax and P V in one block, step by step (pipeline 0, persistent 0)
  int splits = 1;      // > 1: split-K/V over this many CTAs per query tile, merged by fa2_combine

  std::string to_string() const;  // "bm128 bn64 w8 s2" (+ " q1 p1" when those differ from the defaults)
  friend bool operator==(const Fa2Config&, const Fa2Config&) = default;
};

// One instantiation: parameters plus the problem facts that are template arguments.
struct Fa2Instance {
  Fa2Config config;
  int head_dim = 128;
  DType dtype = DType::bf16;
  bool causal = false;
  int variant = 0;  // the kernel's kVariant: ProblemVariant::bits(), 0 for the plain problem

  static Fa2Instance for_problem(const Fa2Config& c, const AttentionProblem& p) {
    return {c, p.head_dim, p.dtype, p.causal, variant_of(p).bits()};
  }
  // "flashtune::fa2_fwd<flashtune::Fa2Traits<128, 64, 128, 8, 2, 2, 0, 1, 0, 0, 0>, false, __nv_bfloat16>":
  // block_m, block_n, head_dim, warps, stages, q_regs, pipeline, min_blocks, lazy_rescale, persistent,
  // fuse_pv (and splits when above 1); a variant appends its bits (", 3>").
  std::string name_expression() const;
  // splits > 1: fa2_combine's instantiation, the second kernel ("flashtune::fa2_combine<128, 4, false,
  // __nv_bfloat16>": head_dim, splits, general addressing, dtype).
  std::string combine_expression() const;
  std::string to_string() const;  // "fa2_fwd bm128 bn64 w8 s2 d128 bf16 causal"
};

// The fa2_fwd template's parameter map of a configuration (optional parameters only where they differ from
// their defaults), for run::Instance and everything generic over templates.
ParamValues to_params(const Fa2Config& c);

namespace fa2 {

constexpr const char* kTemplateFile = "fa2_fwd.cuh";
constexpr const char* kTemplateId = "fa2_fwd";
// The head dims of Fa2Traits' static_assert (96: common/swizzle.cuh's SwizzledTile<96>).
inline constexpr int kHeadDims[] = {64, 96, 128};

int threads(const Fa2Config& c);
// Dynamic shared memory of an instantiation: fa2_smem_bytes (kernel_templates/common/smem_bytes.h), which
// Fa2Traits::kSmemBytes is too.
int smem_bytes(const Fa2Config& c, int head_dim);
// The split-K/V workspace of a problem: the partial O (fp32) and LSE of every split, 0 without splits.
std::size_t workspace_bytes(const Fa2Config& c, const AttentionProblem& p);
// CTAs of a persistent launch: as many as fit on kPersistentSms (132, an H100 SXM) sm_90 multiprocessors by
// shared memory and threads, and by registers at the 255-per-thread worst case; extra CTAs on a smaller GPU
// just wait.
int persistent_ctas(const Fa2Config& c, int head_dim);
// Why an instantiation would fail the template's static_asserts, or nullopt when it is valid.
std::optional<std::string> invalid_reason(const Fa2Instance& inst);

}  // namespace fa2
}  // namespace flashtune
