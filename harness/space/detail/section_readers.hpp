#pragma once
// The readers of the sections of a search-space file (internal; space_loader.cpp calls them in file-format
// order). Each checks its section completely and throws SpaceError at the offending node.
#include <vector>

#include "kernels/kernel_template.hpp"
#include "space/detail/yaml_reader.hpp"
#include "space/search_space.hpp"

namespace flashtune::space::detail {

// parameter_reader.cpp: `parameters:`, each template parameter exactly once, values within its bounds.
std::vector<Parameter> read_parameters(const YamlReader& r, const Field& section, const KernelTemplate& t);

// problem_reader.cpp: `problems:`, expanded and validated.
// Each problem must be one `t` runs (its TemplateSupport, with the default configuration), else an error at
// its entry.
std::vector<AttentionProblem> read_problems(const YamlReader& r, const Field& section,
                                            const KernelTemplate& t);

// settings_reader.cpp
std::vector<SramBudget> read_sram_budgets(const YamlReader& r, const Field& section);
MeasureSettings read_measure(const YamlReader& r, const Field& section);
PruneSettings read_prune(const YamlReader& r, const Field& section);
StrategySettings read_strategy(const YamlReader& r, const Field& section);

}  // namespace flashtune::space::detail
