// check_junit_xml: the JUnit XML that CI systems (GitLab, Jenkins, GitHub test reporters) read.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "report/check_report.hpp"
#include "report/svg_plot.hpp"

namespace flashtune::report {
namespace {

using check::CheckCase;
using check::CheckOutcome;

// Text for an attribute or element (svg_plot.hpp's escape: the five XML escapes, no control characters).
std::string xml(std::string_view s) {
  return xml_escape(s);
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

bool is_failure(const CheckCase& c) {
  return c.outcome == CheckOutcome::fail || c.outcome == CheckOutcome::unexpected_pass;
}

struct Suite {
  std::vector<const CheckCase*> cases;
  std::size_t failures = 0, skipped = 0;
  double seconds = 0;
};

}  // namespace

std::string check_junit_xml(const check::CheckResult& r) {
  std::vector<std::string> order = r.spaces;
  std::map<std::string, Suite> suites;
  for (const CheckCase& c : r.cases) {
    if (std::find(order.begin(), order.end(), c.space) == order.end()) order.push_back(c.space);
    Suite& s = suites[c.space];
    s.cases.push_back(&c);
    s.failures += is_failure(c);
    s.skipped += c.outcome == CheckOutcome::skipped;
    s.seconds += c.seconds;
  }
  std::size_t failures = 0, skipped = 0;
  for (const auto& [name, s] : suites) {
    failures += s.failures;
    skipped += s.skipped;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"flashtune check\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n",
      r.cases.size(), failures, skipped, r.wall_s);
  for (const std::string& name : order) {
    const Suite& s = suites[name];
    out += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" "
        "time=\"{:.3f}\">\n",
        xml(name), s.cases.size(), s.failures, s.skipped, s.seconds);
    for (const CheckCase* c : s.cases) {
      const std::string test =
          c->problem.empty() ? fmt::format("{} {}", to_string(c->stage), c->configuration)
                             : fmt::format("{} {} on {}", to_string(c->stage), c->configuration, c->problem);
      out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", xml(c->template_id),
                         xml(test), c->seconds);
      switch (c->outcome) {
        case CheckOutcome::pass:
          out += "/>\n";
          break;
        case CheckOutcome::fail:
        case CheckOutcome::unexpected_pass: {
          const std::string message = c->outcome == CheckOutcome::unexpected_pass
                                          ? "unexpected pass: " + first_line(c->detail)
                                          : first_line(c->detail);
          out += fmt::format(">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                             xml(message), to_string(c->stage), xml(c->detail));
          break;
        }
        case CheckOutcome::skipped:
          out += fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                             xml(first_line(c->detail)));
          break;
        case CheckOutcome::expected_failure:
          out += fmt::format(">\n      <system-out>expected failure: {}</system-out>\n    </testcase>\n",
                             xml(c->detail));
          break;
      }
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

}  // namespace flashtune::report
