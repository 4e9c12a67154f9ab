#pragma once
// The IO report's printers: one per format, each in its own file (io_report_html.cpp, io_report_markdown.cpp,
// io_report_csv.cpp), listed in one table in io_report_format.cpp. A new format: its file, its function in
// detail/io_report_printers.hpp, and a row in the table.
//
//   const IoReport r = build_io_report(db, {});
//   for (const std::filesystem::path& f : write_io_report(r, "io-report")) std::cout << f << '\n';
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "report/io_report_model.hpp"

namespace flashtune::report {

struct IoReportPrinter {
  std::string_view name;       // "html"
  std::string_view file_name;  // "io-report.html"
  std::string (*render)(const IoReport&);
};

std::span<const IoReportPrinter> io_report_printers();
// Throws Error(invalid_argument) naming the known formats for an unknown name.
std::string render_io_report(const IoReport& report, std::string_view format);
// Writes every format into `dir` (created when missing); returns the files written, in the table's order.
// Throws Error(io) naming the file it could not write.
std::vector<std::filesystem::path> write_io_report(const IoReport& report, const std::filesystem::path& dir);

}  // namespace flashtune::report
