// The IO report from a fixture database (the SYNTHETIC one of io_fixture.hpp, or a real one given as
// FLASHTUNE_IO_FIXTURE_DB): the data model has the series and tables the trials call for, the CSV has one row
// per trial, the Markdown has tables 5-7 and no links; sweep selection; the SVG plotter.
#include "report/io_report_model.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/block_layout.hpp"
#include "core/error.hpp"
#include "report/io_fixture.hpp"
#include "report/io_report_format.hpp"
#include "report/svg_plot.hpp"
#include "store/store_test_util.hpp"

namespace flashtune::report {
namespace {
using store::testing::ScratchDir;
using testing::io_report_test_db;
using testing::kSyntheticFixture;

// What the report should be built from, worked out here independently of the report's code: the sweeps with
// profiled ok trials, and their ok, timed trials of the modelled templates.
struct Expected {
  std::vector<store::SweepRecord> sweeps;
  std::vector<store::TrialRecord> trials;
  std::set<std::string> problems;                              // AttentionProblem::to_string()
  std::map<std::pair<std::string, std::string>, int> by_pair;  // (problem, template) -> trials
};

Expected expected_from(const store::ResultStore& db) {
  Expected e;
  for (const store::SweepRecord& s : db.sweeps()) {
    const auto ts = db.trials(s.id);
    if (std::none_of(ts.begin(), ts.end(),
                     [](const auto& t) { return t.status == TrialStatus::ok && t.profiled; }))
      continue;
    e.sweeps.push_back(s);
    for (const store::TrialRecord& t : ts)
      if (t.status == TrialStatus::ok && t.median_ms > 0 && iomodel::models_template(t.template_id)) {
        e.trials.push_back(t);
        e.problems.insert(t.problem.to_string());
        ++e.by_pair[{t.problem.to_string(), t.template_id}];
      }
  }
  return e;
}

struct Loaded {
  ScratchDir dir;
  std::filesystem::path db_path = io_report_test_db(dir.path());
  store::ResultStore db{db_path};
  Expected expected = expected_from(db);
  IoReport report = build_io_report(db, {});
};

const Loaded& loaded() {
  static const Loaded l;
  return l;
}

const ReportSection& section(const IoReport& r, int number) {
  for (const ReportSection& s : r.sections)
    if (s.number == number) return s;
  throw std::runtime_error(fmt::format("no section {}", number));
}

const PlotSeries* series_named(const Plot& p, const std::string& name) {
  for (const PlotSeries& s : p.series)
    if (s.name == name) return &s;
  return nullptr;
}

TEST(IoReportModel, HasOneRowPerTimedTrialAndEightSections) {
  const Loaded& l = loaded();
  ASSERT_FALSE(l.expected.trials.empty());
  EXPECT_EQ(l.report.trials.size(), l.expected.trials.size());
  ASSERT_EQ(l.report.sections.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(l.report.sections[i].number, i + 1);
  for (const IoTrialRow& r : l.report.trials) {
    EXPECT_TRUE(iomodel::models_template(r.template_id)) << r.template_id;
    EXPECT_GT(r.model.requested.total(), 0);
    EXPECT_GE(r.model.requested.read_bytes, r.model.dram.read_bytes);
  }
}

TEST(IoReportModel, BytesPlotsFollowTheFastestProfiledConfigurationPerBlockN) {
  const Loaded& l = loaded();
  const ReportSection& s1 = section(l.report, 1);
  EXPECT_EQ(s1.plots.size(), l.expected.by_pair.size());  // one per (problem, template)
  for (const auto& [pair, count] : l.expected.by_pair) {
    const auto& [problem, tid] = pair;
    const std::string title = fmt::format("{} · {}: bytes vs block_n", tid, problem);
    const auto plot =
        std::find_if(s1.plots.begin(), s1.plots.end(), [&](const Plot& p) { return p.title == title; });
    ASSERT_NE(plot, s1.plots.end()) << title;
    // The fastest profiled trial at each block_n (all trials when none is profiled).
    std::map<std::int64_t, double> fastest_profiled, fastest_any;
    for (const store::TrialRecord& t : l.expected.trials) {
      if (t.problem.to_string() != problem || t.template_id != tid) continue;
      const std::int64_t bn = t.params.at("block_n");
      if (!fastest_any.count(bn) || t.median_ms < fastest_any[bn]) fastest_any[bn] = t.median_ms;
      if (t.profiled && (!fastest_profiled.count(bn) || t.median_ms < fastest_profiled[bn]))
        fastest_profiled[bn] = t.median_ms;
    }
    const auto& chosen = fastest_profiled.empty() ? fastest_any : fastest_profiled;
    const PlotSeries* requested = series_named(*plot, "model: requested (loads + stores)");
    const PlotSeries* dram = series_named(*plot, "measured: DRAM read + write");
    const PlotSeries* l2 = series_named(*plot, "measured: L2 slices (lts__t_bytes)");
    ASSERT_TRUE(requested && dram && l2 && series_named(*plot, "model: DRAM estimate"));
    ASSERT_TRUE(series_named(*plot, "paper: Θ(N²d²/M) shape, M = smem"));
    ASSERT_EQ(requested->points.size(), chosen.size()) << title;
    EXPECT_EQ(dram->points.size(), fastest_profiled.size()) << title;
    EXPECT_EQ(l2->points.size(), fastest_profiled.size()) << title;
    std::size_t i = 0;
    for (const auto& [bn, median] : chosen) {
      EXPECT_EQ(requested->points[i].x, static_cast<double>(bn));
      EXPECT_NE(requested->points[i].note.find(fmt::format("{:.4f} ms", median)), std::string::npos)
          << title << ": " << requested->points[i].note;
      ++i;
    }
    EXPECT_NE(plot->caption.find("bn="), std::string::npos);  // states the chosen configurations
  }
}

TEST(IoReportModel, RuntimeBudgetAndRooflineSections) {
  const Loaded& l = loaded();
  const std::size_t problems = l.expected.problems.size();
  EXPECT_EQ(section(l.report, 2).plots.size(), problems);
  EXPECT_EQ(section(l.report, 3).plots.size(), 2 * problems);
  const ReportSection& s4 = section(l.report, 4);
  ASSERT_EQ(s4.plots.size(), 1u);
  std::size_t points = 0;
  for (const PlotSeries& s : s4.plots[0].series)
    if (s.source == SeriesSource::measured) {
      points += s.points.size();
    } else {
      EXPECT_EQ(s.key, "roof");
    }
  std::size_t profiled = 0;
  for (const store::TrialRecord& t : l.expected.trials)
    profiled += t.profiled && t.dram_read_bytes + t.dram_write_bytes > 0 ? 1 : 0;
  EXPECT_EQ(points, profiled);
}

TEST(IoReportModel, PlotsNameTheirSources) {
  const Loaded& l = loaded();
  const std::string gpu = l.expected.sweeps.front().gpu.name;
  for (const ReportSection& s : l.report.sections)
    for (const Plot& p : s.plots) {
      EXPECT_NE(p.provenance.find(gpu), std::string::npos) << p.title << ": " << p.provenance;
      for (const PlotSeries& series : p.series) {
        const bool named =
            series.source != SeriesSource::model || series.name.find("model") != std::string::npos;
        EXPECT_TRUE(named) << p.title << ": " << series.name;
      }
    }
}

TEST(IoReportModel, TablesNameTheirSources) {
  const Loaded& l = loaded();
  std::size_t paper_problems = 0;
  for (const store::TrialRecord& t : l.expected.trials)
    if (t.problem.seqlen == 1024 && t.problem.head_dim == 64) {
      paper_problems = 1;
      break;
    }
  EXPECT_GE(section(l.report, 5).tables.size(), paper_problems);
  EXPECT_EQ(section(l.report, 6).tables.size(), l.expected.problems.size());
  EXPECT_EQ(section(l.report, 7).tables.size(), l.expected.problems.size());
  const std::string gpu = l.expected.sweeps.front().gpu.name;
  const std::string date = l.expected.sweeps.front().started_at.substr(0, 10);
  for (int n : {5, 6, 7})
    for (const ReportTable& t : section(l.report, n).tables) {
      EXPECT_NE(t.provenance.find(gpu), std::string::npos) << t.provenance;
      EXPECT_NE(t.provenance.find("sweep"), std::string::npos) << t.provenance;
      EXPECT_NE(t.provenance.find(date), std::string::npos) << t.provenance;
      for (const std::string& h : t.header) {
        const bool number = h.find("GB") != std::string::npos || h.find("ms") != std::string::npos ||
                            h.find("TFLOP") != std::string::npos;
        const bool sourced =
            h.find("(model") != std::string::npos || h.find("(measured)") != std::string::npos;
        EXPECT_TRUE(!number || sourced) << h;
      }
      for (const auto& row : t.rows) EXPECT_EQ(row.size(), t.header.size());
    }
}

#ifdef FLASHTUNE_IO_FIXTURE_DB
// A real database: measured, so not labelled SYNTHETIC.
TEST(IoReportModel, RealFixtureIsNotSynthetic) {
  EXPECT_FALSE(loaded().report.synthetic);
}
#else
TEST(IoReportModel, SyntheticFixtureIsLabelledAndShaped) {
  const Loaded& l = loaded();
  EXPECT_TRUE(l.report.synthetic);
  EXPECT_NE(l.report.title.find("SYNTHETIC"), std::string::npos);
  EXPECT_EQ(section(l.report, 1).plots.size(), 6u);  // 2 problems x 3 templates
  ASSERT_EQ(section(l.report, 5).tables.size(), 1u);
  EXPECT_EQ(section(l.report, 5).tables[0].rows.size(), 9u);  // 3 templates x 3 block_n
  EXPECT_NE(section(l.report, 5).tables[0].provenance.find("SYNTHETIC"), std::string::npos);
  // Standard attention moves far more DRAM bytes than either flash template.
  const ReportTable& vs = section(l.report, 6).tables[0];
  ASSERT_EQ(vs.rows.size(), 5u);  // 3 templates + 2 ratio rows
  EXPECT_EQ(vs.rows[3][0], "ratio standard_attn / fa1_fwd");
  EXPECT_EQ(vs.rows[4][0], "ratio standard_attn / fa2_fwd");
  EXPECT_GT(std::stod(vs.rows[4][2]), 3.0);  // HBM read ratio, "12.34×"
  // The fixture's L2 is 1.15 x the default model (± its 4% jitter): the ratio column says so.
  for (const auto& row : section(l.report, 7).tables[0].rows) {
    const double r = std::stod(row[8]);  // "L2 slices measured / model"
    EXPECT_GT(r, 1.09);
    EXPECT_LT(r, 1.21);
  }
}
#endif

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Fields of one CSV line (quotes as RFC 4180).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"')
      out.back() += '"', ++i;
    else if (c == '"')
      quoted = !quoted;
    else if (c == ',' && !quoted)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

// Section 8 from hand-made trials: fa2_fwd on one block-sparse problem at three densities (and a dense
// problem, which stays out): one plot and one table, a row per density in density order, x the drawn
// layout's density, the model's requested bytes falling with it, measured/model the trial's own ratio.
TEST(IoReportDensity, OnePlotAndTablePerFamilyOfDensities) {
  store::SweepRecord sweep;
  sweep.id = 1;
  sweep.template_id = "fa2_fwd";
  std::vector<store::TrialRecord> trials;
  auto add = [&](AttentionProblem p, double ms, double l2_sm) {
    store::TrialRecord t;
    t.id = static_cast<std::int64_t>(trials.size()) + 1;
    t.sweep_id = 1;
    t.template_id = "fa2_fwd";
    t.problem = p;
    t.params = {{"block_m", 128}, {"block_n", 64}, {"warps", 4}, {"stages", 2}};
    t.status = TrialStatus::ok;
    t.median_ms = ms;
    t.profiled = true;
    t.dram_read_bytes = 1e8;
    t.dram_write_bytes = 1e7;
    t.counters_json = fmt::format(
        R"({{"l1tex__m_xbar2l1tex_read_bytes.sum": {}, "lts__t_sectors_srcunit_tex_op_write.sum": 0}})",
        l2_sm);
    trials.push_back(t);
  };
  const AttentionProblem base{.batch = 1, .heads = 4, .seqlen = 4096, .head_dim = 128};
  for (float density : {0.5f, 0.1f, 0.25f}) {
    AttentionProblem p = base;
    p.sparse_block = 128;
    p.sparse_density = density;
    p.sparse_seed = 3;
    add(p, density, 1e9 * density);
  }
  add(base, 1.0, 1e9);
  const IoReport r = build_io_report({sweep}, trials, {});
  const ReportSection& s8 = section(r, 8);
  ASSERT_EQ(s8.plots.size(), 1u);
  ASSERT_EQ(s8.tables.size(), 1u);
  ASSERT_EQ(s8.tables[0].rows.size(), 3u);
  const PlotSeries* requested = series_named(s8.plots[0], "model: requested (loads + stores)");
  ASSERT_NE(requested, nullptr);
  ASSERT_EQ(requested->points.size(), 3u);
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_GT(requested->points[i].x, requested->points[i - 1].x);
    EXPECT_GT(requested->points[i].y, requested->points[i - 1].y);
  }
  AttentionProblem p = base;
  p.sparse_block = 128;
  p.sparse_density = 0.1f;
  p.sparse_seed = 3;
  EXPECT_DOUBLE_EQ(requested->points[0].x, block_layout(p).density());
  // The 10% row: its trial's measured L2<->SM bytes over the model's requested bytes.
  const iomodel::IoEstimate m = iomodel::estimate(
      {.template_id = "fa2_fwd", .problem = p, .params = trials[1].params}, IoReportOptions{}.calibration);
  EXPECT_EQ(s8.tables[0].rows[0][5], fmt::format("{:.2f}×", 1e8 / m.requested.total()));
}

TEST(IoReportCsv, OneRowPerTrial) {
  const Loaded& l = loaded();
  const std::vector<std::string> lines = lines_of(render_io_report(l.report, "csv"));
  ASSERT_EQ(lines.size(), l.expected.trials.size() + 1);
  const std::vector<std::string> header = csv_fields(lines[0]);
  for (const char* col : {"template", "problem", "budget_bytes", "params", "median_ms", "tflops",
                          "model_requested_read_bytes", "model_dram_read_bytes", "model_l2_bytes",
                          "measured_dram_read_bytes", "measured_dram_write_bytes", "measured_l2_bytes"})
    EXPECT_NE(std::find(header.begin(), header.end(), col), header.end()) << col;
  std::set<std::string> ids;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = csv_fields(lines[i]);
    ASSERT_EQ(f.size(), header.size()) << lines[i];
    ids.insert(f[0] + "/" + f[1]);
  }
  EXPECT_EQ(ids.size(), l.expected.trials.size());  // every trial once
}

TEST(IoReportMarkdown, HasTablesFiveToSevenAndNoLinks) {
  const Loaded& l = loaded();
  const std::string md = render_io_report(l.report, "markdown");
  for (const char* h : {"## 5. ", "## 6. ", "## 7. "}) EXPECT_NE(md.find(h), std::string::npos) << h;
  for (const char* h : {"## 1. ", "## 2. ", "## 3. ", "## 4. "})
    EXPECT_EQ(md.find(h), std::string::npos) << h;
  for (int n : {5, 6, 7})
    for (const ReportTable& t : section(l.report, n).tables) {
      EXPECT_NE(md.find("### " + t.title), std::string::npos);
      EXPECT_NE(md.find("| " + t.header.front() + " |"), std::string::npos);
    }
  EXPECT_NE(md.find("| --- |"), std::string::npos);
  EXPECT_EQ(md.find("http"), std::string::npos);
  EXPECT_EQ(md.find("]("), std::string::npos);  // no Markdown links
  if (kSyntheticFixture) {
    EXPECT_NE(md.find("SYNTHETIC"), std::string::npos);
  }
}

TEST(IoReportHtml, IsSelfContained) {
  const Loaded& l = loaded();
  const std::string html = render_io_report(l.report, "html");
  std::size_t svgs = 0;
  for (std::size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++svgs;
  std::size_t plots = 0;
  for (const ReportSection& s : l.report.sections) plots += s.plots.size();
  EXPECT_EQ(svgs, plots);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
}

TEST(IoReportFormat, WritesEveryFormatAndRejectsUnknownOnes) {
  const Loaded& l = loaded();
  ScratchDir out;
  const auto files = write_io_report(l.report, out / "nested" / "report");
  ASSERT_EQ(files.size(), 3u);
  for (const char* name : {"io-report.html", "io-report.md", "io-report.csv"}) {
    const auto f = out / "nested" / "report" / name;
    EXPECT_TRUE(std::filesystem::exists(f)) << f;
    EXPECT_GT(std::filesystem::file_size(f), 100u) << f;
  }
  EXPECT_THROW(render_io_report(l.report, "pdf"), Error);
}

TEST(IoReportSelection, NamedSweepsAndErrors) {
  const Loaded& l = loaded();
  const std::int64_t one = l.expected.sweeps.front().id;
  const IoReport r = build_io_report(l.db, {.sweep_ids = {one}});
  EXPECT_FALSE(r.trials.empty());
  for (const IoTrialRow& t : r.trials) EXPECT_EQ(t.sweep_id, one);
  try {
    build_io_report(l.db, {.sweep_ids = {987654}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find("987654"), std::string::npos);
  }
  ScratchDir empty;
  const store::ResultStore none(empty / "empty.db");
  EXPECT_THROW(build_io_report(none, {}), Error);
}

TEST(SvgPlot, DrawsSeriesLegendAndEscapesText) {
  SvgPlot p{.title = "a < b & c", .x_label = "block_n", .y_label = "GB", .log_x = true, .log_y = true};
  p.series.push_back({.name = "measured: DRAM",
                      .color = "#2ca02c",
                      .x = {32, 64, 128},
                      .y = {1.5, 0.9, 0.7},
                      .notes = {"bm=128 <fast>"}});
  p.series.push_back({.name = "model", .style = SvgSeries::Style::dashed, .x = {32, -1}, .y = {2, 1}});
  const std::string svg = render_svg(p);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("a &lt; b &amp; c"), std::string::npos);
  EXPECT_NE(svg.find("bm=128 &lt;fast&gt;"), std::string::npos);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
  EXPECT_NE(svg.find(">measured: DRAM</text>"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
  SvgPlot empty{.title = "nothing"};
  EXPECT_NE(render_svg(empty).find("no data"), std::string::npos);
}

}  // namespace
}  // namespace flashtune::report
