// check_json / parse_check_json: a check result as JSON and back. Invalid UTF-8 (a compile log can hold
// anything) is replaced, never thrown about.
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "report/check_report.hpp"

namespace flashtune::report {

using check::CheckOutcome;
using nlohmann::ordered_json;

std::string check_json(const check::CheckResult& r) {
  ordered_json counts = ordered_json::object();
  for (CheckOutcome o : {CheckOutcome::pass, CheckOutcome::fail, CheckOutcome::expected_failure,
                         CheckOutcome::unexpected_pass, CheckOutcome::skipped})
    counts[std::string(to_string(o))] = r.count(o);
  ordered_json cases = ordered_json::array();
  for (const check::CheckCase& c : r.cases)
    cases.push_back({{"space", c.space},
                     {"template", c.template_id},
                     {"configuration", c.configuration},
                     {"problem", c.problem},
                     {"stage", to_string(c.stage)},
                     {"outcome", to_string(c.outcome)},
                     {"detail", c.detail},
                     {"seconds", c.seconds}});
  const ordered_json doc{{"flashtune_check", 1}, {"spaces", r.spaces}, {"no_gpu", r.no_gpu},
                         {"notes", r.notes},     {"wall_s", r.wall_s}, {"counts", counts},
                         {"failed", r.failed()}, {"cases", cases}};
  return doc.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

check::CheckResult parse_check_json(std::string_view text) {
  check::CheckResult r;
  try {
    const ordered_json doc = ordered_json::parse(text);
    if (doc.value("flashtune_check", 0) != 1)
      throw Error(ErrorKind::invalid_argument, "not a flashtune check result (flashtune_check: 1)");
    r.spaces = doc.at("spaces").get<std::vector<std::string>>();
    r.no_gpu = doc.at("no_gpu").get<std::string>();
    r.notes = doc.at("notes").get<std::vector<std::string>>();
    r.wall_s = doc.at("wall_s").get<double>();
    for (const ordered_json& j : doc.at("cases")) {
      check::CheckCase c;
      c.space = j.at("space").get<std::string>();
      c.template_id = j.at("template").get<std::string>();
      c.configuration = j.at("configuration").get<std::string>();
      c.problem = j.at("problem").get<std::string>();
      const auto stage = check::parse_check_stage(j.at("stage").get<std::string>());
      const auto outcome = check::parse_check_outcome(j.at("outcome").get<std::string>());
      if (!stage || !outcome)
        throw Error(ErrorKind::invalid_argument, "check result: unknown stage or outcome in " + j.dump());
      c.stage = *stage;
      c.outcome = *outcome;
      c.detail = j.at("detail").get<std::string>();
      c.seconds = j.at("seconds").get<double>();
      r.cases.push_back(std::move(c));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::invalid_argument, std::string("check result: ") + e.what());
  }
  return r;
}

}  // namespace flashtune::report
