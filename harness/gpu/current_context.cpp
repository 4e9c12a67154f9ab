#include "gpu/current_context.hpp"

#include <dlfcn.h>

#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {

unsigned long long context_id(CUctx_st* context) {
  using GetId = CUresult (*)(CUcontext, unsigned long long*);
  static const GetId get_id = [] {
    // The driver is loaded already (driver() dlopened it); this only looks the symbol up.
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    return lib != nullptr ? reinterpret_cast<GetId>(dlsym(lib, "cuCtxGetId")) : nullptr;
  }();
  unsigned long long id = 0;
  if (get_id != nullptr && get_id(context, &id) != CUDA_SUCCESS) id = 0;
  return id;
}

CurrentContext current_context() {
  const detail::DriverTable& d = detail::driver();
  CurrentContext c;
  detail::check(d.cuCtxGetCurrent(&c.context), "cuCtxGetCurrent");
  if (c.context == nullptr)
    throw Error(
        ErrorKind::invalid_argument,
        "no CUDA context is current on this thread (cuCtxGetCurrent): create one first (e.g. any CUDA "
        "call of the framework that owns the tensors)");
  CUdevice device = 0;
  detail::check(d.cuCtxGetDevice(&device), "cuCtxGetDevice");
  c.ordinal = static_cast<int>(device);
  c.id = context_id(c.context);
  return c;
}

ContextScope::ContextScope(CUctx_st* context, unsigned long long id) noexcept {
  try {
    const detail::DriverTable& d = detail::driver();
    if (d.cuCtxGetCurrent(&previous_) != CUDA_SUCCESS) return;
    if (d.cuCtxSetCurrent(context) != CUDA_SUCCESS) return;
    restore_ = true;
    ok_ = context_id(context) == id;
  } catch (...) {
    ok_ = false;  // no driver
  }
}

ContextScope::~ContextScope() {
  if (restore_) (void)detail::driver().cuCtxSetCurrent(previous_);
}

}  // namespace flashtune::gpu
