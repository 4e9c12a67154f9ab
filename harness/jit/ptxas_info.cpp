#include "jit/ptxas_info.hpp"

#include <charconv>
#include <cstddef>

namespace flashtune::jit {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The text after "ptxas info    : " (or "ptxas warning : ") or after "ptxas         . " (continuation lines).
bool strip_ptxas_prefix(std::string_view line, std::string_view& body) {
  if (!line.starts_with("ptxas")) return false;
  std::size_t sep = line.find_first_of(":.", 5);
  if (sep == std::string_view::npos) return false;
  body = trim(line.substr(sep + 1));
  return true;
}

// Reads N from an item "<prefix>N<suffix>" (N: decimal digits that fit an int), e.g. prefix "Used ", suffix
// " registers". False, leaving `out` alone, when the item has another shape.
bool read_int(std::string_view item, std::string_view prefix, std::string_view suffix, int& out) {
  if (!item.starts_with(prefix)) return false;
  item.remove_prefix(prefix.size());
  if (item.empty() || item.front() < '0' || item.front() > '9') return false;  // no sign, no blank
  int value = 0;
  auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
  if (ec != std::errc{}) return false;
  if (std::string_view(end, item.data() + item.size() - end) != suffix) return false;
  out = value;
  return true;
}

template <typename F>
void for_each_item(std::string_view body, F&& f) {
  while (!body.empty()) {
    std::size_t comma = body.find(',');
    f(trim(body.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    body.remove_prefix(comma + 1);
  }
}

// Text between the first pair of single quotes, or the whole rest when unquoted.
std::string_view name_after(std::string_view body, std::string_view prefix) {
  std::string_view rest = trim(body.substr(prefix.size()));
  if (rest.starts_with('\'')) {
    std::size_t close = rest.find('\'', 1);
    return close == std::string_view::npos ? std::string_view{} : rest.substr(1, close - 1);
  }
  return rest.substr(0, rest.find(' '));
}

}  // namespace

std::vector<PtxasInfo> parse_ptxas_info(std::string_view log) {
  std::vector<PtxasInfo> out;
  auto find_or_add = [&](std::string_view name) -> std::size_t {
    for (std::size_t i = 0; i < out.size(); ++i)
      if (out[i].function == name) return i;
    out.push_back(PtxasInfo{.function = std::string(name)});
    return out.size() - 1;
  };
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t entry = kNone;  // the entry function being compiled: owner of "Used ..." lines
  std::size_t props = kNone;  // the function of the last "Function properties for": owner of the stack line

  while (!log.empty()) {
    std::size_t nl = log.find('\n');
    std::string_view line = log.substr(0, nl);
    log.remove_prefix(nl == std::string_view::npos ? log.size() : nl + 1);

    std::string_view body;
    if (!strip_ptxas_prefix(line, body)) continue;
    if (body.starts_with("Compiling entry function")) {
      std::string_view name = name_after(body, "Compiling entry function");
      if (!name.empty()) entry = props = find_or_add(name);
    } else if (body.starts_with("Function properties for")) {
      std::string_view name = name_after(body, "Function properties for");
      if (!name.empty()) props = find_or_add(name);
    } else if (body.find("bytes stack frame") != std::string_view::npos && props != kNone) {
      PtxasInfo& f = out[props];
      for_each_item(body, [&](std::string_view item) {
        read_int(item, "", " bytes stack frame", f.stack_bytes) ||
            read_int(item, "", " bytes spill stores", f.spill_store_bytes) ||
            read_int(item, "", " bytes spill loads", f.spill_load_bytes);
      });
    } else if (body.starts_with("Used ") && (entry != kNone || props != kNone)) {
      PtxasInfo& f = out[entry != kNone ? entry : props];
      for_each_item(body, [&](std::string_view item) {
        read_int(item, "Used ", " registers", f.registers) ||
            read_int(item, "used ", " barriers", f.barriers) ||
            read_int(item, "", " bytes smem", f.static_smem_bytes);
      });
    }
  }
  return out;
}

}  // namespace flashtune::jit
