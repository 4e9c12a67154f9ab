// fa1_fwd as a KernelTemplate: the catalog's view of kernel_templates/fa1_fwd.cuh (FlashAttention-1,
// Algorithm 1: outer loop over K/V blocks, O and the row statistics in HBM). One kernel, one CTA per
// (batch, head). The rules below mirror Fa1Traits' static_asserts.
#include <fmt/format.h>

#include "core/error.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/tiling_rules.hpp"
#include "smem_bytes.h"

namespace flashtune {
namespace {

struct Fa1Config {
  int block_m = 64;
  int block_n = 64;
  int warps = 4;

  static Fa1Config of(const ParamValues& v) {
    return {static_cast<int>(v.at("block_m")), static_cast<int>(v.at("block_n")),
            static_cast<int>(v.at("warps"))};
  }
  int smem(int d) const { return fa1_smem_bytes(block_m, block_n, d); }  // Fa1Traits::kSmemBytes
};

class Fa1Template final : public KernelTemplate {
 public:
  std::string_view id() const override { return "fa1_fwd"; }
  std::string_view source_file() const override { return "fa1_fwd.cuh"; }
  std::string_view summary() const override {
    return "FlashAttention-1 forward (Algorithm 1): outer loop over K/V blocks, one CTA per (batch, head), "
           "O, m, l in HBM; mma.sync + ldmatrix + cp.async";
  }
  const std::vector<ParamSpec>& params() const override {
    static const std::vector<ParamSpec> specs = {
        {"block_m", 16, 512, 64, "query rows per inner step (a multiple of 16 * warps)"},
        {"block_n", 16, 512, 64, "key/value rows per outer step (a multiple of 16)"},
        {"warps", 1, 32, 4, "warps per CTA; each owns block_m / warps query rows of every block"},
    };
    return specs;
  }

  std::optional<std::string> invalid_reason(const ParamValues& v, const ProblemVariant& pv) const override {
    if (auto bad = check_params(*this, v)) return bad;
    const Fa1Config c = Fa1Config::of(v);
    const int d = pv.head_dim;
    if (auto bad = tile_reason(d, c.block_m, c.block_n, c.warps, 16)) return bad;
    return smem_limit_reason(c.smem(d));
  }

  std::string name_expression(const ParamValues& v, const ProblemVariant& pv) const override {
    const Fa1Config c = checked(v, pv);
    return fmt::format("flashtune::fa1_fwd<flashtune::Fa1Traits<{}, {}, {}, {}>, {}, {}>", c.block_m,
                       c.block_n, pv.head_dim, c.warps, pv.causal ? "true" : "false",
                       cuda_type_name(pv.dtype));
  }

  int smem_bytes(const ParamValues& v, const ProblemVariant& pv) const override {
    return checked(v, pv).smem(pv.head_dim);
  }

  KernelLaunch launch(const ParamValues& v, const AttentionProblem& p) const override {
    const Fa1Config c = checked(v, variant_of(p));
    KernelLaunch l;
    l.grid[0] = static_cast<unsigned>(p.batch * p.heads);
    l.threads = static_cast<unsigned>(c.warps * 32);
    l.dynamic_smem = c.smem(p.head_dim);
    return l;
  }

  // O [B·H·N·d] fp32, then m and l [B·H·N] fp32 each.
  std::size_t workspace_bytes(const ParamValues& v, const AttentionProblem& p) const override {
    (void)v;
    const std::size_t rows = static_cast<std::size_t>(p.batch) * static_cast<std::size_t>(p.heads) *
                             static_cast<std::size_t>(p.seqlen);
    return rows * (static_cast<std::size_t>(p.head_dim) + 2) * sizeof(float);
  }

 private:
  Fa1Config checked(const ParamValues& v, const ProblemVariant& pv) const {
    require_valid(v, pv);
    return Fa1Config::of(v);
  }
};

}  // namespace

const KernelTemplate& fa1_template() {
  static const Fa1Template t;
  return t;
}

}  // namespace flashtune
