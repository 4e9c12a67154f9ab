#pragma once
// Command-line options shared by subcommands: the problem, and one configuration of any template
// (`--template NAME --param key=value ...`, with the FA2 flags --block-m ... as aliases of their parameters).
#include <CLI/CLI.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune::cli {

struct ProblemOptions {
  AttentionProblem problem{.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 128};
  std::string dtype = "bf16";
  std::string layout = "bhsd";
  std::string pass = "fwd";
  std::vector<int> lengths;    // --lengths: varlen
  std::vector<int> lengths_k;  // --lengths-k
  // Adds --batch --heads --kv-heads --seqlen --seqlen-k --head-dim --dtype --causal --scale --window-left
  // --window-right --softcap --layout --lengths --lengths-k --sparse-block --sparse-density --sparse-seed.
  // The default is the d=128, N=4096 shape of the project's benchmarks (16384 tokens, hidden 2048).
  void add_to(CLI::App& app);
  // Parses the dtype and validates; throws Error(invalid_argument).
  AttentionProblem resolve() const;
};

struct ConfigOptions {
  std::string template_id = "fa2_fwd";
  std::string space;  // the default grid's search space; empty: search_spaces/<template>.yaml
  // Adds --template, --space, --param (repeatable) and the FA2 aliases --block-m --block-n --warps --stages
  // --q-regs --pipeline --min-blocks --lazy-rescale --persistent --fuse-pv.
  void add_to(CLI::App& app);
  const KernelTemplate& kernel_template() const;
  // The configuration given on the command line, nullopt when none was (then the default grid runs).
  // Throws Error(invalid_argument) for a malformed --param, a name given twice, or a parameter the template
  // does not have.
  std::optional<ParamValues> params() const;

 private:
  std::vector<std::string> param_args_;
  std::map<std::string, std::int64_t> aliases_;  // by parameter name, for the alias flags given
};

}  // namespace flashtune::cli
