#include "report/io_report_format.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/file_io.hpp"
#include "report/detail/io_report_printers.hpp"

namespace flashtune::report {
namespace {

// A new format: a file with its render function, and a row here.
constexpr IoReportPrinter kPrinters[] = {
    {"html", "io-report.html", detail::render_io_html},
    {"markdown", "io-report.md", detail::render_io_markdown},
    {"csv", "io-report.csv", detail::render_io_csv},
};

}  // namespace

std::span<const IoReportPrinter> io_report_printers() {
  return kPrinters;
}

std::string render_io_report(const IoReport& report, std::string_view format) {
  std::vector<std::string_view> names;
  for (const IoReportPrinter& p : kPrinters) {
    if (p.name == format) return p.render(report);
    names.push_back(p.name);
  }
  throw Error(ErrorKind::invalid_argument,
              fmt::format("unknown IO report format '{}' (known: {})", format, fmt::join(names, ", ")));
}

std::vector<std::filesystem::path> write_io_report(const IoReport& report, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::io, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  std::vector<std::filesystem::path> written;
  for (const IoReportPrinter& p : kPrinters) {
    const std::filesystem::path file = dir / p.file_name;
    write_file(file, p.render(report));
    written.push_back(file);
  }
  return written;
}

}  // namespace flashtune::report
