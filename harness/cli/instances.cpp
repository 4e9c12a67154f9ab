#include "cli/instances.hpp"

#include <fmt/format.h>

#include <charconv>

#include "cli/space_files.hpp"
#include "core/error.hpp"
#include "space/enumerate.hpp"
#include "space/space_loader.hpp"

namespace flashtune::cli {

std::vector<run::Instance> command_instances(const ConfigOptions& config, const AttentionProblem& problem) {
  const KernelTemplate& t = config.kernel_template();
  if (std::optional<ParamValues> given = config.params()) return {run::Instance::make(t, *given, problem)};
  std::filesystem::path file = config.space;
  if (file.empty()) {
    file = space::search_space_dir() / (std::string(t.id()) + ".yaml");
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("{} has no shipped search space ({}) for a default grid: give --space FILE or "
                              "--param key=value",
                              t.id(), file.string()));
  }
  const space::SearchSpace s = load_checked_space(file);
  if (s.template_id != t.id())
    throw Error(ErrorKind::invalid_argument, fmt::format("--space {} is a space of {}, not of --template {}",
                                                         file.string(), s.template_id, t.id()));
  std::vector<run::Instance> out;
  std::string why;
  for (const ParamValues& v : space::enumerate(s, problem).kept) {
    std::string reason;
    if (auto inst = run::Instance::try_make(t, v, problem, &reason))
      out.push_back(std::move(*inst));
    else if (why.empty())
      why = reason;
  }
  // None left: a problem the template does not run says so, rather than "no configuration".
  if (out.empty())
    if (auto unsupported = unsupported_reason(t, t.default_config(variant_of(problem)), problem))
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: {}", problem.to_string(), *unsupported));
  return out;
}

void require_arch(const KernelTemplate& t, const std::string& arch) {
  if (auto why = t.unsupported_arch(arch))
    throw Error(ErrorKind::invalid_argument, fmt::format("{} on {}: {}", t.id(), arch, *why));
}

SmLimits limits_of_arch(const std::string& arch) {
  int number = 90;
  const char* digits = arch.data() + (arch.starts_with("sm_") ? 3 : 0);
  std::from_chars(digits, arch.data() + arch.size(), number);
  return sm_limits_for(number / 10, number % 10);
}

}  // namespace flashtune::cli
