#pragma once
// The rule by which the results cache answers for a problem it has no exact entry for.
// ResultStore::best_config applies it to the rows it reads; the C++ header export generates the same rule as
// constexpr code.
//
// Candidates must share the wanted key's GPU (identity, driver included), template id, source hash, NVRTC
// version, dtype, head_dim, causal, window, softcap (on/off), layout, key/value group and block-sparse block
// (ProblemKey::same_family): anything else is a miss. Among those:
//   1. the budget: the wanted budget if any candidate has it, else the largest budget below it (a
//      configuration that fits a smaller budget fits a larger one); a wanted budget <= 0 means the largest
//      there is;
//   2. the block-sparse density nearest to the wanted one, in whole percent (density_pct; a tie: the denser);
//      dense problems all have 0, so this only chooses among block-sparse entries;
//   3. the seqlen bucket nearest in log2 to the wanted one (a tie: the larger bucket);
//   4. the seqlen_k bucket nearest in log2 (a tie: the larger bucket);
//   5. the batch*heads bucket nearest in log2 (a tie: the larger bucket).
// An exact entry is therefore always chosen when there is one.
#include <span>

#include "store/records.hpp"

namespace flashtune::store {

// The chosen candidate, or nullptr when none matches. Points into `candidates`.
const BestEntry* choose_best(std::span<const BestEntry> candidates, const BestKey& wanted);

}  // namespace flashtune::store
