// The host side of kernel_templates/common/block_range.h and smem_bytes.h (the same functions the kernels
// call): the causal block range against a brute-force count, the masks at their edges, the shared-memory
// sizes of known configurations.
#include <gtest/gtest.h>

#include <algorithm>

#include "block_range.h"
#include "smem_bytes.h"

namespace flashtune {
namespace {

// Key blocks with at least one key some query row of [q0, q0 + bm) attends to, counted key by key.
int brute_force_blocks(int seqlen, int q0, int bm, int bn, bool causal) {
  int last = -1;
  for (int key = 0; key < seqlen; ++key)
    for (int q = q0; q < q0 + bm; ++q)
      if (!causal || key <= q) last = key;
  return last < 0 ? 0 : last / bn + 1;
}

TEST(BlockRange, KeyBlocksMatchesABruteForceCount) {
  for (const bool causal : {false, true})
    for (const int seqlen : {1, 17, 64, 1000, 1024})
      for (const int bm : {64, 128})
        for (const int bn : {32, 64, 176})
          for (int q0 = 0; q0 < seqlen; q0 += bm)
            EXPECT_EQ(key_blocks(seqlen, q0, bm, bn, causal), brute_force_blocks(seqlen, q0, bm, bn, causal))
                << "seqlen " << seqlen << " q0 " << q0 << " bm " << bm << " bn " << bn << " causal "
                << causal;
}

TEST(BlockRange, MasksAtTheirEdges) {
  static_assert(!block_needs_mask<64, false>(0, 0, 64));    // a whole block inside the sequence
  static_assert(block_needs_mask<64, false>(64, 0, 100));   // the ragged last block
  static_assert(!block_needs_mask<64, true>(0, 63, 1024));  // keys 0..63, first query 63: all visible
  static_assert(block_needs_mask<64, true>(0, 62, 1024));   // key 63 is after query 62
  static_assert(key_block_needs_mask<64, true>(1, 64, 1024) == block_needs_mask<64, true>(64, 64, 1024));
  static_assert(key_masked<false>(100, 0, 100) && !key_masked<false>(99, 0, 100));
  static_assert(key_masked<true>(5, 4, 100) && !key_masked<true>(4, 4, 100));
  SUCCEED();
}

// The general mask against the definition, key by key: the block range holds every attended key and no block
// without one at its ends; a block that claims no mask has every key attended by every row of the tile.
TEST(BlockRange, KeyMaskMatchesItsDefinitionKeyByKey) {
  int checked = 0;
  for (const bool causal : {false, true})
    for (const int n : {1, 5, 64, 100})
      for (const int nk : {1, 17, 64, 200})
        for (const int left : {-1, 0, 7, 70})
          for (const int right : {-1, 0, 3})
            for (const int bm : {16, 64})
              for (const int bn : {16, 32}) {
                const KeyMask m{nk, nk - n, left, right};
                auto attended = [&](int key, int q) {
                  return key < nk && (!causal || key <= q + nk - n) &&
                         (left < 0 || key >= q + nk - n - left) && (right < 0 || key <= q + nk - n + right);
                };
                for (int q0 = 0; q0 < n; q0 += bm) {
                  const int q_last = q0 + bm - 1;
                  const int first = m.first_block(q0, bm, bn, causal),
                            last = m.last_block(q0, bm, bn, causal);
                  ASSERT_LE(first, last);
                  int lo = nk, hi = -1;  // the attended keys of rows q0..q_last (rows past n included)
                  for (int q = q0; q <= q_last; ++q)
                    for (int key = 0; key < nk; ++key)
                      if (attended(key, q)) lo = std::min(lo, key), hi = std::max(hi, key);
                  if (hi < 0) {
                    EXPECT_EQ(first, last) << "no key, yet blocks " << first << ".." << last;
                  } else {
                    EXPECT_EQ(first, lo / bn);
                    EXPECT_EQ(last, hi / bn + 1);
                  }
                  for (int j = first; j < last; ++j) {
                    if (m.block_needs_mask(j * bn, bn, q0, q_last, causal)) continue;
                    for (int q = q0; q <= q_last; ++q)
                      for (int key = j * bn; key < (j + 1) * bn; ++key) {
                        ASSERT_TRUE(attended(key, q))
                            << "unmasked block " << j << " key " << key << " q " << q;
                        ASSERT_FALSE(m.masked(key, q, causal));
                      }
                  }
                  for (int q = q0; q <= q_last; ++q)
                    for (int key = 0; key < nk; ++key) ASSERT_EQ(m.masked(key, q, causal), !attended(key, q));
                  ++checked;
                }
              }
  EXPECT_GT(checked, 1000);
}

TEST(BlockRange, KeyMaskOfThePlainProblemIsThePlainRange) {
  for (const bool causal : {false, true})
    for (const int n : {1, 17, 1000, 1024})
      for (int q0 = 0; q0 < n; q0 += 64) {
        const KeyMask m{n, 0, -1, -1};
        EXPECT_EQ(m.first_block(q0, 64, 32, causal), 0);
        EXPECT_EQ(m.last_block(q0, 64, 32, causal), key_blocks(n, q0, 64, 32, causal));
      }
}

TEST(SmemBytes, KnownConfigurations) {
  // fa2_fwd bm128 bn64 d128, one stage: Q 32 KiB + K and V 16 KiB each; persistent adds a second Q tile.
  EXPECT_EQ(fa2_smem_bytes(128, 64, 128, 1, false), 65536);
  EXPECT_EQ(fa2_smem_bytes(128, 64, 128, 1, true), 98304);
  EXPECT_EQ(fa1_smem_bytes(64, 64, 64), 32768);
  EXPECT_EQ(standard_scores_smem_bytes(128, 128, 64), 32768);
  EXPECT_EQ(standard_pv_smem_bytes(64, 64, 128, 1), 2 * (64 * 64 + 64 * 128));  // one P and one V tile
  EXPECT_EQ(standard_pv_smem_bytes(256, 64, 128, 1), 2 * 256 * 128);            // the O tile is larger
  // hopper_fwd bn128 d128, 2 consumer warpgroups, 2 stages: slack, Q 32 KiB, K and V rings 64 KiB each,
  // 10 mbarriers.
  EXPECT_EQ(hopper_smem_bytes(128, 128, 2, 2), 1024 + 32768 + 131072 + 80);
}

}  // namespace
}  // namespace flashtune
