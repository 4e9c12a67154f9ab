#pragma once
// One CompileRequest through NVRTC, in this process, uncached. The cubin cache (cubin_cache.hpp) and the
// worker pool (compile_pool.hpp) build on this.
#include <filesystem>
#include <string>
#include <vector>

#include "jit/compile_request.hpp"

namespace flashtune::jit {

// The CUDA include directory handed to NVRTC: $CUDA_HOME/include when CUDA_HOME is set, else the toolkit's
// include directory found at build time.
std::filesystem::path cuda_include_dir();

// The NVRTC options for a request, in order: -arch=<arch>, -std=c++17, -I<cuda include>, -I<cuda
// include>/cccl (when it exists), -I<each include dir>, --ptxas-options=-v, -default-device, then
// request.extra_options. Throws Error(invalid_argument) when arch is not a real architecture ("sm_90a" yes,
// "compute_90" no).
std::vector<std::string> nvrtc_options(const CompileRequest& request);

// The translation unit NVRTC compiles: `#include "<absolute source_file>"` and a newline.
std::string translation_unit(const CompileRequest& request);

// Compiles the request. A source that does not compile is a result with ok == false and the log; a missing
// source file throws Error(not_found), and NVRTC failing for any other reason throws Error(compile).
// cache_key is left empty and cache_hit false.
CompileResult compile(const CompileRequest& request);

}  // namespace flashtune::jit
