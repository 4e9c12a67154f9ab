#pragma once
// NVRTC as a table of function pointers, filled at run time from libnvrtc (dlopen), so that nothing built
// from harness/ needs NVRTC to start: a program that runs a deployable bundle (runtime/bundle.hpp) runs
// where NVRTC is not installed. Only jit/nvrtc_program.cpp includes this header (with nvrtc.h).
//
// The library tried, in order: $FLASHTUNE_NVRTC_LIBRARY (an error when set and unusable); else one the
// process has loaded already under the soname (libnvrtc.so.13: PyTorch's, say), then the toolkit's library
// this build was configured with (an absolute path), then the soname through the loader's search path.
#include <nvrtc.h>

namespace flashtune::jit::detail {

#define FLASHTUNE_NVRTC_CALLS(X) \
  X(nvrtcGetErrorString)         \
  X(nvrtcVersion)                \
  X(nvrtcGetNumSupportedArchs)   \
  X(nvrtcGetSupportedArchs)      \
  X(nvrtcCreateProgram)          \
  X(nvrtcDestroyProgram)         \
  X(nvrtcAddNameExpression)      \
  X(nvrtcCompileProgram)         \
  X(nvrtcGetProgramLogSize)      \
  X(nvrtcGetProgramLog)          \
  X(nvrtcGetCUBINSize)           \
  X(nvrtcGetCUBIN)               \
  X(nvrtcGetLoweredName)

struct NvrtcTable {
#define FLASHTUNE_NVRTC_MEMBER(name) decltype(&::name) name = nullptr;
  FLASHTUNE_NVRTC_CALLS(FLASHTUNE_NVRTC_MEMBER)
#undef FLASHTUNE_NVRTC_MEMBER
};

// Loaded on first use, once per process. Throws Error(not_found) "NVRTC is not available: ..." naming every
// library tried and why each failed.
const NvrtcTable& nvrtc();

}  // namespace flashtune::jit::detail
