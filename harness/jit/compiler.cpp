#include "jit/compiler.hpp"

#include <chrono>
#include <cstdlib>
#include <regex>

#include "core/error.hpp"
#include "jit/nvrtc_program.hpp"

namespace flashtune::jit {
namespace fs = std::filesystem;

#ifndef FLASHTUNE_CUDA_INCLUDE_DIR
#error "FLASHTUNE_CUDA_INCLUDE_DIR must be defined by the build (the CUDA toolkit's include directory)"
#endif

fs::path cuda_include_dir() {
  const char* home = std::getenv("CUDA_HOME");
  if (home != nullptr && *home != '\0') return fs::path(home) / "include";
  return FLASHTUNE_CUDA_INCLUDE_DIR;
}

std::vector<std::string> nvrtc_options(const CompileRequest& request) {
  static const std::regex real_arch("sm_[0-9]+[af]?");
  if (!std::regex_match(request.arch, real_arch))
    throw Error(
        ErrorKind::invalid_argument,
        "arch '" + request.arch + "' is not a real architecture (want e.g. sm_90a or sm_80): no cubin");
  const fs::path cuda = cuda_include_dir();
  std::vector<std::string> opts = {"-arch=" + request.arch, "-std=c++17", "-I" + cuda.string()};
  std::error_code ec;
  if (fs::is_directory(cuda / "cccl", ec)) opts.push_back("-I" + (cuda / "cccl").string());
  for (const fs::path& dir : request.include_dirs) opts.push_back("-I" + fs::absolute(dir).string());
  opts.push_back("--ptxas-options=-v");
  opts.push_back("-default-device");
  opts.insert(opts.end(), request.extra_options.begin(), request.extra_options.end());
  return opts;
}

std::string translation_unit(const CompileRequest& request) {
  const std::string path = fs::absolute(request.source_file).lexically_normal().string();
  if (path.find_first_of("\"\n") != std::string::npos)
    throw Error(ErrorKind::invalid_argument, "source path cannot be #included: " + path);
  return "#include \"" + path + "\"\n";
}

CompileResult compile(const CompileRequest& request) {
  std::error_code ec;
  if (!fs::is_regular_file(request.source_file, ec))
    throw Error(ErrorKind::not_found, "kernel source not found: " + request.source_file.string());
  const std::vector<std::string> options = nvrtc_options(request);

  const auto start = std::chrono::steady_clock::now();
  NvrtcProgram program(translation_unit(request), request.source_file.filename().string());
  for (const std::string& expr : request.name_expressions) program.add_name_expression(expr);
  CompileResult result;
  result.ok = program.compile(options);
  result.log = program.log();
  if (result.ok) {
    result.cubin = program.cubin();
    for (const std::string& expr : request.name_expressions)
      result.lowered_names[expr] = program.lowered_name(expr);
    result.ptxas = parse_ptxas_info(result.log);
  }
  result.compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace flashtune::jit
