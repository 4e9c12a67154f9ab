#include "gpu/launch.hpp"

#include <fmt/format.h>

#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {

std::string LaunchShape::to_string() const {
  return fmt::format("grid=({},{},{}) block=({},{},{}) smem={}", grid[0], grid[1], grid[2], block[0],
                     block[1], block[2], dynamic_smem);
}

void launch(const Kernel& kernel, const LaunchShape& shape, void** args, Stream* stream,
            std::string_view context) {
  launch_on(kernel, shape, args, stream != nullptr ? stream->native() : nullptr, context);
}

void launch_on(const Kernel& kernel, const LaunchShape& shape, void** args, CUstream_st* stream,
               std::string_view context) {
  CUresult r = detail::driver().cuLaunchKernel(kernel.native(), shape.grid[0], shape.grid[1], shape.grid[2],
                                               shape.block[0], shape.block[1], shape.block[2],
                                               shape.dynamic_smem, stream, args, nullptr);
  if (r == CUDA_SUCCESS) return;
  const std::string where =
      fmt::format("{} {}", context.empty() ? std::string_view(kernel.name()) : context, shape.to_string());
  throw detail::driver_error(
      r, "cuLaunchKernel", where,
      r == CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES ? ErrorKind::resource_exceeded : ErrorKind::driver);
}

}  // namespace flashtune::gpu
