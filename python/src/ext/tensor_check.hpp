#pragma once
// What flashtune.attention checks about its tensors before it touches a GPU: one description of a tensor,
// filled from DLPack (any framework) or from a torch.Tensor's attributes, and the checks that turn q, k and v
// into an AttentionProblem or raise an ArgumentError naming the argument.
//
//   TensorDesc q = ...;                                   // from DLPack or torch
//   AttentionProblem p = check_metadata(q, k, v, opts);   // rank, dtype, shape, head_dim, strides, scale
//   int device = check_devices(q, k, v);                  // CUDA, all on one device
//
// Variable lengths (FlashAttention's flash_attn_varlen_func): q [total_q, heads, head_dim], k and v [total_k,
// kv_heads, head_dim], and a VarlenDesc with the cu_seqlens tensors; the problem is then of layout thd.
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

// The packed sequences of a varlen call: cu_seqlens_q / cu_seqlens_k, batch + 1 int32 prefix sums each, and
// the longest lengths as given (>= 0), or kUnknown where the caller did not say (the metadata checks still
// run; a launch needs them: the torch side reads them from cu_seqlens first).
struct VarlenDesc {
  static constexpr std::int64_t kUnknown = -1;
  TensorDesc cu_seqlens_q;
  TensorDesc cu_seqlens_k;
  std::int64_t max_seqlen_q = kUnknown;
  std::int64_t max_seqlen_k = kUnknown;
};

// A block-sparse layout (flashtune.BlockSparse): core/block_layout.hpp's lists of the kept key blocks, int32
// tensors on q's device, counts [rows] and cols [rows, cols_per_row] (row r's kept columns first, ascending),
// the block in positions (queries and keys), and the fraction of blocks kept (chooses the configuration).
struct SparseDesc {
  TensorDesc counts;
  TensorDesc cols;
  std::int64_t block = 0;
  double density = 0;
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
//
// With `varlen`: q, k and v 3-dimensional ([total, heads, head_dim], extents in range: at least one row),
// then the cu_seqlens (1-dimensional, int32, one length, at least 2 entries, unit stride, 16-byte aligned
// data) and the max_seqlens (>= 0; each used as min(max(given, 1), total rows), kUnknown as the total rows),
// before the template; the problem's layout is thd, its batch the sequences, seqlen and seqlen_k the max
// lengths.
//
// With `sparse` (ArgumentError naming "block_sparse"), after the tensors: not with varlen; the block a
// multiple of 16 in 16..4096; counts 1-dimensional of ceil(seqlen / block) entries and cols 2-dimensional
// [ceil(seqlen / block), >= ceil(seqlen_k / block)], both int32, contiguous and 4-byte aligned; the density
// finite in [0, 1]. The problem gets sparse_block and sparse_density (0, a layout that keeps nothing, taken
// as one block's share: the runtime's density is a configuration hint in (0, 1]).
AttentionProblem check_metadata(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v,
                                const CallOptions& options, const VarlenDesc* varlen = nullptr,
                                const SparseDesc* sparse = nullptr);

// The backward of a fixed-length call (flashtune.attention's autograd): check_metadata of q, k and v, then
// the forward's outputs and dO: o and d_o 4-dimensional of q's shape and dtype, o strided as check_metadata
// accepts (d_o may be laid out otherwise: the caller passes a copy laid out as o); lse float32 [batch, heads,
// seqlen], contiguous; then what the backward templates (runtime::default_backward_preference) compute:
// ArgumentError naming "softcap" for a cap, "q" for a head_dim they lack, saying which template lacks what.
// The problem has pass bwd. Needs no GPU.
AttentionProblem check_backward_metadata(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v,
                                         const TensorDesc& o, const TensorDesc& lse, const TensorDesc& d_o,
                                         const CallOptions& options);

// q, k and v (and the cu_seqlens, the block-sparse lists) on one CUDA device: its ordinal.
// ArgumentError(device) otherwise.
int check_devices(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v,
                  const VarlenDesc* varlen = nullptr, const SparseDesc* sparse = nullptr);

// `tensors` (named by `names`) on q's device, which check_devices accepted: ArgumentError(device) otherwise.
void check_same_device(const TensorDesc& q, const std::vector<const TensorDesc*>& tensors,
                       const std::vector<const char*>& names);

// "[2, 3, 64]"
std::string shape_text(const std::vector<std::int64_t>& v);

}  // namespace flashtune::python
