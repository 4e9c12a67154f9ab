#include "gpu/stream.hpp"

#include <utility>

#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {

Stream::Stream() {
  detail::check(detail::driver().cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate",
                "CU_STREAM_NON_BLOCKING");
}

Stream::~Stream() {
  destroy();
}

Stream::Stream(Stream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    destroy();
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}

void Stream::synchronize() const {
  detail::check(detail::driver().cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

void Stream::destroy() noexcept {
  if (stream_ == nullptr) return;
  detail::log_failure(detail::driver().cuStreamDestroy(stream_), "cuStreamDestroy");
  stream_ = nullptr;
}

}  // namespace flashtune::gpu
