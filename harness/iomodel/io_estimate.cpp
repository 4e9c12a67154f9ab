// The DRAM estimate, the L2 model, the compulsory traffic and the paper's bound (io_model.hpp states the
// assumptions; docs/io-model.md derives them).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.hpp"
#include "iomodel/detail/tiling.hpp"
#include "iomodel/io_model.hpp"

namespace flashtune::iomodel {
namespace {
using detail::HeadBytes;
using detail::Tiling;
using detail::times_heads;

std::string bytes_text(double b) {
  if (b >= 1024.0 * 1024 * 1024) return fmt::format("{:.3g} GiB", b / (1024.0 * 1024 * 1024));
  if (b >= 1024.0 * 1024) return fmt::format("{:.3g} MiB", b / (1024.0 * 1024));
  if (b >= 1024.0) return fmt::format("{:.3g} KiB", b / 1024.0);
  return fmt::format("{:.0f} B", b);
}

// The part of the L2 that the regime tests use, and how many CTAs are resident at once.
struct L2Room {
  double usable = 0;
  double slots = 1;
  std::string text;  // "37.5 MiB usable L2 (0.75 x 50 MiB)"
};

L2Room room_of(const ModelInputs& in) {
  if (in.l2_bytes <= 0 || in.sm_count <= 0 || !(in.l2_usable_fraction > 0 && in.l2_usable_fraction <= 1))
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("io model: l2_bytes {}, sm_count {}, l2_usable_fraction {} (need positive values, "
                    "the fraction at most 1)",
                    in.l2_bytes, in.sm_count, in.l2_usable_fraction));
  L2Room r;
  r.usable = in.l2_usable_fraction * static_cast<double>(in.l2_bytes);
  r.slots = static_cast<double>(in.sm_count) * std::max(1, in.blocks_per_sm);
  r.text = fmt::format("{} usable L2 ({:g} x {})", bytes_text(r.usable), in.l2_usable_fraction,
                       bytes_text(static_cast<double>(in.l2_bytes)));
  return r;
}

// Heads whose CTAs are resident together when each head has `ctas_per_head` CTAs, capped by batch·heads.
double heads_in_flight(const L2Room& room, double ctas_per_head, double heads) {
  return std::min(heads, std::ceil(room.slots / ctas_per_head));
}

struct Fit {
  bool fits = false;
  std::string text;  // "K, V of 3 heads in flight (3 x 256 KiB) fit in 37.5 MiB usable L2 (...)"
};

Fit working_set(const char* what, double heads, double per_head, const L2Room& room) {
  const bool fits = heads * per_head <= room.usable;
  return {fits,
          fmt::format("{} of {:g} head{} in flight ({:g} x {}) {} {}", what, heads, heads == 1 ? "" : "s",
                      heads, bytes_text(per_head), fits ? "fit in" : "exceed", room.text)};
}

void estimate_fa2(const ModelInputs& in, const Tiling& t, IoEstimate& io) {
  const L2Room room = room_of(in);
  // Grouped heads: the query heads in flight share ceil(heads / group) key/value heads (consecutive query
  // heads map to one key/value head).
  const double kv_heads = std::ceil(heads_in_flight(room, static_cast<double>(t.tr), t.heads) / t.group);
  const Fit kv = working_set(t.group > 1 ? "K, V (key/value heads)" : "K, V", kv_heads,
                             static_cast<double>(2 * t.nk * t.d * t.e), room);
  io.dram = kv.fits ? compulsory_traffic(in.problem) : io.requested;
  io.dram_assumption =
      fmt::format("fa2_fwd: {}: DRAM = {}", kv.text,
                  kv.fits ? "compulsory (Q, K, V read once; O, LSE written once)" : "requested");
}

void estimate_standard(const ModelInputs& in, const Tiling& t, IoEstimate& io) {
  const L2Room room = room_of(in);
  const detail::StandardParts s = detail::standard_requested(t);
  const std::int64_t qkv = t.n * t.d * t.e;
  // Scores: one CTA per bm x bn tile of S.
  const Fit qk = working_set("Q, K", heads_in_flight(room, static_cast<double>(t.tr * t.tc), t.heads),
                             static_cast<double>(2 * qkv), room);
  HeadBytes scores = s.scores;
  if (qk.fits) scores.read = 2 * qkv;
  // S and P: written to DRAM; read back from it unless all of them fit.
  const double sp_all = t.heads * static_cast<double>(t.n * t.n * (4 + t.e));
  const bool sp_fits = sp_all <= room.usable;
  HeadBytes softmax = s.softmax, pv = s.pv;
  if (sp_fits) softmax.read = 0;
  // P·V: one CTA per query tile.
  const Fit v = working_set("V", heads_in_flight(room, static_cast<double>(t.tr), t.heads),
                            static_cast<double>(qkv), room);
  pv.read = (sp_fits ? 0 : t.n * t.n * t.e) + (v.fits ? qkv : t.tr * qkv);
  io.dram = times_heads(scores, t.heads) + times_heads(softmax, t.heads) + times_heads(pv, t.heads);
  io.dram_assumption = fmt::format(
      "standard_attn: S, P written to DRAM; all of S, P ({}) {} {}, so their reads {}; scores: {}: Q, K {}; "
      "P·V: {}: V {}",
      bytes_text(sp_all), sp_fits ? "fit in" : "exceed", room.text, sp_fits ? "hit L2" : "come from DRAM",
      qk.text, qk.fits ? "read once" : "re-read from DRAM", v.text,
      v.fits ? "read once" : "re-read from DRAM");
}

void estimate_fa1(const ModelInputs& in, const Tiling& t, IoEstimate& io) {
  const L2Room room = room_of(in);
  const std::int64_t oml = t.n * t.d * 4 + 2 * t.n * 4;  // O (fp32), m, l of one head
  const std::int64_t qkv = t.n * t.d * t.e;
  // One CTA per head.
  const Fit ws =
      working_set("O, m, l, Q", heads_in_flight(room, 1.0, t.heads), static_cast<double>(oml + qkv), room);
  if (!ws.fits) {
    io.dram = io.requested;
    io.dram_assumption = fmt::format("fa1_fwd: {}: DRAM = requested", ws.text);
    return;
  }
  const bool final_fits = t.heads * static_cast<double>(oml) <= room.usable;
  const detail::Fa1Parts f = detail::fa1_requested(t, in.problem.causal);
  const HeadBytes main_loop = {.read = 3 * qkv, .write = oml};
  const HeadBytes final_pass = {.read = final_fits ? 0 : f.final_pass.read, .write = f.final_pass.write};
  io.dram = times_heads(main_loop, t.heads) + times_heads(final_pass, t.heads);
  io.dram_assumption = fmt::format(
      "fa1_fwd: {}: Q, K, V read once, O, m, l written back once; the final pass reads O, m, l from {}",
      ws.text, final_fits ? "L2 (all heads' fit)" : "DRAM");
}

// fa2_bwd: a key/value head's CTAs (one per key tile) re-read its group's Q, dO, LSE, D and add into its dQ
// accumulator. When those of the key/value heads in flight fit, the main loop moves each byte through DRAM
// once (K, V, Q, dO, LSE, D and the accumulator read once, dK, dV and the accumulator written once); else
// every request goes to DRAM. The preprocess and the conversion stream their rows once either way.
void estimate_fa2_bwd(const ModelInputs& in, const Tiling& t, IoEstimate& io) {
  const L2Room room = room_of(in);
  const std::int64_t n = t.n, nk = t.nk, d = t.d, e = t.e, g = t.group;
  const double kv_heads = t.heads / static_cast<double>(g);
  const double tiles = static_cast<double>((nk + t.bn - 1) / t.bn);
  const Fit ws =
      working_set("the group's Q, dO, LSE, D, dQ accumulator", heads_in_flight(room, tiles, kv_heads),
                  static_cast<double>(g * n * (2 * d * e + 8 + d * 4)), room);
  const detail::Fa2BwdParts b = detail::fa2_bwd_requested(t, in.problem.causal);
  HeadBytes main_loop = b.main_loop;
  if (ws.fits)
    main_loop = {.read = 2 * nk * d * e + g * (2 * n * d * e + 8 * n + n * d * 4),
                 .write = 2 * nk * d * e + g * n * d * 4};
  io.dram = times_heads(b.preprocess, kv_heads) + times_heads(main_loop, kv_heads) +
            times_heads(b.convert, kv_heads);
  io.dram_assumption = fmt::format("fa2_bwd: {}: the main loop's DRAM = {}", ws.text,
                                   ws.fits ? "each byte once" : "requested");
}

}  // namespace

IoEstimate estimate(const ModelInputs& in, const L2Calibration& cal) {
  const Tiling t = detail::tiling_of(in);
  IoEstimate io;
  io.requested = requested_bytes(in);
  if (in.template_id == "fa2_fwd")
    estimate_fa2(in, t, io);
  else if (in.template_id == "standard_attn")
    estimate_standard(in, t, io);
  else if (in.template_id == "fa2_bwd")
    estimate_fa2_bwd(in, t, io);
  else
    estimate_fa1(in, t, io);
  io.l2_bytes = cal.l2_bytes(io.requested, io.dram);
  return io;
}

double paper_bound_bytes(const AttentionProblem& p, double sram_bytes) {
  if (!(sram_bytes > 0))
    throw Error(ErrorKind::invalid_argument, fmt::format("paper_bound_bytes: sram_bytes = {}", sram_bytes));
  const double e = static_cast<double>(element_bytes(p.dtype));
  const double n = p.seqlen, d = p.head_dim;
  const double m_elems = sram_bytes / e;
  return e * static_cast<double>(p.batch) * p.heads * n * n * d * d / m_elems;
}

Traffic compulsory_traffic(const AttentionProblem& p) {
  const double e = static_cast<double>(element_bytes(p.dtype));
  if (p.varlen()) {  // every sequence's rows once
    const double q = static_cast<double>(p.total_q()), k = static_cast<double>(p.total_k());
    return {p.heads * q * p.head_dim * e + p.num_kv_heads() * 2 * k * p.head_dim * e,
            p.heads * (q * p.head_dim * e + q * 4.0)};
  }
  const double heads = static_cast<double>(p.batch) * p.heads;
  const double kv_heads = static_cast<double>(p.batch) * p.num_kv_heads();
  const double nd = static_cast<double>(p.seqlen) * p.head_dim;
  const double kd = static_cast<double>(p.keys()) * p.head_dim;
  return {heads * nd * e + kv_heads * 2 * kd * e, heads * (nd * e + p.seqlen * 4.0)};
}

double compulsory_bytes(const AttentionProblem& p) {
  return compulsory_traffic(p).total();
}

}  // namespace flashtune::iomodel
