#include "run/attention_buffers.hpp"

#include <cmath>

#include <fmt/format.h>

#include "core/block_layout.hpp"
#include "core/error.hpp"
#include "run/attention_params_of.hpp"
#include "verify/half_convert.hpp"

namespace flashtune::run {
namespace {
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
// Throws unless p is a backward problem and `got` is `want`.
void check_backward_upload(const AttentionProblem& p, const char* what, std::size_t got, std::size_t want) {
  if (p.pass != Pass::bwd)
    throw Error(
        ErrorKind::invalid_argument,
        fmt::format("AttentionBuffers({}): {} is an input of the backward pass only", p.to_string(), what));
  if (got != want)
    throw Error(ErrorKind::invalid_argument, fmt::format("AttentionBuffers({}): {} has {} elements, not {}",
                                                         p.to_string(), what, got, want));
}
}  // namespace

BufferPlan buffer_plan(const AttentionProblem& p) {
  const auto elements = static_cast<std::size_t>(p.elements());
  const auto kv_elements = static_cast<std::size_t>(p.kv_elements());
  const std::size_t e = element_bytes(p.dtype);
  BufferPlan b;
  b.q = b.o = elements * e;
  b.k = b.v = kv_elements * e;
  b.lse = static_cast<std::size_t>(p.rows()) * sizeof(float);
  if (p.pass == Pass::bwd) {
    b.d_o = b.d_q = elements * e;
    b.d_k = b.d_v = kv_elements * e;
    b.poisoned = {"dQ", "dK", "dV"};
  } else {
    b.poisoned = {"O", "LSE"};
  }
  return b;
}

AttentionBuffers::AttentionBuffers(const AttentionProblem& p) : AttentionBuffers(p, buffer_plan(p)) {}

AttentionBuffers::AttentionBuffers(const AttentionProblem& p, const BufferPlan& plan)
    : problem_(p),
      q_(plan.q),
      k_(plan.k),
      v_(plan.v),
      o_(plan.o),
      lse_(plan.lse),
      d_o_(plan.d_o),
      d_q_(plan.d_q),
      d_k_(plan.d_k),
      d_v_(plan.d_v),
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

void AttentionBuffers::upload_d_o(std::span<const std::uint16_t> d_o) {
  check_backward_upload(problem_, "dO", d_o.size(), static_cast<std::size_t>(problem_.elements()));
  d_o_.upload(d_o.data(), d_o.size() * 2);
}

void AttentionBuffers::upload_forward(std::span<const std::uint16_t> o, std::span<const float> lse) {
  check_backward_upload(problem_, "O", o.size(), static_cast<std::size_t>(problem_.elements()));
  check_backward_upload(problem_, "LSE", lse.size(), static_cast<std::size_t>(problem_.rows()));
  o_.upload(o.data(), o.size() * 2);
  lse_.upload(lse.data(), lse.size() * sizeof(float));
}

void AttentionBuffers::poison() {
  const std::uint16_t nan = verify::poison_nan(problem_.dtype);
  if (problem_.pass == Pass::bwd) {
    d_q_.fill_u16(nan);
    d_k_.fill_u16(nan);
    d_v_.fill_u16(nan);
    return;
  }
  o_.fill_u16(nan);
  lse_.fill_u32(kF32NaN);
}

AttentionParams AttentionBuffers::params() const {
  AttentionParams a = attention_params_of(problem_);
  a.q = reinterpret_cast<const void*>(q_.ptr());
  a.k = reinterpret_cast<const void*>(k_.ptr());
  a.v = reinterpret_cast<const void*>(v_.ptr());
  a.o = reinterpret_cast<void*>(o_.ptr());
  a.lse = reinterpret_cast<float*>(lse_.ptr());
  if (problem_.pass == Pass::bwd) {
    a.d_o = reinterpret_cast<const void*>(d_o_.ptr());
    a.d_q = reinterpret_cast<void*>(d_q_.ptr());
    a.d_k = reinterpret_cast<void*>(d_k_.ptr());
    a.d_v = reinterpret_cast<void*>(d_v_.ptr());
  }
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
