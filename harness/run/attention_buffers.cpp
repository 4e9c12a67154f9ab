#include "run/attention_buffers.hpp"

#include <cmath>

#include "core/block_layout.hpp"
#include "run/attention_params_of.hpp"
#include "verify/half_convert.hpp"

namespace flashtune::run {
namespace {
std::size_t tensor_bytes(const AttentionProblem& p) {
  return static_cast<std::size_t>(p.elements()) * 2;
}
std::size_t kv_bytes(const AttentionProblem& p) {
  return static_cast<std::size_t>(p.kv_elements()) * 2;
}
std::size_t lse_bytes(const AttentionProblem& p) {
  return static_cast<std::size_t>(p.rows()) * sizeof(float);
}
constexpr std::uint32_t kF32NaN = 0x7FC00000u;

// A varlen problem's prefix sums on the device (an empty buffer otherwise).
gpu::DeviceBuffer prefix_sums(const AttentionProblem& p, bool kv) {
  if (!p.varlen()) return gpu::DeviceBuffer(0);
  const std::vector<int> cu = kv ? p.cu_seqlens_k() : p.cu_seqlens_q();
  gpu::DeviceBuffer b(cu.size() * sizeof(int));
  b.upload(cu.data(), cu.size() * sizeof(int));
  return b;
}

template <typename T>
gpu::DeviceBuffer uploaded(const std::vector<T>& v) {
  gpu::DeviceBuffer b(v.size() * sizeof(T));
  b.upload(v.data(), v.size() * sizeof(T));
  return b;
}
}  // namespace

AttentionBuffers::AttentionBuffers(const AttentionProblem& p)
    : problem_(p),
      q_(tensor_bytes(p)),
      k_(kv_bytes(p)),
      v_(kv_bytes(p)),
      o_(tensor_bytes(p)),
      lse_(lse_bytes(p)),
      cu_q_(prefix_sums(p, false)),
      cu_k_(prefix_sums(p, true)),
      sparse_counts_(0),
      sparse_cols_(0),
      layout_(0) {
  if (!p.block_sparse()) return;
  const BlockLayout layout = block_layout(p);
  const SparseLists lists = sparse_lists(layout);
  sparse_counts_ = uploaded(lists.counts);
  sparse_cols_ = uploaded(lists.cols);
  layout_ = uploaded(layout.kept);
  sparse_cols_per_row_ = lists.cols_per_row;
  layout_cols_ = layout.cols;
}

void AttentionBuffers::upload(const verify::HostInputs& in) {
  q_.upload(in.q.data(), in.q.size() * 2);
  k_.upload(in.k.data(), in.k.size() * 2);
  v_.upload(in.v.data(), in.v.size() * 2);
}

void AttentionBuffers::poison() {
  o_.fill_u16(verify::poison_nan(problem_.dtype));
  lse_.fill_u32(kF32NaN);
}

AttentionParams AttentionBuffers::params() const {
  AttentionParams a = attention_params_of(problem_);
  a.q = reinterpret_cast<const void*>(q_.ptr());
  a.k = reinterpret_cast<const void*>(k_.ptr());
  a.v = reinterpret_cast<const void*>(v_.ptr());
  a.o = reinterpret_cast<void*>(o_.ptr());
  a.lse = reinterpret_cast<float*>(lse_.ptr());
  if (problem_.varlen()) {
    a.cu_seqlens_q = reinterpret_cast<const int*>(cu_q_.ptr());
    a.cu_seqlens_k = reinterpret_cast<const int*>(cu_k_.ptr());
  }
  if (problem_.block_sparse()) {
    a.sparse_counts = reinterpret_cast<const int*>(sparse_counts_.ptr());
    a.sparse_cols = reinterpret_cast<const int*>(sparse_cols_.ptr());
    a.sparse_block = problem_.sparse_block;
    a.sparse_cols_per_row = sparse_cols_per_row_;
  }
  return a;
}

}  // namespace flashtune::run
