#include "runtime/attention_call.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "core/error.hpp"

namespace flashtune::runtime {
namespace {

constexpr std::int64_t kMaxRows = (std::int64_t{1} << 31) - 1;  // batch * heads * seqlen, as an int

[[noreturn]] void bad(const std::string& what) {
  throw Error(ErrorKind::invalid_argument, "attention: " + what);
}

void check_pointer(const void* p, const char* name) {
  if (p == nullptr) bad(fmt::format("{} is a null pointer", name));
  if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0)
    bad(fmt::format("{} ({}) is not 16-byte aligned", name, p));
}

std::string shape_text(const std::array<std::int64_t, 4>& s) {
  return fmt::format("[{}, {}, {}, {}]", s[0], s[1], s[2], s[3]);
}

void check_tensor(const TensorArg& t, const char* name) {
  check_pointer(t.data, name);
  for (int i = 0; i < 4; ++i)
    if (t.shape[i] < 1 || t.shape[i] > std::numeric_limits<int>::max())
      bad(fmt::format("{} has shape {}: every extent must be in 1..2^31-1 ([batch, heads, seqlen, head_dim])",
                      name, shape_text(t.shape)));
  // Rows first: the dense strides below cannot overflow once batch * heads * seqlen < 2^31.
  if (t.shape[0] * t.shape[1] > kMaxRows / t.shape[2])
    bad(fmt::format("{} has shape {}: batch * heads * seqlen must be below 2^31", name, shape_text(t.shape)));
  if (!t.strides) return;
  const std::array<std::int64_t, 4>& st = *t.strides;
  const std::array<std::int64_t, 4> dense = {t.shape[1] * t.shape[2] * t.shape[3], t.shape[2] * t.shape[3],
                                             t.shape[3], 1};
  if (st[3] != 1 && t.shape[3] > 1)
    bad(fmt::format("{} has stride {} on head_dim: it must be 1", name, st[3]));
  for (int i = 0; i < 3; ++i)
    if (st[i] != dense[i] && t.shape[i] > 1)
      bad(fmt::format(
          "{} has strides {}: only contiguous [batch, heads, seqlen, head_dim] tensors (strides {}) "
          "are supported",
          name, shape_text(st), shape_text(dense)));
}

}  // namespace

AttentionProblem problem_of(const AttentionCall& call) {
  check_tensor(call.q, "q");
  check_tensor(call.k, "k");
  check_tensor(call.v, "v");
  if (call.k.shape != call.q.shape || call.v.shape != call.q.shape)
    bad(fmt::format("q {}, k {} and v {} must have the same shape", shape_text(call.q.shape),
                    shape_text(call.k.shape), shape_text(call.v.shape)));
  check_pointer(call.o, "o");
  if (call.lse != nullptr && reinterpret_cast<std::uintptr_t>(call.lse) % alignof(float) != 0)
    bad("lse is not 4-byte aligned");
  if (call.dtype != DType::bf16 && call.dtype != DType::f16)
    bad(fmt::format("dtype {} is not bf16 or fp16", static_cast<int>(call.dtype)));
  if (!std::isfinite(call.scale) || call.scale < 0)
    bad(fmt::format("scale {} must be finite and >= 0 (0: 1/sqrt(head_dim))", call.scale));
  AttentionProblem p;
  p.batch = static_cast<int>(call.q.shape[0]);
  p.heads = static_cast<int>(call.q.shape[1]);
  p.seqlen = static_cast<int>(call.q.shape[2]);
  p.head_dim = static_cast<int>(call.q.shape[3]);
  p.dtype = call.dtype;
  p.causal = call.causal;
  p.softmax_scale = call.scale;
  return p;
}

}  // namespace flashtune::runtime
