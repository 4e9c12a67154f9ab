#include "jit/nvrtc_program.hpp"

#include <cstdio>
#include <utility>

#include "core/error.hpp"
#include "jit/detail/nvrtc_table.hpp"

namespace flashtune::jit {
namespace {

nvrtcProgram as_program(void* p) {
  return static_cast<nvrtcProgram>(p);
}

void check(nvrtcResult r, const char* call, const std::string& context) {
  if (r == NVRTC_SUCCESS) return;
  throw Error(ErrorKind::compile,
              std::string(call) + "(" + context + "): " + detail::nvrtc().nvrtcGetErrorString(r));
}

}  // namespace

NvrtcProgram::NvrtcProgram(const std::string& source, std::string name) : name_(std::move(name)) {
  nvrtcProgram prog = nullptr;
  check(detail::nvrtc().nvrtcCreateProgram(&prog, source.c_str(), name_.c_str(), 0, nullptr, nullptr),
        "nvrtcCreateProgram", name_);
  prog_ = prog;
}

NvrtcProgram::~NvrtcProgram() {
  if (prog_ == nullptr) return;
  nvrtcProgram prog = as_program(prog_);
  if (nvrtcResult r = detail::nvrtc().nvrtcDestroyProgram(&prog); r != NVRTC_SUCCESS)
    std::fprintf(stderr, "flashtune: nvrtcDestroyProgram(%s): %s\n", name_.c_str(),
                 detail::nvrtc().nvrtcGetErrorString(r));
}

void NvrtcProgram::add_name_expression(const std::string& expr) {
  check(detail::nvrtc().nvrtcAddNameExpression(as_program(prog_), expr.c_str()), "nvrtcAddNameExpression",
        name_ + ", " + expr);
}

bool NvrtcProgram::compile(const std::vector<std::string>& options) {
  std::vector<const char*> argv;
  argv.reserve(options.size());
  for (const std::string& o : options) argv.push_back(o.c_str());
  nvrtcResult r =
      detail::nvrtc().nvrtcCompileProgram(as_program(prog_), static_cast<int>(argv.size()), argv.data());
  if (r == NVRTC_ERROR_COMPILATION) return false;
  check(r, "nvrtcCompileProgram", name_);
  return true;
}

std::string NvrtcProgram::log() const {
  std::size_t size = 0;
  check(detail::nvrtc().nvrtcGetProgramLogSize(as_program(prog_), &size), "nvrtcGetProgramLogSize", name_);
  std::string log(size, '\0');
  if (size > 0)
    check(detail::nvrtc().nvrtcGetProgramLog(as_program(prog_), log.data()), "nvrtcGetProgramLog", name_);
  while (!log.empty() && log.back() == '\0') log.pop_back();
  return log;
}

std::vector<char> NvrtcProgram::cubin() const {
  std::size_t size = 0;
  check(detail::nvrtc().nvrtcGetCUBINSize(as_program(prog_), &size), "nvrtcGetCUBINSize", name_);
  std::vector<char> cubin(size);
  if (size > 0) check(detail::nvrtc().nvrtcGetCUBIN(as_program(prog_), cubin.data()), "nvrtcGetCUBIN", name_);
  return cubin;
}

std::string NvrtcProgram::lowered_name(const std::string& expr) const {
  const char* lowered = nullptr;
  check(detail::nvrtc().nvrtcGetLoweredName(as_program(prog_), expr.c_str(), &lowered), "nvrtcGetLoweredName",
        name_ + ", " + expr);
  return lowered;
}

int nvrtc_version() {
  int major = 0, minor = 0;
  check(detail::nvrtc().nvrtcVersion(&major, &minor), "nvrtcVersion", "");
  return major * 1000 + minor * 10;
}

std::string nvrtc_version_string() {
  const int v = nvrtc_version();
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

std::vector<std::string> supported_archs() {
  int n = 0;
  check(detail::nvrtc().nvrtcGetNumSupportedArchs(&n), "nvrtcGetNumSupportedArchs", "");
  std::vector<int> archs(static_cast<std::size_t>(n));
  if (n > 0) check(detail::nvrtc().nvrtcGetSupportedArchs(archs.data()), "nvrtcGetSupportedArchs", "");
  std::vector<std::string> out;
  out.reserve(archs.size());
  for (int a : archs) out.push_back("sm_" + std::to_string(a));
  return out;
}

}  // namespace flashtune::jit
