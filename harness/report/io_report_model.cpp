// build_io_report: the stored trials -> IoTrialRow (with the model's numbers) -> grouped by problem -> the
// eight sections. The helpers the section builders share are here too.
#include "report/io_report_model.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "report/detail/io_report_data.hpp"
#include "store/result_store.hpp"

namespace flashtune::report {
namespace detail {

std::vector<const IoTrialRow*> rows_of(const ProblemRows& p, std::string_view template_id) {
  std::vector<const IoTrialRow*> out;
  for (const IoTrialRow* r : p.rows)
    if (r->template_id == template_id) out.push_back(r);
  return out;
}

std::vector<const IoTrialRow*> with_counters_else_all(const std::vector<const IoTrialRow*>& rows) {
  std::vector<const IoTrialRow*> out;
  for (const IoTrialRow* r : rows)
    if (r->profiled) out.push_back(r);
  return out.empty() ? rows : out;
}

const IoTrialRow* fastest(const std::vector<const IoTrialRow*>& rows) {
  const IoTrialRow* best = nullptr;
  for (const IoTrialRow* r : rows)
    if (!best || r->median_ms < best->median_ms ||
        (r->median_ms == best->median_ms && r->trial_id < best->trial_id))
      best = r;
  return best;
}

std::map<std::int64_t, std::vector<const IoTrialRow*>> by_param(const std::vector<const IoTrialRow*>& rows,
                                                                const std::string& name) {
  std::map<std::int64_t, std::vector<const IoTrialRow*>> out;
  for (const IoTrialRow* r : rows)
    if (auto it = r->params.find(name); it != r->params.end()) out[it->second].push_back(r);
  return out;
}

std::map<std::int64_t, std::vector<const IoTrialRow*>> by_budget(const std::vector<const IoTrialRow*>& rows) {
  std::map<std::int64_t, std::vector<const IoTrialRow*>> out;
  for (const IoTrialRow* r : rows) out[r->smem_budget].push_back(r);
  return out;
}

std::string config_text(const ParamValues& params) {
  static const std::map<std::string, std::string> kShort = {
      {"block_m", "bm"}, {"block_n", "bn"}, {"stages", "s"}, {"warps", "w"}};
  std::string out;
  for (const auto& [name, value] : params) {
    const auto it = kShort.find(name);
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", it == kShort.end() ? name : it->second, value);
  }
  return out;
}

std::string config_note(const IoTrialRow& r) {
  return fmt::format("{}, {:g} KiB budget, smem {:.4g} KiB, {:.4f} ms", config_text(r.params),
                     static_cast<double>(r.smem_budget) / 1024, r.smem_bytes / 1024.0, r.median_ms);
}

std::string provenance(const IoData& data, const std::vector<const IoTrialRow*>& rows) {
  std::set<std::int64_t> ids;
  for (const IoTrialRow* r : rows) ids.insert(r->sweep_id);
  std::set<std::string> gpus, dates;
  for (const store::SweepRecord& s : data.sweeps)
    if (ids.count(s.id)) {
      gpus.insert(s.has_gpu ? s.gpu.name : "no GPU recorded");
      dates.insert(s.started_at.substr(0, 10));
    }
  std::vector<std::string> id_text;
  for (std::int64_t id : ids) id_text.push_back(std::to_string(id));
  std::vector<std::string> date_list(dates.begin(), dates.end());
  std::string date_text = date_list.empty() ? "" : date_list.front();
  if (date_list.size() > 1) date_text += " to " + date_list.back();
  return fmt::format(
      "{} {} · sweep{} {} · {}",
      data.synthetic ? "SYNTHETIC (made up by a test generator, not measured) · GPU" : "measured on",
      fmt::join(gpus, ", "), ids.size() == 1 ? "" : "s", fmt::join(id_text, ", "), date_text);
}

void ByteSeries::add(double x, const IoTrialRow& r, const std::string& note) {
  constexpr double kGB = 1e9;
  requested.points.push_back({x, r.model.requested.total() / kGB, note});
  dram_model.points.push_back({x, r.model.dram.total() / kGB, note});
  if (!r.profiled) return;
  if (r.l2_sm_bytes >= 0) l2_sm.points.push_back({x, r.l2_sm_bytes / kGB, note});
  dram.points.push_back({x, r.dram_bytes() / kGB, note});
}

std::string problem_text(const AttentionProblem& p) {
  return p.to_string();
}

std::string gb(double bytes) {
  if (bytes < 0) return kNone;
  const double v = bytes / 1e9;
  if (v >= 1000) return fmt::format("{:.0f}", v);
  return fmt::format("{:#.4g}", v);  // four significant digits, trailing zeros kept: 3.390, 0.07060
}
std::string ms(double v) {
  return fmt::format("{:.4f}", v);
}
std::string tflops(double v) {
  return fmt::format("{:.1f}", v);
}
std::string ratio(double a, double b) {
  if (!(b > 0) || a < 0) return kNone;
  return fmt::format("{:.2f}×", a / b);
}

}  // namespace detail

namespace {
using detail::IoData;
using detail::ProblemRows;

auto problem_order(const AttentionProblem& p) {
  return std::make_tuple(p.seqlen, p.head_dim, p.causal, p.batch, p.heads, static_cast<int>(p.dtype),
                         p.softmax_scale, p.num_kv_heads(), p.keys(), p.window_left, p.window_right,
                         p.softcap, static_cast<int>(p.layout), p.seqlens, p.seqlens_k, p.sparse_block,
                         p.sparse_density, p.sparse_seed);
}

IoTrialRow row_of(const store::TrialRecord& t, const store::SweepRecord* sweep, const IoReportOptions& o) {
  IoTrialRow r;
  r.sweep_id = t.sweep_id;
  r.trial_id = t.id;
  r.template_id = t.template_id;
  r.gpu_name = sweep && sweep->has_gpu ? sweep->gpu.name : "";
  r.problem = t.problem;
  r.smem_budget = t.smem_budget;
  r.params = t.params;
  r.smem_bytes = t.smem_bytes;
  r.blocks_per_sm = t.blocks_per_sm;
  r.median_ms = t.median_ms;
  r.tflops = t.tflops > 0 ? t.tflops : t.problem.flops() / (t.median_ms * 1e-3) / 1e12;
  iomodel::ModelInputs in{.template_id = t.template_id,
                          .problem = t.problem,
                          .params = t.params,
                          .blocks_per_sm = std::max(1, t.blocks_per_sm),
                          .l2_usable_fraction = o.l2_usable_fraction};
  if (sweep && sweep->has_gpu && sweep->gpu.l2_bytes > 0) in.l2_bytes = sweep->gpu.l2_bytes;
  if (sweep && sweep->has_gpu && sweep->gpu.sm_count > 0) in.sm_count = sweep->gpu.sm_count;
  r.model = iomodel::estimate(in, o.calibration);
  r.profiled = t.profiled;
  if (t.profiled) {
    r.dram_read_bytes = t.dram_read_bytes;
    r.dram_write_bytes = t.dram_write_bytes;
    r.l2_bytes = t.l2_bytes;
    if (!t.counters_json.empty()) {
      const nlohmann::json extra =
          nlohmann::json::parse(t.counters_json, nullptr, /*allow_exceptions=*/false);
      if (extra.is_object() && extra.contains("l1tex__m_xbar2l1tex_read_bytes.sum") &&
          extra.contains("lts__t_sectors_srcunit_tex_op_write.sum"))
        r.l2_sm_bytes = extra["l1tex__m_xbar2l1tex_read_bytes.sum"].get<double>() +
                        32.0 * extra["lts__t_sectors_srcunit_tex_op_write.sum"].get<double>();
    }
  }
  return r;
}

std::vector<std::string> header_lines(const std::vector<store::SweepRecord>& sweeps,
                                      const std::vector<IoTrialRow>& rows, const IoReportOptions& o) {
  std::vector<std::string> out;
  std::set<std::string> gpus;
  for (const store::SweepRecord& s : sweeps) gpus.insert(s.has_gpu ? s.gpu.name : "no GPU recorded");
  out.push_back(fmt::format("GPU: {}", fmt::join(gpus, ", ")));
  for (const store::SweepRecord& s : sweeps)
    out.push_back(fmt::format("sweep {}: {} · started {} · {} · space: {}", s.id, s.template_id, s.started_at,
                              s.status, s.space_file));
  const auto profiled =
      std::count_if(rows.begin(), rows.end(), [](const IoTrialRow& r) { return r.profiled; });
  out.push_back(
      fmt::format("trials: {} timed (ok), {} of them with hardware counters", rows.size(), profiled));
  out.push_back(
      "measured: the trial's median time over its timed samples, and the counters of one profiled launch (L2 "
      "flushed before it): DRAM = dram__bytes_read.sum + dram__bytes_write.sum; L2↔SM = the bytes L2 "
      "delivers to the "
      "SMs + the sectors they write (l1tex__m_xbar2l1tex_read_bytes.sum + "
      "32·lts__t_sectors_srcunit_tex_op_write.sum), "
      "what the model's requested bytes predict; L2 slices = lts__t_bytes.sum (after Hopper's L2 request "
      "coalescer, with the DRAM fills)");
  out.push_back(fmt::format(
      "model: harness/iomodel (docs/io-model.md): requested = the templates' data-movement contract (exact); "
      "DRAM = an estimate (working sets may use {:g} of the L2); L2 = {}·requested.read + {}·requested.write "
      "+ "
      "{}·DRAM.read + "
      "{}·DRAM.write",
      o.l2_usable_fraction, o.calibration.a, o.calibration.b, o.calibration.c, o.calibration.d));
  out.push_back(fmt::format(
      "roofline constants: {:g} TB/s (measured device-to-device copy), {:g} TFLOP/s (bf16 GEMM); FLOPs = "
      "4·B·H·N²·d, halved when causal",
      o.peak_bandwidth / 1e12, o.peak_flops / 1e12));
  return out;
}

}  // namespace

IoReport build_io_report(const std::vector<store::SweepRecord>& sweeps_in,
                         const std::vector<store::TrialRecord>& trials, const IoReportOptions& options) {
  std::vector<store::SweepRecord> sweeps = sweeps_in;
  std::sort(sweeps.begin(), sweeps.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  IoReport report;
  report.title =
      "flashtune IO report: bytes moved by standard attention, FlashAttention and FlashAttention-2";
  for (const store::TrialRecord& t : trials) {
    // The forward templates the report compares (fa2_bwd's backward has a model but no section yet).
    const bool forward = std::find(detail::kIoTemplates.begin(), detail::kIoTemplates.end(), t.template_id) !=
                         detail::kIoTemplates.end();
    if (t.status != TrialStatus::ok || !(t.median_ms > 0) || !forward ||
        (!t.problem.plain() && t.template_id != "fa2_fwd"))  // fa2_fwd's model alone covers the variants
      continue;
    const auto sweep =
        std::find_if(sweeps.begin(), sweeps.end(), [&](const auto& s) { return s.id == t.sweep_id; });
    report.trials.push_back(row_of(t, sweep == sweeps.end() ? nullptr : &*sweep, options));
  }
  if (report.trials.empty())
    throw Error(
        ErrorKind::not_found,
        "the IO report found no timed ok trial of standard_attn, fa1_fwd or fa2_fwd in the selected sweeps");
  std::sort(report.trials.begin(), report.trials.end(), [](const IoTrialRow& a, const IoTrialRow& b) {
    return std::tie(a.sweep_id, a.trial_id) < std::tie(b.sweep_id, b.trial_id);
  });
  for (const store::SweepRecord& s : sweeps)
    if (s.space_file.find("SYNTHETIC") != std::string::npos) report.synthetic = true;
  if (report.synthetic) report.title = "SYNTHETIC DATA — " + report.title;
  report.header_lines = header_lines(sweeps, report.trials, options);

  IoData data{.options = options, .sweeps = sweeps, .problems = {}, .synthetic = report.synthetic};
  for (const IoTrialRow& r : report.trials) {
    auto it = std::find_if(data.problems.begin(), data.problems.end(), [&](const ProblemRows& p) {
      return problem_order(p.problem) == problem_order(r.problem);
    });
    if (it == data.problems.end()) it = data.problems.insert(data.problems.end(), ProblemRows{r.problem, {}});
    it->rows.push_back(&r);
  }
  std::sort(data.problems.begin(), data.problems.end(), [](const ProblemRows& a, const ProblemRows& b) {
    return problem_order(a.problem) < problem_order(b.problem);
  });
  report.sections = {detail::bytes_vs_block_size(data), detail::runtime_vs_block_size(data),
                     detail::vs_sram_budget(data),      detail::roofline(data),
                     detail::paper_setting(data),       detail::standard_vs_flash(data),
                     detail::model_vs_measured(data),   detail::bytes_vs_density(data)};
  return report;
}

IoReport build_io_report(const store::ResultStore& db, const IoReportOptions& options) {
  std::vector<store::SweepRecord> sweeps;
  std::vector<store::TrialRecord> trials;
  auto take = [&](const store::SweepRecord& s, std::vector<store::TrialRecord> ts) {
    sweeps.push_back(s);
    trials.insert(trials.end(), std::make_move_iterator(ts.begin()), std::make_move_iterator(ts.end()));
  };
  if (options.sweep_ids.empty()) {
    for (const store::SweepRecord& s : db.sweeps()) {
      std::vector<store::TrialRecord> ts = db.trials(s.id);
      if (std::any_of(ts.begin(), ts.end(),
                      [](const auto& t) { return t.status == TrialStatus::ok && t.profiled; }))
        take(s, std::move(ts));
    }
    if (sweeps.empty())
      throw Error(
          ErrorKind::not_found,
          fmt::format("no sweep in {} has trials with hardware counters (name sweeps with --sweep ID to "
                      "report their runtimes and model bytes)",
                      db.path().string()));
  } else {
    for (std::int64_t id : std::set<std::int64_t>(options.sweep_ids.begin(), options.sweep_ids.end())) {
      const std::optional<store::SweepRecord> s = db.sweep(id);
      if (!s) throw Error(ErrorKind::not_found, fmt::format("no sweep {} in {}", id, db.path().string()));
      take(*s, db.trials(id));
    }
  }
  return build_io_report(sweeps, trials, options);
}

}  // namespace flashtune::report
