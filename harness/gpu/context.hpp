#pragma once
// The CUDA context of one device, for the lifetime of this object: the device's primary context (the one the
// CUDA runtime, cuBLAS and PyTorch share), retained and made current on the constructing thread.
//
// Every other object in harness/gpu (buffers, modules, streams, events) lives in the context current when it
// was made: destroy them before the Context, or the driver frees them with the context and their destructors
// log.
struct CUctx_st;

namespace flashtune::gpu {

class Context {
 public:
  // Retains the primary context of device `ordinal` and makes it current on this thread.
  // Throws Error(no_gpu) without a driver or device, Error(invalid_argument) for an ordinal out of range.
  explicit Context(int ordinal = 0);
  ~Context();  // releases it (and unsets it on this thread when that destroyed it); logs failures

  Context(Context&& other) noexcept;
  Context& operator=(Context&& other) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int ordinal() const noexcept { return ordinal_; }
  CUctx_st* native() const noexcept { return ctx_; }

  // Makes this context current on the calling thread (a worker thread other than the constructing one).
  void make_current() const;
  // Waits until all work queued in the calling thread's current context is done (a Context makes its context
  // current on construction). Reports an asynchronous kernel fault (illegal address) as DriverError naming
  // cuCtxSynchronize.
  static void synchronize();

 private:
  void release() noexcept;

  int ordinal_ = -1;
  int device_ = 0;  // CUdevice
  CUctx_st* ctx_ = nullptr;
};

}  // namespace flashtune::gpu
