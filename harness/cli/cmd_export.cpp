// flashtune export --format yaml|json|header|bundle: the cached best configurations for other code; a bundle
// (a folder) carries them compiled, for the runtime to run without NVRTC or sources.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "cli/store_selection.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "report/export_format.hpp"
#include "runtime/bundle_writer.hpp"

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
  CLI::App* cmd = app.add_subcommand("export",
                                     "write the cached best configurations as YAML, JSON, a self-contained "
                                     "C++ header, or a deployable bundle "
                                     "(a folder of cubins and a manifest that flashtune::runtime loads)");
  a->selection.add_to(*cmd);
  cmd->add_option("--format,-f", a->format, "yaml, json, header or bundle")
      ->check(CLI::IsMember({"yaml", "json", "header", "bundle"}))
      ->capture_default_str();
  cmd->add_option("--output,-o", a->out, "file to write (default: standard output); the folder of a bundle");
  cmd->callback([a, &exit_code] {
    const SelectedEntries s = a->selection.select(std::cerr);
    if (s.entries.empty())
      throw Error(ErrorKind::not_found,
                  fmt::format("no cached configurations{} in {}", s.filter_text, s.db_path));
    if (a->format == "bundle") {
      if (a->out.empty())
        throw Error(ErrorKind::invalid_argument, "export --format bundle needs --output DIR (a folder)");
      std::cerr << fmt::format("compiling {} configurations for the bundle\n", s.entries.size());
      const runtime::BundleWriteReport r = runtime::write_bundle(s.entries, a->out);
      for (const std::string& line : r.left_out) std::cerr << "left out: " << line << "\n";
      std::cerr << fmt::format("wrote a bundle of {} configurations ({} cubins) to {}\n", r.entries, r.cubins,
                               a->out);
      exit_code = kOk;
      return;
    }
    const report::ExportFormat f = *report::parse_export_format(a->format);
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
