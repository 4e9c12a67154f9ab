// The JSON export: export_document() as indented JSON. Non-finite numbers become null; invalid UTF-8 is
// replaced, never thrown about.
#include "report/detail/exporters.hpp"

namespace flashtune::report::detail {

std::string export_json(const std::vector<store::BestEntry>& entries) {
  return export_document(entries).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

}  // namespace flashtune::report::detail
