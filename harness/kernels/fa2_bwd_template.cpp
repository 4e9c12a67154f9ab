// fa2_bwd as a KernelTemplate: the catalog's view of kernel_templates/fa2_bwd.cuh, over fa2_bwd_config.hpp.
// Its problems are the backward pass (AttentionProblem::pass bwd): three kernels, D and the zeroed dQ
// accumulator, the main loop, dQ's conversion.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "kernels/fa2_bwd_config.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune {
namespace {

Fa2BwdConfig to_config(const ParamValues& v) {
  return {static_cast<int>(v.at("block_m")), static_cast<int>(v.at("block_n")),
          static_cast<int>(v.at("warps"))};
}

class Fa2BwdTemplate final : public KernelTemplate {
 public:
  std::string_view id() const override { return "fa2_bwd"; }
  std::string_view source_file() const override { return fa2_bwd::kTemplateFile; }
  std::string_view summary() const override {
    return "FlashAttention-2 backward with recomputation: a CTA per key tile, dK and dV in registers over "
           "the "
           "GQA group, dQ by fp32 atomics; mma.sync + ldmatrix + cp.async";
  }
  const std::vector<ParamSpec>& params() const override {
    static const std::vector<ParamSpec> specs = {
        {"block_m", 64, 128, 64, "query rows per tile of the inner loop (64 or 128)"},
        {"block_n", 16, 512, 128, "key rows per CTA (a multiple of 16 * warps, at most 32 per warp)"},
        {"warps", 1, 16, 8, "warps per CTA; each owns block_n / warps key rows"},
        {"dq_mode", 0, 1, 0,
         "dQ: 0 added by the main kernel with fp32 atomics (non-deterministic order); 1 a pass of its own, a "
         "CTA "
         "per query tile recomputing P and dS (deterministic, more FLOPs)",
         false},
    };
    return specs;
  }
  // FlashAttention-2's choice for head dims 64 and 128: 64 query rows, 128 key rows over 8 warps.
  ParamValues default_config(const ProblemVariant&) const override {
    return {{"block_m", 64}, {"block_n", 128}, {"warps", 8}};
  }
  // The backward pass only; grouped key/value heads, unequal lengths (causal bottom-right), a window, the
  // bshd layout. Not yet: softcap, variable lengths, block-sparse layouts, head_dim 96 and 256.
  TemplateSupport support(const ParamValues&) const override {
    TemplateSupport s;
    s.head_dims.assign(std::begin(fa2_bwd::kHeadDims), std::end(fa2_bwd::kHeadDims));
    s.passes = {Pass::bwd};
    s.grouped_heads = s.unequal_lengths = s.window = true;
    s.layouts = {Layout::bhsd, Layout::bshd};
    return s;
  }
  std::optional<std::string> invalid_reason(const ParamValues& v, const ProblemVariant& pv) const override {
    if (auto bad = check_params(*this, v)) return bad;
    return fa2_bwd::invalid_reason(instance(v, pv));
  }
  std::string name_expression(const ParamValues& v, const ProblemVariant& pv) const override {
    return checked(v, pv).name_expression();
  }
  std::vector<std::string> name_expressions(const ParamValues& v, const ProblemVariant& pv) const override {
    const Fa2BwdInstance inst = checked(v, pv);
    return {inst.preprocess_expression(), inst.name_expression(),
            inst.config.dq_mode == 1 ? inst.dq_expression() : inst.convert_expression()};
  }
  // The largest of the kernels' (the main one's, or the dQ pass's).
  int smem_bytes(const ParamValues& v, const ProblemVariant& pv) const override {
    const Fa2BwdConfig c = checked(v, pv).config;
    const int main = fa2_bwd::smem_bytes(c, pv.head_dim);
    return c.dq_mode == 1 ? std::max(main, fa2_bwd::dq_smem_bytes(c, pv.head_dim)) : main;
  }
  // The main kernel: a CTA per (key tile, batch * kv_heads).
  KernelLaunch launch(const ParamValues& v, const AttentionProblem& p) const override {
    const Fa2BwdInstance inst = checked(v, variant_of(p));
    KernelLaunch l;
    l.grid[0] = static_cast<unsigned>((p.keys() + inst.config.block_n - 1) / inst.config.block_n);
    l.grid[1] = static_cast<unsigned>(p.batch * p.num_kv_heads());
    l.threads = static_cast<unsigned>(fa2_bwd::threads(inst.config));
    l.dynamic_smem = fa2_bwd::smem_bytes(inst.config, p.head_dim);
    return l;
  }
  // Preprocess and conversion: one warp per query row, four rows per 128-thread block. The dQ pass (dq_mode
  // 1): a CTA of a warp per 16 rows per (query tile, batch * heads).
  std::vector<KernelLaunch> launches(const ParamValues& v, const AttentionProblem& p) const override {
    KernelLaunch rows;
    rows.grid[0] = static_cast<unsigned>((static_cast<long long>(p.batch) * p.heads * p.seqlen + 3) / 4);
    rows.threads = 128;
    const Fa2BwdConfig c = to_config(v);
    if (c.dq_mode != 1) return {rows, launch(v, p), rows};
    KernelLaunch dq;
    dq.grid[0] = static_cast<unsigned>((p.seqlen + c.block_m - 1) / c.block_m);
    dq.grid[1] = static_cast<unsigned>(p.batch * p.heads);
    dq.threads = static_cast<unsigned>(2 * c.block_m);
    dq.dynamic_smem = fa2_bwd::dq_smem_bytes(c, p.head_dim);
    return {rows, launch(v, p), dq};
  }
  std::size_t workspace_bytes(const ParamValues&, const AttentionProblem& p) const override {
    return static_cast<std::size_t>(
        fa2_bwd::workspace_bytes(static_cast<long long>(p.batch) * p.heads, p.seqlen, p.head_dim));
  }

 private:
  static Fa2BwdInstance instance(const ParamValues& v, const ProblemVariant& pv) {
    return {to_config(v), pv.head_dim, pv.dtype, pv.causal, pv.bits()};
  }
  Fa2BwdInstance checked(const ParamValues& v, const ProblemVariant& pv) const {
    require_valid(v, pv);
    return instance(v, pv);
  }
};

}  // namespace

const KernelTemplate& fa2_bwd_template() {
  static const Fa2BwdTemplate t;
  return t;
}

namespace {
const KernelTemplate& self() {
  return fa2_bwd_template();
}
}  // namespace

}  // namespace flashtune
