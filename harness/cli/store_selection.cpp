#include "cli/store_selection.hpp"

#include <fmt/format.h>

#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "store/result_store.hpp"
#include "tune/trial_protocol.hpp"

namespace flashtune::cli {

void StoreSelection::add_to(CLI::App& cmd) {
  cmd.add_option("--db", db, "results database (default $XDG_CACHE_HOME/flashtune/flashtune.db)");
  cmd.add_option("--gpu", gpu, "only GPUs whose name contains this text");
  cmd.add_flag("--all", all, "every GPU in the database, not just this one");
}

SelectedEntries StoreSelection::select(std::ostream& notes) const {
  const store::ResultStore store(db.empty() ? store::ResultStore::default_path() : std::filesystem::path(db));
  SelectedEntries s;
  s.db_path = store.path().string();
  std::string this_gpu;
  if (!all && gpu.empty()) {
    std::string why;
    if (gpu::gpu_available(&why)) {
      this_gpu = tune::identity_of(gpu::query_device(0)).key();
    } else {
      notes << "no GPU here (" << why << "): showing every GPU's configurations\n";
    }
  }
  for (store::BestEntry& e : store.best_entries()) {
    if (!gpu.empty() && e.key.gpu.name.find(gpu) == std::string::npos) continue;
    if (!this_gpu.empty() && e.key.gpu.key() != this_gpu) continue;
    s.entries.push_back(std::move(e));
  }
  if (!gpu.empty()) s.filter_text = fmt::format(" for GPUs matching '{}'", gpu);
  if (!this_gpu.empty()) s.filter_text = " for this GPU";
  return s;
}

}  // namespace flashtune::cli
