#include "report/compare_report.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "report/table.hpp"
#include "store/best_entry_json.hpp"

namespace flashtune::report {
namespace {

using check::ComparedEntry;
using check::Verdict;

constexpr Verdict kVerdicts[] = {Verdict::slower, Verdict::ambiguous, Verdict::faster,
                                 Verdict::same,   Verdict::added,     Verdict::removed};

std::string noise_text(const ComparedEntry& e) {
  return e.noise ? fmt::format("{:.1f}%", *e.noise * 100) : "?";
}

nlohmann::ordered_json side_json(const std::optional<ComparedEntry>& e) {
  if (!e) return nullptr;
  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  for (const auto& [name, value] : e->params) config[name] = value;
  return {{"config", config},
          {"median_ms", e->median_ms},
          {"noise", e->noise ? nlohmann::ordered_json(*e->noise) : nlohmann::ordered_json(nullptr)},
          {"samples", e->samples},
          {"driver_version", e->gpu.driver_version}};
}

}  // namespace

void print_comparison(const check::Comparison& c, std::ostream& out) {
  Table t({"verdict", "GPU", "template", "problem key", "old configuration", "new configuration", "old ms",
           "new ms", "change", "noise (old/new)"});
  for (Verdict v : kVerdicts)
    for (const check::ComparisonRow& r : c.rows) {
      if (r.verdict != v) continue;
      const ComparedEntry& e = r.entry();
      const bool both = r.old_entry && r.new_entry;
      t.add_row({std::string(to_string(r.verdict)), e.gpu.name, e.template_id, e.problem.to_string(),
                 r.old_entry ? to_string(r.old_entry->params) : "",
                 r.new_entry ? to_string(r.new_entry->params) : "",
                 r.old_entry ? fmt::format("{:.4f}", r.old_entry->median_ms) : "",
                 r.new_entry ? fmt::format("{:.4f}", r.new_entry->median_ms) : "",
                 both ? fmt::format("{:+.1f}%", r.change * 100) : "",
                 both ? fmt::format("{}/{}", noise_text(*r.old_entry), noise_text(*r.new_entry)) : ""});
    }
  if (t.size() == 0)
    out << "no best configurations in either side\n";
  else
    t.print(out);
  for (const std::string& n : c.notes) out << "note: " << n << '\n';
  out << fmt::format(
      "\ncompare {} -> {}: {} SLOWER, {} AMBIGUOUS, {} FASTER, {} SAME, {} ADDED, {} REMOVED (threshold "
      "{:.1f}%, "
      "noise x3)\n",
      c.old_path, c.new_path, c.count(Verdict::slower), c.count(Verdict::ambiguous), c.count(Verdict::faster),
      c.count(Verdict::same), c.count(Verdict::added), c.count(Verdict::removed), c.options.threshold * 100);
}

std::string comparison_json(const check::Comparison& c) {
  using nlohmann::ordered_json;
  ordered_json counts = ordered_json::object();
  for (Verdict v : kVerdicts) counts[std::string(to_string(v))] = c.count(v);
  ordered_json rows = ordered_json::array();
  for (const check::ComparisonRow& r : c.rows) {
    const ComparedEntry& e = r.entry();
    rows.push_back({{"verdict", to_string(r.verdict)},
                    {"gpu", e.gpu.name},
                    {"template", e.template_id},
                    {"problem", store::problem_key_json(e.problem)},
                    {"old", side_json(r.old_entry)},
                    {"new", side_json(r.new_entry)},
                    {"change", r.change},
                    {"noise", r.noise},
                    {"noise_known", r.noise_known}});
  }
  const ordered_json doc{{"flashtune_compare", 1},
                         {"old", c.old_path},
                         {"new", c.new_path},
                         {"threshold", c.options.threshold},
                         {"any_gpu", c.options.any_gpu},
                         {"notes", c.notes},
                         {"counts", counts},
                         {"regressed", c.regressed()},
                         {"rows", rows}};
  return doc.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace flashtune::report
