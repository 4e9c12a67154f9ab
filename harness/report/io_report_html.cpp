// The IO report as one self-contained HTML file: inline CSS, plots as inline SVG (svg_plot.hpp), no scripts,
// no external resources.
#include <map>

#include <fmt/format.h>

#include "report/detail/io_report_printers.hpp"
#include "report/svg_plot.hpp"

namespace flashtune::report::detail {
namespace {

constexpr const char* kStyle = R"(<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 20px 24px; color: #222; max-width: 1360px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 18px; border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 30px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
.synthetic { background: #fff3cd; border: 2px solid #d9534f; color: #8a1f11; padding: 10px 14px;
             font-weight: bold; margin: 10px 0; }
.meta { font-size: 13px; color: #444; padding-left: 18px; } .meta li { margin: 2px 0; }
nav { font-size: 13px; margin: 8px 0; } nav a { margin-right: 14px; color: #1f5fa8; }
.intro { font-size: 13.5px; max-width: 1100px; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; border: 1px solid #ddd; background: #fff; width: 660px; }
figure svg { display: block; }
figcaption { font-size: 11.5px; color: #444; padding: 4px 10px 8px; line-height: 1.35; }
table { border-collapse: collapse; font-size: 12.5px; margin: 4px 0 18px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; }
td { white-space: nowrap; }
th { background: #f2f2f2; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.prov { font-size: 12px; color: #555; font-style: italic; margin: 0 0 4px; }
</style>
)";

std::string esc(const std::string& s) {
  return xml_escape(s);
}

std::string color_of(const std::string& key) {
  static const std::map<std::string, std::string> kColors = {
      {"standard_attn", "#d62728"}, {"fa1_fwd", "#ff7f0e"}, {"fa2_fwd", "#1f77b4"},
      {"requested", "#9467bd"},     {"l2", "#17becf"},      {"dram", "#2ca02c"},
      {"paper", "#7f7f7f"},         {"roof", "#555555"}};
  static const char* kPalette[] = {"#8c564b", "#e377c2", "#17becf", "#bcbd22"};
  const auto it = kColors.find(key);
  if (it != kColors.end()) return it->second;
  return kPalette[std::hash<std::string>{}(key) % 4];
}

SvgSeries svg_series(const PlotSeries& s) {
  SvgSeries out{.name = s.name, .color = color_of(s.key), .line = !s.scatter};
  switch (s.source) {
    case SeriesSource::model:
      out.style = SvgSeries::Style::dashed;
      break;
    case SeriesSource::measured:
      out.style = SvgSeries::Style::solid;
      break;
    case SeriesSource::paper:
      out.style = SvgSeries::Style::dotted;
      out.marker = SvgSeries::Marker::none;
      break;
    case SeriesSource::roof:
      out.style = SvgSeries::Style::thin;
      out.marker = SvgSeries::Marker::none;
      break;
  }
  if (s.scatter) out.marker = static_cast<SvgSeries::Marker>(s.marker % 4);
  for (const PlotPoint& p : s.points) {
    out.x.push_back(p.x);
    out.y.push_back(p.y);
    out.notes.push_back(p.note);
  }
  return out;
}

std::string figure(const Plot& p) {
  SvgPlot svg{.title = p.title,
              .x_label = p.x_label,
              .y_label = p.y_label,
              .log_x = p.log_x,
              .log_y = p.log_y,
              .x_ticks = p.x_ticks};
  for (const PlotSeries& s : p.series) svg.series.push_back(svg_series(s));
  return fmt::format("<figure>\n{}<figcaption>{}<br><i>{}</i></figcaption>\n</figure>\n", render_svg(svg),
                     esc(p.caption), esc(p.provenance));
}

bool numeric(const std::string& c) {
  return !c.empty() &&
         (std::isdigit(static_cast<unsigned char>(c[0])) || c[0] == '-' || c[0] == '+' || c == "—");
}

std::string table_html(const ReportTable& t) {
  std::string out = fmt::format("<h3>{}</h3>\n", esc(t.title));
  if (!t.provenance.empty()) out += fmt::format("<p class=\"prov\">{}</p>\n", esc(t.provenance));
  out += "<table>\n<tr>";
  for (const std::string& h : t.header) out += fmt::format("<th>{}</th>", esc(h));
  out += "</tr>\n";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (const std::string& c : row)
      out += fmt::format("<td{}>{}</td>", numeric(c) ? " class=\"num\"" : "", esc(c));
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

}  // namespace

std::string render_io_html(const IoReport& r) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
      "charset=\"utf-8\">\n<title>{}</title>\n{}</head>\n<body>\n"
      "<h1>{}</h1>\n",
      esc(r.title), kStyle, esc(r.title));
  if (r.synthetic)
    out +=
        "<div class=\"synthetic\">SYNTHETIC DATA: a selected sweep is labelled SYNTHETIC (see its space "
        "below). "
        "Its trials were made up by a test generator, not measured on a GPU: this report shows that the "
        "rendering works, not how the kernels behave.</div>\n";
  out += "<ul class=\"meta\">\n";
  for (const std::string& line : r.header_lines) out += fmt::format("<li>{}</li>\n", esc(line));
  out += "</ul>\n<nav>";
  for (const ReportSection& s : r.sections)
    out += fmt::format("<a href=\"#section-{}\">{}. {}</a>", s.number, s.number, esc(s.title));
  out += "</nav>\n";
  for (const ReportSection& s : r.sections) {
    out += fmt::format("<section id=\"section-{}\">\n<h2>{}. {}</h2>\n<p class=\"intro\">{}</p>\n", s.number,
                       s.number, esc(s.title), esc(s.intro));
    if (!s.plots.empty()) {
      out += "<div class=\"plots\">\n";
      for (const Plot& p : s.plots) out += figure(p);
      out += "</div>\n";
    }
    for (const ReportTable& t : s.tables) out += table_html(t);
    out += "</section>\n";
  }
  return out + "</body>\n</html>\n";
}

}  // namespace flashtune::report::detail
