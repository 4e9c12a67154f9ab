#include "run/attention_buffers.hpp"

#include <cmath>
#include <numbers>

#include "verify/half_convert.hpp"

namespace flashtune::run {
namespace {
std::size_t tensor_bytes(const AttentionProblem& p) {
  return static_cast<std::size_t>(p.elements()) * 2;
}
std::size_t lse_bytes(const AttentionProblem& p) {
  return static_cast<std::size_t>(p.rows()) * sizeof(float);
}
constexpr std::uint32_t kF32NaN = 0x7FC00000u;
}  // namespace

AttentionBuffers::AttentionBuffers(const AttentionProblem& p)
    : problem_(p),
      q_(tensor_bytes(p)),
      k_(tensor_bytes(p)),
      v_(tensor_bytes(p)),
      o_(tensor_bytes(p)),
      lse_(lse_bytes(p)) {}

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
  AttentionParams a{};
  a.q = reinterpret_cast<const void*>(q_.ptr());
  a.k = reinterpret_cast<const void*>(k_.ptr());
  a.v = reinterpret_cast<const void*>(v_.ptr());
  a.o = reinterpret_cast<void*>(o_.ptr());
  a.lse = reinterpret_cast<float*>(lse_.ptr());
  a.batch = problem_.batch;
  a.heads = problem_.heads;
  a.seqlen = problem_.seqlen;
  a.scale_log2 = problem_.scale() * std::numbers::log2e_v<float>;
  return a;
}

}  // namespace flashtune::run
