#pragma once
// The IO report as plain data: computed once from the stored trials (build_io_report), then rendered by one
// printer per format (io_report_format.hpp). Nothing here formats for a particular output: plots are series
// of (x, y) points, tables are rows of text cells.
//
//   store::ResultStore db(path);
//   const IoReport r = build_io_report(db, {.sweep_ids = {3, 4, 5}});
//   write_io_report(r, "io-report");   // io-report.html, io-report.md, io-report.csv
//
// Sources: every series and every column says where its numbers come from: "model" (harness/iomodel: the
// templates' data-movement contract, a DRAM estimate and a calibrated L2 model; docs/io-model.md) or
// "measured" (the trial's timed median, and the hardware counters of its one profiled launch: DRAM bytes read
// and written, L2 bytes as lts__t_bytes).
#include <cstdint>
#include <string>
#include <vector>

#include "iomodel/io_model.hpp"
#include "store/records.hpp"

namespace flashtune::store {
class ResultStore;
}

namespace flashtune::report {

struct IoReportOptions {
  std::vector<std::int64_t> sweep_ids;  // empty: every sweep in the store that has trials with counters
  double peak_bandwidth = 3.0e12;  // bytes/s, the roofline's memory roof (H100: measured copy, read + write)
  double peak_flops = 774e12;      // FLOP/s, the compute roof (H100: bf16 GEMM 8192³ through torch)
  iomodel::L2Calibration calibration;  // for the "L2 (model)" numbers
  double l2_usable_fraction = 0.75;    // ModelInputs::l2_usable_fraction
};

// One stored trial with its model numbers: a row of the CSV, and what the plots and tables are built from.
struct IoTrialRow {
  std::int64_t sweep_id = 0, trial_id = 0;
  std::string template_id, gpu_name;
  AttentionProblem problem;
  std::int64_t smem_budget = 0;  // bytes
  ParamValues params;
  int smem_bytes = 0, blocks_per_sm = 0;
  double median_ms = 0, tflops = 0;  // measured
  iomodel::IoEstimate model;         // model (calibrated with IoReportOptions::calibration)
  bool profiled = false;
  double dram_read_bytes = 0, dram_write_bytes = 0, l2_bytes = 0;  // measured, when profiled
  // Measured L2 traffic as the SMs see it: bytes L2 delivered to them (l1tex__m_xbar2l1tex_read_bytes)
  // plus the sectors they wrote (32 x lts__t_sectors_srcunit_tex_op_write); -1 when not recorded. The model's
  // requested bytes predict this one; lts__t_bytes (l2_bytes) counts at the L2 slices, after Hopper's L2
  // request coalescer merges identical requests of different SMs, and includes the DRAM fills.
  double l2_sm_bytes = -1;
  double dram_bytes() const { return dram_read_bytes + dram_write_bytes; }
};

// What a series' numbers are: its printer draws model series dashed, measured ones solid, the paper's shape
// dotted, roofs thin.
enum class SeriesSource { model, measured, paper, roof };

struct PlotPoint {
  double x = 0, y = 0;
  std::string note;  // the configuration behind the point (a tooltip in HTML)
};

struct PlotSeries {
  std::string name;  // the legend: "measured: DRAM read+write"
  std::string key;   // what picks its colour: a template id, or a quantity (requested, l2, dram, paper, roof)
  SeriesSource source = SeriesSource::measured;
  bool scatter = false;  // points only, no line
  int marker = 0;        // 0 circle, 1 square, 2 triangle, 3 diamond (scatter plots: one per problem)
  std::vector<PlotPoint> points;  // in x order for lines
};

struct Plot {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  std::vector<double> x_ticks;  // where to put x ticks; empty: the printer picks
  std::vector<PlotSeries> series;
  std::string caption;     // which configurations, which sources
  std::string provenance;  // "measured on <GPU> · sweeps 3, 4 · 2026-11-24" (see ReportTable)
};

struct ReportTable {
  std::string title;
  std::string provenance;  // "measured on <GPU> · sweeps 3, 4 · 2026-11-24"
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

struct ReportSection {
  int number = 0;  // 1..8, as docs/io-model.md describes them
  std::string title, intro;
  std::vector<Plot> plots;
  std::vector<ReportTable> tables;
};

struct IoReport {
  std::string title;
  bool synthetic = false;  // a selected sweep's space_file says SYNTHETIC: the numbers were not measured
  std::vector<std::string> header_lines;  // GPU, sweeps, dates, constants, what "model" and "measured" mean
  std::vector<ReportSection> sections;
  std::vector<IoTrialRow> trials;  // every ok, timed trial of a modelled template, by sweep then trial id
};

// The report over the given sweeps and their trials (ok, timed, of a template the model knows). Throws
// Error(not_found) when no trial qualifies.
IoReport build_io_report(const std::vector<store::SweepRecord>& sweeps,
                         const std::vector<store::TrialRecord>& trials, const IoReportOptions& options);
// Reads the sweeps (options.sweep_ids, or every sweep with profiled ok trials) from the store. Throws
// Error(not_found) for an unknown sweep id, or when the store has no sweep with counters and none was named.
IoReport build_io_report(const store::ResultStore& db, const IoReportOptions& options);

}  // namespace flashtune::report
