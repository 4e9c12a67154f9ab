#include "cli/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

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
  app.add_option(
         "--kv-heads", problem.kv_heads,
         "key/value heads, dividing --heads (grouped-query attention; 1: multi-query; default: --heads)")
      ->check(integer_in(1, 1 << 16));
  app.add_option("--seqlen,-n", problem.seqlen,
                 "sequence length of the queries (and of the keys unless --seqlen-k)")
      ->check(integer_in(1, 1 << 24))
      ->capture_default_str();
  app.add_option(
         "--seqlen-k", problem.seqlen_k,
         "sequence length of the keys (default: --seqlen); the queries are its last --seqlen positions")
      ->check(integer_in(1, 1 << 24));
  app.add_option("--head-dim,-d", problem.head_dim, "head dimension")
      ->check(CLI::IsMember({64, 96, 128, 256}))
      ->capture_default_str();
  app.add_option("--dtype", dtype, "element type")
      ->check(CLI::IsMember({"bf16", "fp16"}))
      ->capture_default_str();
  app.add_flag("--causal", problem.causal, "causal mask (query i attends keys <= i)");
  app.add_option("--scale", problem.softmax_scale, "softmax scale (default 1/sqrt(head_dim))")
      ->check(finite_in(0, 1e6));
  app.add_option(
         "--window-left", problem.window_left,
         "sliding window: keys attended before the (bottom-right aligned) diagonal (default: unbounded)")
      ->check(integer_in(0, 1 << 24));
  app.add_option("--window-right", problem.window_right,
                 "sliding window: keys attended after the diagonal (default: unbounded)")
      ->check(integer_in(0, 1 << 24));
  app.add_option("--softcap", problem.softcap,
                 "cap the scores to softcap * tanh(s / softcap) (default: none)")
      ->check(finite_in(0, 1e6));
  app.add_option("--pass", pass,
                 "the pass to time: fwd (O and LSE) or bwd (dQ, dK, dV; a template computes one: fa2_bwd the "
                 "backward)")
      ->check(CLI::IsMember({"fwd", "bwd"}))
      ->capture_default_str();
  app.add_option("--layout", layout,
                 "memory layout of Q, K, V and O: bhsd ([B, H, N, d]) or bshd ([B, N, H, d])")
      ->check(CLI::IsMember({"bhsd", "bshd"}))
      ->capture_default_str();
  app.add_option(
         "--lengths", lengths,
         "variable lengths: the sequences' query counts, packed with no padding (layout thd; batch and "
         "--seqlen follow from them), e.g. --lengths 1000,37,4096")
      ->delimiter(',')
      ->check(integer_in(0, 1 << 24))
      ->excludes("--batch")
      ->excludes("--seqlen")
      ->excludes("--seqlen-k")
      ->excludes("--layout");
  app.add_option("--lengths-k", lengths_k,
                 "variable lengths: the sequences' key counts, as many as --lengths (default: the queries')")
      ->delimiter(',')
      ->check(integer_in(0, 1 << 24))
      ->needs("--lengths");
  CLI::Option* block =
      app.add_option("--sparse-block", problem.sparse_block,
                     "block-sparse attention: positions per layout block, in queries and in keys (a multiple "
                     "of 16), with --sparse-density")
          ->check(integer_in(16, 4096))
          ->excludes("--lengths");
  CLI::Option* density =
      app.add_option(
             "--sparse-density", problem.sparse_density,
             "block-sparse attention: the fraction of layout blocks kept, in (0, 1], with --sparse-block")
          ->check(finite_in(0, 1));
  CLI::Option* seed =
      app.add_option("--sparse-seed", problem.sparse_seed,
                     "block-sparse attention: the seed of the layout's draw (core/block_layout.hpp)")
          ->check(unsigned_integer())
          ->capture_default_str();
  block->needs(density);
  density->needs(block);
  seed->needs(block);
}

AttentionProblem ProblemOptions::resolve() const {
  AttentionProblem p = problem;
  auto t = parse_dtype(dtype);
  if (!t) throw Error(ErrorKind::invalid_argument, "unknown dtype '" + dtype + "' (bf16 or fp16)");
  p.dtype = *t;
  p.layout = parse_layout(layout).value_or(Layout::bhsd);
  p.pass = parse_pass(pass).value_or(Pass::fwd);
  if (!lengths_k.empty() && lengths_k.size() != lengths.size())
    throw Error(ErrorKind::invalid_argument,
                fmt::format("--lengths-k has {} sequences, --lengths {}", lengths_k.size(), lengths.size()));
  if (!lengths.empty()) p = varlen_problem(p, lengths, lengths_k);
  if (p.block_sparse() && p.sparse_block % 16 != 0)
    throw Error(ErrorKind::invalid_argument,
                fmt::format("--sparse-block must be a multiple of 16, got {}", p.sparse_block));
  if (p.block_sparse() && !(p.sparse_density > 0.0f))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("--sparse-density must be in (0, 1], got {}", p.sparse_density));
  validate(p);
  return p;
}

void ConfigOptions::add_to(CLI::App& app) {
  app.add_option("--template,-t", template_id, "kernel template (flashtune info --templates lists them)")
      ->capture_default_str();
  app.add_option("--space", space,
                 "search space whose combinations are the default grid (default: "
                 "search_spaces/<template>.yaml)");
  app.add_option("--param,-p", param_args_, "a template parameter, key=value (repeatable)");
  // The FA2 flags, kept as aliases of their parameters: each an integer in fa2_fwd's range for it (checked
  // again, with the rest, against the chosen template's ranges by check_params).
  const std::pair<const char*, const char*> aliases[] = {
      {"block-m", "block_m"},       {"block-n", "block_n"},
      {"warps", "warps"},           {"stages", "stages"},
      {"q-regs", "q_regs"},         {"pipeline", "pipeline"},
      {"min-blocks", "min_blocks"}, {"lazy-rescale", "lazy_rescale"},
      {"persistent", "persistent"}, {"fuse-pv", "fuse_pv"}};
  const KernelTemplate& fa2 = find_template("fa2_fwd");
  for (const auto& [flag, name] : aliases) {
    const auto spec = std::find_if(fa2.params().begin(), fa2.params().end(),
                                   [n = std::string(name)](const ParamSpec& p) { return p.name == n; });
    app.add_option_function<std::int64_t>(
           std::string("--") + flag, [this, n = std::string(name)](std::int64_t v) { aliases_[n] = v; },
           std::string("alias of --param ") + name + "=N")
        ->check(integer_in(spec->min, spec->max));
  }
}

const KernelTemplate& ConfigOptions::kernel_template() const {
  try {
    return find_template(template_id);
  } catch (const Error& e) {
    throw Error(ErrorKind::invalid_argument, std::string("--template: ") + e.what());
  }
}

std::optional<ParamValues> ConfigOptions::params() const {
  if (param_args_.empty() && aliases_.empty()) return std::nullopt;
  ParamValues v;
  auto put = [&](const std::string& name, std::int64_t value, const std::string& given) {
    if (!v.emplace(name, value).second)
      throw Error(ErrorKind::invalid_argument, fmt::format("{}: parameter {} is given twice", given, name));
  };
  for (const auto& [name, value] : aliases_) put(name, value, "--" + name);
  for (const std::string& arg : param_args_) {
    const std::size_t eq = arg.find('=');
    std::int64_t value = 0;
    const char* first = eq == std::string::npos ? nullptr : arg.data() + eq + 1;
    const auto [end, ec] =
        first ? std::from_chars(first, arg.data() + arg.size(), value) : std::from_chars_result{first, {}};
    if (eq == std::string::npos || eq == 0 || ec != std::errc() || end != arg.data() + arg.size())
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("--param '{}': expected key=integer (block_n=128)", arg));
    put(arg.substr(0, eq), value, "--param " + arg);
  }
  // Required parameters left out take their defaults: a configuration names only what it changes.
  for (const ParamSpec& p : kernel_template().params())
    if (p.required) v.emplace(p.name, p.default_value);
  if (auto bad = check_params(kernel_template(), v))
    throw Error(ErrorKind::invalid_argument, fmt::format("{}: {}", template_id, *bad));
  return v;
}

}  // namespace flashtune::cli
