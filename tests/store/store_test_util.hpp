#pragma once
// Helpers shared by the tests of harness/store and of the exporters: scratch directories, and sample keys and
// entries for the results cache.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "core/error.hpp"
#include "store/detail/sqlite.hpp"
#include "store/records.hpp"
#include "store/result_store.hpp"

namespace flashtune::store::testing {
namespace fs = std::filesystem;

// A fresh directory, removed with everything in it at the end of the scope.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("flashtune-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline GpuIdentity h100() {
  return {.name = "NVIDIA H100 80GB HBM3",
          .cc_major = 9,
          .cc_minor = 0,
          .sm_count = 132,
          .smem_optin_per_block = 232448,
          .l2_bytes = 52428800,
          .driver_version = 13000};
}

inline GpuIdentity a100() {
  return {.name = "NVIDIA A100-SXM4-80GB",
          .cc_major = 8,
          .cc_minor = 0,
          .sm_count = 108,
          .smem_optin_per_block = 166912,
          .l2_bytes = 41943040,
          .driver_version = 12080};
}

inline constexpr std::int64_t kMaxBudget = 232448;

// A problem of the given sizes (head_dim 128, bf16 unless told) and the entry keyed by it.
inline AttentionProblem problem(int seqlen, int batch = 4, int heads = 16, bool causal = false,
                                DType dtype = DType::bf16, int head_dim = 128) {
  return {.batch = batch,
          .heads = heads,
          .seqlen = seqlen,
          .head_dim = head_dim,
          .dtype = dtype,
          .causal = causal};
}

inline BestKey key_for(const AttentionProblem& p, std::int64_t budget = kMaxBudget,
                       GpuIdentity gpu = h100()) {
  return {.gpu = std::move(gpu),
          .template_id = "fa2_fwd",
          .source_hash = "0123456789abcdef0123456789abcdef",
          .nvrtc_version = 12080,
          .problem = ProblemKey::of(p, budget)};
}

inline BestEntry entry_for(const AttentionProblem& p, std::int64_t budget = kMaxBudget, int block_m = 128,
                           GpuIdentity gpu = h100()) {
  return {.key = key_for(p, budget, std::move(gpu)),
          .problem = p,
          .params = {{"block_m", block_m}, {"block_n", 64}, {"stages", 2}, {"warps", 8}},
          .median_ms = 0.5 + p.seqlen / 8192.0,
          .tflops = 400.25,
          .trial_id = 7,
          .sweep_id = 3,
          .updated_at = "2026-11-24T03:13:21Z"};
}

// A database file at `path` with `entries` best entries (8 seqlens on each of entries / 8 GPUs), written and
// closed.
inline void write_sample_database(const fs::path& path, int entries) {
  ResultStore db(path);
  for (int i = 0; i < entries; ++i) {
    GpuIdentity gpu = h100();
    gpu.name += " #" + std::to_string(i / 8);
    db.put_best(entry_for(problem(1024 << (i % 8)), kMaxBudget, 128, gpu));
  }
}

// Copies `pristine` to `damaged` with bytes flipped inside its b-tree pages (never the header page) so that
// sqlite still opens it but PRAGMA quick_check fails: the silent corruption a reader must refuse. Tries
// seeded patterns until one does (deterministic for a given file); false if none did.
inline bool write_damaged_copy(const fs::path& pristine, const fs::path& damaged) {
  std::string bytes;
  {
    std::ifstream in(pristine, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  constexpr std::size_t kPage = 4096;
  if (bytes.size() < 3 * kPage) return false;
  for (unsigned seed = 1; seed <= 500; ++seed) {
    std::string copy = bytes;
    std::mt19937 rng(seed);
    for (int i = 0; i < 8; ++i) {
      const std::size_t at = kPage + rng() % (copy.size() - kPage);
      copy[at] = static_cast<char>(copy[at] ^ (1u << (rng() % 8)));
    }
    {
      std::ofstream out(damaged, std::ios::binary | std::ios::trunc);
      out.write(copy.data(), static_cast<std::streamsize>(copy.size()));
    }
    try {
      detail::Database raw(damaged, detail::Database::Mode::read_only);
      detail::Statement probe(raw, "SELECT count(*) FROM sqlite_master");
      probe.run();
      detail::Statement check(raw, "PRAGMA quick_check");
      if (check.step() && check.text(0) != "ok") return true;
    } catch (const Error&) {
      // not openable at all: not the silent kind; try another pattern
    }
  }
  return false;
}

}  // namespace flashtune::store::testing
