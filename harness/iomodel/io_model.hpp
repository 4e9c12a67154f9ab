#pragma once
// How many bytes one forward attention moves, per template (docs/io-model.md has the derivations).
//
//   ModelInputs in{.template_id = "fa2_fwd", .problem = p,
//                  .params = {{"block_m", 128}, {"block_n", 64}, {"stages", 2}, {"warps", 8}}};
//   Traffic req = requested_bytes(in);  // exact: what the kernels load and store
//   IoEstimate io = estimate(in);       // + DRAM (an estimate) and L2 (a calibrated linear model)
//
// Notation, per (batch, head): N = seqlen, d = head_dim, e = 2 bytes (bf16/fp16), bm = block_m,
// bn = block_n, Tr = ceil(N/bm), Tc = ceil(N/bn). Partial tiles move only their valid rows. Everything is
// multiplied by batch·heads.
//
// REQUESTED bytes (global loads and stores; the templates are written to this contract):
//   fa2_fwd        reads Q N·d·e; K and V each (sum over query tiles i of the key rows tile i loads)·d·e,
//                  tile i loading N rows, or min(N, ceil((i+1)·bm/bn)·bn) when causal;
//                  writes O N·d·e, LSE N·4. The variants (grouped heads, seqlen_k = Nk, windows): tile i
//                  loads the key blocks [first, last) of block_range.h's KeyMask, min(Nk, last·bn) −
//                  first·bn rows; a query head's CTAs load its key/value head's rows (requested bytes do not
//                  fall with the group: the L2 shares them, below). Block-sparse: tile i loads only the key
//                  blocks of its layout row's kept blocks inside [first, last), so K and V's requested bytes
//                  fall with the density. splits > 1 (split-K/V): each split
//                  writes its partial O and LSE in fp32, splits·N·(d+1)·4, and the combine kernel reads
//                  them back.
//   standard_attn  scores:  reads Q Tc·N·d·e, K Tr·N·d·e; writes S N·N·4 (fp32).
//                  softmax: reads S N·N·4; writes P N·N·e, LSE N·4.
//                  P·V:     reads P N·N·e, V Tr·N·d·e; writes O N·d·e. Causal moves the same bytes.
//   fa1_fwd        outer loop over key blocks j, inner over query blocks i; O (fp32), m, l live in HBM.
//                  Query block i (r_i rows) visits the key blocks it sees (all Tc; causal: those with
//                  j·bn <= its last row); per visit it reads Q r_i·d·e and writes O r_i·d·4, m and l r_i·4
//                  each, and each visit but the first (j = 0) also reads O, m, l. K and V are read once
//                  (N·d·e each). A final pass reads O, m, l (N·d·4 + 2·N·4), writes O N·d·e and LSE N·4.
//
// DRAM bytes: an ESTIMATE in two regimes per re-read stream. When the re-read data of the CTAs in flight
// fit in the usable part of the L2 (l2_usable_fraction·l2_bytes, 0.75 by default: the rest holds the
// streams that pass through and lines of other heads), each byte comes from DRAM once; otherwise every
// request goes to DRAM. "In flight" assumes the grid's first dimension is the fastest (CTAs of one head
// run together) and slots = sm_count·blocks_per_sm CTAs resident; heads in flight never exceed
// batch·heads.
//   fa2_fwd        heads in flight = ceil(slots / Tr), each with K and V (2·Nk·d·e); grouped heads: the
//                  heads in flight share ceil(heads in flight / group) key/value heads.
//                  Fit: DRAM = compulsory_traffic(). Else DRAM = requested.
//   standard_attn  S and P always go to DRAM when written; their reads hit L2 only when all of S and P
//                  (B·H·N²·(4+e)) fit. Scores: one CTA per S tile, heads in flight = ceil(slots/(Tr·Tc)),
//                  each with Q and K (2·N·d·e); fit: Q and K read once. P·V: one CTA per query tile, heads
//                  in flight = ceil(slots / Tr), each with V (N·d·e); fit: V read once.
//   fa1_fwd        one CTA per head, heads in flight = slots, each re-reading O, m, l and Q
//                  (N·d·4 + 2·N·4 + N·d·e). Fit: Q, K, V read once, O, m, l written back once (the L2 is
//                  write-back), the final pass reads O, m, l from DRAM unless all heads' O, m, l fit.
//                  Else DRAM = requested.
// The model ignores L2 hits between heads not in flight together, partial fits and the L2's set
// associativity: the report's model-vs-measured table says how far off it is.
//
// L2 bytes: L2Calibration (l2_calibration.hpp) applied to (requested, DRAM).
#include <string>
#include <string_view>

#include "core/problem.hpp"
#include "iomodel/l2_calibration.hpp"
#include "iomodel/traffic.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune::iomodel {

struct IoEstimate {
  Traffic requested;
  Traffic dram;
  double l2_bytes = 0;
  std::string dram_assumption;  // which regime each stream is in, and why ("K/V of 8 heads in flight ...")
};

struct ModelInputs {
  std::string template_id;  // fa2_fwd | fa1_fwd | standard_attn
  AttentionProblem problem;
  ParamValues params;               // block_m and block_n are read; other parameters do not change the bytes
  long long l2_bytes = 50LL << 20;  // the GPU's L2 (H100: 50 MiB)
  int sm_count = 132;
  int blocks_per_sm = 1;
  double l2_usable_fraction = 0.75;  // of l2_bytes, for the working sets that decide a regime
};

// True for the templates this model knows.
bool models_template(std::string_view template_id);

// The data-movement contract above, exact to the byte. Throws Error(invalid_argument) for an unknown template
// or a missing / non-positive block_m or block_n.
Traffic requested_bytes(const ModelInputs& in);

// Requested (exact), DRAM (estimate) and L2 (calibrated model) bytes. Throws like requested_bytes.
IoEstimate estimate(const ModelInputs& in, const L2Calibration& cal = {});

// The FlashAttention paper's IO complexity Theta(N²d²/M) for SRAM of M elements, written as
// e·B·H·N²·d²/M_elems with M_elems = sram_bytes/e and the constant factor 1: a SHAPE to compare slopes
// against (proportional to N², to d², to 1/M), not a prediction of bytes. Throws Error(invalid_argument) for
// sram_bytes
// <= 0.
double paper_bound_bytes(const AttentionProblem& p, double sram_bytes);

// The least any forward can move: Q read once (N·d·e per query head), K and V once (2·Nk·d·e per key/value
// head), O and LSE written once (N·d·e + N·4 per query head); compulsory_bytes() is its total.
Traffic compulsory_traffic(const AttentionProblem& p);
double compulsory_bytes(const AttentionProblem& p);

}  // namespace flashtune::iomodel
