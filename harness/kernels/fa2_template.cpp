// fa2_fwd as a KernelTemplate: the catalog's view of kernel_templates/fa2_fwd.cuh, over fa2_config.hpp.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "core/error.hpp"
#include "kernels/fa2_config.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune {

const KernelTemplate& fa2_template();

ParamValues to_params(const Fa2Config& c) {
  ParamValues v{{"block_m", c.block_m}, {"block_n", c.block_n}, {"warps", c.warps}, {"stages", c.stages}};
  const std::pair<const char*, int> optional[] = {
      {"q_regs", c.q_regs},         {"pipeline", c.pipeline},
      {"min_blocks", c.min_blocks}, {"lazy_rescale", c.lazy_rescale},
      {"persistent", c.persistent}, {"fuse_pv", c.fuse_pv},
      {"splits", c.splits}};
  for (const auto& [name, value] : optional)
    if (value != param_or_default(fa2_template(), {}, name)) v[name] = value;
  return v;
}

namespace {

Fa2Config to_config(const ParamValues& v) {
  Fa2Config c{static_cast<int>(v.at("block_m")), static_cast<int>(v.at("block_n")),
              static_cast<int>(v.at("warps")), static_cast<int>(v.at("stages"))};
  c.q_regs = static_cast<int>(param_or_default(fa2_template(), v, "q_regs"));
  c.pipeline = static_cast<int>(param_or_default(fa2_template(), v, "pipeline"));
  c.min_blocks = static_cast<int>(param_or_default(fa2_template(), v, "min_blocks"));
  c.lazy_rescale = static_cast<int>(param_or_default(fa2_template(), v, "lazy_rescale"));
  c.persistent = static_cast<int>(param_or_default(fa2_template(), v, "persistent"));
  c.fuse_pv = static_cast<int>(param_or_default(fa2_template(), v, "fuse_pv"));
  c.splits = static_cast<int>(param_or_default(fa2_template(), v, "splits"));
  return c;
}

class Fa2Template final : public KernelTemplate {
 public:
  std::string_view id() const override { return fa2::kTemplateId; }
  std::string_view source_file() const override { return fa2::kTemplateFile; }
  std::string_view summary() const override {
    return "FlashAttention-2 forward: outer loop over query tiles, O in registers, mma.sync + ldmatrix + "
           "cp.async";
  }
  const std::vector<ParamSpec>& params() const override {
    static const std::vector<ParamSpec> specs = {
        {"block_m", 16, 512, 128, "query rows per CTA (a multiple of 16 * warps)"},
        {"block_n", 16, 512, 64, "key/value rows per pipeline stage (a multiple of 16)"},
        {"stages", 1, 4, 2, "K/V tiles in flight (shared-memory ring depth)"},
        {"warps", 1, 32, 8, "warps per CTA; each owns block_m / warps query rows"},
        {"q_regs", 0, 2, 2,
         "Q's mma fragments: 0 re-read from shared memory every tile, 1 kept in registers, 2 registers when "
         "they cost <= 32",
         false},
        {"pipeline", 0, 1, 0,
         "loop schedule: 0 tile by tile; 1 software-pipelined (Q K_{j+1}^T issued before P_j V_j, the "
         "softmax "
         "of one tile overlapping the other's mma; needs stages >= 2)",
         false},
        {"min_blocks", 1, 4, 1,
         "__launch_bounds__ minimum CTAs per SM: above 1 caps registers at 65536 / (threads * min_blocks) "
         "for "
         "occupancy (ptxas may spill)",
         false},
        {"lazy_rescale", 0, 2, 0,
         "1: skip O *= alpha (a warp-uniform branch) when no row max of the warp grew; 2: as 1, and a row's "
         "exponent base moves only when its max outgrows it by 2^8 (probabilities up to 256), so O is "
         "almost never rescaled after the first tiles; exact in exact arithmetic either way",
         false},
        {"persistent", 0, 1, 0,
         "1: one CTA per resident slot (132 SMs x CTAs per SM) loops over the query tiles, the next tile's Q "
         "and first K prefetched under the current tile (a second Q buffer); needs stages 1, pipeline 0",
         false},
        {"fuse_pv", 0, 1, 0,
         "1: the softmax and P V in one block, k16 step by step, O rescaled column tile by column tile (the "
         "exponentials of one step issue under the mma of the previous); needs pipeline 0, persistent 0",
         false},
        {"splits", 1, 64, 1,
         "> 1: split-K/V (flash-decoding): each query tile's key blocks are split over this many CTAs, which "
         "write fp32 partials to a workspace that a second kernel (fa2_combine) merges; for few query tiles "
         "and many keys (decode); needs pipeline 0, persistent 0",
         false},
    };
    return specs;
  }
  // The winners of search_spaces/fa2_perf.yaml on the H100 (results/h100/README.md): block_m 128, 4 warps,
  // one stage, softmax fused with P V, lazy rescaling with slack, Q re-read from shared memory; block_n 128
  // at d 64 and 64 at d 128. d 96 (not tuned, not yet run on a GPU) takes d 128's: block_n 64. The variants
  // take 8 warps (16 query rows each): with 4, a window, the cap or a block-sparse layout with the general
  // addressing spilled 28 to 132 bytes (d 64, 96, 128; compile-checked, not yet timed against 4).
  ParamValues default_config(const ProblemVariant& pv) const override {
    return {{"block_m", 128},
            {"block_n", pv.head_dim == 64 ? 128 : 64},
            {"warps", pv.bits() != 0 ? 8 : 4},
            {"stages", 1},
            {"q_regs", 0},
            {"lazy_rescale", 2},
            {"fuse_pv", 1}};
  }
  // Head dims 64, 96 and 128 (fa2::kHeadDims), every schedule. The one-tile, unpipelined schedule
  // (persistent 0, pipeline 0) runs every variant: grouped key/value heads, unequal lengths (causal
  // bottom-right), a window, softcap, the bshd layout, variable lengths (thd), block-sparse layouts whose
  // block is a multiple of block_m and block_n.
  TemplateSupport support(const ParamValues& v) const override {
    TemplateSupport s;
    s.head_dims.assign(std::begin(fa2::kHeadDims), std::end(fa2::kHeadDims));
    const Fa2Config c = to_config(v);
    if (c.persistent == 0 && c.pipeline == 0) {
      s.grouped_heads = s.unequal_lengths = s.window = s.softcap = true;
      s.layouts = {Layout::bhsd, Layout::bshd, Layout::thd};
      s.sparse_tile_m = c.block_m;
      s.sparse_tile_n = c.block_n;
    }
    return s;
  }
  std::optional<std::string> invalid_reason(const ParamValues& v, const ProblemVariant& pv) const override {
    if (auto bad = check_params(*this, v)) return bad;
    return fa2::invalid_reason({to_config(v), pv.head_dim, pv.dtype, pv.causal, pv.bits()});
  }
  std::string name_expression(const ParamValues& v, const ProblemVariant& pv) const override {
    return checked(v, pv).name_expression();
  }
  std::vector<std::string> name_expressions(const ParamValues& v, const ProblemVariant& pv) const override {
    const Fa2Instance inst = checked(v, pv);
    if (inst.config.splits <= 1) return {inst.name_expression()};
    return {inst.name_expression(), inst.combine_expression()};
  }
  std::vector<KernelLaunch> launches(const ParamValues& v, const AttentionProblem& p) const override {
    const KernelLaunch main = launch(v, p);
    const Fa2Config c = to_config(v);
    if (c.splits <= 1) return {main};
    // fa2_combine: one warp per query row, four rows per block.
    KernelLaunch combine;
    const long long rows = static_cast<long long>(p.batch) * p.heads * p.seqlen;
    combine.grid[0] = static_cast<unsigned>((rows + 3) / 4);
    combine.threads = 128;
    return {main, combine};
  }
  std::size_t workspace_bytes(const ParamValues& v, const AttentionProblem& p) const override {
    return fa2::workspace_bytes(to_config(v), p);
  }
  int smem_bytes(const ParamValues& v, const ProblemVariant& pv) const override {
    return fa2::smem_bytes(checked(v, pv).config, pv.head_dim);
  }
  KernelLaunch launch(const ParamValues& v, const AttentionProblem& p) const override {
    const Fa2Instance inst = checked(v, variant_of(p));
    KernelLaunch l;
    const long long m_blocks = (p.seqlen + inst.config.block_m - 1) / inst.config.block_m;
    if (inst.config.persistent) {
      l.grid[0] = static_cast<unsigned>(
          std::min<long long>(m_blocks * p.batch * p.heads, fa2::persistent_ctas(inst.config, p.head_dim)));
    } else {
      l.grid[0] = static_cast<unsigned>(m_blocks);
      l.grid[1] = static_cast<unsigned>(p.batch * p.heads);
      l.grid[2] = static_cast<unsigned>(inst.config.splits);
    }
    l.threads = static_cast<unsigned>(fa2::threads(inst.config));
    l.dynamic_smem = fa2::smem_bytes(inst.config, p.head_dim);
    return l;
  }

 private:
  Fa2Instance checked(const ParamValues& v, const ProblemVariant& pv) const {
    require_valid(v, pv);
    return Fa2Instance{to_config(v), pv.head_dim, pv.dtype, pv.causal, pv.bits()};
  }
};

}  // namespace

const KernelTemplate& fa2_template() {
  static const Fa2Template t;
  return t;
}

}  // namespace flashtune
