#include "trial/trial_protocol.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

// The structs the protocol carries whole, every member by its name (nlohmann's to_json / from_json, found by
// argument-dependent lookup; a missing member is an error, as the peer is the same build).
namespace flashtune::gpu {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DeviceInfo, ordinal, name, cc_major, cc_minor, sm_count, l2_bytes,
                                   smem_optin_per_block, smem_per_sm, smem_per_block_default,
                                   smem_reserved_per_block, regs_per_sm, regs_per_block, max_threads_per_sm,
                                   max_threads_per_block, max_blocks_per_sm, warp_size, total_mem_bytes,
                                   driver_version, sm_clock_khz, mem_clock_khz, mem_bus_width, uuid)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TimingOptions, warmup, min_samples, max_samples, min_gpu_time_s, max_noise,
                                   timeout_s, flush_l2, race_best_ms, race_margin, race_min_samples,
                                   throttle_threshold, throttle_retries, throttle_recovery_s)
}  // namespace flashtune::gpu

namespace flashtune::verify {
// rel_l2 and max_abs may be inf (an output where the reference is 0 or -inf) or NaN, which JSON cannot hold
// (nlohmann writes null, which does not read back as a double): they travel as the strings "inf", "-inf" and
// "nan", every finite value as a number.
namespace {
nlohmann::json double_to_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}
double double_from_json(const nlohmann::json& j) {
  if (!j.is_string()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  throw std::runtime_error("bad number '" + s + "' in error stats");
}
}  // namespace

void to_json(nlohmann::json& j, const ErrorStats& e) {
  j = nlohmann::json{{"rel_l2", double_to_json(e.rel_l2)},
                     {"max_abs", double_to_json(e.max_abs)},
                     {"worst_index", e.worst_index},
                     {"non_finite", e.non_finite},
                     {"count", e.count}};
}
void from_json(const nlohmann::json& j, ErrorStats& e) {
  e.rel_l2 = double_from_json(j.at("rel_l2"));
  e.max_abs = double_from_json(j.at("max_abs"));
  j.at("worst_index").get_to(e.worst_index);
  j.at("non_finite").get_to(e.non_finite);
  j.at("count").get_to(e.count);
}
}  // namespace flashtune::verify

namespace flashtune::trial {
using nlohmann::json;

json to_json(const AttentionProblem& p) {
  return json{{"batch", p.batch},
              {"heads", p.heads},
              {"seqlen", p.seqlen},
              {"head_dim", p.head_dim},
              {"dtype", to_string(p.dtype)},
              {"causal", p.causal},
              {"scale", p.softmax_scale},
              {"kv_heads", p.kv_heads},
              {"seqlen_k", p.seqlen_k},
              {"window_left", p.window_left},
              {"window_right", p.window_right},
              {"softcap", p.softcap},
              {"layout", to_string(p.layout)},
              {"seqlens", p.seqlens},
              {"seqlens_k", p.seqlens_k},
              {"sparse_block", p.sparse_block},
              {"sparse_density", p.sparse_density},
              {"sparse_seed", p.sparse_seed},
              {"pass", to_string(p.pass)}};
}

AttentionProblem problem_from_json(const json& j) {
  AttentionProblem p;
  p.batch = j.at("batch").get<int>();
  p.heads = j.at("heads").get<int>();
  p.seqlen = j.at("seqlen").get<int>();
  p.head_dim = j.at("head_dim").get<int>();
  const auto dtype = parse_dtype(j.at("dtype").get<std::string>());
  if (!dtype) throw std::runtime_error("bad dtype in problem");
  p.dtype = *dtype;
  p.causal = j.at("causal").get<bool>();
  p.softmax_scale = j.value("scale", 0.0f);
  p.kv_heads = j.value("kv_heads", 0);
  p.seqlen_k = j.value("seqlen_k", 0);
  p.window_left = j.value("window_left", -1);
  p.window_right = j.value("window_right", -1);
  p.softcap = j.value("softcap", 0.0f);
  const auto layout = parse_layout(j.value("layout", std::string("bhsd")));
  if (!layout) throw std::runtime_error("bad layout in problem");
  p.layout = *layout;
  p.seqlens = j.value("seqlens", std::vector<int>{});
  p.seqlens_k = j.value("seqlens_k", std::vector<int>{});
  p.sparse_block = j.value("sparse_block", 0);
  p.sparse_density = j.value("sparse_density", 0.0f);
  p.sparse_seed = j.value("sparse_seed", std::uint64_t{0});
  const auto pass = parse_pass(j.value("pass", std::string("fwd")));
  if (!pass) throw std::runtime_error("bad pass in problem");
  p.pass = *pass;
  return p;
}

json to_json(const gpu::DeviceInfo& d) {
  return d;
}

gpu::DeviceInfo device_from_json(const json& j) {
  return j.get<gpu::DeviceInfo>();
}

namespace {

gpu::StopReason stop_from_string(const std::string& s) {
  if (const auto r = gpu::parse_stop_reason(s)) return *r;
  throw std::runtime_error("bad stop reason '" + s + "'");
}

}  // namespace

json to_json(const run::TrialSpec& s) {
  json kernels = json::array();
  for (const run::KernelRef& k : s.kernels)
    kernels.push_back({{"cache_key", k.cache_key}, {"lowered_name", k.lowered_name}, {"label", k.label}});
  json launches = json::array();
  for (const KernelLaunch& l : s.launches)
    launches.push_back({{"grid", {l.grid[0], l.grid[1], l.grid[2]}},
                        {"threads", l.threads},
                        {"dynamic_smem", l.dynamic_smem}});
  json maps = json::array();
  for (const TensorMapRequest& m : s.tensor_maps)
    maps.push_back({{"tensor", to_string(m.tensor)},
                    {"box_rows", m.box_rows},
                    {"box_cols", m.box_cols},
                    {"swizzle_bytes", m.swizzle_bytes}});
  return json{{"label", s.label},
              {"kernels", kernels},
              {"tensor_maps", maps},
              {"launches", launches},
              {"workspace_bytes", s.workspace_bytes},
              {"smem_limit", s.smem_limit},
              {"carveout_percent", s.carveout_percent},
              {"timing", s.timing},
              {"verify", s.verify},
              {"time", s.time}};
}

run::TrialSpec spec_from_json(const json& j) {
  run::TrialSpec s;
  s.label = j.at("label").get<std::string>();
  for (const json& k : j.at("kernels"))
    s.kernels.push_back({k.at("cache_key").get<std::string>(), k.at("lowered_name").get<std::string>(),
                         k.at("label").get<std::string>()});
  for (const json& l : j.at("launches")) {
    KernelLaunch launch;
    for (int i = 0; i < 3; ++i) launch.grid[i] = l.at("grid").at(i).get<unsigned>();
    launch.threads = l.at("threads").get<unsigned>();
    launch.dynamic_smem = l.at("dynamic_smem").get<int>();
    s.launches.push_back(launch);
  }
  s.workspace_bytes = j.at("workspace_bytes").get<std::size_t>();
  if (j.contains("tensor_maps"))
    for (const json& m : j.at("tensor_maps"))
      s.tensor_maps.push_back({tensor_from_string(m.at("tensor").get<std::string>()),
                               m.at("box_rows").get<int>(), m.at("box_cols").get<int>(),
                               m.value("swizzle_bytes", 128)});
  s.smem_limit = j.at("smem_limit").get<int>();
  s.carveout_percent = j.at("carveout_percent").get<int>();
  s.timing = j.at("timing").get<gpu::TimingOptions>();
  s.verify = j.at("verify").get<bool>();
  s.time = j.at("time").get<bool>();
  return s;
}

json to_json(const run::TrialOutcome& o) {
  json j{{"status", to_string(o.status)}, {"detail", o.detail},   {"blocks_per_sm", o.blocks_per_sm},
         {"verify_ms", o.verify_ms},      {"time_ms", o.time_ms}, {"context_poisoned", o.context_poisoned}};
  if (o.check)
    j["check"] = {{"ok", o.check->ok}, {"o", o.check->o}, {"lse", o.check->lse}, {"detail", o.check->detail}};
  if (o.timing) {
    json& t = j["timing"] = {{"samples_ms", o.timing->samples_ms},
                             {"stop", to_string(o.timing->stop)},
                             {"throttle_repeats", o.timing->throttle_repeats}};
    if (o.timing->clock_fraction) t["clock_fraction"] = *o.timing->clock_fraction;  // absent: unknown
  }
  return j;
}

run::TrialOutcome outcome_from_json(const json& j) {
  run::TrialOutcome o;
  const auto status = parse_trial_status(j.at("status").get<std::string>());
  if (!status) throw std::runtime_error("bad trial status");
  o.status = *status;
  o.detail = j.at("detail").get<std::string>();
  o.blocks_per_sm = j.at("blocks_per_sm").get<int>();
  o.verify_ms = j.at("verify_ms").get<double>();
  o.time_ms = j.at("time_ms").get<double>();
  o.context_poisoned = j.at("context_poisoned").get<bool>();
  if (j.contains("check")) {
    const json& c = j.at("check");
    o.check = verify::VerifyResult{c.at("ok").get<bool>(), c.at("o").get<verify::ErrorStats>(),
                                   c.at("lse").get<verify::ErrorStats>(), c.at("detail").get<std::string>()};
  }
  if (j.contains("timing")) {
    const json& timing = j.at("timing");
    gpu::TimingStats t = gpu::summarize(timing.at("samples_ms").get<std::vector<double>>());
    t.stop = stop_from_string(timing.at("stop").get<std::string>());
    t.throttle_repeats = timing.value("throttle_repeats", 0);
    if (const auto f = timing.find("clock_fraction"); f != timing.end() && !f->is_null())
      t.clock_fraction = f->get<double>();
    o.timing = std::move(t);
  }
  return o;
}

json to_json(const run::ProfileResult& p) {
  return json{{"available", p.available},
              {"why", p.why},
              {"dram_read_bytes", p.dram_read_bytes},
              {"dram_write_bytes", p.dram_write_bytes},
              {"l2_bytes", p.l2_bytes},
              {"gpu_time_ns", p.gpu_time_ns},
              {"extra", p.extra},
              {"kernels", p.kernels},
              {"passes", p.passes},
              {"activity_ns", p.activity_ns}};
}

run::ProfileResult profile_from_json(const json& j) {
  run::ProfileResult p;
  p.available = j.at("available").get<bool>();
  p.why = j.at("why").get<std::string>();
  p.dram_read_bytes = j.at("dram_read_bytes").get<double>();
  p.dram_write_bytes = j.at("dram_write_bytes").get<double>();
  p.l2_bytes = j.at("l2_bytes").get<double>();
  p.gpu_time_ns = j.at("gpu_time_ns").get<double>();
  p.extra = j.at("extra").get<std::map<std::string, double>>();
  p.kernels = j.at("kernels").get<int>();
  p.passes = j.at("passes").get<int>();
  p.activity_ns = j.at("activity_ns").get<double>();
  return p;
}

}  // namespace flashtune::trial
