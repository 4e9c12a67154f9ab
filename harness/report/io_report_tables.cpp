// Sections 5-7 of the IO report: the paper's setting, standard vs FlashAttention, model vs measured.
#include <fmt/format.h>

#include "report/detail/io_report_data.hpp"

namespace flashtune::report::detail {
namespace {

std::string measured_gb(const IoTrialRow& r, double bytes) {
  return r.profiled ? gb(bytes) : kNone;
}

}  // namespace

ReportSection paper_setting(const IoData& d) {
  ReportSection s{.number = 5,
                  .title = "The paper's setting: N = 1024, d = 64, forward",
                  .intro =
                      "FlashAttention's Figure 2 setting (the paper measured an A100 at batch 64, 16 heads). "
                      "Per template and block_n: the fastest configuration with counters (the fastest timed "
                      "one when none has counters)."};
  for (const ProblemRows& p : d.problems) {
    if (p.problem.seqlen != 1024 || p.problem.head_dim != 64) continue;
    ReportTable t{.title = problem_text(p.problem),
                  .header = {"template", "block_n", "configuration", "budget KiB", "median ms (measured)",
                             "TFLOP/s (measured)", "requested GB (model)", "DRAM GB (model)",
                             "DRAM read GB (measured)", "DRAM write GB (measured)", "L2 GB (measured)"}};
    std::vector<const IoTrialRow*> used;
    for (std::string_view tid : kIoTemplates)
      for (const auto& [bn, group] : by_param(with_counters_else_all(rows_of(p, tid)), "block_n")) {
        const IoTrialRow& r = *fastest(group);
        used.push_back(&r);
        t.rows.push_back({std::string(tid), std::to_string(bn), config_text(r.params),
                          fmt::format("{:g}", static_cast<double>(r.smem_budget) / 1024), ms(r.median_ms),
                          tflops(r.tflops), gb(r.model.requested.total()), gb(r.model.dram.total()),
                          measured_gb(r, r.dram_read_bytes), measured_gb(r, r.dram_write_bytes),
                          measured_gb(r, r.l2_bytes)});
      }
    t.provenance = provenance(d, used);
    s.tables.push_back(std::move(t));
  }
  if (s.tables.empty()) s.intro += " No trial in the selected sweeps has N = 1024 and d = 64.";
  return s;
}

ReportSection standard_vs_flash(const IoData& d) {
  ReportSection s{.number = 6,
                  .title = "Standard attention vs FlashAttention",
                  .intro =
                      "Per problem, the fastest configuration of each template with counters (HBM = measured "
                      "DRAM traffic), and the ratio standard / flash for each column."};
  for (const ProblemRows& p : d.problems) {
    ReportTable t{.title = problem_text(p.problem),
                  .header = {"template", "configuration", "HBM read GB (measured)", "HBM write GB (measured)",
                             "L2 GB (measured)", "runtime ms (measured)", "TFLOP/s (measured)"}};
    std::vector<const IoTrialRow*> used;
    for (std::string_view tid : kIoTemplates)
      if (const IoTrialRow* r = fastest(with_counters_else_all(rows_of(p, tid)))) {
        used.push_back(r);
        t.rows.push_back({std::string(tid), config_text(r->params), measured_gb(*r, r->dram_read_bytes),
                          measured_gb(*r, r->dram_write_bytes), measured_gb(*r, r->l2_bytes),
                          ms(r->median_ms), tflops(r->tflops)});
      }
    const IoTrialRow* standard =
        used.empty() || used.front()->template_id != "standard_attn" ? nullptr : used.front();
    if (standard)
      for (const IoTrialRow* flash : used) {
        if (flash == standard) continue;
        const bool counters = standard->profiled && flash->profiled;
        auto bytes_ratio = [&](double a, double b) { return counters ? ratio(a, b) : kNone; };
        t.rows.push_back({fmt::format("ratio standard_attn / {}", flash->template_id), kNone,
                          bytes_ratio(standard->dram_read_bytes, flash->dram_read_bytes),
                          bytes_ratio(standard->dram_write_bytes, flash->dram_write_bytes),
                          bytes_ratio(standard->l2_bytes, flash->l2_bytes),
                          ratio(standard->median_ms, flash->median_ms),
                          ratio(standard->tflops, flash->tflops)});
      }
    t.provenance = provenance(d, used);
    s.tables.push_back(std::move(t));
  }
  return s;
}

ReportSection model_vs_measured(const IoData& d) {
  const iomodel::L2Calibration& cal = d.options.calibration;
  ReportSection s{
      .number = 7,
      .title = "Model vs measured",
      .intro = fmt::format(
          "Per template and block_n, the fastest configuration with counters. The model's requested bytes "
          "predict the L2↔SM traffic (what the SMs load from and store to L2). The L2 slices' own count "
          "(lts__t_bytes) is lower where Hopper's L2 request coalescer merges the same tile requested by "
          "several SMs at once (FlashAttention-2's CTAs of one head read the same K/V tiles together) and "
          "adds "
          "the DRAM fills; its model: {} (a·requested.read + b·requested.write + c·DRAM.read + "
          "d·DRAM.write).",
          cal.to_string())};
  std::vector<iomodel::CalibrationPoint> points;
  for (const ProblemRows& p : d.problems)
    for (const IoTrialRow* r : p.rows)
      if (r->profiled)
        points.push_back({.requested = r->model.requested,
                          .dram = {r->dram_read_bytes, r->dram_write_bytes},
                          .l2_bytes = r->l2_bytes});
  if (!points.empty()) {
    const iomodel::L2Calibration fit = iomodel::fit_calibration(points);
    s.intro += fmt::format(
        " Over the {} trials with counters, these constants are off by {:.1f}% (RMS of (model - measured) / "
        "measured); a least-squares fit to these trials' measured DRAM and L2 gives {} ({:.1f}%) — a "
        "diagnostic, "
        "not the calibration (docs/io-model.md: calibrate against a copy kernel).",
        points.size(), 100 * iomodel::relative_rms_error(cal, points), fit.to_string(),
        100 * iomodel::relative_rms_error(fit, points));
  }
  for (const ProblemRows& p : d.problems) {
    ReportTable t{.title = problem_text(p.problem),
                  .header = {"template", "block_n", "configuration", "requested GB (model)",
                             "L2↔SM GB (measured)", "L2↔SM measured / requested", "L2 slices GB (measured)",
                             "L2 slices GB (model, calibrated)", "L2 slices measured / model",
                             "DRAM GB (model)", "DRAM GB (measured)", "DRAM measured / model"}};
    std::vector<const IoTrialRow*> used;
    for (std::string_view tid : kIoTemplates)
      for (const auto& [bn, group] : by_param(with_counters_else_all(rows_of(p, tid)), "block_n")) {
        const IoTrialRow& r = *fastest(group);
        used.push_back(&r);
        const bool sm_side = r.profiled && r.l2_sm_bytes >= 0;
        t.rows.push_back({std::string(tid), std::to_string(bn), config_text(r.params),
                          gb(r.model.requested.total()), sm_side ? gb(r.l2_sm_bytes) : kNone,
                          sm_side ? ratio(r.l2_sm_bytes, r.model.requested.total()) : kNone,
                          measured_gb(r, r.l2_bytes), gb(r.model.l2_bytes),
                          r.profiled ? ratio(r.l2_bytes, r.model.l2_bytes) : kNone, gb(r.model.dram.total()),
                          measured_gb(r, r.dram_bytes()),
                          r.profiled ? ratio(r.dram_bytes(), r.model.dram.total()) : kNone});
      }
    t.provenance = provenance(d, used);
    s.tables.push_back(std::move(t));
  }
  return s;
}

}  // namespace flashtune::report::detail
