#pragma once
// Line and scatter plots as inline SVG text, with no dependencies: linear or log axes, ticks and grid, axis
// labels, a title and a legend below the plot (its rows add to the height). Points a log axis cannot show
// (<= 0, not finite) are left out. Every point carries an optional note, shown by browsers as a tooltip.
//
//   SvgPlot p{.title = "bytes vs block_n", .x_label = "block_n", .y_label = "GB", .log_x = true};
//   p.series.push_back({.name = "measured: DRAM", .color = "#2ca02c", .x = {32, 64}, .y = {1.2, 0.8}});
//   std::string svg = render_svg(p);  // <svg class="plot" width="660" height="392" ...>...</svg>
#include <string>
#include <string_view>
#include <vector>

namespace flashtune::report {

struct SvgSeries {
  enum class Style { solid, dashed, dotted, thin };
  enum class Marker { circle, square, triangle, diamond, none };
  std::string name;  // the legend entry
  std::string color = "#333333";
  Style style = Style::solid;
  Marker marker = Marker::circle;
  bool line = true;                // false: markers only (scatter)
  std::vector<double> x, y;        // same length; drawn in the given order
  std::vector<std::string> notes;  // per point (may be empty or shorter)
};

struct SvgPlot {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  std::vector<double> x_ticks;    // explicit x ticks (empty: chosen from the data's range)
  int width = 660, height = 360;  // the plot without its legend
  std::vector<SvgSeries> series;
};

std::string render_svg(const SvgPlot& plot);

// Escapes &, <, >, " and ' for XML text and attributes; control characters XML 1.0 does not allow become '?'.
std::string xml_escape(std::string_view s);

}  // namespace flashtune::report
