// Sections 1-4 of the IO report: bytes and runtime against block size and SRAM budget, and the roofline.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "report/detail/io_report_data.hpp"

namespace flashtune::report::detail {
namespace {

constexpr double kGB = 1e9;

std::vector<double> ticks_of(const std::set<std::int64_t>& values, double scale = 1) {
  std::vector<double> out;
  for (std::int64_t v : values) out.push_back(static_cast<double>(v) / scale);
  return out;
}

std::string chosen_text(const std::vector<const IoTrialRow*>& pool) {
  return std::any_of(pool.begin(), pool.end(), [](const IoTrialRow* r) { return r->profiled; })
             ? "the fastest configuration with hardware counters"
             : "the fastest timed configuration (none of these trials has counters, so no measured bytes)";
}

Plot bytes_plot(const IoData& d, const AttentionProblem& problem, std::string_view tid,
                const std::vector<const IoTrialRow*>& rows) {
  const std::vector<const IoTrialRow*> pool = with_counters_else_all(rows);
  Plot plot{.title = fmt::format("{} · {}: bytes vs block_n", tid, problem_text(problem)),
            .x_label = "block_n (key/value rows per tile)",
            .y_label = "GB (10⁹ bytes)",
            .log_x = true,
            .log_y = true};
  ByteSeries bytes;
  PlotSeries l2{.name = "measured: L2 slices (lts__t_bytes)", .key = "l2", .source = SeriesSource::measured};
  PlotSeries paper{.name = "paper: Θ(N²d²/M) shape, M = smem", .key = "paper", .source = SeriesSource::paper};
  std::set<std::int64_t> block_ns;
  std::vector<std::string> chosen;
  for (const auto& [bn, group] : by_param(pool, "block_n")) {
    const IoTrialRow& r = *fastest(group);
    const double x = static_cast<double>(bn);
    const std::string note = config_note(r);
    block_ns.insert(bn);
    chosen.push_back(fmt::format("bn={}: {}", bn, note));
    bytes.add(x, r, note);
    if (r.profiled) l2.points.push_back({x, r.l2_bytes / kGB, note});
    if (r.smem_bytes > 0)
      paper.points.push_back({x, iomodel::paper_bound_bytes(r.problem, r.smem_bytes) / kGB, note});
  }
  plot.x_ticks = ticks_of(block_ns);
  plot.series = {bytes.requested, bytes.dram_model, bytes.l2_sm, l2, bytes.dram, paper};
  plot.caption = fmt::format(
      "Each x: {} at that block_n over every block_m, warps, stages and SRAM budget — {}. Dashed: model "
      "(harness/iomodel); solid: measured (CUPTI counters of that configuration's profiled launch); dotted: "
      "the "
      "paper's e·B·H·N²·d²/M with M = the configuration's shared memory, constant factor 1 (a shape, not a "
      "prediction).",
      chosen_text(pool), fmt::join(chosen, "; "));
  plot.provenance = provenance(d, pool);
  return plot;
}

}  // namespace

ReportSection bytes_vs_block_size(const IoData& d) {
  ReportSection s{
      .number = 1,
      .title = "Bytes vs block size",
      .intro =
          "The paper's Figure 2 (right) x-axis: the key/value block size. One plot per problem and "
          "template: what the model says the kernels request and what reaches DRAM, against "
          "what the profiler measured in the L2 and in DRAM."};
  for (const ProblemRows& p : d.problems)
    for (std::string_view tid : kIoTemplates)
      if (const auto rows = rows_of(p, tid); !rows.empty())
        s.plots.push_back(bytes_plot(d, p.problem, tid, rows));
  return s;
}

ReportSection runtime_vs_block_size(const IoData& d) {
  ReportSection s{
      .number = 2,
      .title = "Runtime vs block size",
      .intro =
          "Measured median runtime of the fastest timed configuration at each block_n (over every "
          "other parameter and SRAM budget), one line per template."};
  for (const ProblemRows& p : d.problems) {
    Plot plot{.title = fmt::format("{}: runtime vs block_n", problem_text(p.problem)),
              .x_label = "block_n (key/value rows per tile)",
              .y_label = "median ms (measured)",
              .log_x = true,
              .log_y = true};
    std::set<std::int64_t> block_ns;
    for (std::string_view tid : kIoTemplates) {
      PlotSeries line{.name = std::string(tid), .key = std::string(tid), .source = SeriesSource::measured};
      for (const auto& [bn, group] : by_param(rows_of(p, tid), "block_n")) {
        const IoTrialRow& r = *fastest(group);
        block_ns.insert(bn);
        line.points.push_back({static_cast<double>(bn), r.median_ms, config_note(r)});
      }
      if (!line.points.empty()) plot.series.push_back(std::move(line));
    }
    plot.x_ticks = ticks_of(block_ns);
    plot.caption =
        "Measured: median of the timed samples (L2 flushed before each). Hover a point for its "
        "configuration.";
    plot.provenance = provenance(d, p.rows);
    s.plots.push_back(std::move(plot));
  }
  return s;
}

ReportSection vs_sram_budget(const IoData& d) {
  ReportSection s{.number = 3,
                  .title = "Best runtime and bytes vs SRAM budget",
                  .intro =
                      "The best configuration under each SRAM budget (the shared memory one block may use). "
                      "Runtime: the fastest timed configuration; bytes: the fastest one with counters (DRAM "
                      "measured solid, DRAM model dashed)."};
  for (const ProblemRows& p : d.problems) {
    Plot time{.title = fmt::format("{}: best runtime vs SRAM budget", problem_text(p.problem)),
              .x_label = "SRAM budget (KiB)",
              .y_label = "median ms (measured)",
              .log_y = true};
    Plot bytes{.title = fmt::format("{}: DRAM bytes vs SRAM budget", problem_text(p.problem)),
               .x_label = "SRAM budget (KiB)",
               .y_label = "DRAM GB (10⁹ bytes)",
               .log_y = true};
    std::set<std::int64_t> budgets;
    for (std::string_view tid : kIoTemplates) {
      const std::vector<const IoTrialRow*> rows = rows_of(p, tid);
      const std::string name(tid);
      PlotSeries t{.name = name, .key = name, .source = SeriesSource::measured};
      for (const auto& [budget, group] : by_budget(rows)) {
        const IoTrialRow& r = *fastest(group);
        budgets.insert(budget);
        t.points.push_back({static_cast<double>(budget) / 1024, r.median_ms, config_note(r)});
      }
      PlotSeries measured{.name = name + " measured", .key = name, .source = SeriesSource::measured};
      PlotSeries model{.name = name + " model", .key = name, .source = SeriesSource::model};
      for (const auto& [budget, group] : by_budget(with_counters_else_all(rows))) {
        const IoTrialRow& r = *fastest(group);
        const double x = static_cast<double>(budget) / 1024;
        if (r.profiled) measured.points.push_back({x, r.dram_bytes() / kGB, config_note(r)});
        model.points.push_back({x, r.model.dram.total() / kGB, config_note(r)});
      }
      if (!t.points.empty()) time.series.push_back(std::move(t));
      for (PlotSeries* series : {&measured, &model})
        if (!series->points.empty()) bytes.series.push_back(std::move(*series));
    }
    time.x_ticks = bytes.x_ticks = ticks_of(budgets, 1024);
    time.provenance = bytes.provenance = provenance(d, p.rows);
    time.caption = "Measured median; hover a point for its configuration.";
    bytes.caption =
        "Solid: measured DRAM read + write (CUPTI); dashed: the model's DRAM estimate for the same "
        "configuration.";
    s.plots.push_back(std::move(time));
    s.plots.push_back(std::move(bytes));
  }
  return s;
}

ReportSection roofline(const IoData& d) {
  const IoReportOptions& o = d.options;
  ReportSection s{.number = 4,
                  .title = "Roofline",
                  .intro = fmt::format("Each configuration with counters is a point: x = FLOPs / measured "
                                       "DRAM bytes, y = measured TFLOP/s. "
                                       "Roofs: {:g} TB/s (the H100's measured device-to-device copy) and "
                                       "{:g} TFLOP/s (bf16 GEMM); both are "
                                       "options of flashtune report io.",
                                       o.peak_bandwidth / 1e12, o.peak_flops / 1e12)};
  Plot plot{.title = "Roofline: all problems, all templates",
            .x_label = "FLOP / DRAM byte (measured bytes)",
            .y_label = "TFLOP/s (measured)",
            .log_x = true,
            .log_y = true};
  double x_lo = o.peak_flops / o.peak_bandwidth, x_hi = x_lo;
  for (std::size_t pi = 0; pi < d.problems.size(); ++pi) {
    const ProblemRows& p = d.problems[pi];
    for (std::string_view tid : kIoTemplates) {
      PlotSeries pts{.name = fmt::format("{} · N{} d{}{}", tid, p.problem.seqlen, p.problem.head_dim,
                                         p.problem.causal ? " causal" : ""),
                     .key = std::string(tid),
                     .source = SeriesSource::measured,
                     .scatter = true,
                     .marker = static_cast<int>(pi % 4)};
      for (const IoTrialRow* r : rows_of(p, tid)) {
        if (!r->profiled || !(r->dram_bytes() > 0)) continue;
        const double x = r->problem.flops() / r->dram_bytes();
        x_lo = std::min(x_lo, x);
        x_hi = std::max(x_hi, x);
        pts.points.push_back({x, r->problem.flops() / (r->median_ms * 1e-3) / 1e12, config_note(*r)});
      }
      if (!pts.points.empty()) plot.series.push_back(std::move(pts));
    }
  }
  std::vector<const IoTrialRow*> profiled;
  for (const ProblemRows& p : d.problems)
    for (const IoTrialRow* r : p.rows)
      if (r->profiled) profiled.push_back(r);
  plot.provenance = provenance(d, profiled);
  x_lo /= 2;
  x_hi *= 2;
  const double ridge = o.peak_flops / o.peak_bandwidth;
  auto roof = [&](double x) { return std::min(o.peak_flops, x * o.peak_bandwidth) / 1e12; };
  plot.series.push_back(
      {.name = fmt::format("roof: {:g} TB/s, {:g} TFLOP/s", o.peak_bandwidth / 1e12, o.peak_flops / 1e12),
       .key = "roof",
       .source = SeriesSource::roof,
       .points = {{x_lo, roof(x_lo), ""}, {ridge, roof(ridge), "ridge"}, {x_hi, roof(x_hi), ""}}});
  plot.caption = fmt::format(
      "FLOPs = 4·B·H·N²·d (halved when causal); marker shape = problem, colour = template. Ridge at {:.0f} "
      "FLOP/byte.",
      ridge);
  s.plots.push_back(std::move(plot));
  return s;
}

}  // namespace flashtune::report::detail
