#include "gpu/device_buffer.hpp"

#include <fmt/format.h>

#include <utility>

#include "core/error.hpp"
#include "gpu/detail/driver_table.hpp"
#include "gpu/stream.hpp"

namespace flashtune::gpu {
namespace {

void check_range(std::size_t bytes, std::size_t size, const char* what) {
  if (bytes > size) {
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("DeviceBuffer::{}: {} bytes do not fit in a buffer of {} bytes", what, bytes, size));
  }
}

}  // namespace

DeviceBuffer::DeviceBuffer(std::size_t bytes) {
  if (bytes == 0) return;
  CUdeviceptr p = 0;
  CUresult r = detail::driver().cuMemAlloc(&p, bytes);
  if (r == CUDA_ERROR_OUT_OF_MEMORY) {
    throw detail::driver_error(r, "cuMemAlloc", fmt::format("{} bytes", bytes), ErrorKind::resource_exceeded);
  }
  detail::check(r, "cuMemAlloc", fmt::format("{} bytes", bytes));
  ptr_ = p;
  bytes_ = bytes;
}

DeviceBuffer::~DeviceBuffer() {
  release();
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : ptr_(std::exchange(other.ptr_, 0)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    ptr_ = std::exchange(other.ptr_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void DeviceBuffer::upload(const void* host, std::size_t bytes) {
  check_range(bytes, bytes_, "upload");
  if (bytes == 0) return;
  const detail::DriverTable& d = detail::driver();
  const std::string where = fmt::format("{} bytes", bytes);
  detail::check(d.cuCtxSynchronize(), "cuCtxSynchronize", "before upload");
  detail::check(d.cuMemcpyHtoD(ptr_, host, bytes), "cuMemcpyHtoD", where);
  detail::check(d.cuCtxSynchronize(), "cuCtxSynchronize", "after upload");
}

void DeviceBuffer::download(void* host, std::size_t bytes) const {
  download(host, bytes, 0);
}

void DeviceBuffer::download(void* host, std::size_t bytes, std::size_t offset) const {
  check_range(offset, bytes_, "download");
  check_range(bytes, bytes_ - offset, "download");
  if (bytes == 0) return;
  const detail::DriverTable& d = detail::driver();
  detail::check(d.cuCtxSynchronize(), "cuCtxSynchronize", "before download");
  detail::check(d.cuMemcpyDtoH(host, ptr_ + offset, bytes), "cuMemcpyDtoH",
                fmt::format("{} bytes at offset {}", bytes, offset));
}

std::size_t DeviceBuffer::words(std::size_t word_bytes, const char* call) const {
  if (bytes_ % word_bytes != 0) {
    throw Error(ErrorKind::invalid_argument,
                fmt::format("DeviceBuffer::{}: size {} is not a multiple of {}", call, bytes_, word_bytes));
  }
  return bytes_ / word_bytes;
}

void DeviceBuffer::fill_u16(std::uint16_t pattern) {
  const std::size_t n = words(2, "fill_u16");
  if (n == 0) return;
  const detail::DriverTable& d = detail::driver();
  detail::check(d.cuCtxSynchronize(), "cuCtxSynchronize", "before fill_u16");
  detail::check(d.cuMemsetD16(ptr_, pattern, n), "cuMemsetD16", fmt::format("{} words", n));
  detail::check(d.cuCtxSynchronize(), "cuCtxSynchronize", "after fill_u16");
}

void DeviceBuffer::fill_u32(std::uint32_t pattern) {
  const std::size_t n = words(4, "fill_u32");
  if (n == 0) return;
  const detail::DriverTable& d = detail::driver();
  detail::check(d.cuCtxSynchronize(), "cuCtxSynchronize", "before fill_u32");
  detail::check(d.cuMemsetD32(ptr_, pattern, n), "cuMemsetD32", fmt::format("{} words", n));
  detail::check(d.cuCtxSynchronize(), "cuCtxSynchronize", "after fill_u32");
}

void DeviceBuffer::fill_u16_async(std::uint16_t pattern, Stream& stream) {
  const std::size_t n = words(2, "fill_u16_async");
  if (n == 0) return;
  detail::check(detail::driver().cuMemsetD16Async(ptr_, pattern, n, stream.native()), "cuMemsetD16Async",
                fmt::format("{} words", n));
}

void DeviceBuffer::fill_u32_async(std::uint32_t pattern, Stream& stream) {
  const std::size_t n = words(4, "fill_u32_async");
  if (n == 0) return;
  detail::check(detail::driver().cuMemsetD32Async(ptr_, pattern, n, stream.native()), "cuMemsetD32Async",
                fmt::format("{} words", n));
}

void DeviceBuffer::release() noexcept {
  if (ptr_ == 0) return;
  detail::log_failure(detail::driver().cuMemFree(ptr_), "cuMemFree");
  ptr_ = 0;
  bytes_ = 0;
}

}  // namespace flashtune::gpu
