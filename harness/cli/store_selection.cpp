#include "cli/store_selection.hpp"

#include <fmt/format.h>

#include <map>

#include "core/error.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "jit/nvrtc_program.hpp"
#include "runtime/best_config.hpp"
#include "store/result_store.hpp"
#include "trial/trial_protocol.hpp"

namespace flashtune::cli {

void StoreSelection::add_to(CLI::App& cmd) {
  cmd.add_option("--db", db, "results database (default $XDG_CACHE_HOME/flashtune/flashtune.db)");
  cmd.add_option("--gpu", gpu, "only GPUs whose name contains this text");
  cmd.add_flag("--all", all, "every GPU in the database, not just this one");
  cmd.add_flag("--stale", stale, "also entries tuned from an older template source or another NVRTC version");
}

SelectedEntries StoreSelection::select(std::ostream& notes) const {
  const store::ResultStore store(db.empty() ? store::ResultStore::default_path() : std::filesystem::path(db),
                                 store::ResultStore::Access::read_only);
  SelectedEntries s;
  s.db_path = store.path().string();
  std::string this_gpu;
  if (!all && gpu.empty()) {
    std::string why;
    if (gpu::gpu_available(&why)) {
      this_gpu = gpu::query_device(0).identity().key();
    } else {
      notes << "no GPU here (" << why << "): showing every GPU's configurations\n";
    }
  }
  std::map<std::string, std::string> current_hash;  // template id -> its source hash now
  std::size_t left_out = 0;
  for (store::BestEntry& e : store.best_entries()) {
    if (!gpu.empty() && e.key.gpu.name.find(gpu) == std::string::npos) continue;
    if (!this_gpu.empty() && e.key.gpu.key() != this_gpu) continue;
    if (!stale) {
      auto it = current_hash.find(e.key.template_id);
      if (it == current_hash.end()) {
        std::string hash;  // "" for a template this build does not know: its entries are stale too
        try {
          hash = runtime::best_key_for(e.problem, e.key.gpu, e.key.template_id, 0).source_hash;
        } catch (const Error&) {
        }
        it = current_hash.emplace(e.key.template_id, hash).first;
      }
      if (e.key.source_hash != it->second || e.key.nvrtc_version != jit::nvrtc_version()) {
        ++left_out;
        continue;
      }
    }
    s.entries.push_back(std::move(e));
  }
  if (left_out > 0)
    notes << fmt::format(
        "{} entries tuned from an older template source or another NVRTC left out (--stale shows them)\n",
        left_out);
  if (!gpu.empty()) s.filter_text = fmt::format(" for GPUs matching '{}'", gpu);
  if (!this_gpu.empty()) s.filter_text = " for this GPU";
  return s;
}

}  // namespace flashtune::cli
