#pragma once
// Compile (through the cubin cache) and load one kernel instantiation on the current context.
#include <filesystem>
#include <string>
#include <vector>

#include "gpu/module.hpp"
#include "jit/compile_request.hpp"

namespace flashtune::run {

struct LoadedKernel {
  jit::CompileResult compile;  // the cubin, lowered name and ptxas facts
  std::string lowered_name;
  gpu::Module module;
  gpu::Kernel kernel;
};

// A request for `name_expression` in `template_file` (relative to the kernel template dir), all template
// folders on the include path.
jit::CompileRequest make_request(const std::string& template_file, const std::string& name_expression,
                                 const std::string& arch);

// Compiles (or takes from the cache) and loads. Throws Error(compile) with the NVRTC log on a compile error.
LoadedKernel load_kernel(const jit::CompileRequest& request);

}  // namespace flashtune::run
