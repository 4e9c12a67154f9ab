#include <algorithm>
#include <map>
#include <tuple>

#include "report/detail/exporters.hpp"
#include "store/best_entry_json.hpp"

namespace flashtune::report::detail {

std::string_view generated_by() {
  return "flashtune " FLASHTUNE_VERSION;
}

std::vector<GpuGroup> group_by_gpu(const std::vector<store::BestEntry>& entries) {
  std::map<std::string, GpuGroup> by_key;
  for (const store::BestEntry& e : entries) {
    GpuGroup& g = by_key[e.key.gpu.key()];
    g.gpu = e.key.gpu;
    g.entries.push_back(e);
  }
  std::vector<GpuGroup> out;
  for (auto& [key, g] : by_key) {
    auto order = [](const store::BestEntry& e) {
      return std::tie(e.key.template_id, e.key.source_hash, e.key.nvrtc_version, e.key.problem);
    };
    std::stable_sort(
        g.entries.begin(), g.entries.end(),
        [&](const store::BestEntry& a, const store::BestEntry& b) { return order(a) < order(b); });
    out.push_back(std::move(g));
  }
  return out;
}

nlohmann::ordered_json export_document(const std::vector<store::BestEntry>& entries) {
  using nlohmann::ordered_json;
  ordered_json gpus = ordered_json::array();
  for (const GpuGroup& g : group_by_gpu(entries)) {
    ordered_json list = ordered_json::array();
    for (const store::BestEntry& e : g.entries) list.push_back(store::entry_json(e));
    ordered_json gpu = store::gpu_json(g.gpu);
    gpu["entries"] = std::move(list);
    gpus.push_back(std::move(gpu));
  }
  return {{"flashtune_export", kExportVersion},
          {"generated_by", std::string(generated_by())},
          {"gpus", std::move(gpus)}};
}

}  // namespace flashtune::report::detail
