#include "run/kernel_loader.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "jit/cubin_cache.hpp"

namespace flashtune::run {

jit::CompileRequest make_request(const std::string& template_file, const std::string& name_expression,
                                 const std::string& arch) {
  const auto dir = kernel_template_dir();
  jit::CompileRequest r;
  r.source_file = dir / template_file;
  r.include_dirs = {dir, dir / "common"};
  r.name_expressions = {name_expression};
  r.arch = arch;
  return r;
}

LoadedKernel load_kernel(const jit::CompileRequest& request) {
  jit::CubinCache cache;  // default_dir(): cache_dir() / "cubin"
  jit::CompileResult result = jit::compile_cached(request, cache);
  const std::string& expr = request.name_expressions.at(0);
  if (!result.ok) throw Error(ErrorKind::compile, fmt::format("compiling {} failed:\n{}", expr, result.log));
  auto it = result.lowered_names.find(expr);
  if (it == result.lowered_names.end())
    throw Error(ErrorKind::internal, fmt::format("no lowered name for {} in the compile result", expr));
  std::string lowered = it->second;
  gpu::Module module = gpu::Module::load(result.cubin);
  gpu::Kernel kernel = module.kernel(lowered);
  return LoadedKernel{std::move(result), std::move(lowered), std::move(module), std::move(kernel)};
}

}  // namespace flashtune::run
