// The YAML export: export_document() written with yaml-cpp's emitter. Small maps of scalars (a problem, a
// config) are written in flow style, one line each. Doubles are formatted here, not by the emitter (whose
// precision differs between yaml-cpp versions): their shortest exact form, always with a '.' or an exponent.
// A string that YAML would read as something else (a number, a boolean, null, empty) is double-quoted.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "core/error.hpp"
#include "report/detail/exporters.hpp"

namespace flashtune::report::detail {
namespace {
using nlohmann::ordered_json;

bool reads_as_non_string(const std::string& s) {
  static const std::regex kSpecial(
      R"(|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF|y|Y|n|N|)"
      R"([-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o[0-7_]+|)"
      R"([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?)");
  return std::regex_match(s, kSpecial);
}

std::string yaml_double(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";  // stays a float when read back
  return s;
}

void emit_string(YAML::Emitter& out, const std::string& s) {
  if (reads_as_non_string(s)) out << YAML::DoubleQuoted;
  out << s;
}

bool is_flat(const ordered_json& j) {
  if (!j.is_object() || j.size() > 8) return false;
  for (const auto& v : j)
    if (v.is_structured()) return false;
  return true;
}

void emit(YAML::Emitter& out, const ordered_json& j) {
  switch (j.type()) {
    case ordered_json::value_t::object:
      if (is_flat(j) && !j.empty()) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& [key, value] : j.items()) {
        out << YAML::Key;
        emit_string(out, key);
        out << YAML::Value;
        emit(out, value);
      }
      out << YAML::EndMap;
      break;
    case ordered_json::value_t::array:
      if (j.empty()) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& v : j) emit(out, v);
      out << YAML::EndSeq;
      break;
    case ordered_json::value_t::string:
      emit_string(out, j.get_ref<const std::string&>());
      break;
    case ordered_json::value_t::boolean:
      out << j.get<bool>();
      break;
    case ordered_json::value_t::number_integer:
      out << j.get<std::int64_t>();
      break;
    case ordered_json::value_t::number_unsigned:
      out << j.get<std::uint64_t>();
      break;
    case ordered_json::value_t::number_float:
      out << yaml_double(j.get<double>());
      break;
    default:
      out << YAML::Null;
      break;
  }
}

}  // namespace

std::string export_yaml(const std::vector<store::BestEntry>& entries) {
  YAML::Emitter out;
  out << YAML::Comment(fmt::format("best configurations, exported by {}", generated_by()));
  out << YAML::Newline;
  emit(out, export_document(entries));
  if (!out.good()) throw Error(ErrorKind::internal, "the YAML export failed: " + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

}  // namespace flashtune::report::detail
