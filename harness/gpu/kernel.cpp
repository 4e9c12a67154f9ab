#include "gpu/kernel.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {

int Kernel::attribute(int which, const char* what) const {
  int value = 0;
  detail::check(
      detail::driver().cuFuncGetAttribute(&value, static_cast<CUfunction_attribute>(which), function_),
      "cuFuncGetAttribute", fmt::format("{}, {}", name_, what));
  return value;
}

KernelAttributes Kernel::attributes() const {
  KernelAttributes a;
  a.num_regs = attribute(CU_FUNC_ATTRIBUTE_NUM_REGS, "NUM_REGS");
  a.local_bytes_per_thread = attribute(CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, "LOCAL_SIZE_BYTES");
  a.static_smem_bytes = attribute(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, "SHARED_SIZE_BYTES");
  a.const_bytes = attribute(CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES, "CONST_SIZE_BYTES");
  a.max_threads_per_block = attribute(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "MAX_THREADS_PER_BLOCK");
  a.ptx_version = attribute(CU_FUNC_ATTRIBUTE_PTX_VERSION, "PTX_VERSION");
  a.binary_version = attribute(CU_FUNC_ATTRIBUTE_BINARY_VERSION, "BINARY_VERSION");
  a.max_dynamic_smem_bytes =
      attribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, "MAX_DYNAMIC_SHARED_SIZE_BYTES");
  a.carveout_percent =
      attribute(CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, "PREFERRED_SHARED_MEMORY_CARVEOUT");
  return a;
}

void Kernel::set_max_dynamic_smem(int bytes) {
  if (bytes < 0) {
    throw Error(ErrorKind::invalid_argument, fmt::format("set_max_dynamic_smem({}): negative size", bytes));
  }
  CUresult r =
      detail::driver().cuFuncSetAttribute(function_, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
  const std::string where = fmt::format("{}, MAX_DYNAMIC_SHARED_SIZE_BYTES={}", name_, bytes);
  // The one way this fails for a valid kernel is a request over the device's opt-in limit.
  if (r == CUDA_ERROR_INVALID_VALUE) {
    throw detail::driver_error(r, "cuFuncSetAttribute", where, ErrorKind::resource_exceeded);
  }
  detail::check(r, "cuFuncSetAttribute", where);
}

void Kernel::set_carveout_percent(int percent) {
  if (percent < -1 || percent > 100) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("set_carveout_percent({}): expected 0..100, or -1 for no preference", percent));
  }
  detail::check(detail::driver().cuFuncSetAttribute(
                    function_, CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT, percent),
                "cuFuncSetAttribute", fmt::format("{}, PREFERRED_SHARED_MEMORY_CARVEOUT={}", name_, percent));
}

int Kernel::max_active_blocks_per_sm(int threads, int dynamic_smem) const {
  int blocks = 0;
  detail::check(detail::driver().cuOccupancyMaxActiveBlocksPerMultiprocessor(
                    &blocks, function_, threads, static_cast<size_t>(dynamic_smem)),
                "cuOccupancyMaxActiveBlocksPerMultiprocessor",
                fmt::format("{}, {} threads, {} bytes dynamic smem", name_, threads, dynamic_smem));
  return blocks;
}

}  // namespace flashtune::gpu
