// flashtune compile: compile a template's configurations with NVRTC and check their resources. Needs no GPU.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/compile_json.hpp"
#include "cli/compile_table.hpp"
#include "cli/exit_codes.hpp"
#include "cli/instances.hpp"
#include "cli/options.hpp"
#include "cli/validators.hpp"
#include "core/error.hpp"
#include "core/file_io.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "jit/arch_check.hpp"
#include "jit/cubin_cache.hpp"
#include "report/progress.hpp"
#include "run/precompile.hpp"

namespace flashtune::cli {
namespace {

struct CompileArgs {
  std::string arch;
  std::vector<int> head_dims{64, 128};
  std::vector<std::string> dtypes{"bf16", "fp16"};
  std::string causal = "both";
  int jobs = 0;
  bool quiet = false;
  std::string json_path;
  ConfigOptions config;
};

std::string resolve_arch(const std::string& requested) {
  if (!requested.empty()) return requested;
  if (gpu::gpu_available()) return gpu::query_device(0).arch();
  return "sm_90a";
}

}  // namespace

void add_compile_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CompileArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compile",
      "compile a template's configurations (the default grid of its search space, or the one given with "
      "--param) and check their resources");
  cmd->add_option("--arch", args->arch,
                  "target architecture, e.g. sm_90a or sm_80 (default: the GPU's, else sm_90a)")
      ->check([](const std::string& a) { return jit::arch_problem(a).value_or(""); });
  cmd->add_option("--head-dim,-d", args->head_dims,
                  "head dimensions (those the template takes: fa2_fwd 64, 96, 128)")
      ->check(CLI::IsMember({64, 96, 128, 256}));
  cmd->add_option("--dtype", args->dtypes, "element types")->check(CLI::IsMember({"bf16", "fp16"}));
  cmd->add_option("--causal", args->causal, "causal modes")->check(CLI::IsMember({"both", "yes", "no"}));
  cmd->add_option("--jobs,-j", args->jobs, "compile worker processes (0: one per core)")
      ->check(integer_in(0, 1024));
  cmd->add_flag("--quiet,-q", args->quiet, "no progress output");
  cmd->add_option("--json", args->json_path,
                  "also write every configuration's facts and cubin cache entry as JSON to this file");
  args->config.add_to(*cmd);
  cmd->callback([args, &exit_code] {
    const std::string arch = resolve_arch(args->arch);
    require_arch(args->config.kernel_template(), arch);
    std::vector<run::Instance> instances;
    std::vector<bool> modes;
    if (args->causal != "yes") modes.push_back(false);
    if (args->causal != "no") modes.push_back(true);
    for (int d : args->head_dims)
      for (const std::string& t : args->dtypes)
        for (bool causal : modes) {
          // Compiling needs the variant only; the launch facts are those of a 1024-token sequence.
          const AttentionProblem p{.batch = 1,
                                   .heads = 1,
                                   .seqlen = 1024,
                                   .head_dim = d,
                                   .dtype = *parse_dtype(t),
                                   .causal = causal};
          for (run::Instance& inst : command_instances(args->config, p)) instances.push_back(std::move(inst));
        }
    report::Progress progress(fmt::format("compiling for {}", arch), args->quiet);
    const auto compiled =
        run::precompile(instances, arch, args->jobs, limits_of_arch(arch),
                        [&](std::size_t done, std::size_t total) { progress.update(done, total); });
    progress.finish();
    compile_table(compiled).print(std::cout);
    int failed = 0, spilling = 0, unfit = 0, hits = 0;
    double ms = 0;
    for (const auto& c : compiled) {
      failed += !c.result.ok;
      spilling += c.result.ok && (c.facts.spill_store_bytes + c.facts.spill_load_bytes) > 0;
      unfit += c.result.ok && !c.fit.fits;
      hits += c.result.cache_hit;
      ms += c.result.compile_ms;
    }
    std::cout << fmt::format(
        "\n{} configurations for {}: {} compiled, {} failed, {} spill registers, {} do not fit an SM; {} "
        "from the cache, {:.1f} s of NVRTC time\n",
        compiled.size(), arch, compiled.size() - failed, failed, spilling, unfit, hits, ms / 1000);
    if (!args->json_path.empty())
      write_file(args->json_path,
                 compile_json(compiled, arch, jit::CubinCache::default_dir().string()).dump(2) + "\n");
    for (const auto& c : compiled)
      if (!c.result.ok) std::cerr << "\n" << c.instance.label() << ":\n" << c.result.log << "\n";
    exit_code = failed > 0 ? kTrialFailed : kOk;
  });
}

}  // namespace flashtune::cli
