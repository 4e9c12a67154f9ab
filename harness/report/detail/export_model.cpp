#include <algorithm>
#include <map>
#include <tuple>

#include "report/detail/exporters.hpp"

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
    for (const store::BestEntry& e : g.entries) {
      const store::ProblemKey& k = e.key.problem;
      ordered_json config = ordered_json::object();
      for (const auto& [name, value] : e.params) config[name] = value;
      list.push_back({
          {"template", e.key.template_id},
          {"source_hash", e.key.source_hash},
          {"nvrtc_version", e.key.nvrtc_version},
          {"problem",
           {{"dtype", to_string(k.dtype)},
            {"head_dim", k.head_dim},
            {"causal", k.causal},
            {"seqlen_bucket", k.seqlen_bucket},
            {"batch_heads_bucket", k.bh_bucket},
            {"smem_budget", k.smem_budget}}},
          {"config", config},
          {"median_ms", e.median_ms},
          {"tflops", e.tflops},
          {"example_problem",
           {{"batch", e.problem.batch}, {"heads", e.problem.heads}, {"seqlen", e.problem.seqlen}}},
      });
    }
    gpus.push_back({
        {"name", g.gpu.name},
        {"cc_major", g.gpu.cc_major},
        {"cc_minor", g.gpu.cc_minor},
        {"sm_count", g.gpu.sm_count},
        {"smem_optin_per_block", g.gpu.smem_optin_per_block},
        {"l2_bytes", g.gpu.l2_bytes},
        {"driver_version", g.gpu.driver_version},
        {"key", g.gpu.key()},
        {"entries", std::move(list)},
    });
  }
  return {{"flashtune_export", kExportVersion},
          {"generated_by", std::string(generated_by())},
          {"gpus", std::move(gpus)}};
}

}  // namespace flashtune::report::detail
