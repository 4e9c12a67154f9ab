#include "check/sanitizer.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <regex>

#include "core/error.hpp"

namespace flashtune::check {

std::string_view to_string(SanitizerTool t) {
  return t == SanitizerTool::memcheck ? "memcheck" : "racecheck";
}

std::optional<SanitizerTool> parse_sanitizer_tool(std::string_view s) {
  if (s == "memcheck") return SanitizerTool::memcheck;
  if (s == "racecheck") return SanitizerTool::racecheck;
  return std::nullopt;
}

std::vector<SanitizerTool> parse_sanitizer_tools(std::string_view list) {
  bool want[2] = {list.empty(), list.empty()};
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view name = list.substr(0, comma);
    const std::optional<SanitizerTool> t = parse_sanitizer_tool(name);
    if (!t)
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("--sanitize: unknown tool '{}' (expected memcheck, racecheck)", name));
    want[static_cast<int>(*t)] = true;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  std::vector<SanitizerTool> out;
  if (want[0]) out.push_back(SanitizerTool::memcheck);
  if (want[1]) out.push_back(SanitizerTool::racecheck);
  return out;
}

std::vector<std::string> sanitized_command(const std::vector<std::string>& sanitizer, SanitizerTool tool,
                                           const std::filesystem::path& log_file,
                                           const std::vector<std::string>& worker) {
  std::vector<std::string> argv = sanitizer;
  for (std::string s : {std::string("--tool"), std::string(to_string(tool)), std::string("--error-exitcode"),
                        std::to_string(kSanitizerExitCode), std::string("--print-limit"),
                        std::to_string(kSanitizerPrintLimit), std::string("--log-file"), log_file.string()})
    argv.push_back(std::move(s));
  argv.insert(argv.end(), worker.begin(), worker.end());
  return argv;
}

std::vector<std::string> default_sanitizer_command() {
  if (const char* env = std::getenv("FLASHTUNE_COMPUTE_SANITIZER"); env != nullptr && *env != '\0')
    return {env};
  const char* cuda = std::getenv("CUDA_HOME");
  for (const char* root : {cuda, "/usr/local/cuda"}) {
    if (root == nullptr || *root == '\0') continue;
    const std::filesystem::path p = std::filesystem::path(root) / "bin" / "compute-sanitizer";
    if (::access(p.c_str(), X_OK) == 0) return {p.string()};
  }
  return {"compute-sanitizer"};
}

SanitizerReport read_sanitizer_log(std::string_view text, std::size_t max_lines) {
  static const std::regex error_summary(R"(ERROR SUMMARY: (\d+) error)");
  static const std::regex race_summary(R"(RACECHECK SUMMARY: .*\((\d+) error)");
  constexpr std::string_view kPrefix = "=========";
  SanitizerReport r;
  std::vector<std::pair<std::string, int>> reports;  // distinct first lines (with their location), counted
  bool in_report = false;                            // the last first line still waits for its "at ..." line
  auto count = [&](const std::string& line) {
    auto it = std::find_if(reports.begin(), reports.end(), [&](const auto& e) { return e.first == line; });
    if (it != reports.end()) {
      ++it->second;
      return false;
    }
    reports.emplace_back(line, 1);
    return true;
  };
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.starts_with(kPrefix)) continue;
    line.remove_prefix(kPrefix.size());
    if (line.empty() || line.front() != ' ') continue;
    line.remove_prefix(1);
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') {  // a report's details: its first "at" names the code
      const std::size_t at = line.find_first_not_of(" \t");
      if (in_report && line.substr(at).starts_with("at ")) {
        std::pair<std::string, int>& last = reports.back();
        const std::string located = last.first + " " + std::string(line.substr(at));
        if (last.second == 1) {
          reports.pop_back();
          count(located);
        }
        in_report = false;
      }
      continue;
    }
    in_report = false;
    const std::string s(line);
    std::smatch m;
    if (std::regex_search(s, m, error_summary) || std::regex_search(s, m, race_summary)) {
      r.has_summary = true;
      r.errors = std::max(r.errors, std::stoi(m[1].str()));
      continue;
    }
    if (s.find("SUMMARY") != std::string::npos || s.starts_with("COMPUTE-SANITIZER") ||
        s.starts_with("Warning") || s.starts_with("Note") ||
        s.starts_with("Target application returned an error"))
      continue;
    in_report = count(s);
  }
  for (const auto& [line, n] : reports) {
    if (r.error_lines.size() == max_lines) break;
    r.error_lines.push_back(n == 1 ? line : fmt::format("{} ({} reports)", line, n));
  }
  r.clean = reports.empty() && r.errors == 0;
  return r;
}

}  // namespace flashtune::check
