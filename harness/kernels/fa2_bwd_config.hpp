#pragma once
// The FlashAttention-2 backward (kernel_templates/fa2_bwd.cuh) as the host sees it: its parameters, the three
// instantiations they name (preprocess, main, dQ conversion), the rules of Fa2BwdTraits' static_asserts, and
// its shared memory and workspace. Values reach the kernels only as template arguments of name expressions.
#include <optional>
#include <string>

#include "core/dtype.hpp"

namespace flashtune {

struct Fa2BwdConfig {
  int block_m = 64;   // query rows per tile of the inner loop
  int block_n = 128;  // key rows per CTA (dK, dV in registers)
  int warps = 8;      // each owns block_n / warps key rows
  int dq_mode = 0;    // 0: dQ by fp32 atomics in the main kernel; 1: a deterministic pass of its own

  std::string to_string() const;  // "bm64 bn128 w8" (" dq1" with the separate pass)
  friend bool operator==(const Fa2BwdConfig&, const Fa2BwdConfig&) = default;
};

struct Fa2BwdInstance {
  Fa2BwdConfig config;
  int head_dim = 128;
  DType dtype = DType::bf16;
  bool causal = false;
  int variant = 0;  // kVariant: bits 1 (general addressing) and 2 (window) only

  // "flashtune::fa2_bwd<flashtune::Fa2BwdTraits<64, 128, 128, 8>, false, __nv_bfloat16>" (", 1" after the
  // warps with dq_mode 1; ", 3>" with a variant).
  std::string name_expression() const;
  // dq_mode 1: "flashtune::fa2_bwd_dq<64, 128, false, __nv_bfloat16>" (block_m, head_dim, causal, dtype,
  // variant).
  std::string dq_expression() const;
  std::string preprocess_expression() const;  // "flashtune::fa2_bwd_preprocess<128, __nv_bfloat16>"
  std::string convert_expression() const;     // "flashtune::fa2_bwd_convert_dq<128, __nv_bfloat16>"
  std::string to_string() const;              // "fa2_bwd bm64 bn128 w8 d128 bf16 causal"
};

namespace fa2_bwd {

constexpr const char* kTemplateFile = "fa2_bwd.cuh";
inline constexpr int kHeadDims[] = {64, 128};

int threads(const Fa2BwdConfig& c);
// Fa2BwdTraits::kSmemBytes: Q, dO (block_m rows), K, V (block_n rows), dS^T, and two floats per query row.
int smem_bytes(const Fa2BwdConfig& c, int head_dim);
// The dq_mode 1 pass's (fa2_bwd_dq_smem_bytes): Q, dO (block_m rows), K, V (64 rows).
int dq_smem_bytes(const Fa2BwdConfig& c, int head_dim);
// The fp32 dQ accumulator and D of every query row (fa2_bwd_workspace_bytes).
long long workspace_bytes(long long batch_heads, long long seqlen, int head_dim);
// Why an instantiation would fail the static_asserts, or nullopt when it is valid.
std::optional<std::string> invalid_reason(const Fa2BwdInstance& inst);

}  // namespace fa2_bwd
}  // namespace flashtune
