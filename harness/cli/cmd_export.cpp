// flashtune export --format yaml|json|header: the cached best configurations for other code.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/store_selection.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "report/export_format.hpp"

namespace flashtune::cli {
namespace {
struct ExportArgs {
  StoreSelection selection;
  std::string format = "yaml";
  std::string out;
};
}  // namespace

void add_export_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "export", "write the cached best configurations as YAML, JSON or a self-contained C++ header");
  a->selection.add_to(*cmd);
  cmd->add_option("--format,-f", a->format, "yaml, json or header")
      ->check(CLI::IsMember({"yaml", "json", "header"}))
      ->capture_default_str();
  cmd->add_option("--output,-o", a->out, "file to write (default: standard output)");
  cmd->callback([a, &exit_code] {
    const SelectedEntries s = a->selection.select(std::cerr);
    const report::ExportFormat f = *report::parse_export_format(a->format);
    if (s.entries.empty())
      throw Error(ErrorKind::not_found,
                  fmt::format("no cached configurations{} in {}", s.filter_text, s.db_path));
    const std::string text = report::export_best(s.entries, f);
    if (a->out.empty()) {
      std::cout << text;
    } else {
      write_file(a->out, text);
      std::cerr << fmt::format("wrote {} configurations to {}\n", s.entries.size(), a->out);
    }
    exit_code = kOk;
  });
}

}  // namespace flashtune::cli
