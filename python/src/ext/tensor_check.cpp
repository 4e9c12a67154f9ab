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
void check_strides(const TensorDesc& t, const char* name) {
  const std::vector<std::int64_t>& s = t.shape;
  if (contiguous(s, t.strides)) return;
  if (t.strides[3] != 1 && s[3] > 1)
    throw ArgumentError(Type::value, name,
                        fmt::format("the last dimension (head_dim) must have stride 1, got {} (strides {}); "
                                    "{}.contiguous() makes a copy that has",
                                    t.strides[3], shape_text(t.strides), name));
  for (int i = 0; i < 3; ++i)
    if (s[i] > 1 && (t.strides[i] <= 0 || t.strides[i] % 8 != 0))
      throw ArgumentError(Type::value, name,
                          fmt::format("strides {}: the batch, head and sequence strides must be positive "
                                      "multiples of 8 elements (16 bytes) for the kernels to read the tensor "
                                      "in place; {}.contiguous() makes a copy that is",
                                      shape_text(t.strides), name));
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

AttentionProblem check_metadata(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v,
                                const CallOptions& options) {
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
  check_template(options.template_id);
  AttentionProblem p;
  p.batch = static_cast<int>(q.shape[0]);
  p.heads = static_cast<int>(q.shape[1]);
  p.seqlen = static_cast<int>(q.shape[2]);
  p.head_dim = static_cast<int>(q.shape[3]);
  p.dtype = *dtype;
  p.causal = options.causal;
  p.kv_heads = k.shape[1] == q.shape[1] ? 0 : static_cast<int>(k.shape[1]);
  p.seqlen_k = k.shape[2] == q.shape[2] ? 0 : static_cast<int>(k.shape[2]);
  check_head_dim(p, options.template_id);
  for (int i = 0; i < 3; ++i) check_strides(*all[i], names[i]);
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
  p.layout =
      contiguous(q.shape, q.strides) && contiguous(k.shape, k.strides) && contiguous(v.shape, v.strides)
          ? Layout::bhsd
          : Layout::bshd;
  return p;
}

int check_devices(const TensorDesc& q, const TensorDesc& k, const TensorDesc& v) {
  const TensorDesc* all[] = {&q, &k, &v};
  const char* names[] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i)
    if (all[i]->device != "cuda")
      throw ArgumentError(Type::device, names[i],
                          fmt::format("is on {}: flashtune.attention needs CUDA device memory (for torch: "
                                      "{}.cuda())",
                                      all[i]->device, names[i]));
  for (int i = 1; i < 3; ++i)
    if (all[i]->device_id != q.device_id)
      throw ArgumentError(Type::device, names[i],
                          fmt::format("is on cuda:{} but q is on cuda:{}: q, k and v must be on one device",
                                      all[i]->device_id, q.device_id));
  if (q.device_id < 0)
    throw ArgumentError(Type::device, "q", fmt::format("device cuda:{} is not a device", q.device_id));
  return q.device_id;
}

}  // namespace flashtune::python
