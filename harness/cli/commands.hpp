#pragma once
// The subcommands. Each adds itself to the app and runs through the callback it registers; the callback
// stores its exit code in `exit_code`.
#include <CLI/CLI.hpp>

namespace flashtune::cli {

void add_info_command(CLI::App& app, int& exit_code);
void add_compile_command(CLI::App& app, int& exit_code);
void add_bench_command(CLI::App& app, int& exit_code);
void add_tune_command(CLI::App& app, int& exit_code);
void add_show_command(CLI::App& app, int& exit_code);
void add_export_command(CLI::App& app, int& exit_code);
void add_report_command(CLI::App& app, int& exit_code);
void add_check_command(CLI::App& app, int& exit_code);
void add_compare_command(CLI::App& app, int& exit_code);

}  // namespace flashtune::cli
