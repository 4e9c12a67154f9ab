#pragma once
// A narrow RAII wrapper over one NVRTC program. The only place (with its .cpp) that speaks NVRTC; callers see
// strings and bytes. Every NVRTC call is checked: a failure throws flashtune::Error(compile) naming the call
// and the program, e.g. "nvrtcCompileProgram(fa2_fwd.cuh): NVRTC_ERROR_INVALID_OPTION". The one exception to
// that rule is the source failing to compile, which is an expected outcome: compile() returns false and log()
// says why. NVRTC itself is loaded on first use (jit/detail/nvrtc_table.hpp); where it is missing, each call
// here throws Error(not_found) saying so, and nothing else in the process needs it.
#include <string>
#include <vector>

namespace flashtune::jit {

class NvrtcProgram {
 public:
  // `source` is the text of the translation unit; `name` is the name NVRTC gives it in diagnostics and the
  // one our error messages use.
  NvrtcProgram(const std::string& source, std::string name);
  ~NvrtcProgram();  // noexcept; logs to stderr if nvrtcDestroyProgram fails
  NvrtcProgram(const NvrtcProgram&) = delete;
  NvrtcProgram& operator=(const NvrtcProgram&) = delete;

  // Asks NVRTC to instantiate and keep `expr` (e.g. "scale_kernel<4, __nv_bfloat16>"). Call before compile().
  void add_name_expression(const std::string& expr);

  // Compiles with the given options, one option per string ("--ptxas-options=-v", not a comma list). Returns
  // false when the source does not compile (NVRTC_ERROR_COMPILATION); throws Error(compile) on any other
  // failure.
  bool compile(const std::vector<std::string>& options);

  std::string log() const;          // the program log, without the trailing NUL; valid after compile()
  std::vector<char> cubin() const;  // empty unless compiled for a real architecture (-arch=sm_XY)
  // The lowered name of an expression given to add_name_expression(), byte-identical; valid after a
  // successful compile().
  std::string lowered_name(const std::string& expr) const;

 private:
  void* prog_ = nullptr;  // an nvrtcProgram; kept opaque so that nvrtc.h stays out of this header
  std::string name_;
};

// The NVRTC version as major * 1000 + minor * 10, the CUDA_VERSION convention: 13.0 -> 13000, 12.8 -> 12080.
int nvrtc_version();

// The NVRTC version as "major.minor", e.g. "13.0", for people (flashtune info, reports).
std::string nvrtc_version_string();

// The real architectures this NVRTC can compile for, as "-arch" values ("sm_75", ..., "sm_90", "sm_100",
// ...). Architecture-specific variants ("sm_90a", "sm_100a", "sm_100f") are accepted too but not listed by
// NVRTC.
std::vector<std::string> supported_archs();

}  // namespace flashtune::jit
