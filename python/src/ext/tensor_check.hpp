#pragma once
// What flashtune.attention checks about its tensors before it touches a GPU: one description of a tensor,
// filled from DLPack (any framework) or from a torch.Tensor's attributes, and the checks that turn q, k and v
// into an AttentionProblem or raise an ArgumentError naming the argument.
//
//   TensorDesc q = ...;                                   // from DLPack or torch
//   AttentionProblem p = check_metadata(q, k, v, opts);   // rank, dtype, shape, head_dim, strides, scale
//   int device = check_devices(q, k, v);                  // CUDA, all on one device
//
// The metadata checks come first so that every one of them can be exercised with CPU arrays (numpy).
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/problem.hpp"

namespace flashtune::python {

struct TensorDesc {
  std::uintptr_t data = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;  // in elements, one per dimension
  std::string dtype;                  // "bfloat16", "float16", "float32", "int8", ...
  std::string device;                 // "cuda", "cpu", "cuda_managed", "meta", ...
  int device_id = 0;
};

// A bad argument of a Python call; the binding raises the Python class of `type` (flashtune._errors) with
// `argument` set. what() starts with the argument's name: "q: ...".
class ArgumentError : public std::runtime_error {
 public:
  enum class Type { value, type, device };  // ValueError, TypeError (dtype, not an array), device
  ArgumentError(Type type, std::string argument, const std::string& message)
      : std::runtime_error(argument + ": " + message), type_(type), argument_(std::move(argument)) {}
  Type type() const noexcept { return type_; }
  const std::string& argument() const noexcept { return argument_; }

 private:
  Type type_;
  std::string argument_;
};

struct CallOptions {
  bool causal = false;
  std::optional<double> scale;  // nullopt: 1/sqrt(head_dim)
  std::string template_id;      // empty: the runtime's choice
  int window_left = -1;         // -1: unbounded
  int window_right = -1;
  double softcap = 0;  // 0: none
};

// The templates the runtime can be asked to run (those of runtime::default_preference on sm_90a).
std::vector<std::string> runtime_templates();

// Checks the template name (ArgumentError naming "template"); empty is accepted.
void check_template(const std::string& template_id);

// Rank, dtype (bf16 or fp16, the same for all three), shapes (k and v alike, [batch, kv_heads, seqlen_k,
// head_dim] with q's batch and head_dim and kv_heads dividing q's heads; extents in range), head_dim (one the
// candidate templates support), strides (a stride of 1 on head_dim, the others positive multiples of 8
// elements, or contiguous), scale, window, softcap and template, in that order. The layout is bhsd when q, k
// and v are contiguous, else bshd (the kernels take the strides). Needs no GPU.
AttentionProblem check_metadata(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v,
                                const CallOptions& options);

// q, k and v on one CUDA device: its ordinal. ArgumentError(device) otherwise.
int check_devices(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v);

// "[2, 3, 64]"
std::string shape_text(const std::vector<std::int64_t>& v);

}  // namespace flashtune::python
