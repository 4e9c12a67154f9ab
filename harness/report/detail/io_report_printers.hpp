#pragma once
// One render function per format of the IO report, each in its own file; io_report_format.cpp lists them.
#include <string>

#include "report/io_report_model.hpp"

namespace flashtune::report::detail {

std::string render_io_html(const IoReport& r);      // io_report_html.cpp: self-contained, inline SVG
std::string render_io_markdown(const IoReport& r);  // io_report_markdown.cpp: header and tables 5-7
std::string render_io_csv(const IoReport& r);       // io_report_csv.cpp: one row per trial

}  // namespace flashtune::report::detail
