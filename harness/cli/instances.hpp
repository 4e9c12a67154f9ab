#pragma once
// What `compile` and `bench` run on a problem: the configuration given (--template, --param), else the
// default grid, every combination of a shipped search space (search_spaces/<template>.yaml, or --space) that
// the template admits.
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "kernels/resource_check.hpp"
#include "run/instance.hpp"

namespace flashtune::cli {

// Throws Error(invalid_argument) for a configuration the template rejects (saying why), a space of another
// template, or a template without a shipped space and no --param; space::SpaceError for a bad space file.
std::vector<run::Instance> command_instances(const ConfigOptions& config, const AttentionProblem& problem);

// Throws Error(invalid_argument) when the template cannot be built for `arch` (hopper_fwd on sm_80).
void require_arch(const KernelTemplate& t, const std::string& arch);

// The SM limits of an architecture ("sm_90a" -> sm_limits_for(9, 0)).
SmLimits limits_of_arch(const std::string& arch);

}  // namespace flashtune::cli
