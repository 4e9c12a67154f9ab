// The io model's byte counts, each worked out by hand in the comments (per (batch, head) unless said). The
// ragged problem: N = 1000, d = 64, e = 2 (bf16), bm = 128, bn = 64, so Tr = ceil(1000/128) = 8 (the last
// query tile has 104 rows), Tc = ceil(1000/64) = 16 (the last key tile has 40 rows), N·d·e = 128,000 bytes.
#include "iomodel/io_model.hpp"

#include <gtest/gtest.h>

#include "core/block_layout.hpp"
#include "core/error.hpp"

namespace flashtune::iomodel {
namespace {

AttentionProblem ragged(bool causal = false, int batch = 1, int heads = 1) {
  return {
      .batch = batch, .heads = heads, .seqlen = 1000, .head_dim = 64, .dtype = DType::bf16, .causal = causal};
}

ModelInputs inputs(std::string id, AttentionProblem p, int bm = 128, int bn = 64) {
  return {.template_id = std::move(id),
          .problem = p,
          .params = {{"block_m", bm}, {"block_n", bn}, {"stages", 2}, {"warps", 4}}};
}

void expect_bytes(const Traffic& t, double read, double write) {
  EXPECT_EQ(t.read_bytes, read);
  EXPECT_EQ(t.write_bytes, write);
}

TEST(RequestedBytes, Fa2NonCausal) {
  // Q 128,000 + K and V each Tr·N·d·e = 8·128,000 = 1,024,000 -> 2,176,000 read.
  // O 128,000 + LSE 1000·4 = 4,000 -> 132,000 written.
  expect_bytes(requested_bytes(inputs("fa2_fwd", ragged())), 2'176'000, 132'000);
}

TEST(RequestedBytes, Fa2Causal) {
  // Tile i loads min(1000, ceil((i+1)·128/64)·64) = min(1000, 128(i+1)) key rows: 128, 256, ..., 896, then
  // min(1000, 1024) = 1000: 128·28 + 1000 = 4584 rows. K = 4584·64·2 = 586,752, K + V = 1,173,504,
  // + Q 128,000 = 1,301,504 read; 132,000 written as non-causal.
  expect_bytes(requested_bytes(inputs("fa2_fwd", ragged(true))), 1'301'504, 132'000);
}

TEST(RequestedBytes, Fa2CausalBlockMSmallerThanBlockN) {
  // bm = 64, bn = 128: Tr = 16; tile i loads min(1000, ceil((i+1)/2)·128) rows: 128, 128, 256, 256, ..., 896,
  // 896, 1000, 1000 = 2·4584 = 9168 rows; K + V = 2·9168·128 = 2,347,008, + Q 128,000 = 2,475,008.
  expect_bytes(requested_bytes(inputs("fa2_fwd", ragged(true), 64, 128)), 2'475'008, 132'000);
}

// The variants (fa2_fwd). Decode: 16 queries, 1000 keys, causal bottom-right: the one query tile (bm 128)
// reads every key block (the last query sees all 1000 keys): K and V 1000·64·2 = 128,000 each, Q 16·128 =
// 2,048 -> 258,048 read; O 2,048 + LSE 64 written. GQA (8 query heads over 2) requests the same per query
// head; its compulsory K/V bytes are a quarter.
TEST(RequestedBytes, Fa2DecodeAndGroupedHeads) {
  AttentionProblem p{.batch = 1, .heads = 1, .seqlen = 16, .head_dim = 64, .causal = true, .seqlen_k = 1000};
  expect_bytes(requested_bytes(inputs("fa2_fwd", p)), 258'048, 2'112);
  AttentionProblem g = ragged(false, 1, 8);
  g.kv_heads = 2;
  expect_bytes(requested_bytes(inputs("fa2_fwd", g)), 8 * 2'176'000.0, 8 * 132'000.0);
  // Q and O per query head, K and V per key/value head.
  expect_bytes(compulsory_traffic(g), 8 * 128'000.0 + 2 * 2 * 128'000.0, 8 * 132'000.0);
  // Split-K/V over 4: the partials (4·16·65·4 = 16,640 bytes) written once and read once more.
  ModelInputs split = inputs("fa2_fwd", p);
  split.params["splits"] = 4;
  expect_bytes(requested_bytes(split), 258'048 + 16'640, 2'112 + 16'640);
  // Another template's model covers the plain problem only.
  EXPECT_THROW(requested_bytes(inputs("standard_attn", g)), Error);
}

// A causal window of 100 keys (left) at N 1000, bm 128, bn 64: tile i (rows 128i .. 128i+127) reads keys
// [max(0, 128i - 100), min(1000, 128i + 128)), blocks first = (128i - 100) / 64 (0 for i = 0) .. last =
// ceil(min(1000, 128i+128) / 64): i=0: blocks 0..2 -> 128 rows; i=1: lo 28 -> block 0, hi 256 -> 4: 256 rows;
// i>=2: lo 128i-100 -> block 2i-2 (i=2: 156/64 = 2; in general floor((128i-100)/64) = 2i-2), last 2i+2:
// 4 blocks = 256 rows, except i=7: lo 796 -> block 12, hi 1000 -> 16 blocks, rows 1000 - 768 = 232.
// Sum: 128 + 256 + 5·256 + 232 = 1896 rows; K + V = 2·1896·128 = 485,376, + Q 128,000 = 613,376.
TEST(RequestedBytes, Fa2WindowLoadsOnlyTheWindowsBlocks) {
  AttentionProblem p = ragged(true);
  p.window_left = 100;
  p.window_right = 0;
  expect_bytes(requested_bytes(inputs("fa2_fwd", p)), 613'376, 132'000);
}

// Block-sparse, blocks of 128 on the ragged problem (8 x 8 layout, the last blocks 104 positions): a query
// tile of 128 rows loads the kept blocks of its layout row, 128 key rows each (the last 104), causal only
// those at or below its diagonal block; counted here from the layout's bits, not through the kernels' lists.
TEST(RequestedBytes, Fa2BlockSparseLoadsOnlyKeptBlocks) {
  for (bool causal : {false, true}) {
    AttentionProblem p = ragged(causal);
    p.sparse_block = 128;
    p.sparse_density = 0.3f;
    p.sparse_seed = 5;
    const BlockLayout l = block_layout(p);
    ASSERT_EQ(l.rows, 8);
    double key_rows = 0;
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c)
        if (l.at(r, c) && (!causal || c <= r)) key_rows += c == 7 ? 104 : 128;
    ASSERT_GT(key_rows, 0);
    expect_bytes(requested_bytes(inputs("fa2_fwd", p, 128, 64)), 128000 + 2 * key_rows * 128,
                 128000 + 1000 * 4);
    // Not causal, tiles of 64 x 64: two query tiles per layout row, each loading its row's kept key rows.
    if (!causal)
      EXPECT_EQ(requested_bytes(inputs("fa2_fwd", p, 64, 64)).read_bytes, 128000 + 2 * 2 * key_rows * 128);
  }
  AttentionProblem p = ragged();
  p.sparse_block = 128;
  p.sparse_density = 0.5f;
  EXPECT_THROW(requested_bytes(inputs("fa2_fwd", p, 128, 256)), Error);  // 128 is no multiple of 256
}

// fa2_bwd on the ragged problem's backward, bm = 64 (16 query tiles, the last 40 rows), bn = 128 (8 key
// tiles, the last 104 rows), per head:
//   preprocess: O, dO read 2·N·d·e = 256,000; the accumulator zeroed N·d·4 = 256,000 and D N·4 = 4,000
//   written; main loop: K, V read and dK, dV written once, 256,000 each way; per key tile, every query row it
//   is
//     attended by: Q, dO (256 bytes a row) and LSE, D (8) read, 256 bytes of dQ atomics written. Not causal:
//     8 tiles x 1000 rows; causal: tile j from row 128 j on, sum (1000 - 128 j) = 4416 rows;
//   conversion: the accumulator read N·d·4 = 256,000, dQ written N·d·e = 128,000.
TEST(RequestedBytes, Fa2BackwardOnTheRaggedProblem) {
  for (bool causal : {false, true}) {
    AttentionProblem p = ragged(causal);
    p.pass = Pass::bwd;
    const double rows = causal ? 4416 : 8000;
    expect_bytes(requested_bytes(inputs("fa2_bwd", p, 64, 128)), 256000 + 256000 + rows * 264 + 256000,
                 260000 + 256000 + rows * 256 + 128000);
  }
  // dq_mode 1: no atomics, no conversion; the dQ pass reads per query tile (16, the last 40 rows) Q, dO and
  // LSE, D of its rows once (264 bytes a row: 264,000) and K, V of each 64-key tile (256 bytes a key row) its
  // rows attend: not causal every tile, 16 x 1000 key rows; causal, tile i the keys up to its last row,
  // min(1000, 64 (i + 1)) of them; writes dQ 128,000.
  for (bool causal : {false, true}) {
    AttentionProblem p = ragged(causal);
    p.pass = Pass::bwd;
    const double rows = causal ? 4416 : 8000;
    double key_rows = 0;
    for (int i = 0; i < 16; ++i) key_rows += causal ? std::min(1000, 64 * (i + 1)) : 1000;
    ModelInputs in = inputs("fa2_bwd", p, 64, 128);
    in.params["dq_mode"] = 1;
    expect_bytes(requested_bytes(in), 256000 + 256000 + rows * 264 + 264000 + key_rows * 256,
                 260000 + 256000 + 128000);
  }
  // GQA, 4 query heads over 2 key/value heads: K and V move once per key/value head (two heads' worth less
  // than 4 independent heads).
  AttentionProblem mha = ragged(false, 1, 4);
  mha.pass = Pass::bwd;
  AttentionProblem gqa = mha;
  gqa.kv_heads = 2;
  const Traffic a = requested_bytes(inputs("fa2_bwd", mha, 64, 128));
  const Traffic b = requested_bytes(inputs("fa2_bwd", gqa, 64, 128));
  EXPECT_EQ(b.read_bytes, a.read_bytes - 2 * 256000);
  EXPECT_EQ(b.write_bytes, a.write_bytes - 2 * 256000);
  // The forward templates do not model the backward pass, nor fa2_bwd the forward.
  EXPECT_THROW(requested_bytes(inputs("fa2_fwd", mha)), Error);
  EXPECT_THROW(requested_bytes(inputs("fa2_bwd", ragged())), Error);
  // The DRAM estimate: the small problem's working set fits, each byte through DRAM once in the main loop.
  const IoEstimate io = estimate(inputs("fa2_bwd", mha, 64, 128));
  EXPECT_LT(io.dram.total(), io.requested.total());
  EXPECT_NE(io.dram_assumption.find("each byte once"), std::string::npos) << io.dram_assumption;
}

TEST(RequestedBytes, StandardNonCausal) {
  // scores:  reads Q Tc·N·d·e = 16·128,000 = 2,048,000 and K Tr·N·d·e = 1,024,000; writes S N²·4 = 4,000,000.
  // softmax: reads S 4,000,000; writes P N²·2 = 2,000,000 and LSE 4,000.
  // P·V:     reads P 2,000,000 and V 8·128,000 = 1,024,000; writes O 128,000.
  // Read: 3,072,000 + 4,000,000 + 3,024,000 = 10,096,000. Written: 4,000,000 + 2,004,000 + 128,000 =
  // 6,132,000.
  expect_bytes(requested_bytes(inputs("standard_attn", ragged())), 10'096'000, 6'132'000);
}

TEST(RequestedBytes, StandardCausalMovesTheSameBytes) {
  expect_bytes(requested_bytes(inputs("standard_attn", ragged(true))), 10'096'000, 6'132'000);
}

TEST(RequestedBytes, Fa1NonCausal) {
  // Reads: Q Tc·N·d·e = 2,048,000; K, V 128,000 each; O (Tc-1)·N·d·4 = 15·256,000 = 3,840,000; m and l
  // (Tc-1)·N·4 = 60,000 each -> 6,264,000. Writes: O Tc·N·d·4 = 4,096,000; m and l 16·4,000 = 64,000 each
  // -> 4,224,000. Final pass: reads 256,000 + 8,000 = 264,000; writes O 128,000 + LSE 4,000 = 132,000.
  // Total: 6,528,000 read, 4,356,000 written.
  expect_bytes(requested_bytes(inputs("fa1_fwd", ragged())), 6'528'000, 4'356'000);
}

TEST(RequestedBytes, Fa1Causal) {
  // Query block i (rows 128i .. 128i+127; block 7 has 104 rows ending at 999) sees key blocks j <= last/64:
  // 2i+2 of them for i < 7 (2, 4, ..., 14) and 16 for i = 7. Row-visits: 128·(2+4+...+14) + 104·16 = 7168 +
  // 1664 = 8832; visits after the first: 128·(1+3+...+13) + 104·15 = 6272 + 1560 = 7832.
  // Reads: Q 8832·128 = 1,130,496; O, m, l 7832·(64·4 + 8) = 7832·264 = 2,067,648; K, V 256,000; final pass
  // 264,000 -> 3,718,144. Writes: O, m, l 8832·264 = 2,331,648; final pass 132,000 -> 2,463,648.
  expect_bytes(requested_bytes(inputs("fa1_fwd", ragged(true))), 3'718'144, 2'463'648);
}

TEST(RequestedBytes, ScalesWithBatchTimesHeads) {
  for (const char* id : {"fa2_fwd", "fa1_fwd", "standard_attn"}) {
    const Traffic one = requested_bytes(inputs(id, ragged(true)));
    const Traffic six = requested_bytes(inputs(id, ragged(true, 2, 3)));
    EXPECT_EQ(six.read_bytes, 6 * one.read_bytes) << id;
    EXPECT_EQ(six.write_bytes, 6 * one.write_bytes) << id;
  }
}

TEST(RequestedBytes, FlashTemplatesNeverBeatCompulsory) {
  // Compulsory: Q, K, V 3·128,000 = 384,000 read; O + LSE 132,000 written.
  expect_bytes(compulsory_traffic(ragged()), 384'000, 132'000);
  EXPECT_EQ(compulsory_bytes(ragged()), 516'000);
  for (const char* id : {"fa2_fwd", "fa1_fwd", "standard_attn"})
    for (bool causal : {false, true}) {
      const Traffic t = requested_bytes(inputs(id, ragged(causal)));
      EXPECT_GE(t.read_bytes, 384'000) << id;
      EXPECT_GE(t.write_bytes, 132'000) << id;
    }
}

TEST(RequestedBytes, RejectsUnknownTemplatesAndMissingBlocks) {
  EXPECT_FALSE(models_template("hopper_fwd"));
  EXPECT_TRUE(models_template("fa1_fwd"));
  EXPECT_TRUE(models_template("fa2_bwd"));
  try {
    requested_bytes(inputs("hopper_fwd", ragged()));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("hopper_fwd"), std::string::npos);
  }
  ModelInputs in = inputs("fa2_fwd", ragged());
  in.params.erase("block_n");
  EXPECT_THROW(requested_bytes(in), Error);
  in.params["block_n"] = 0;
  EXPECT_THROW(requested_bytes(in), Error);
}

// N = 4096, d = 128, B = 1, H = 16: K and V of one head are 2·4096·128·2 = 2 MiB. fa2 with bm = 128 has Tr =
// 32 CTAs per head, so 132 resident CTAs hold ceil(132/32) = 5 heads: 10 MiB of K/V. With the usable fraction
// 0.5 the boundary is an L2 of exactly 20 MiB.
AttentionProblem big() {
  return {.batch = 1, .heads = 16, .seqlen = 4096, .head_dim = 128};
}

TEST(Estimate, Fa2SwitchesAtTheL2Boundary) {
  ModelInputs in = inputs("fa2_fwd", big());
  in.l2_usable_fraction = 0.5;
  in.l2_bytes = 20LL << 20;
  const IoEstimate fits = estimate(in);
  EXPECT_EQ(fits.dram.read_bytes, compulsory_traffic(big()).read_bytes);
  EXPECT_EQ(fits.dram.write_bytes, compulsory_traffic(big()).write_bytes);
  EXPECT_NE(fits.dram_assumption.find("5 heads in flight"), std::string::npos) << fits.dram_assumption;
  in.l2_bytes -= 2;
  const IoEstimate spills = estimate(in);
  EXPECT_EQ(spills.dram.read_bytes, spills.requested.read_bytes);
  EXPECT_EQ(spills.dram.write_bytes, spills.requested.write_bytes);
  EXPECT_NE(spills.dram_assumption.find("exceed"), std::string::npos) << spills.dram_assumption;
  // Two blocks per SM: 264 CTAs = 9 heads, 18 MiB: over the 20 MiB L2's 10 MiB.
  in.l2_bytes = 20LL << 20;
  in.blocks_per_sm = 2;
  EXPECT_EQ(estimate(in).dram.read_bytes, spills.requested.read_bytes);
}

TEST(Estimate, StandardSendsSAndPToDram) {
  // big(): scores have Tr·Tc = 32·64 = 2048 CTAs per head: 1 head in flight, Q and K 2 MiB; P·V 32 CTAs per
  // head: 5 heads, 5 x 1 MiB of V. Default L2 (50 MiB, 37.5 usable): both fit. S and P: 16·4096²·6 = 1.5 GiB:
  // DRAM.
  const ModelInputs in = inputs("standard_attn", big());
  const IoEstimate io = estimate(in);
  const double nde = 4096.0 * 128 * 2, nn = 4096.0 * 4096;
  // Read per head: Q + K once, S N²·4, P N²·2, V once. Written as requested: S, P, LSE, O.
  EXPECT_EQ(io.dram.read_bytes, 16 * (3 * nde + nn * 6));
  EXPECT_EQ(io.dram.write_bytes, io.requested.write_bytes);
  // An L2 of 2 MiB (1.5 usable) holds neither: every request goes to DRAM.
  ModelInputs small_l2 = in;
  small_l2.l2_bytes = 2LL << 20;
  const IoEstimate spills = estimate(small_l2);
  EXPECT_EQ(spills.dram.read_bytes, spills.requested.read_bytes);
  // A problem whose S and P fit (N = 1000, one head: 6 MB): their reads hit the L2.
  const IoEstimate tiny = estimate(inputs("standard_attn", ragged()));
  EXPECT_EQ(tiny.dram.read_bytes, 3 * 128'000);
  EXPECT_EQ(tiny.dram.write_bytes, 6'132'000);
}

TEST(Estimate, Fa1SwitchesOnTheHeadsInFlight) {
  // One CTA per head. big() with B = 1, H = 16: 16 heads in flight, each O 2 MiB + m, l 32 KiB + Q 1 MiB =
  // 3,178,496 bytes, 50,855,936 for 16: over 37.5 MiB, so DRAM = requested.
  const IoEstimate over = estimate(inputs("fa1_fwd", big()));
  EXPECT_EQ(over.dram.read_bytes, over.requested.read_bytes);
  // With a 64 MiB L2 (48 usable = 50,331,648) still over; with 68 MiB (51 usable = 53,477,376) it fits: Q, K,
  // V once (3 MiB), O, m, l written back once (2 MiB + 32 KiB), the final pass reads O, m, l from the L2 (16
  // x 2.03 MiB fit) and writes O (1 MiB) and LSE (16 KiB).
  ModelInputs in = inputs("fa1_fwd", big());
  in.l2_bytes = 64LL << 20;
  EXPECT_EQ(estimate(in).dram.read_bytes, estimate(in).requested.read_bytes);
  in.l2_bytes = 68LL << 20;
  const IoEstimate fits = estimate(in);
  const double nde = 4096.0 * 128 * 2, oml = 4096.0 * 128 * 4 + 2 * 4096.0 * 4;
  EXPECT_EQ(fits.dram.read_bytes, 16 * 3 * nde);
  EXPECT_EQ(fits.dram.write_bytes, 16 * (oml + nde + 4096.0 * 4));
}

TEST(Estimate, L2UsesTheCalibration) {
  const ModelInputs in = inputs("fa2_fwd", ragged());
  const IoEstimate plain = estimate(in);
  // Defaults a = b = c = 1, d = 0.
  EXPECT_EQ(plain.l2_bytes, plain.requested.total() + plain.dram.read_bytes);
  const L2Calibration cal{.a = 2, .b = 3, .c = 0.5, .d = 0.25};
  const IoEstimate io = estimate(in, cal);
  EXPECT_DOUBLE_EQ(io.l2_bytes, 2 * io.requested.read_bytes + 3 * io.requested.write_bytes +
                                    0.5 * io.dram.read_bytes + 0.25 * io.dram.write_bytes);
}

TEST(PaperBound, HasTheShapeOfNSquaredDSquaredOverM) {
  // e·B·H·N²·d²/(M/e): N = 1024, d = 64, M = 64 KiB (32768 elements): 2·1024²·64²/32768 = 262,144.
  AttentionProblem p{.seqlen = 1024, .head_dim = 64};
  EXPECT_EQ(paper_bound_bytes(p, 65536), 262'144);
  const double base = paper_bound_bytes(p, 65536);
  AttentionProblem n2 = p;
  n2.seqlen = 2048;
  EXPECT_DOUBLE_EQ(paper_bound_bytes(n2, 65536), 4 * base);  // proportional to N²
  AttentionProblem d2 = p;
  d2.head_dim = 128;
  EXPECT_DOUBLE_EQ(paper_bound_bytes(d2, 65536), 4 * base);  // to d²
  EXPECT_DOUBLE_EQ(paper_bound_bytes(p, 131072), base / 2);  // to 1/M
  AttentionProblem bh = p;
  bh.batch = 3;
  bh.heads = 5;
  EXPECT_DOUBLE_EQ(paper_bound_bytes(bh, 65536), 15 * base);
  EXPECT_THROW(paper_bound_bytes(p, 0), Error);
}

}  // namespace
}  // namespace flashtune::iomodel
