#include "run/attention_params_of.hpp"

#include <numbers>

namespace flashtune::run {

TensorStrides packed_strides(Layout layout, int heads, int rows, int head_dim) {
  const long long d = head_dim;
  if (layout == Layout::thd) return {0, d, heads * d};  // rows of the packed sequences; no batch stride
  if (layout == Layout::bshd) return {static_cast<long long>(rows) * heads * d, d, heads * d};
  return {static_cast<long long>(heads) * rows * d, static_cast<long long>(rows) * d, d};
}

AttentionParams attention_params_of(const AttentionProblem& p) {
  AttentionParams a{};
  a.batch = p.batch;
  a.heads = p.heads;
  a.seqlen = p.seqlen;
  a.kv_heads = p.num_kv_heads();
  a.seqlen_k = p.keys();
  a.window_left = p.window_left;
  a.window_right = p.window_right;
  a.softcap = p.softcap;
  if (p.softcap > 0) {
    a.softcap_scale = p.scale() / p.softcap;
    a.scale_log2 = std::numbers::log2e_v<float>;
  } else {
    a.softcap_scale = 0;
    a.scale_log2 = p.scale() * std::numbers::log2e_v<float>;
  }
  a.q_stride = a.o_stride = packed_strides(p.layout, p.heads, p.seqlen, p.head_dim);
  a.k_stride = a.v_stride = packed_strides(p.layout, p.num_kv_heads(), p.keys(), p.head_dim);
  a.total_q = p.varlen() ? static_cast<int>(p.total_q()) : 0;
  a.total_k = p.varlen() ? static_cast<int>(p.total_k()) : 0;
  return a;
}

}  // namespace flashtune::run
