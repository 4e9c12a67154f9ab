// flashtune: autotuning and benchmarking of FlashAttention-style kernels. See docs/cli.md.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "space/space_error.hpp"

namespace {
bool has_subcommand(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->check_name(name)) return true;
  return false;
}

// Parses the command line and runs the command; the exit code (cli/exit_codes.hpp).
int run(CLI::App& app, int argc, char** argv, const int& exit_code) {
  using namespace flashtune;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return cli::kUsage;
  } catch (const space::SpaceError& e) {
    std::cerr << "flashtune: invalid search space: " << e.what() << '\n';
    return cli::kBadSpace;
  } catch (const Error& e) {
    std::cerr << "flashtune: error: " << e.what() << '\n';
    switch (e.kind()) {
      case ErrorKind::invalid_argument:
        return cli::kUsage;
      case ErrorKind::no_gpu:
        return cli::kNoGpu;
      default:
        return cli::kFailure;
    }
  } catch (const std::exception& e) {
    std::cerr << "flashtune: internal error: " << e.what() << '\n';
    return cli::kFailure;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // A write past a file-size limit (ulimit -f) fails with EFBIG, which the store reports, instead of killing
  // the process with SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  using namespace flashtune;
  CLI::App app{"flashtune: compile, verify and time FlashAttention kernel configurations", "flashtune"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "flashtune 0.1.0");
  int exit_code = cli::kOk;
  cli::add_info_command(app, exit_code);
  cli::add_compile_command(app, exit_code);
  cli::add_bench_command(app, exit_code);
  cli::add_tune_command(app, exit_code);
  cli::add_show_command(app, exit_code);
  cli::add_export_command(app, exit_code);
  cli::add_report_command(app, exit_code);
  cli::add_check_command(app, exit_code);
  cli::add_compare_command(app, exit_code);
  if (argc > 1 && argv[1][0] != '-' && !has_subcommand(app, argv[1])) {
    std::cerr
        << "flashtune: unknown command '" << argv[1]
        << "' (commands: info, compile, bench, tune, show, export, report, check, compare; see --help)\n";
    return cli::kUsage;
  }
  const int rc = run(app, argc, argv, exit_code);
  // Output that never arrived (a full disk, /dev/full, a closed pipe) is a failure, whatever the command did.
  try {
    finish_stdout();
  } catch (const Error& e) {
    std::cerr << "flashtune: error: " << e.what() << '\n';
    return cli::kFailure;
  }
  return rc;
}
