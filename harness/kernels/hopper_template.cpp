// hopper_fwd as a KernelTemplate: the catalog's view of kernel_templates/hopper_fwd.cuh (FlashAttention-3
// style: a TMA producer warpgroup and 1..3 wgmma consumer warpgroups, sm_90a only). The rules below mirror
// HopperTraits' static_asserts and hopper_fwd's kVariant asserts; the kernel takes three TMA tensor maps (Q,
// K, V) after AttentionParams.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "core/error.hpp"
#include "kernels/kernel_template.hpp"
#include "kernels/resource_check.hpp"
#include "kernels/tiling_rules.hpp"
#include "smem_bytes.h"
#include "wgmma_shapes.h"

namespace flashtune {
namespace {

// HopperTraits' static_assert: 64, 128 and 256 in 64-column panels (128-byte swizzle), 96 in 32-column ones
// (64-byte swizzle).
constexpr int kHeadDims[] = {64, 96, 128, 256};

// A TMA box's columns at head_dim d: HopperTraits::kPanelCols; its swizzle is that many columns' bytes.
int panel_cols(int d) {
  return d % 64 == 0 ? 64 : 32;
}

// "64, 96, ..., 256": the wgmma N values of wgmma_shapes.h (generated with the instructions).
std::string wgmma_n_list() {
  std::string s;
  for (int n : kWgmmaN) s += (s.empty() ? "" : ", ") + std::to_string(n);
  return s;
}

struct HopperConfig {
  int block_n = 128;
  int stages = 2;
  int consumer_wgs = 2;
  bool pingpong = false;
  bool persistent = false;

  // pingpong and persistent came later: a configuration without them takes their defaults (0).
  static HopperConfig of(const KernelTemplate& t, const ParamValues& v) {
    return {static_cast<int>(v.at("block_n")), static_cast<int>(v.at("stages")),
            static_cast<int>(v.at("consumer_wgs")), param_or_default(t, v, "pingpong") != 0,
            param_or_default(t, v, "persistent") != 0};
  }
  int block_m() const { return 64 * consumer_wgs; }
  int threads() const { return 128 * (1 + consumer_wgs); }
  int smem(int d) const {
    return hopper_smem_bytes(block_n, d, consumer_wgs, stages);
  }  // HopperTraits::kSmemBytes
};

class HopperTemplate final : public KernelTemplate {
 public:
  std::string_view id() const override { return "hopper_fwd"; }
  std::string_view source_file() const override { return "hopper_fwd.cuh"; }
  std::string_view summary() const override {
    return "FlashAttention forward for Hopper (sm_90a): TMA producer warpgroup, wgmma consumer warpgroups "
           "(setmaxnreg), mbarrier pipeline, softmax overlapped with P V, optional ping-pong and persistent "
           "grid";
  }
  const std::vector<ParamSpec>& params() const override {
    static const std::vector<ParamSpec> specs = {
        {"block_n", 64, 256, 128, "key/value rows per pipeline stage, a wgmma N (" + wgmma_n_list() + ")"},
        {"consumer_wgs", 1, 3, 2, "consumer warpgroups of 64 query rows each (block_m = 64 * consumer_wgs)"},
        {"stages", 1, 4, 2, "K/V tiles in flight (shared-memory ring depth)"},
        {"pingpong", 0, 1, 0,
         "1: consumer warpgroups take turns issuing GEMMs (named barriers), one's softmax under the other's "
         "GEMMs; needs consumer_wgs >= 2",
         false},
        {"persistent", 0, 1, 0,
         "1: 132 CTAs loop over the query tiles (the next tile's K/V loads overlap this tile's epilogue)",
         false},
    };
    return specs;
  }

  // The winners of search_spaces/hopper_fwd.yaml on the H100 (results/h100/README.md): ping-pong; d 64: three
  // consumer warpgroups, d 128: two; block_n 128, two stages; persistent unless causal or a variant (which
  // run the one-tile grid). Softcap at d 64: two consumer warpgroups (with three, 160 registers each, the cap
  // spilled). d 256: one consumer warpgroup over 64-key tiles, no ping-pong (O's 128 accumulator registers
  // per thread: two warpgroups, compiled for 168 registers before setmaxnreg raises them, spilled 8 bytes;
  // one keeps 255). d 96 (not tuned, not yet run on a GPU) takes d 128's: O is 48 accumulator registers per
  // thread instead of 64. Block-sparse at d 64: two consumer warpgroups, so that the 128-row query tile fits
  // the common 128-position layout blocks.
  ParamValues default_config(const ProblemVariant& pv) const override {
    const bool d256 = pv.head_dim == 256;
    return {{"block_n", d256 ? 64 : 128},
            {"consumer_wgs", d256                                                   ? 1
                             : pv.head_dim == 64 && !pv.softcap && !pv.block_sparse ? 3
                                                                                    : 2},
            {"stages", 2},
            {"pingpong", d256 ? 0 : 1},
            {"persistent", pv.causal || pv.bits() != 0 ? 0 : 1}};
  }
  // Head dims 64, 96, 128 and 256, every configuration. The one-tile grid (persistent 0) runs every
  // variant: grouped key/value heads, unequal lengths (causal bottom-right), a window, softcap, the bshd
  // layout (4-D tensor maps by strides), variable lengths (thd: the maps span the packed rows), block-sparse
  // layouts whose block is a multiple of block_m (64 * consumer_wgs) and block_n.
  TemplateSupport support(const ParamValues& v) const override {
    TemplateSupport s;
    s.head_dims.assign(std::begin(kHeadDims), std::end(kHeadDims));
    if (param_or_default(*this, v, "persistent") == 0) {
      s.grouped_heads = s.unequal_lengths = s.window = s.softcap = true;
      s.layouts = {Layout::bhsd, Layout::bshd, Layout::thd};
      s.sparse_tile_m = 64 * static_cast<int>(param_or_default(*this, v, "consumer_wgs"));
      s.sparse_tile_n = static_cast<int>(param_or_default(*this, v, "block_n"));
    }
    return s;
  }
  std::optional<std::string> unsupported_arch(std::string_view arch) const override {
    if (arch == "sm_90a") return std::nullopt;
    return fmt::format("hopper_fwd needs sm_90a (wgmma, setmaxnreg, TMA), not {}", arch);
  }

  std::optional<std::string> invalid_reason(const ParamValues& v, const ProblemVariant& pv) const override {
    if (auto bad = check_params(*this, v)) return bad;
    const HopperConfig c = HopperConfig::of(*this, v);
    if (auto bad = head_dim_reason(pv.head_dim, kHeadDims)) return bad;
    if (c.block_n % 16 != 0) return fmt::format("block_n {} is not a multiple of 16", c.block_n);
    if (!wgmma_has_n(c.block_n))
      return fmt::format("block_n {} is not one of {} (wgmma_shapes.h)", c.block_n, wgmma_n_list());
    if (c.pingpong && c.consumer_wgs < 2)
      return fmt::format("pingpong needs 2 or 3 consumer warpgroups, not {}", c.consumer_wgs);
    if (pv.bits() != 0 && c.persistent)
      return fmt::format("the attention variants ({}) run persistent 0", to_string(pv));
    if (pv.varlen && pv.block_sparse) return "block-sparse layouts and variable lengths do not combine";
    return smem_limit_reason(c.smem(pv.head_dim));
  }

  std::string name_expression(const ParamValues& v, const ProblemVariant& pv) const override {
    const HopperConfig c = checked(v, pv);
    return fmt::format("flashtune::hopper_fwd<flashtune::HopperTraits<{}, {}, {}, {}, {}, {}>, {}, {}{}>",
                       c.block_n, pv.head_dim, c.consumer_wgs, c.stages, c.pingpong, c.persistent, pv.causal,
                       cuda_type_name(pv.dtype), pv.bits() != 0 ? fmt::format(", {}", pv.bits()) : "");
  }

  int smem_bytes(const ParamValues& v, const ProblemVariant& pv) const override {
    return checked(v, pv).smem(pv.head_dim);
  }

  KernelLaunch launch(const ParamValues& v, const AttentionProblem& p) const override {
    const HopperConfig c = checked(v, variant_of(p));
    KernelLaunch l;
    const long long m_blocks = (p.seqlen + c.block_m() - 1) / c.block_m();
    if (c.persistent) {
      l.grid[0] = static_cast<unsigned>(std::min<long long>(m_blocks * p.batch * p.heads, kPersistentSms));
    } else {
      l.grid[0] = static_cast<unsigned>(m_blocks);
      l.grid[1] = static_cast<unsigned>(p.batch * p.heads);
    }
    l.threads = static_cast<unsigned>(c.threads());
    l.dynamic_smem = c.smem(p.head_dim);
    return l;
  }

  // HopperTensorMaps: Q in boxes of block_m rows, K and V in boxes of block_n rows, 64 columns each with the
  // 128-byte swizzle, or at d 96 32 columns with the 64-byte one (rank 3, or 4 for the general variant:
  // run/attention_tensor_maps.hpp).
  std::vector<TensorMapRequest> tensor_maps(const ParamValues& v, const ProblemVariant& pv) const override {
    const HopperConfig c = checked(v, pv);
    using T = TensorMapRequest::Tensor;
    const int cols = panel_cols(pv.head_dim);
    return {{T::q, c.block_m(), cols, 2 * cols},
            {T::k, c.block_n, cols, 2 * cols},
            {T::v, c.block_n, cols, 2 * cols}};
  }

 private:
  HopperConfig checked(const ParamValues& v, const ProblemVariant& pv) const {
    require_valid(v, pv);
    return HopperConfig::of(*this, v);
  }
};

}  // namespace

const KernelTemplate& hopper_template() {
  static const HopperTemplate t;
  return t;
}

}  // namespace flashtune
