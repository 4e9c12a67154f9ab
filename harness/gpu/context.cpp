#include "gpu/context.hpp"

#include <fmt/format.h>

#include <utility>

#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {

Context::Context(int ordinal) : ordinal_(ordinal) {
  const detail::DriverTable& d = detail::driver();
  device_ = detail::device_handle(ordinal);
  const std::string where = fmt::format("device {}", ordinal);
  detail::check(d.cuDevicePrimaryCtxRetain(&ctx_, device_), "cuDevicePrimaryCtxRetain", where);
  try {
    make_current();
  } catch (...) {
    release();
    throw;
  }
}

Context::~Context() {
  release();
}

Context::Context(Context&& other) noexcept
    : ordinal_(std::exchange(other.ordinal_, -1)),
      device_(other.device_),
      ctx_(std::exchange(other.ctx_, nullptr)) {}

Context& Context::operator=(Context&& other) noexcept {
  if (this != &other) {
    release();
    ordinal_ = std::exchange(other.ordinal_, -1);
    device_ = other.device_;
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

void Context::make_current() const {
  detail::check(detail::driver().cuCtxSetCurrent(ctx_), "cuCtxSetCurrent",
                fmt::format("device {}", ordinal_));
}

void Context::synchronize() {
  detail::check(detail::driver().cuCtxSynchronize(), "cuCtxSynchronize");
}

void Context::release() noexcept {
  if (ctx_ == nullptr) return;
  const detail::DriverTable& d = detail::driver();  // loaded: this object exists
  // cuDevicePrimaryCtxRelease never pops the context from the thread. When this was the last reference, the
  // context is destroyed: unset it, so that this thread is not left pointing at it. (Another Context of the
  // same device keeps it alive and current.)
  CUcontext current = nullptr;
  const bool was_current = d.cuCtxGetCurrent(&current) == CUDA_SUCCESS && current == ctx_;
  detail::log_failure(d.cuDevicePrimaryCtxRelease(device_), "cuDevicePrimaryCtxRelease", "primary context");
  unsigned flags = 0;
  int active = 1;
  if (was_current && d.cuDevicePrimaryCtxGetState(device_, &flags, &active) == CUDA_SUCCESS && active == 0) {
    detail::log_failure(d.cuCtxSetCurrent(nullptr), "cuCtxSetCurrent", "nullptr");
  }
  ctx_ = nullptr;
}

}  // namespace flashtune::gpu
