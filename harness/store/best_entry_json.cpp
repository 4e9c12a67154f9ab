#include "store/best_entry_json.hpp"

#include "core/error.hpp"

namespace flashtune::store {

nlohmann::ordered_json gpu_json(const GpuIdentity& gpu) {
  return {
      {"name", gpu.name},
      {"cc_major", gpu.cc_major},
      {"cc_minor", gpu.cc_minor},
      {"sm_count", gpu.sm_count},
      {"smem_optin_per_block", gpu.smem_optin_per_block},
      {"l2_bytes", gpu.l2_bytes},
      {"driver_version", gpu.driver_version},
      {"key", gpu.key()},
  };
}

nlohmann::ordered_json problem_key_json(const ProblemKey& k) {
  return {{"dtype", to_string(k.dtype)},
          {"head_dim", k.head_dim},
          {"causal", k.causal},
          {"window_left", k.window_left},
          {"window_right", k.window_right},
          {"softcap", k.softcap},
          {"layout", to_string(k.layout)},
          {"kv_group", k.kv_group},
          {"sparse_block", k.sparse_block},
          {"density_pct", k.density_pct},
          {"seqlen_bucket", k.seqlen_bucket},
          {"seqlen_k_bucket", k.seqlen_k_bucket},
          {"batch_heads_bucket", k.bh_bucket},
          {"smem_budget", k.smem_budget}};
}

nlohmann::ordered_json entry_json(const BestEntry& e) {
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  for (const auto& [name, value] : e.params) config[name] = value;
  return {
      {"template", e.key.template_id},
      {"source_hash", e.key.source_hash},
      {"nvrtc_version", e.key.nvrtc_version},
      {"problem", problem_key_json(e.key.problem)},
      {"config", config},
      {"median_ms", e.median_ms},
      {"tflops", e.tflops},
      {"example_problem",
       {{"batch", e.problem.batch},
        {"heads", e.problem.heads},
        {"seqlen", e.problem.seqlen},
        {"kv_heads", e.problem.num_kv_heads()},
        {"seqlen_k", e.problem.keys()},
        {"softcap", e.problem.softcap},
        {"sparse_density", e.problem.sparse_density},
        {"sparse_seed", e.problem.sparse_seed}}},
  };
}

GpuIdentity gpu_from_json(const nlohmann::json& j) {
  GpuIdentity gpu;
  gpu.name = j.at("name").get<std::string>();
  gpu.cc_major = j.at("cc_major").get<int>();
  gpu.cc_minor = j.at("cc_minor").get<int>();
  gpu.sm_count = j.at("sm_count").get<int>();
  gpu.smem_optin_per_block = j.at("smem_optin_per_block").get<int>();
  gpu.l2_bytes = j.at("l2_bytes").get<long long>();
  gpu.driver_version = j.at("driver_version").get<int>();
  return gpu;
}

BestEntry entry_from_json(const nlohmann::json& j, const GpuIdentity& gpu) {
  BestEntry e;
  const nlohmann::json& p = j.at("problem");
  const std::string dtype_name = p.at("dtype").get<std::string>();
  const std::optional<DType> dtype = parse_dtype(dtype_name);
  if (!dtype) throw Error(ErrorKind::invalid_argument, "unknown dtype \"" + dtype_name + "\"");
  e.key.gpu = gpu;
  e.key.template_id = j.at("template").get<std::string>();
  e.key.source_hash = j.at("source_hash").get<std::string>();
  e.key.nvrtc_version = j.at("nvrtc_version").get<int>();
  // The variant's fields came with schema 4: absent (an older export or bundle) means the plain problem.
  const std::string layout_name = p.value("layout", std::string("bhsd"));
  const std::optional<Layout> layout = parse_layout(layout_name);
  if (!layout) throw Error(ErrorKind::invalid_argument, "unknown layout \"" + layout_name + "\"");
  ProblemKey& k = e.key.problem;
  k.dtype = *dtype;
  k.head_dim = p.at("head_dim").get<int>();
  k.causal = p.at("causal").get<bool>();
  k.window_left = p.value("window_left", -1);
  k.window_right = p.value("window_right", -1);
  k.softcap = p.value("softcap", false);
  k.layout = *layout;
  k.kv_group = p.value("kv_group", 1);
  // Block-sparse fields came with schema 6 (export format 3): absent means dense.
  k.sparse_block = p.value("sparse_block", 0);
  k.density_pct = p.value("density_pct", 0);
  k.seqlen_bucket = p.at("seqlen_bucket").get<int>();
  k.seqlen_k_bucket = p.value("seqlen_k_bucket", k.seqlen_bucket);
  k.bh_bucket = p.at("batch_heads_bucket").get<int>();
  k.smem_budget = p.at("smem_budget").get<std::int64_t>();
  for (const auto& [name, value] : j.at("config").items()) e.params[name] = value.get<std::int64_t>();
  const nlohmann::json& ex = j.at("example_problem");
  e.problem.batch = ex.at("batch").get<int>();
  e.problem.heads = ex.at("heads").get<int>();
  e.problem.seqlen = ex.at("seqlen").get<int>();
  e.problem.kv_heads = ex.value("kv_heads", 0);
  e.problem.seqlen_k = ex.value("seqlen_k", 0);
  e.problem.softcap = ex.value("softcap", 0.0f);
  e.problem.sparse_density = ex.value("sparse_density", 0.0f);
  e.problem.sparse_seed = ex.value("sparse_seed", std::uint64_t{0});
  e.problem.head_dim = k.head_dim;
  e.problem.dtype = *dtype;
  e.problem.causal = k.causal;
  e.problem.window_left = k.window_left;
  e.problem.window_right = k.window_right;
  e.problem.layout = k.layout;
  e.problem.sparse_block = k.sparse_block;
  // null: a non-finite number written by the exporter
  e.median_ms = j.at("median_ms").is_null() ? 0.0 : j.at("median_ms").get<double>();
  e.tflops = j.at("tflops").is_null() ? 0.0 : j.at("tflops").get<double>();
  return e;
}

}  // namespace flashtune::store
