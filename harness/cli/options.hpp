#pragma once
// Command-line options shared by subcommands: the problem and one FA2 configuration.
#include <CLI/CLI.hpp>

#include "core/problem.hpp"
#include "kernels/fa2_config.hpp"

namespace flashtune::cli {

struct ProblemOptions {
  AttentionProblem problem{.batch = 4, .heads = 16, .seqlen = 4096, .head_dim = 128};
  std::string dtype = "bf16";
  // Adds --batch --heads --seqlen --head-dim --dtype --causal --scale. The default is GPU.md's d=128, N=4096
  // shape (16384 tokens, hidden 2048).
  void add_to(CLI::App& app);
  // Parses the dtype and validates; throws Error(invalid_argument).
  AttentionProblem resolve() const;
};

struct ConfigOptions {
  Fa2Config config;
  // Adds --block-m --block-n --warps --stages; each option's "count" says whether it was given.
  void add_to(CLI::App& app);
  bool any_given() const;

 private:
  std::vector<CLI::Option*> options_;
};

}  // namespace flashtune::cli
