#pragma once
// compute-sanitizer around the trial worker, for `flashtune check --sanitize`: the command line that starts a
// worker under one tool, and what its log says.
//
//   sanitized_command({"compute-sanitizer"}, SanitizerTool::memcheck, "/tmp/c1.log",
//   {"flashtune-trial-worker"})
//   // {"compute-sanitizer", "--tool", "memcheck", "--error-exitcode", "86", "--print-limit", "20",
//   //  "--log-file", "/tmp/c1.log", "flashtune-trial-worker"}
//   SanitizerReport r = read_sanitizer_log(log_text);   // r.clean, r.errors, r.error_lines
//
// The sanitizer's text goes to its log file, never to stdout: the worker's stdout carries the protocol.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flashtune::check {

enum class SanitizerTool { memcheck, racecheck };
std::string_view to_string(SanitizerTool t);  // "memcheck", "racecheck"
std::optional<SanitizerTool> parse_sanitizer_tool(std::string_view s);
// "memcheck,racecheck" (or one of them; empty = both) in that order, each once. Throws
// Error(invalid_argument) naming an unknown tool.
std::vector<SanitizerTool> parse_sanitizer_tools(std::string_view list);

// The exit status the sanitizer gives a worker in which it found an error.
inline constexpr int kSanitizerExitCode = 86;
inline constexpr int kSanitizerPrintLimit = 20;

// `sanitizer` (the compute-sanitizer command), its options, then the worker's command.
std::vector<std::string> sanitized_command(const std::vector<std::string>& sanitizer, SanitizerTool tool,
                                           const std::filesystem::path& log_file,
                                           const std::vector<std::string>& worker);

// {$FLASHTUNE_COMPUTE_SANITIZER} when set, else $CUDA_HOME/bin/compute-sanitizer or
// /usr/local/cuda/bin/compute-sanitizer when it exists, else {"compute-sanitizer"} (looked up in PATH).
std::vector<std::string> default_sanitizer_command();

struct SanitizerReport {
  bool clean = true;  // no error reported
  int errors = 0;     // from "ERROR SUMMARY: N errors" / "RACECHECK SUMMARY: ... (N errors"
  // Each distinct report, by its first line and the first "at" line of its details, counted: "Invalid
  // __global__ write of size 2 bytes at fa2_fwd<...>+0x170 (20 reports)", "Error: Race reported between ...".
  std::vector<std::string> error_lines;
  bool has_summary = false;  // the sanitizer got to print its summary (the worker exited)
};

// Reads compute-sanitizer's text (lines prefixed "========= "). A report starts with an unindented line other
// than the banner, the summaries, warnings and notes, and "Target application returned an error" (the
// worker's own exit status). Clean when there is no report and the summaries count no error. At most
// `max_lines` distinct reports are kept.
SanitizerReport read_sanitizer_log(std::string_view text, std::size_t max_lines = 8);

}  // namespace flashtune::check
