#pragma once
// What the builders of the IO report's sections share (io_report_model.cpp, io_report_plots.cpp,
// io_report_tables.cpp): the trials grouped by problem, and the rules that pick configurations.
#include <array>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "report/io_report_model.hpp"

namespace flashtune::report::detail {

// The templates the report compares, in the order it shows them (the paper's order: standard first).
inline constexpr std::array<std::string_view, 3> kIoTemplates = {"standard_attn", "fa1_fwd", "fa2_fwd"};

struct ProblemRows {
  AttentionProblem problem;
  std::vector<const IoTrialRow*> rows;
};

struct IoData {
  const IoReportOptions& options;
  const std::vector<store::SweepRecord>& sweeps;
  std::vector<ProblemRows> problems;  // ordered by seqlen, head_dim, causal, batch, heads, dtype
  bool synthetic = false;
};

std::vector<const IoTrialRow*> rows_of(const ProblemRows& p, std::string_view template_id);
// The trials with counters when any has them, else all: what byte plots and tables choose from.
std::vector<const IoTrialRow*> with_counters_else_all(const std::vector<const IoTrialRow*>& rows);
// Lowest median (ties: lower trial id); nullptr for none.
const IoTrialRow* fastest(const std::vector<const IoTrialRow*>& rows);
// Grouped by one parameter's value (block_n), or by budget.
std::map<std::int64_t, std::vector<const IoTrialRow*>> by_param(const std::vector<const IoTrialRow*>& rows,
                                                                const std::string& name);
std::map<std::int64_t, std::vector<const IoTrialRow*>> by_budget(const std::vector<const IoTrialRow*>& rows);

// "bm=128 bn=64 s=2 w=8"
std::string config_text(const ParamValues& params);
// "bm=128 bn=64 s=2 w=8, 96 KiB budget, smem 40 KiB, 0.412 ms"
std::string config_note(const IoTrialRow& r);
// "measured on NVIDIA H100 80GB HBM3 · sweeps 3, 4 · 2026-11-24" ("SYNTHETIC (...) · GPU ..." when it is)
std::string provenance(const IoData& data, const std::vector<const IoTrialRow*>& rows);
// "B16 H16 N1024 d64 bf16"
std::string problem_text(const AttentionProblem& p);

std::string gb(double bytes);  // "1.234", "0.07060" (10^9 bytes, 4 significant digits), "—" when negative
std::string ms(double v);      // "0.4123"
std::string tflops(double v);  // "312.4"
std::string ratio(double a, double b);  // "2.41×", "—" when b <= 0
inline constexpr const char* kNone = "—";

// The byte series of a bytes plot (section 1 against block_n, section 8 against density): model requested and
// DRAM (dashed), measured L2↔SM and DRAM (solid). add() puts trial r's point at x into each (the measured
// ones only when r has counters).
struct ByteSeries {
  PlotSeries requested{
      .name = "model: requested (loads + stores)", .key = "requested", .source = SeriesSource::model};
  PlotSeries dram_model{.name = "model: DRAM estimate", .key = "dram", .source = SeriesSource::model};
  PlotSeries l2_sm{.name = "measured: L2↔SM (what the SMs load and store)",
                   .key = "requested",
                   .source = SeriesSource::measured};
  PlotSeries dram{.name = "measured: DRAM read + write", .key = "dram", .source = SeriesSource::measured};
  void add(double x, const IoTrialRow& r, const std::string& note);
};

// The sections, in order.
ReportSection bytes_vs_block_size(const IoData& d);    // 1 (io_report_plots.cpp)
ReportSection runtime_vs_block_size(const IoData& d);  // 2
ReportSection vs_sram_budget(const IoData& d);         // 3
ReportSection roofline(const IoData& d);               // 4
ReportSection paper_setting(const IoData& d);          // 5 (io_report_tables.cpp)
ReportSection standard_vs_flash(const IoData& d);      // 6
ReportSection model_vs_measured(const IoData& d);      // 7
ReportSection bytes_vs_density(const IoData& d);       // 8 (io_report_density.cpp)

}  // namespace flashtune::report::detail
