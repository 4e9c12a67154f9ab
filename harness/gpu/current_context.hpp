#pragma once
// The CUDA context current on the calling thread, as a library that runs on its caller's context sees it
// (flashtune::runtime: PyTorch's primary context, say), and the device it belongs to.
struct CUctx_st;

namespace flashtune::gpu {

struct CurrentContext {
  CUctx_st* context = nullptr;
  unsigned long long id = 0;  // context_id(context)
  int ordinal = 0;            // its device
};

// An identity of `context` that no later context shares (cuCtxGetId, CUDA 12.0+; 0 where the driver lacks
// it): a primary context released and retained again may come back at the same address.
unsigned long long context_id(CUctx_st* context);

// Throws Error(no_gpu) without a driver, Error(invalid_argument) "no CUDA context is current on this thread"
// when there is none (cuCtxGetCurrent), DriverError naming cuCtxGetDevice when it cannot be asked.
CurrentContext current_context();

// Makes `context` current on this thread while it lives, then restores the one before. Never throws: ok()
// is false when the driver refused (no driver, a context destroyed meanwhile) or when the context there is
// not the one `id` names.
class ContextScope {
 public:
  ContextScope(CUctx_st* context, unsigned long long id) noexcept;
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;
  bool ok() const { return ok_; }

 private:
  CUctx_st* previous_ = nullptr;
  bool restore_ = false;
  bool ok_ = false;
};

}  // namespace flashtune::gpu
