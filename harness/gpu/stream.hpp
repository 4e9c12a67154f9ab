#pragma once
// A CUDA stream (RAII): an ordered queue of GPU work. Streams made here are non-blocking: they do not wait
// for work on the legacy default stream (stream 0), and it does not wait for them.
struct CUstream_st;

namespace flashtune::gpu {

class Stream {
 public:
  Stream();  // cuStreamCreate(CU_STREAM_NON_BLOCKING) in the current context
  ~Stream();

  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Waits for everything queued so far; reports an asynchronous kernel fault as DriverError.
  void synchronize() const;
  CUstream_st* native() const noexcept { return stream_; }

 private:
  void destroy() noexcept;

  CUstream_st* stream_ = nullptr;
};

}  // namespace flashtune::gpu
