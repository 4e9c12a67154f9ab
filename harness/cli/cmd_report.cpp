// flashtune report io: the IO study's report (HTML with inline SVG plots, Markdown tables, CSV) from the
// stored trials. docs/io-model.md explains the model and how to read the report.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/validators.hpp"
#include "core/error.hpp"
#include "report/io_report_format.hpp"
#include "report/io_report_model.hpp"
#include "store/result_store.hpp"

namespace flashtune::cli {
namespace {

struct ReportIoArgs {
  std::string db;
  std::vector<std::int64_t> sweeps;
  std::string out = "io-report";
  double peak_bandwidth_tbs = 3.0;
  double peak_tflops = 774;
  std::string calibration = "1,1,1,0";
  double l2_usable_fraction = 0.75;
};

std::optional<double> finite_number(const std::string& s) {
  try {
    std::size_t used = 0;
    const double v = std::stod(s, &used);
    if (used == s.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

iomodel::L2Calibration parse_calibration(const std::string& text) {
  std::vector<double> v;
  std::stringstream in(text);
  bool ok = true;
  for (std::string item; std::getline(in, item, ',');) {
    const std::optional<double> x = finite_number(item);
    ok = ok && x.has_value();
    if (x) v.push_back(*x);
  }
  if (!ok || v.size() != 4)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("--l2-calibration '{}': expected four numbers A,B,C,D (L2 = A·requested.read + "
                            "B·requested.write + C·DRAM.read + D·DRAM.write)",
                            text));
  return {v[0], v[1], v[2], v[3]};
}

void run_report_io(const ReportIoArgs& a) {
  const std::filesystem::path db =
      a.db.empty() ? store::ResultStore::default_path() : std::filesystem::path(a.db);
  const store::ResultStore store(db, store::ResultStore::Access::read_only);
  const report::IoReportOptions options{.sweep_ids = a.sweeps,
                                        .peak_bandwidth = a.peak_bandwidth_tbs * 1e12,
                                        .peak_flops = a.peak_tflops * 1e12,
                                        .calibration = parse_calibration(a.calibration),
                                        .l2_usable_fraction = a.l2_usable_fraction};
  const report::IoReport r = report::build_io_report(store, options);
  const std::vector<std::filesystem::path> files = report::write_io_report(r, a.out);
  std::set<std::int64_t> sweeps;
  std::size_t profiled = 0;
  for (const report::IoTrialRow& t : r.trials) {
    sweeps.insert(t.sweep_id);
    profiled += t.profiled ? 1 : 0;
  }
  std::cout << fmt::format("IO report of {} trials ({} with hardware counters) from sweep{} {} in {}\n",
                           r.trials.size(), profiled, sweeps.size() == 1 ? "" : "s", fmt::join(sweeps, ", "),
                           db.string());
  if (r.synthetic)
    std::cout << "note: a selected sweep is labelled SYNTHETIC: its numbers were not measured\n";
  for (const std::filesystem::path& f : files) std::cout << "wrote " << f.string() << '\n';
}

}  // namespace

void add_report_command(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("report", "reports over the stored trials (io: the IO study)");
  cmd->require_subcommand(1);
  auto a = std::make_shared<ReportIoArgs>();
  CLI::App* io = cmd->add_subcommand(
      "io",
      "bytes moved vs block size and SRAM budget, roofline, standard vs FlashAttention, model vs measured: "
      "DIR/io-report.html (inline SVG), .md (tables), .csv (one row per trial)");
  io->add_option("--db", a->db, "results database (default $XDG_CACHE_HOME/flashtune/flashtune.db)");
  io->add_option("--sweep", a->sweeps,
                 "sweep ids to report (repeatable; default: every sweep with hardware counters)");
  io->add_option("--out,-o", a->out, "directory to write the report into")->capture_default_str();
  io->add_option("--peak-bandwidth", a->peak_bandwidth_tbs,
                 "roofline memory roof in TB/s (H100: measured device-to-device copy)")
      ->check(finite_in(0.001, 1000))
      ->capture_default_str();
  io->add_option("--peak-tflops", a->peak_tflops, "roofline compute roof in TFLOP/s (H100: bf16 GEMM)")
      ->check(finite_in(0.001, 100000))
      ->capture_default_str();
  io->add_option("--l2-calibration", a->calibration,
                 "A,B,C,D of the L2 model: A·requested.read + B·requested.write + C·DRAM.read + D·DRAM.write")
      ->capture_default_str();
  io->add_option("--l2-usable-fraction", a->l2_usable_fraction,
                 "part of the L2 the DRAM model lets working sets use")
      ->check(finite_in(0.01, 1))
      ->capture_default_str();
  io->callback([a, &exit_code] {
    run_report_io(*a);
    exit_code = kOk;
  });
}

}  // namespace flashtune::cli
