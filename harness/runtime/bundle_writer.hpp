#pragma once
// Writes a deployable bundle (runtime/bundle.hpp) from cached best configurations: `flashtune export
// --format bundle -o DIR`. Each configuration is compiled for its GPU's architecture through the cubin cache
// (NVRTC on a miss); the manifest is written last and atomically, so a bundle that failed half-way has no
// manifest and cannot be loaded.
//
//   const BundleWriteReport r = write_bundle(db.best_entries(), "deploy/h100");
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "store/records.hpp"

namespace flashtune::runtime {

struct BundleWriteReport {
  std::size_t entries = 0;            // written
  std::size_t cubins = 0;             // distinct cubins (configurations shared by buckets are one)
  std::vector<std::string> left_out;  // one line each: an entry tuned on another source of its template
};

// Throws Error(invalid_argument) when the entries belong to more than one GPU ("a bundle holds one GPU:
// found 2 (use --gpu)") or none is usable; Error(io) when DIR exists and is neither empty nor a bundle (it
// would be overwritten), or a file cannot be written; Error(compile) with NVRTC's log. An existing bundle in
// DIR is replaced: the new cubins first, then the manifest (atomically), then the old cubins it no longer
// names, so that DIR holds a whole bundle, old or new, at every moment.
BundleWriteReport write_bundle(const std::vector<store::BestEntry>& entries,
                               const std::filesystem::path& dir);

}  // namespace flashtune::runtime
