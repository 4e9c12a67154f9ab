#include "space/enumerate.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "core/dtype.hpp"

namespace flashtune::space {

std::optional<std::int64_t> problem_variable(const AttentionProblem& p, std::string_view name) {
  if (name == "batch") return p.batch;
  if (name == "heads") return p.heads;
  if (name == "seqlen") return p.seqlen;
  if (name == "head_dim") return p.head_dim;
  if (name == "causal") return p.causal ? 1 : 0;
  if (name == "dtype_bytes") return static_cast<std::int64_t>(element_bytes(p.dtype));
  return std::nullopt;
}

Enumeration enumerate(const SearchSpace& space, const AttentionProblem& problem) {
  Enumeration out;
  out.total = space.size();
  if (out.total == 0) return out;

  std::vector<std::string> reasons;  // per constraint: "constraint '...' (file:line:col)"
  for (const Constraint& c : space.constraints) {
    SourceLocation where = c.where;
    where.file = std::filesystem::path(where.file).filename().string();
    reasons.push_back(fmt::format("constraint '{}' ({})", c.expr.text(), where.to_string()));
  }

  const std::size_t n = space.parameters.size();
  std::vector<std::size_t> index(n, 0);
  std::vector<std::int64_t> current(n);
  const Expr::Lookup lookup = [&](std::string_view name) -> std::optional<std::int64_t> {
    for (std::size_t i = 0; i < n; ++i)
      if (space.parameters[i].name == name) return current[i];
    return problem_variable(problem, name);
  };

  for (std::size_t done = 0; done < out.total; ++done) {
    ParamValues values;
    for (std::size_t i = 0; i < n; ++i) {
      current[i] = space.parameters[i].values[index[i]];
      values.emplace(space.parameters[i].name, current[i]);
    }
    std::optional<std::string> reason;
    for (std::size_t c = 0; c < space.constraints.size() && !reason; ++c) {
      try {
        if (!space.constraints[c].expr.holds(lookup)) reason = reasons[c];
      } catch (const ExprError& e) {
        reason = fmt::format("{}: {}", reasons[c], e.what());
      }
    }
    if (reason)
      out.pruned.push_back({std::move(values), std::move(*reason)});
    else
      out.kept.push_back(std::move(values));

    for (std::size_t i = n; i-- > 0;) {  // odometer: the last parameter varies fastest
      if (++index[i] < space.parameters[i].values.size()) break;
      index[i] = 0;
    }
  }
  return out;
}

}  // namespace flashtune::space
