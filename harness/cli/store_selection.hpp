#pragma once
// Which cached best configurations a command shows or exports: --db, --gpu SUBSTRING, --all, --stale. By
// default this GPU's (device 0, asked in this process), or every GPU's when there is none here; and only
// entries tuned from the templates' current source with this NVRTC (older ones are what a new sweep
// replaces).
#include <CLI/CLI.hpp>

#include <ostream>
#include <string>
#include <vector>

#include "store/records.hpp"

namespace flashtune::cli {

struct SelectedEntries {
  std::vector<store::BestEntry> entries;
  std::string filter_text;  // " for NVIDIA H100 80GB HBM3", "" for all
  std::string db_path;
};

struct StoreSelection {
  std::string db;
  std::string gpu;
  bool all = false;
  bool stale = false;
  void add_to(CLI::App& cmd);
  // Opens the store and filters; a note about the choice goes to `notes`. Throws Error(io) for a bad store.
  SelectedEntries select(std::ostream& notes) const;
};

}  // namespace flashtune::cli
