#include "cli/options.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace flashtune::cli {

void ProblemOptions::add_to(CLI::App& app) {
  app.add_option("--batch,-b", problem.batch, "batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--heads", problem.heads, "attention heads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seqlen,-n", problem.seqlen, "sequence length (queries = keys)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--head-dim,-d", problem.head_dim, "head dimension")
      ->check(CLI::IsMember({64, 128}))
      ->capture_default_str();
  app.add_option("--dtype", dtype, "element type")
      ->check(CLI::IsMember({"bf16", "fp16"}))
      ->capture_default_str();
  app.add_flag("--causal", problem.causal, "causal mask (query i attends keys <= i)");
  app.add_option("--scale", problem.softmax_scale, "softmax scale (default 1/sqrt(head_dim))")
      ->check(CLI::NonNegativeNumber);
}

AttentionProblem ProblemOptions::resolve() const {
  AttentionProblem p = problem;
  auto t = parse_dtype(dtype);
  if (!t) throw Error(ErrorKind::invalid_argument, "unknown dtype '" + dtype + "' (bf16 or fp16)");
  p.dtype = *t;
  validate(p);
  return p;
}

void ConfigOptions::add_to(CLI::App& app) {
  options_.push_back(
      app.add_option("--block-m", config.block_m, "query rows per CTA")->capture_default_str());
  options_.push_back(
      app.add_option("--block-n", config.block_n, "key/value rows per stage")->capture_default_str());
  options_.push_back(app.add_option("--warps", config.warps, "warps per CTA")->capture_default_str());
  options_.push_back(app.add_option("--stages", config.stages, "K/V pipeline stages")->capture_default_str());
  options_.push_back(
      app.add_option("--q-regs", config.q_regs, "Q fragments: 0 shared memory, 1 registers, 2 automatic")
          ->capture_default_str());
  options_.push_back(
      app.add_option("--pipeline", config.pipeline, "loop schedule: 0 tile by tile, 1 software-pipelined")
          ->capture_default_str());
  options_.push_back(app.add_option("--min-blocks", config.min_blocks,
                                    "__launch_bounds__ minimum CTAs per SM (caps registers)")
                         ->capture_default_str());
  options_.push_back(
      app.add_option("--lazy-rescale", config.lazy_rescale,
                     "1: skip rescaling O when no row max grew, 2: and let the max outgrow the base by 2^8")
          ->capture_default_str());
  options_.push_back(app.add_option("--persistent", config.persistent,
                                    "1: CTAs loop over the query tiles, next Q prefetched (stages 1)")
                         ->capture_default_str());
  options_.push_back(app.add_option("--fuse-pv", config.fuse_pv,
                                    "1: softmax and P V in one block, step by step (pipeline 0)")
                         ->capture_default_str());
}

bool ConfigOptions::any_given() const {
  return std::any_of(options_.begin(), options_.end(), [](const CLI::Option* o) { return o->count() > 0; });
}

}  // namespace flashtune::cli
