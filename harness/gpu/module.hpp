#pragma once
// A loaded GPU binary (RAII, move-only): a cubin from NVRTC, a fatbin, or PTX text that the driver compiles
// for the device on load. Its kernels are looked up by lowered (mangled) name.
#include <span>
#include <string>
#include <string_view>

#include "gpu/kernel.hpp"

struct CUmod_st;

namespace flashtune::gpu {

class Module {
 public:
  // cuModuleLoadDataEx in the current context. `image` is a cubin (ELF), a fatbin, or PTX text (with or
  // without a terminating NUL). `context` names it in errors (the configuration). A failed PTX compile throws
  // DriverError naming cuModuleLoadDataEx, with the driver's JIT log appended.
  static Module load(std::span<const char> image, std::string_view context = {});

  Module() = default;
  ~Module();
  Module(Module&& other) noexcept;
  Module& operator=(Module&& other) noexcept;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // cuModuleGetFunction. The Kernel is valid while this Module lives. A name that is not in the module throws
  // DriverError (CUDA_ERROR_NOT_FOUND) naming cuModuleGetFunction and the name.
  Kernel kernel(const std::string& lowered_name) const;

  CUmod_st* native() const noexcept { return module_; }

 private:
  explicit Module(CUmod_st* module) : module_(module) {}
  void unload() noexcept;

  CUmod_st* module_ = nullptr;
};

}  // namespace flashtune::gpu
