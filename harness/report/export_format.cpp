#include "report/export_format.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "report/detail/exporters.hpp"

namespace flashtune::report {
namespace {

struct Exporter {
  ExportFormat format;
  std::string_view name;
  std::string (*render)(const std::vector<store::BestEntry>&);
};

// A new format: its enum value, a file with its render function, and a row here.
constexpr Exporter kExporters[] = {
    {ExportFormat::yaml, "yaml", detail::export_yaml},
    {ExportFormat::json, "json", detail::export_json},
    {ExportFormat::header, "header", detail::export_header},
};

const Exporter& exporter(ExportFormat f) {
  for (const Exporter& e : kExporters)
    if (e.format == f) return e;
  throw Error(ErrorKind::internal, fmt::format("no exporter for format {}", static_cast<int>(f)));
}

}  // namespace

std::optional<ExportFormat> parse_export_format(std::string_view s) {
  for (const Exporter& e : kExporters)
    if (e.name == s) return e.format;
  return std::nullopt;
}

std::string_view to_string(ExportFormat f) {
  return exporter(f).name;
}

std::string export_best(const std::vector<store::BestEntry>& entries, ExportFormat f) {
  return exporter(f).render(entries);
}

}  // namespace flashtune::report
