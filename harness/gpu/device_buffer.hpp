#pragma once
// Device memory (RAII, move-only): one cuMemAlloc, freed with the object.
//
// The synchronous calls (upload, download, fill_*, zero) are device-wide barriers: they wait for all work
// queued in the context on any stream, do their copy or fill, and return when it is complete, so a kernel
// launched afterwards on any stream sees the result and a download sees what every earlier kernel wrote. The
// *_async fills are ordered on one stream only.
#include <cstddef>
#include <cstdint>

namespace flashtune::gpu {

class Stream;

class DeviceBuffer {
 public:
  DeviceBuffer() = default;                  // empty: ptr() == 0, size() == 0
  explicit DeviceBuffer(std::size_t bytes);  // cuMemAlloc in the current context (nothing for 0 bytes)
  ~DeviceBuffer();

  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  std::uint64_t ptr() const noexcept { return ptr_; }  // the CUdeviceptr, e.g. for a kernel argument
  std::size_t size() const noexcept { return bytes_; }

  // Copies `bytes` from host memory to the start of the buffer. Throws Error(invalid_argument) past size().
  void upload(const void* host, std::size_t bytes);
  // Copies the first `bytes` of the buffer to host memory. Throws Error(invalid_argument) past size().
  void download(void* host, std::size_t bytes) const;
  // Copies `bytes` starting `offset` bytes into the buffer. Throws Error(invalid_argument) past size().
  void download(void* host, std::size_t bytes, std::size_t offset) const;

  // Sets every 16-bit (32-bit) word to `pattern`: fill_u16(0x7fff) poisons a bf16 output with NaN, 0x7e00 an
  // fp16 one, fill_u32(0x7fffffff) an fp32 one, so that an element a kernel forgets to write is caught.
  // Throws Error(invalid_argument) when size() is not a multiple of the word.
  void fill_u16(std::uint16_t pattern);
  void fill_u32(std::uint32_t pattern);
  void zero() { fill_u32(0); }  // size() must be a multiple of 4
  void fill_u16_async(std::uint16_t pattern, Stream& stream);
  void fill_u32_async(std::uint32_t pattern, Stream& stream);

 private:
  void release() noexcept;
  std::size_t words(std::size_t word_bytes, const char* call) const;

  std::uint64_t ptr_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace flashtune::gpu
