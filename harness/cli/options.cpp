#include "cli/options.hpp"

#include <algorithm>

#include "cli/validators.hpp"
#include "core/error.hpp"

namespace flashtune::cli {

void ProblemOptions::add_to(CLI::App& app) {
  app.add_option("--batch,-b", problem.batch, "batch size")
      ->check(integer_in(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--heads", problem.heads, "attention heads")
      ->check(integer_in(1, 1 << 16))
      ->capture_default_str();
  app.add_option("--seqlen,-n", problem.seqlen, "sequence length (queries = keys)")
      ->check(integer_in(1, 1 << 24))
      ->capture_default_str();
  app.add_option("--head-dim,-d", problem.head_dim, "head dimension")
      ->check(CLI::IsMember({64, 128}))
      ->capture_default_str();
  app.add_option("--dtype", dtype, "element type")
      ->check(CLI::IsMember({"bf16", "fp16"}))
      ->capture_default_str();
  app.add_flag("--causal", problem.causal, "causal mask (query i attends keys <= i)");
  app.add_option("--scale", problem.softmax_scale, "softmax scale (default 1/sqrt(head_dim))")
      ->check(finite_in(0, 1e6));
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
  options_.push_back(app.add_option("--block-m", config.block_m, "query rows per CTA")
                         ->check(integer_in(16, 512))
                         ->capture_default_str());
  options_.push_back(app.add_option("--block-n", config.block_n, "key/value rows per stage")
                         ->check(integer_in(16, 512))
                         ->capture_default_str());
  options_.push_back(app.add_option("--warps", config.warps, "warps per CTA")
                         ->check(integer_in(1, 32))
                         ->capture_default_str());
  options_.push_back(app.add_option("--stages", config.stages, "K/V pipeline stages")
                         ->check(integer_in(1, 4))
                         ->capture_default_str());
  options_.push_back(
      app.add_option("--q-regs", config.q_regs, "Q fragments: 0 shared memory, 1 registers, 2 automatic")
          ->check(integer_in(0, 8))
          ->capture_default_str());
  options_.push_back(
      app.add_option("--pipeline", config.pipeline, "loop schedule: 0 tile by tile, 1 software-pipelined")
          ->check(integer_in(0, 8))
          ->capture_default_str());
  options_.push_back(app.add_option("--min-blocks", config.min_blocks,
                                    "__launch_bounds__ minimum CTAs per SM (caps registers)")
                         ->check(integer_in(0, 8))
                         ->capture_default_str());
  options_.push_back(
      app.add_option("--lazy-rescale", config.lazy_rescale,
                     "1: skip rescaling O when no row max grew, 2: and let the max outgrow the base by 2^8")
          ->check(integer_in(0, 8))
          ->capture_default_str());
  options_.push_back(app.add_option("--persistent", config.persistent,
                                    "1: CTAs loop over the query tiles, next Q prefetched (stages 1)")
                         ->check(integer_in(0, 8))
                         ->capture_default_str());
  options_.push_back(app.add_option("--fuse-pv", config.fuse_pv,
                                    "1: softmax and P V in one block, step by step (pipeline 0)")
                         ->check(integer_in(0, 8))
                         ->capture_default_str());
}

bool ConfigOptions::any_given() const {
  return std::any_of(options_.begin(), options_.end(), [](const CLI::Option* o) { return o->count() > 0; });
}

}  // namespace flashtune::cli
