#include "tensor_check.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "kernels/kernel_template.hpp"
#include "runtime/selection.hpp"

namespace flashtune::python {
namespace {

using Type = ArgumentError::Type;

constexpr std::int64_t kMaxRows = (std::int64_t{1} << 31) - 1;  // batch * heads * seqlen, as an int

std::optional<DType> dtype_of(const std::string& name) {
  if (name == "bfloat16") return DType::bf16;
  if (name == "float16") return DType::f16;
  return std::nullopt;
}

void check_rank(const TensorDesc& t, const char* name) {
  if (t.shape.size() != 4)
    throw ArgumentError(
        Type::value, name,
        fmt::format("expected a 4-dimensional tensor [batch, heads, seqlen, head_dim], got {} "
                    "dimension{} (shape {})",
                    t.shape.size(), t.shape.size() == 1 ? "" : "s", shape_text(t.shape)));
  if (t.strides.size() != t.shape.size())
    throw ArgumentError(Type::value, name,
                        fmt::format("{} strides for {} dimensions", t.strides.size(), t.shape.size()));
}

void check_extents(const TensorDesc& t, const char* name) {
  for (const std::int64_t e : t.shape)
    if (e < 1 || e > std::numeric_limits<int>::max())
      throw ArgumentError(Type::value, name,
                          fmt::format("shape {}: every extent must be in 1..2^31-1 [batch, heads, seqlen, "
                                      "head_dim]",
                                      shape_text(t.shape)));
  if (t.shape[0] * t.shape[1] > kMaxRows / t.shape[2])
    throw ArgumentError(
        Type::value, name,
        fmt::format("shape {}: batch * heads * seqlen must be below 2^31", shape_text(t.shape)));
}

std::vector<std::int64_t> dense_strides(const std::vector<std::int64_t>& s) {
  return {s[1] * s[2] * s[3], s[2] * s[3], s[3], 1};
}

// Contiguous [B, H, N, d] (an extent of 1 may have any stride: torch reports such tensors contiguous).
bool contiguous(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides) {
  const std::vector<std::int64_t> dense = dense_strides(shape);
  for (int i = 0; i < 4; ++i)
    if (strides[i] != dense[i] && shape[i] > 1) return false;
  return true;
}

// Contiguous, or strided views the kernels read in place: unit stride on head_dim, the batch, head and
// sequence strides positive multiples of 8 elements (16 bytes); an extent of 1 may have any stride.
// Unit stride on the last dimension (head_dim); the others (`which`, of extent > 1) positive multiples of 8
// elements, so that the kernels read the tensor in place.
void check_strided_view(const TensorDesc& t, const char* name, const char* which) {
  const std::vector<std::int64_t>& s = t.shape;
  const std::size_t last = s.size() - 1;
  if (t.strides[last] != 1 && s[last] > 1)
    throw ArgumentError(Type::value, name,
                        fmt::format("the last dimension (head_dim) must have stride 1, got {} (strides {}); "
                                    "{}.contiguous() makes a copy that has",
                                    t.strides[last], shape_text(t.strides), name));
  for (std::size_t i = 0; i < last; ++i)
    if (s[i] > 1 && (t.strides[i] <= 0 || t.strides[i] % 8 != 0))
      throw ArgumentError(
          Type::value, name,
          fmt::format("strides {}: the {} strides must be positive multiples of 8 elements (16 "
                      "bytes) for the kernels to read the tensor in place; {}.contiguous() makes "
                      "a copy that is",
                      shape_text(t.strides), which, name));
}

void check_strides(const TensorDesc& t, const char* name) {
  if (contiguous(t.shape, t.strides)) return;
  check_strided_view(t, name, "batch, head and sequence");
}

// head_dim: one that a candidate template's default configuration supports (hopper_fwd: 64, 96, 128, 256;
// fa2_fwd: 64, 96, 128).
void check_head_dim(const AttentionProblem& p, const std::string& template_id) {
  const std::vector<std::string> ids =
      template_id.empty() ? runtime_templates() : std::vector<std::string>{template_id};
  std::vector<std::string> reasons;
  for (const std::string& id : ids) {
    const KernelTemplate& t = find_template(id);
    const ProblemVariant variant = variant_of(p);
    std::optional<std::string> why;
    try {
      why = t.invalid_reason(t.default_config(variant), variant);
    } catch (const std::exception& e) {  // Error, or anything a template throws
      why = e.what();
    }
    if (!why) return;
    reasons.push_back(fmt::format("{}: {}", id, *why));
  }
  throw ArgumentError(Type::value, "q",
                      fmt::format("head_dim {} is not supported ({})", p.head_dim, fmt::join(reasons, "; ")));
}

}  // namespace

std::string shape_text(const std::vector<std::int64_t>& v) {
  return fmt::format("[{}]", fmt::join(v, ", "));
}

std::vector<std::string> runtime_templates() {
  return runtime::default_preference("sm_90a");
}

void check_template(const std::string& template_id) {
  if (template_id.empty()) return;
  const std::vector<std::string> ids = runtime_templates();
  if (std::find(ids.begin(), ids.end(), template_id) == ids.end())
    throw ArgumentError(Type::value, "template",
                        fmt::format("'{}' is not a template the runtime runs ({}; None lets it choose)",
                                    template_id, fmt::join(ids, ", ")));
}

namespace {

// The fixed-length part of check_metadata: rank, dtype, shapes, extents and heads; `p` gets all but the
// options and the layout.
void check_fixed(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v, AttentionProblem& p) {
  const TensorDesc* all[] = {&q, &k, &v};
  const char* names[] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) check_rank(*all[i], names[i]);
  const std::optional<DType> dtype = dtype_of(q.dtype);
  if (!dtype)
    throw ArgumentError(Type::type, "q",
                        fmt::format("dtype {} is not supported (bfloat16 or float16)", q.dtype));
  for (int i = 1; i < 3; ++i)
    if (all[i]->dtype != q.dtype)
      throw ArgumentError(Type::type, names[i],
                          fmt::format("dtype {} differs from q's {} (q, k and v must have one dtype)",
                                      all[i]->dtype, q.dtype));
  if (v.shape != k.shape)
    throw ArgumentError(Type::value, "v",
                        fmt::format("shape {} differs from k's {} (k and v must have one shape)",
                                    shape_text(v.shape), shape_text(k.shape)));
  if (k.shape[0] != q.shape[0] || k.shape[3] != q.shape[3])
    throw ArgumentError(
        Type::value, "k",
        fmt::format("shape {}: k and v are [batch, kv_heads, seqlen_k, head_dim] with q's batch "
                    "and head_dim (q is {})",
                    shape_text(k.shape), shape_text(q.shape)));
  for (int i = 0; i < 3; ++i) check_extents(*all[i], names[i]);
  if (q.shape[1] % k.shape[1] != 0)
    throw ArgumentError(Type::value, "k",
                        fmt::format("{} key/value heads do not divide q's {} heads (grouped-query attention)",
                                    k.shape[1], q.shape[1]));
  p.batch = static_cast<int>(q.shape[0]);
  p.heads = static_cast<int>(q.shape[1]);
  p.seqlen = static_cast<int>(q.shape[2]);
  p.head_dim = static_cast<int>(q.shape[3]);
  p.dtype = *dtype;
  p.kv_heads = k.shape[1] == q.shape[1] ? 0 : static_cast<int>(k.shape[1]);
  p.seqlen_k = k.shape[2] == q.shape[2] ? 0 : static_cast<int>(k.shape[2]);
}

// q, k and v of a varlen call: [total, heads, head_dim] each, k and v alike with q's head_dim, kv_heads
// dividing heads; the problem's heads, head_dim, dtype and kv_heads (the lengths come from the cu_seqlens).
void check_varlen_tensors(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v) {
  const TensorDesc* all[] = {&q, &k, &v};
  const char* names[] = {"q", "k", "v"};
  const char* rows[] = {"total_q", "total_k", "total_k"};
  for (int i = 0; i < 3; ++i) {
    const TensorDesc& t = *all[i];
    if (t.shape.size() != 3)
      throw ArgumentError(Type::value, names[i],
                          fmt::format("expected a 3-dimensional tensor [{}, {}, head_dim] with cu_seqlens "
                                      "(variable lengths, packed), got {} dimension{} (shape {})",
                                      rows[i], i == 0 ? "heads" : "kv_heads", t.shape.size(),
                                      t.shape.size() == 1 ? "" : "s", shape_text(t.shape)));
    if (t.strides.size() != t.shape.size())
      throw ArgumentError(Type::value, names[i],
                          fmt::format("{} strides for {} dimensions", t.strides.size(), t.shape.size()));
  }
}

void check_varlen_extents(const TensorDesc& t, const char* name, const char* rows) {
  for (const std::int64_t e : t.shape)
    if (e < 1 || e > std::numeric_limits<int>::max())
      throw ArgumentError(Type::value, name,
                          fmt::format("shape {}: every extent must be in 1..2^31-1 [{}, heads, head_dim] (at "
                                      "least one row in all: sequences of length 0 are fine)",
                                      shape_text(t.shape), rows));
  if (t.shape[0] > kMaxRows / t.shape[1])
    throw ArgumentError(Type::value, name,
                        fmt::format("shape {}: {} * heads must be below 2^31", shape_text(t.shape), rows));
}

// [total, heads, head_dim] read in place: unit stride on head_dim, the row and head strides positive
// multiples of 8 elements (an extent of 1 may have any stride). The runtime takes it as the [1, heads, total,
// head_dim] view, which is never contiguous in its sense, so dense tensors must meet this too (head_dim 64,
// 128, 256 do).
void check_varlen_strides(const TensorDesc& t, const char* name) {
  check_strided_view(t, name, "row and head");
}

void check_cu_seqlens(const TensorDesc& t, const char* name) {
  if (t.shape.size() != 1)
    throw ArgumentError(Type::value, name,
                        fmt::format("expected a 1-dimensional tensor of batch + 1 prefix sums, got {} "
                                    "dimension{} (shape {})",
                                    t.shape.size(), t.shape.size() == 1 ? "" : "s", shape_text(t.shape)));
  if (t.strides.size() != 1)
    throw ArgumentError(Type::value, name, fmt::format("{} strides for 1 dimension", t.strides.size()));
  if (t.dtype != "int32")
    throw ArgumentError(Type::type, name,
                        fmt::format("dtype {} is not supported (int32 prefix sums, as FlashAttention's "
                                    "cu_seqlens: torch.int32)",
                                    t.dtype));
  if (t.shape[0] < 2 || t.shape[0] - 1 > std::numeric_limits<int>::max())
    throw ArgumentError(Type::value, name,
                        fmt::format("{} entries: expected batch + 1 prefix sums from 0, batch >= 1 "
                                    "(e.g. [0, 5, 12] for lengths 5 and 7)",
                                    t.shape[0]));
  if (t.strides[0] != 1)
    throw ArgumentError(Type::value, name,
                        fmt::format("stride {}: the prefix sums must be contiguous; {}.contiguous() makes a "
                                    "copy that is",
                                    t.strides[0], name));
  if (t.data % 16 != 0)
    throw ArgumentError(Type::value, name,
                        fmt::format("data at {:#x} is not 16-byte aligned (a slice of a larger tensor?); "
                                    "{}.clone() makes a copy that is",
                                    t.data, name));
}

// The max_seqlen the runtime takes for `given`: at least 1 (a batch of empty sequences still sizes a grid)
// and at most the rows there are (no sequence is longer); kUnknown: the rows (for the metadata checks only).
int max_seqlen_of(std::int64_t given, std::int64_t rows, const char* name) {
  if (given == VarlenDesc::kUnknown) return static_cast<int>(rows);
  if (given < 0 || given > std::numeric_limits<int>::max())
    throw ArgumentError(Type::value, name,
                        fmt::format("{} is not a length in 0..2^31-1 (the longest sequence's; None: read "
                                    "from the cu_seqlens)",
                                    given));
  return static_cast<int>(std::clamp<std::int64_t>(given, 1, rows));
}

// The varlen part of check_metadata: the tensors, the cu_seqlens and the lengths; `p` gets all but the
// options.
void check_varlen(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v, const VarlenDesc& varlen,
                  AttentionProblem& p) {
  check_varlen_tensors(q, k, v);
  const std::optional<DType> dtype = dtype_of(q.dtype);
  if (!dtype)
    throw ArgumentError(Type::type, "q",
                        fmt::format("dtype {} is not supported (bfloat16 or float16)", q.dtype));
  const TensorDesc* all[] = {&q, &k, &v};
  const char* names[] = {"q", "k", "v"};
  for (int i = 1; i < 3; ++i)
    if (all[i]->dtype != q.dtype)
      throw ArgumentError(Type::type, names[i],
                          fmt::format("dtype {} differs from q's {} (q, k and v must have one dtype)",
                                      all[i]->dtype, q.dtype));
  if (v.shape != k.shape)
    throw ArgumentError(Type::value, "v",
                        fmt::format("shape {} differs from k's {} (k and v must have one shape)",
                                    shape_text(v.shape), shape_text(k.shape)));
  if (k.shape[2] != q.shape[2])
    throw ArgumentError(Type::value, "k",
                        fmt::format("shape {}: k and v are [total_k, kv_heads, head_dim] with q's head_dim "
                                    "(q is {})",
                                    shape_text(k.shape), shape_text(q.shape)));
  check_varlen_extents(q, "q", "total_q");
  check_varlen_extents(k, "k", "total_k");
  check_varlen_extents(v, "v", "total_k");
  if (q.shape[1] % k.shape[1] != 0)
    throw ArgumentError(Type::value, "k",
                        fmt::format("{} key/value heads do not divide q's {} heads (grouped-query attention)",
                                    k.shape[1], q.shape[1]));
  check_cu_seqlens(varlen.cu_seqlens_q, "cu_seqlens_q");
  check_cu_seqlens(varlen.cu_seqlens_k, "cu_seqlens_k");
  const std::int64_t entries = varlen.cu_seqlens_q.shape[0];
  if (varlen.cu_seqlens_k.shape[0] != entries)
    throw ArgumentError(
        Type::value, "cu_seqlens_k",
        fmt::format("{} entries but cu_seqlens_q has {}: both hold batch + 1 prefix sums, one "
                    "sequence of queries and one of keys per batch entry",
                    varlen.cu_seqlens_k.shape[0], entries));
  const std::int64_t batch = entries - 1;
  p.batch = static_cast<int>(batch);
  p.heads = static_cast<int>(q.shape[1]);
  p.head_dim = static_cast<int>(q.shape[2]);
  p.dtype = *dtype;
  p.kv_heads = k.shape[1] == q.shape[1] ? 0 : static_cast<int>(k.shape[1]);
  p.seqlen = max_seqlen_of(varlen.max_seqlen_q, q.shape[0], "max_seqlen_q");
  const int max_k = max_seqlen_of(varlen.max_seqlen_k, k.shape[0], "max_seqlen_k");
  p.seqlen_k = max_k == p.seqlen ? 0 : max_k;
  if (batch * q.shape[1] > kMaxRows / p.seqlen)
    throw ArgumentError(Type::value, "max_seqlen_q",
                        fmt::format("{}: batch ({}) * heads ({}) * max_seqlen_q must be below 2^31", p.seqlen,
                                    batch, q.shape[1]));
  p.layout = Layout::thd;
}

// One of a block-sparse layout's int32 lists: `rank` dimensions, contiguous, 4-byte aligned.
void check_sparse_list(const TensorDesc& t, const char* name, std::size_t rank, const char* shape) {
  if (t.shape.size() != rank || t.strides.size() != rank)
    throw ArgumentError(
        Type::value, "block_sparse",
        fmt::format("{} must be {}-dimensional {}, got shape {} (flashtune.block_sparse(layout, "
                    "block_size) makes the lists)",
                    name, rank, shape, shape_text(t.shape)));
  if (t.dtype != "int32")
    throw ArgumentError(Type::type, "block_sparse",
                        fmt::format("{} has dtype {}: the lists are int32 (torch.int32)", name, t.dtype));
  std::int64_t expected = 1;
  for (std::size_t i = rank; i-- > 0;) {
    if (t.shape[i] > 1 && t.strides[i] != expected)
      throw ArgumentError(
          Type::value, "block_sparse",
          fmt::format("{} has strides {} for shape {}: it must be contiguous ({}.contiguous() "
                      "makes a copy that is)",
                      name, shape_text(t.strides), shape_text(t.shape), name));
    expected *= t.shape[i];
  }
  if (t.data % alignof(std::int32_t) != 0)
    throw ArgumentError(Type::value, "block_sparse",
                        fmt::format("{} data at {:#x} is not 4-byte aligned", name, t.data));
}

// The block-sparse part of check_metadata, once `p` has its lengths.
void check_sparse(const SparseDesc& s, const VarlenDesc* varlen, AttentionProblem& p) {
  if (varlen != nullptr)
    throw ArgumentError(Type::value, "block_sparse",
                        "a block-sparse layout and variable lengths (cu_seqlens) do not combine");
  if (s.block < 16 || s.block > 4096 || s.block % 16 != 0)
    throw ArgumentError(Type::value, "block_sparse",
                        fmt::format("block {} must be a multiple of 16 in 16..4096", s.block));
  const std::int64_t rows = (p.seqlen + s.block - 1) / s.block;
  const std::int64_t cols = (p.keys() + s.block - 1) / s.block;
  check_sparse_list(s.counts, "counts", 1, "[rows]");
  check_sparse_list(s.cols, "cols", 2, "[rows, cols]");
  if (s.counts.shape[0] != rows || s.cols.shape[0] != rows)
    throw ArgumentError(
        Type::value, "block_sparse",
        fmt::format("counts {} and cols {} must have ceil(seqlen / block) = ceil({} / {}) = {} "
                    "rows (query blocks)",
                    shape_text(s.counts.shape), shape_text(s.cols.shape), p.seqlen, s.block, rows));
  if (s.cols.shape[1] < cols)
    throw ArgumentError(Type::value, "block_sparse",
                        fmt::format("cols {} must have at least ceil(seqlen_k / block) = ceil({} / {}) = {} "
                                    "columns (key blocks)",
                                    shape_text(s.cols.shape), p.keys(), s.block, cols));
  if (s.cols.shape[1] > std::numeric_limits<int>::max())
    throw ArgumentError(Type::value, "block_sparse",
                        fmt::format("cols {} has too many columns", shape_text(s.cols.shape)));
  if (!std::isfinite(s.density) || s.density < 0 || s.density > 1)
    throw ArgumentError(Type::value, "block_sparse",
                        fmt::format("density {} must be in [0, 1] (the fraction of blocks kept)", s.density));
  p.sparse_block = static_cast<int>(s.block);
  const double one_block = 1.0 / static_cast<double>(rows * s.cols.shape[1]);
  p.sparse_density = static_cast<float>(std::clamp(s.density > 0 ? s.density : one_block, 1e-9, 1.0));
}

}  // namespace

AttentionProblem check_metadata(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v,
                                const CallOptions& options, const VarlenDesc* varlen,
                                const SparseDesc* sparse) {
  AttentionProblem p;
  if (varlen != nullptr) {
    check_varlen(q, k, v, *varlen, p);
  } else {
    check_fixed(q, k, v, p);
  }
  if (sparse != nullptr) check_sparse(*sparse, varlen, p);
  p.causal = options.causal;
  check_template(options.template_id);
  check_head_dim(p, options.template_id);
  const TensorDesc* all[] = {&q, &k, &v};
  const char* names[] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    if (varlen != nullptr) {
      check_varlen_strides(*all[i], names[i]);
    } else {
      check_strides(*all[i], names[i]);
    }
  }
  if (options.scale) {
    const double s = *options.scale;
    if (!std::isfinite(s) || s <= 0 || s > std::numeric_limits<float>::max())
      throw ArgumentError(Type::value, "scale",
                          fmt::format("{} is not a positive finite number (None: 1/sqrt(head_dim))", s));
    p.softmax_scale = static_cast<float>(s);
  }
  if (options.window_left < -1 || options.window_right < -1)
    throw ArgumentError(Type::value, "window",
                        fmt::format("({}, {}): each side is a number of keys >= 0, or None (unbounded)",
                                    options.window_left, options.window_right));
  p.window_left = options.window_left;
  p.window_right = options.window_right;
  if (!std::isfinite(options.softcap) || options.softcap < 0 ||
      options.softcap > std::numeric_limits<float>::max())
    throw ArgumentError(Type::value, "softcap",
                        fmt::format("{} is not a positive finite number (None: no cap)", options.softcap));
  p.softcap = static_cast<float>(options.softcap);
  if (varlen == nullptr)
    p.layout =
        contiguous(q.shape, q.strides) && contiguous(k.shape, k.strides) && contiguous(v.shape, v.strides)
            ? Layout::bhsd
            : Layout::bshd;
  return p;
}

namespace {

// Why each backward template (runtime::default_backward_preference) cannot compute `p`: empty when one can.
std::vector<std::string> backward_reasons(const AttentionProblem& p) {
  std::vector<std::string> reasons;
  for (const std::string& id : runtime::default_backward_preference("sm_90a")) {
    const KernelTemplate& t = find_template(id);
    const ParamValues config = t.default_config(variant_of(p));
    std::optional<std::string> why = unsupported_reason(t, config, p);
    if (!why) why = t.invalid_reason(config, variant_of(p));
    if (!why) return {};
    reasons.push_back(*why);
  }
  return reasons;
}

}  // namespace

AttentionProblem check_backward_metadata(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v,
                                         const TensorDesc& o, const TensorDesc& lse, const TensorDesc& d_o,
                                         const CallOptions& options) {
  AttentionProblem p = check_metadata(q, k, v, options);
  for (const auto& [t, name] : {std::pair{&o, "o"}, std::pair{&d_o, "d_o"}}) {
    if (t->shape != q.shape || t->strides.size() != t->shape.size())
      throw ArgumentError(Type::value, name,
                          fmt::format("shape {} differs from q's {} (O and its gradient are shaped as q)",
                                      shape_text(t->shape), shape_text(q.shape)));
    if (t->dtype != q.dtype)
      throw ArgumentError(Type::type, name, fmt::format("dtype {} differs from q's {}", t->dtype, q.dtype));
  }
  check_strides(o, "o");
  const std::vector<std::int64_t> lse_shape(q.shape.begin(), q.shape.end() - 1);
  if (lse.shape != lse_shape || lse.strides.size() != lse.shape.size())
    throw ArgumentError(Type::value, "lse",
                        fmt::format("shape {}: the forward's LSE is [batch, heads, seqlen] = {}",
                                    shape_text(lse.shape), shape_text(lse_shape)));
  if (lse.dtype != "float32")
    throw ArgumentError(Type::type, "lse", fmt::format("dtype {}: the forward's LSE is float32", lse.dtype));
  for (std::size_t i = 0, expected = 1; i < 3; ++i) {
    const std::size_t d = 2 - i;
    if (lse.shape[d] > 1 && lse.strides[d] != static_cast<std::int64_t>(expected))
      throw ArgumentError(Type::value, "lse",
                          fmt::format("strides {}: the LSE must be contiguous", shape_text(lse.strides)));
    expected *= static_cast<std::size_t>(lse.shape[d]);
  }
  p.pass = Pass::bwd;
  const std::vector<std::string> reasons = backward_reasons(p);
  if (reasons.empty()) return p;
  // The cap alone, when the same call without it has a backward; else the head_dim (the other variants of
  // a fixed-length call are computed).
  AttentionProblem uncapped = p;
  uncapped.softcap = 0;
  const bool softcap = p.softcap > 0 && backward_reasons(uncapped).empty();
  throw ArgumentError(
      Type::value, softcap ? "softcap" : "q",
      fmt::format("{} has no backward ({}): autograd cannot differentiate this call",
                  softcap ? fmt::format("a cap of {}", p.softcap) : fmt::format("head_dim {}", p.head_dim),
                  fmt::join(reasons, "; ")));
}

void check_same_device(const TensorDesc& q, const std::vector<const TensorDesc*>& tensors,
                       const std::vector<const char*>& names) {
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i]->device != "cuda" || tensors[i]->device_id != q.device_id)
      throw ArgumentError(
          Type::device, names[i],
          fmt::format("is on {}{} but q is on cuda:{}", tensors[i]->device,
                      tensors[i]->device == "cuda" ? fmt::format(":{}", tensors[i]->device_id) : "",
                      q.device_id));
}

int check_devices(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v, const VarlenDesc* varlen,
                  const SparseDesc* sparse) {
  std::vector<const TensorDesc*> all = {&q, &k, &v};
  std::vector<const char*> names = {"q", "k", "v"};
  if (varlen != nullptr) {
    all.insert(all.end(), {&varlen->cu_seqlens_q, &varlen->cu_seqlens_k});
    names.insert(names.end(), {"cu_seqlens_q", "cu_seqlens_k"});
  }
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i]->device != "cuda")
      throw ArgumentError(Type::device, names[i],
                          fmt::format("is on {}: flashtune.attention needs CUDA device memory (for torch: "
                                      "{}.cuda())",
                                      all[i]->device, names[i]));
  for (std::size_t i = 1; i < all.size(); ++i)
    if (all[i]->device_id != q.device_id)
      throw ArgumentError(
          Type::device, names[i],
          fmt::format("is on cuda:{} but q is on cuda:{}: q, k and v{} must be on one device",
                      all[i]->device_id, q.device_id, varlen != nullptr ? " and the cu_seqlens" : ""));
  if (q.device_id < 0)
    throw ArgumentError(Type::device, "q", fmt::format("device cuda:{} is not a device", q.device_id));
  if (sparse != nullptr)
    for (const auto& [t, name] : {std::pair{&sparse->counts, "counts"}, std::pair{&sparse->cols, "cols"}})
      if (t->device != "cuda" || t->device_id != q.device_id)
        throw ArgumentError(
            Type::device, "block_sparse",
            fmt::format("{} is on {}{} but q is on cuda:{}: the lists must be on q's device (for torch: "
                        "flashtune.block_sparse(layout.cuda(), block_size))",
                        name, t->device, t->device == "cuda" ? fmt::format(":{}", t->device_id) : "",
                        q.device_id));
  return q.device_id;
}

}  // namespace flashtune::python
