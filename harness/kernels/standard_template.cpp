// standard_attn as a KernelTemplate: the catalog's view of kernel_templates/standard_attn.cuh (standard
// attention, the FlashAttention paper's Algorithm 0): three kernels, scores -> softmax -> P·V, with S and P
// in the workspace. The rules below mirror StandardTraits' static_asserts.
#include <fmt/format.h>

#include <algorithm>

#include "core/error.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/tiling_rules.hpp"
#include "smem_bytes.h"

namespace flashtune {
namespace {

struct StandardConfig {
  int block_m = 128;
  int block_n = 128;
  int warps = 4;
  int stages = 2;

  static StandardConfig of(const ParamValues& v) {
    return {static_cast<int>(v.at("block_m")), static_cast<int>(v.at("block_n")),
            static_cast<int>(v.at("warps")), static_cast<int>(v.at("stages"))};
  }
  // StandardTraits::kScoresSmemBytes and kPvSmemBytes.
  int scores_smem(int d) const { return standard_scores_smem_bytes(block_m, block_n, d); }
  int pv_smem(int d) const { return standard_pv_smem_bytes(block_m, block_n, d, stages); }
};

unsigned ceil_div(long long a, long long b) {
  return static_cast<unsigned>((a + b - 1) / b);
}

class StandardTemplate final : public KernelTemplate {
 public:
  std::string_view id() const override { return "standard_attn"; }
  std::string_view source_file() const override { return "standard_attn.cuh"; }
  std::string_view summary() const override {
    return "standard attention (Algorithm 0): S and P materialized in HBM; scores, row softmax and P·V "
           "kernels, mma.sync + ldmatrix + cp.async";
  }
  const std::vector<ParamSpec>& params() const override {
    static const std::vector<ParamSpec> specs = {
        {"block_m", 16, 512, 128,
         "query rows per CTA of the scores and P·V kernels (a multiple of 16 * warps)"},
        {"block_n", 64, 512, 128, "key rows per scores tile and per P·V step (a multiple of 64)"},
        {"stages", 1, 4, 2, "P/V blocks in flight in the P·V kernel (shared-memory ring depth)"},
        {"warps", 1, 32, 4, "warps per CTA; the softmax kernel runs one warp per query row"},
    };
    return specs;
  }

  std::optional<std::string> invalid_reason(const ParamValues& v, const ProblemVariant& pv) const override {
    if (auto bad = check_params(*this, v)) return bad;
    const StandardConfig c = StandardConfig::of(v);
    const int d = pv.head_dim;
    if (auto bad = tile_reason(d, c.block_m, c.block_n, c.warps, 64)) return bad;
    if (c.stages < 1 || c.stages > 4) return fmt::format("stages {} is not in 1..4", c.stages);
    if (auto bad = smem_limit_reason(c.scores_smem(d), "standard_scores")) return bad;
    return smem_limit_reason(c.pv_smem(d), "standard_pv");
  }

  std::string name_expression(const ParamValues& v, const ProblemVariant& pv) const override {
    return name_expressions(v, pv).front();
  }
  std::vector<std::string> name_expressions(const ParamValues& v, const ProblemVariant& pv) const override {
    const StandardConfig c = checked(v, pv);
    const std::string type(cuda_type_name(pv.dtype));
    return {
        fmt::format("flashtune::standard_scores<{}, {}, {}, {}, {}>", c.block_m, c.block_n, pv.head_dim,
                    c.warps, type),
        fmt::format("flashtune::standard_softmax<{}, {}, {}>", c.warps, pv.causal ? "true" : "false", type),
        fmt::format("flashtune::standard_pv<{}, {}, {}, {}, {}, {}>", c.block_m, c.block_n, pv.head_dim,
                    c.warps, c.stages, type),
    };
  }

  int smem_bytes(const ParamValues& v, const ProblemVariant& pv) const override {
    const StandardConfig c = checked(v, pv);
    return std::max(c.scores_smem(pv.head_dim), c.pv_smem(pv.head_dim));
  }

  KernelLaunch launch(const ParamValues& v, const AttentionProblem& p) const override {
    return launches(v, p).front();
  }
  std::vector<KernelLaunch> launches(const ParamValues& v, const AttentionProblem& p) const override {
    const StandardConfig c = checked(v, variant_of(p));
    const unsigned bh = static_cast<unsigned>(p.batch * p.heads);
    const unsigned threads = static_cast<unsigned>(c.warps * 32);
    KernelLaunch scores;
    scores.grid[0] = ceil_div(p.seqlen, c.block_m);
    scores.grid[1] = ceil_div(p.seqlen, c.block_n);
    scores.grid[2] = bh;
    scores.threads = threads;
    scores.dynamic_smem = c.scores_smem(p.head_dim);
    KernelLaunch softmax;
    softmax.grid[0] = ceil_div(p.seqlen, c.warps);
    softmax.grid[1] = bh;
    softmax.threads = threads;
    softmax.dynamic_smem = 0;
    KernelLaunch pv;
    pv.grid[0] = ceil_div(p.seqlen, c.block_m);
    pv.grid[1] = bh;
    pv.threads = threads;
    pv.dynamic_smem = c.pv_smem(p.head_dim);
    return {scores, softmax, pv};
  }

  // S (fp32) then P (the dtype), B·H·N·N elements each.
  std::size_t workspace_bytes(const ParamValues& v, const AttentionProblem& p) const override {
    (void)v;
    const std::size_t elems = static_cast<std::size_t>(p.batch) * static_cast<std::size_t>(p.heads) *
                              static_cast<std::size_t>(p.seqlen) * static_cast<std::size_t>(p.seqlen);
    return elems * (4 + element_bytes(p.dtype));
  }

 private:
  StandardConfig checked(const ParamValues& v, const ProblemVariant& pv) const {
    require_valid(v, pv);
    return StandardConfig::of(v);
  }
};

}  // namespace

const KernelTemplate& standard_template() {
  static const StandardTemplate t;
  return t;
}

}  // namespace flashtune
