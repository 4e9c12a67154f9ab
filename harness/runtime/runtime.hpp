#pragma once
// The tuned kernel, callable. A Runtime (one per process) picks the configuration for a problem on the GPU
// of the caller's current CUDA context (selection.hpp over the results store: the fastest tuned template,
// else a template's default), compiles it once (through the cubin cache) and loads it once per context, and
// launches it on the caller's stream. After a problem's first call, a call allocates nothing and opens
// nothing: it looks its plan up, encodes the TMA maps on the stack and launches.
//
//   flashtune::runtime::Runtime rt;   // the default results store; RuntimeOptions for another
//   rt.attention({.q = {q, {B, H, N, d}}, .k = {k, {B, H, N, d}}, .v = {v, {B, H, N, d}}, .o = o,
//                 .dtype = DType::bf16, .causal = true},
//                stream);
//   // The gradients of a forward call `fwd` (with fwd.lse set) given dO: attention_call.hpp.
//   rt.attention_backward({.forward = fwd, .d_o = d_o, .d_q = d_q, .d_k = d_k, .d_v = d_v}, stream);
//
// Its destructor frees each context's modules and buffers in that context; those of a context destroyed
// before it are left to the driver, which freed them with the context.
//
// Thread-safe: calls from several threads (and streams) share the plans; a problem's first call holds the
// others back while it compiles. Errors are flashtune::Error: invalid_argument naming the argument
// (attention_call.hpp) or the reason no template fits, no_gpu, compile (with the NVRTC log), driver.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "runtime/attention_call.hpp"

struct CUstream_st;

namespace flashtune::runtime {

struct RuntimeOptions {
  std::filesystem::path db;            // the results store; empty: store::ResultStore::default_path()
  bool use_store = true;               // false: templates' defaults only, no database opened
  std::vector<std::string> templates;  // the candidates, in order; empty: default_preference(arch)
  // The backward's candidates (attention_backward), in order; empty: default_backward_preference(arch).
  std::vector<std::string> backward_templates;
  // A deployable bundle (flashtune export --format bundle): its entries replace the store, nothing is
  // compiled, and a problem it has no entry for is an Error(not_found) listing what it holds. Read when the
  // Runtime is made (Error(not_found) or Error(io) for a bad bundle); each context's GPU must be the
  // bundle's (Error(invalid_argument) saying what differs).
  std::filesystem::path bundle;
};

// What the runtime runs for a problem (runtime/selection.hpp says how it is chosen).
struct Selected {
  std::string template_id;                     // "hopper_fwd"
  std::map<std::string, std::int64_t> params;  // its configuration
  std::string source;                          // "tuned", "tuned (nearest bucket)", "default"
  std::string kernel;                          // the instance's label, as `flashtune show` prints it
  std::string why;                             // one line: why this one and not the others
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // What attention() runs for `problem` on the current context's GPU (attention_backward() for a problem of
  // pass bwd); selects, compiles and loads it when it is new, as the first call would.
  Selected choice(const AttentionProblem& problem);

  // O = softmax(Q K^T * scale) V (and the LSE when call.lse is set), queued on `stream` (null: the legacy
  // default stream) in the current context.
  void attention(const AttentionCall& call, CUstream_st* stream);

  // The gradients dQ, dK, dV of call.forward given dO (attention_call.hpp), queued on `stream` in the current
  // context: a template among backward_templates (the tuned one, else the first one's default), its
  // kernels launched in order with a workspace of this stream's. Error(invalid_argument) when no backward
  // template computes the problem (fa2_bwd: no softcap, no varlen, no block-sparse layout, head_dim 64 and
  // 128 only), naming what it lacks.
  void attention_backward(const AttentionBackwardCall& call, CUstream_st* stream);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flashtune::runtime
