// The IO report as Markdown: the header and the tables (sections 5-7); the plots are in the HTML report.
// It links to nothing: every number is in the file.
#include <fmt/format.h>

#include "report/detail/io_report_printers.hpp"

namespace flashtune::report::detail {
namespace {

std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

std::string table_md(const ReportTable& t) {
  std::string out = fmt::format("### {}\n\n", t.title);
  if (!t.provenance.empty()) out += fmt::format("*{}*\n\n", t.provenance);
  auto line = [](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (const std::string& c : cells) s += fmt::format(" {} |", cell(c));
    return s + "\n";
  };
  out += line(t.header);
  out += line(std::vector<std::string>(t.header.size(), "---"));
  for (const auto& row : t.rows) out += line(row);
  return out + "\n";
}

}  // namespace

std::string render_io_markdown(const IoReport& r) {
  std::string out = fmt::format("# {}\n\n", r.title);
  if (r.synthetic)
    out +=
        "> **SYNTHETIC DATA.** A selected sweep is labelled SYNTHETIC: its trials were made up by a test "
        "generator, not measured on a GPU. Read the numbers as a rendering check only.\n\n";
  for (const std::string& line : r.header_lines) out += fmt::format("- {}\n", cell(line));
  out +=
      "\nThe plots (sections 1-4: bytes and runtime against block size and SRAM budget, the roofline) are in "
      "io-report.html, written with this file.\n\n";
  for (const ReportSection& s : r.sections) {
    if (s.tables.empty() && !s.plots.empty()) continue;
    out += fmt::format("## {}. {}\n\n{}\n\n", s.number, s.title, s.intro);
    for (const ReportTable& t : s.tables) out += table_md(t);
  }
  return out;
}

}  // namespace flashtune::report::detail
