// flashtune info: the GPU (or that there is none), the compiler and where things are kept.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/exit_codes.hpp"
#include "core/error.hpp"
#include "core/paths.hpp"
#include "gpu/device_info.hpp"
#include "gpu/driver_api.hpp"
#include "jit/nvrtc_program.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune::cli {

namespace {

// Each template of the catalog with its parameters: bounds, default, optional or not.
void print_templates() {
  for (const std::string& id : template_ids()) {
    const KernelTemplate& t = find_template(id);
    std::cout << fmt::format("{} ({}): {}\n", id, t.source_file(), t.summary());
    for (const ParamSpec& p : t.params())
      std::cout << fmt::format("  {:<12} {}..{}, default {}{}: {}\n", p.name, p.min, p.max, p.default_value,
                               p.required ? "" : ", optional", p.doc);
  }
}

}  // namespace

void add_info_command(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("info", "show the GPU, the NVRTC version and flashtune's paths");
  static bool templates = false;
  cmd->add_flag("--templates", templates, "list the kernel templates and their parameters instead");
  cmd->callback([&exit_code] {
    if (templates) {
      print_templates();
      return;
    }
    try {
      std::cout << fmt::format("NVRTC          {}\n", jit::nvrtc_version_string());
    } catch (const Error& e) {  // not installed: a bundle still runs; say so rather than fail
      std::cout << fmt::format("NVRTC          none: {}\n", e.what());
    }
    std::cout << fmt::format("templates      {}\n", kernel_template_dir().string());
    std::cout << fmt::format("cache          {}\n", cache_dir().string());
    std::string why;
    if (!gpu::gpu_available(&why)) {
      std::cout << "GPU            none: " << why << "\n";
      std::cout << "               compiling works (flashtune compile --arch sm_90a); timing needs a GPU\n";
      exit_code = kNoGpu;
      return;
    }
    for (int i = 0; i < gpu::device_count(); ++i) {
      const gpu::DeviceInfo d = gpu::query_device(i);
      std::cout << fmt::format("GPU {}          {} (compute capability {}.{}, {})\n", i, d.name, d.cc_major,
                               d.cc_minor, d.arch());
      std::cout << fmt::format("  SMs          {}\n", d.sm_count);
      std::cout << fmt::format("  L2           {:.1f} MiB\n", d.l2_bytes / 1048576.0);
      std::cout << fmt::format("  shared mem   {} B per block opt-in, {} B per SM\n", d.smem_optin_per_block,
                               d.smem_per_sm);
      std::cout << fmt::format("  memory       {:.1f} GiB\n", d.total_mem_bytes / 1073741824.0);
      std::cout << fmt::format("  driver       {}.{}\n", d.driver_version / 1000,
                               (d.driver_version % 1000) / 10);
      std::cout << fmt::format("  uuid         {}\n", d.uuid);
    }
  });
}

}  // namespace flashtune::cli
