#include "report/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace flashtune::report {
namespace {

bool shown(double v, bool log) {
  return std::isfinite(v) && (!log || v > 0);
}

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  double fraction(double v) const {
    return log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / (hi - lo);
  }
};

Axis axis_for(const std::vector<double>& values, bool log) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values)
    if (shown(v, log)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!std::isfinite(lo)) return log ? Axis{true, 1, 10} : Axis{false, 0, 1};
  if (log) {
    if (hi / lo < 1.0001) return {true, lo / 2, hi * 2};
    const double pad = std::pow(hi / lo, 0.06);
    return {true, lo / pad, hi * pad};
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(hi))) return {false, lo - 1, hi + 1};
  const double pad = 0.06 * (hi - lo);
  return {false, lo - pad, hi + pad};
}

std::vector<double> linear_ticks(double lo, double hi) {
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> out;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push_back(v);
  return out;
}

std::vector<double> ticks_for(const Axis& a, const std::vector<double>& explicit_ticks) {
  std::vector<double> out;
  if (!explicit_ticks.empty()) {
    for (double v : explicit_ticks)
      if (shown(v, a.log) && v >= a.lo && v <= a.hi) out.push_back(v);
    return out;
  }
  if (!a.log) return linear_ticks(a.lo, a.hi);
  const double decades = std::log10(a.hi) - std::log10(a.lo);
  const std::vector<double> mantissas = decades > 3.5   ? std::vector<double>{1}
                                        : decades > 1.5 ? std::vector<double>{1, 3}
                                                        : std::vector<double>{1, 2, 5};
  for (int k = static_cast<int>(std::floor(std::log10(a.lo)));
       k <= static_cast<int>(std::ceil(std::log10(a.hi))); ++k)
    for (double m : mantissas) {
      const double v = m * std::pow(10, k);
      if (v >= a.lo && v <= a.hi) out.push_back(v);
    }
  if (out.size() < 2) {  // less than a factor of 2 or so: linear ticks read better
    out.clear();
    for (double v : linear_ticks(a.lo, a.hi))
      if (v > 0) out.push_back(v);
  }
  return out;
}

std::string tick_text(double v) {
  const double a = std::abs(v);
  if (a == 0) return "0";
  if (a >= 1e5 || a < 1e-3) {
    const int e = static_cast<int>(std::floor(std::log10(a)));
    const double m = v / std::pow(10, e);
    return std::abs(m - 1) < 1e-9 ? fmt::format("1e{}", e) : fmt::format("{:.2g}e{}", m, e);
  }
  return fmt::format("{:.4g}", v);
}

std::string num(double v) {
  return fmt::format("{:.1f}", v);
}

std::string dash_of(SvgSeries::Style s) {
  switch (s) {
    case SvgSeries::Style::dashed:
      return " stroke-dasharray=\"7 4\"";
    case SvgSeries::Style::dotted:
      return " stroke-dasharray=\"2 3\"";
    default:
      return "";
  }
}

double width_of(SvgSeries::Style s) {
  return s == SvgSeries::Style::thin ? 1.2 : s == SvgSeries::Style::solid ? 2.2 : 1.8;
}

// A marker centred at (x, y); model (dashed, dotted) series get hollow markers.
std::string marker_svg(const SvgSeries& s, double x, double y, const std::string& note) {
  if (s.marker == SvgSeries::Marker::none) return "";
  const bool hollow = s.style == SvgSeries::Style::dashed || s.style == SvgSeries::Style::dotted;
  const std::string paint =
      fmt::format("fill=\"{}\" stroke=\"{}\" stroke-width=\"1.4\"", hollow ? "#ffffff" : s.color, s.color);
  const std::string title = note.empty() ? "" : fmt::format("<title>{}</title>", xml_escape(note));
  const double r = 3.6;
  switch (s.marker) {
    case SvgSeries::Marker::square:
      return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {}>{}</rect>", num(x - r),
                         num(y - r), num(2 * r), num(2 * r), paint, title);
    case SvgSeries::Marker::triangle:
      return fmt::format("<polygon points=\"{},{} {},{} {},{}\" {}>{}</polygon>", num(x), num(y - 1.3 * r),
                         num(x - 1.2 * r), num(y + r), num(x + 1.2 * r), num(y + r), paint, title);
    case SvgSeries::Marker::diamond:
      return fmt::format("<polygon points=\"{},{} {},{} {},{} {},{}\" {}>{}</polygon>", num(x),
                         num(y - 1.3 * r), num(x + 1.3 * r), num(y), num(x), num(y + 1.3 * r),
                         num(x - 1.3 * r), num(y), paint, title);
    default:
      return fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {}>{}</circle>", num(x), num(y), num(r), paint,
                         title);
  }
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // Control characters XML 1.0 does not allow become '?'.
        out += static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r' ? '?' : c;
    }
  return out;
}

std::string render_svg(const SvgPlot& p) {
  std::vector<double> xs = p.x_ticks, ys;
  bool any = false;
  for (const SvgSeries& s : p.series)
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!shown(s.x[i], p.log_x) || !shown(s.y[i], p.log_y)) continue;
      xs.push_back(s.x[i]);
      ys.push_back(s.y[i]);
      any = true;
    }
  const Axis ax = axis_for(xs, p.log_x), ay = axis_for(ys, p.log_y);
  // Layout: title on top, y ticks and label on the left, x ticks and label below, then the legend, its
  // entries flowing left to right and wrapping at the plot's width.
  const double x0 = 66, x1 = p.width - 18, y0 = 36, y1 = p.height - 50;
  auto px = [&](double v) { return x0 + ax.fraction(v) * (x1 - x0); };
  auto py = [&](double v) { return y1 - ay.fraction(v) * (y1 - y0); };
  struct Place {
    double x, y;
  };
  std::vector<Place> legend;
  double lx = 24, ly = p.height + 6;
  for (const SvgSeries& s : p.series) {
    const double w = 44 + 6.3 * static_cast<double>(s.name.size());
    if (lx > 24 && lx + w > p.width - 8) {
      lx = 24;
      ly += 18;
    }
    legend.push_back({lx, ly});
    lx += w;
  }
  const int height = p.height + (p.series.empty() ? 0 : static_cast<int>(ly - p.height) + 14);

  std::string out = fmt::format(
      "<svg class=\"plot\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
      "font-family=\"Helvetica, Arial, sans-serif\">\n<title>{2}</title>\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      p.width, height, xml_escape(p.title));
  out +=
      fmt::format("<text x=\"{}\" y=\"20\" font-size=\"13\" font-weight=\"bold\" fill=\"#222\">{}</text>\n",
                  num(x0), xml_escape(p.title));
  // Grid and ticks.
  for (double t : ticks_for(ax, p.x_ticks)) {
    const double x = px(t);
    out += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e3e3e3\"/><text x=\"{0}\" y=\"{3}\" "
        "font-size=\"10.5\" text-anchor=\"middle\" fill=\"#444\">{4}</text>\n",
        num(x), num(y0), num(y1), num(y1 + 15), tick_text(t));
  }
  for (double t : ticks_for(ay, {})) {
    const double y = py(t);
    out += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#e3e3e3\"/><text x=\"{3}\" y=\"{4}\" "
        "font-size=\"10.5\" text-anchor=\"end\" fill=\"#444\">{5}</text>\n",
        num(x0), num(y), num(x1), num(x0 - 6), num(y + 3.5), tick_text(t));
  }
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#888\"/>\n",
                     num(x0), num(y0), num(x1 - x0), num(y1 - y0));
  out += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"11.5\" text-anchor=\"middle\" fill=\"#222\">{}{}</text>\n",
      num((x0 + x1) / 2), num(y1 + 33), xml_escape(p.x_label), p.log_x ? " (log scale)" : "");
  out += fmt::format(
      "<text transform=\"translate({},{}) rotate(-90)\" font-size=\"11.5\" text-anchor=\"middle\" "
      "fill=\"#222\">{}{}</text>\n",
      num(16), num((y0 + y1) / 2), xml_escape(p.y_label), p.log_y ? " (log scale)" : "");
  if (!any)
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" fill=\"#999\">no data</text>\n",
        num((x0 + x1) / 2), num((y0 + y1) / 2));
  // Series: the line, then the markers with their notes.
  for (const SvgSeries& s : p.series) {
    std::string line, marks;
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!shown(s.x[i], p.log_x) || !shown(s.y[i], p.log_y)) continue;
      const double x = px(s.x[i]), y = py(s.y[i]);
      line += fmt::format("{}{},{}", line.empty() ? "" : " ", num(x), num(y));
      marks += marker_svg(s, x, y, i < s.notes.size() ? s.notes[i] : "");
    }
    out += fmt::format("<g class=\"series\"><title>{}</title>\n", xml_escape(s.name));
    if (s.line && !line.empty())
      out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n",
                         line, s.color, width_of(s.style), dash_of(s.style));
    out += marks + "</g>\n";
  }
  // Legend.
  for (std::size_t i = 0; i < p.series.size(); ++i) {
    const SvgSeries& s = p.series[i];
    const auto [x, y] = legend[i];
    if (s.line)
      out +=
          fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>",
                      num(x), num(y), num(x + 24), num(y), s.color, width_of(s.style), dash_of(s.style));
    out += marker_svg(s, x + 12, y, "");
    out += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#222\">{}</text>\n", num(x + 30),
                       num(y + 3.8), xml_escape(s.name));
  }
  out += "</svg>\n";
  return out;
}

}  // namespace flashtune::report
