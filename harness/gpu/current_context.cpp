#include "gpu/current_context.hpp"

#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {

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
  return c;
}

}  // namespace flashtune::gpu
