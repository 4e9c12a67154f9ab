#include "run/gpu_reference_bwd.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "core/error.hpp"
#include "gpu/context.hpp"
#include "gpu/launch.hpp"
#include "jit/cubin_cache.hpp"
#include "reference_rows.h"
#include "run/kernel_loader.hpp"
#include "verify/half_convert.hpp"

namespace flashtune::run {
namespace {

// The backward reference's three kernels, compiled as one program.
struct BwdKernels {
  jit::CompileResult compile;
  gpu::Module module;
  gpu::Kernel delta, dq, dkdv;
};

BwdKernels load_bwd_kernels(const AttentionProblem& p, const std::string& arch) {
  const std::string type(cuda_type_name(p.dtype));
  const char* causal = p.causal ? "true" : "false";
  jit::CompileRequest r =
      make_request("reference/attention_reference_bwd.cuh",
                   fmt::format("flashtune::attention_reference_bwd_delta<{}, {}>", p.head_dim, type), arch);
  r.name_expressions.push_back(
      fmt::format("flashtune::attention_reference_bwd_dq<{}, {}, {}>", p.head_dim, causal, type));
  r.name_expressions.push_back(
      fmt::format("flashtune::attention_reference_bwd_dkdv<{}, {}, {}>", p.head_dim, causal, type));
  BwdKernels k{jit::compile_cached(r, jit::CubinCache()), {}, {}, {}, {}};
  if (!k.compile.ok)
    throw Error(ErrorKind::compile,
                fmt::format("compiling {} failed:\n{}", r.name_expressions[0], k.compile.log));
  k.module = gpu::Module::load(k.compile.cubin, "attention_reference_bwd");
  k.delta = k.module.kernel(k.compile.lowered_names.at(r.name_expressions[0]));
  k.dq = k.module.kernel(k.compile.lowered_names.at(r.name_expressions[1]));
  k.dkdv = k.module.kernel(k.compile.lowered_names.at(r.name_expressions[2]));
  return k;
}

unsigned ceil_div(std::size_t a, std::size_t b) {
  return static_cast<unsigned>((a + b - 1) / b);
}

// Keeps the first rows(i) of each head's `pitch` rows of `width` values, packed (varlen: a head's sequence).
template <typename Rows>
void pack_rows(std::vector<float>& x, std::size_t heads, std::size_t pitch, std::size_t width, Rows rows) {
  std::size_t at = 0;
  for (std::size_t i = 0; i < heads; ++i) {
    const std::size_t n = rows(i);
    std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(i * pitch * width), n * width,
                x.begin() + static_cast<std::ptrdiff_t>(at * width));
    at += n;
  }
  x.resize(at * width);
}

}  // namespace

std::vector<int> group_query_heads(const AttentionProblem& p, std::span<const int> kv_heads) {
  std::vector<int> heads;
  for (int bkv : kv_heads) {
    const int b = bkv / p.num_kv_heads(), kv_head = bkv % p.num_kv_heads();
    for (int g = 0; g < p.group(); ++g) heads.push_back(b * p.heads + kv_head * p.group() + g);
  }
  return heads;
}

GpuBackwardOutput gpu_reference_backward(const AttentionBuffers& buffers, std::span<const std::uint16_t> d_o,
                                         std::span<const int> kv_heads, const std::string& arch,
                                         const verify::ForwardOutputs* fwd) {
  const AttentionProblem& p = buffers.problem();
  if (d_o.size() != static_cast<std::size_t>(p.elements()))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("gpu_reference_backward({}): dO has {} elements, not {}", p.to_string(),
                            d_o.size(), p.elements()));
  for (int bkv : kv_heads)
    if (bkv < 0 || bkv >= p.batch * p.num_kv_heads())
      throw Error(ErrorKind::invalid_argument,
                  fmt::format("gpu_reference_backward({}): key/value head index {} is out of range",
                              p.to_string(), bkv));
  if (fwd != nullptr && (fwd->o.size() != static_cast<std::size_t>(p.elements()) ||
                         fwd->lse.size() != static_cast<std::size_t>(p.rows())))
    throw Error(ErrorKind::invalid_argument,
                fmt::format("gpu_reference_backward({}): the forward's O/LSE have {}/{} elements, not {}/{}",
                            p.to_string(), fwd->o.size(), fwd->lse.size(), p.elements(), p.rows()));
  if (kv_heads.empty()) return {};
  const std::string fwd_expr = fmt::format("flashtune::attention_reference<{}, {}, {}>", p.head_dim,
                                           p.causal ? "true" : "false", cuda_type_name(p.dtype));
  const BwdKernels bwd = load_bwd_kernels(p, arch);

  const std::vector<int> q_heads = group_query_heads(p, kv_heads);
  const std::size_t nq = q_heads.size(), nkv = kv_heads.size();
  const auto n = static_cast<std::size_t>(p.seqlen), nk = static_cast<std::size_t>(p.keys());
  const auto d = static_cast<std::size_t>(p.head_dim);
  gpu::DeviceBuffer d_q_heads(nq * sizeof(int)), d_kv_heads(nkv * sizeof(int)), d_d_o(d_o.size() * 2);
  d_q_heads.upload(q_heads.data(), nq * sizeof(int));
  d_kv_heads.upload(kv_heads.data(), nkv * sizeof(int));
  d_d_o.upload(d_o.data(), d_o.size() * 2);
  gpu::DeviceBuffer o(nq * n * d * sizeof(float)), lse(nq * n * sizeof(float)), delta(nq * n * sizeof(float));
  gpu::DeviceBuffer dq(nq * n * d * sizeof(float)), dk(nkv * nk * d * sizeof(float)),
      dv(nkv * nk * d * sizeof(float));

  AttentionParams params = buffers.params();
  auto q_heads_ptr = d_q_heads.ptr(), kv_heads_ptr = d_kv_heads.ptr(), d_o_ptr = d_d_o.ptr();
  auto o_ptr = o.ptr(), lse_ptr = lse.ptr(), delta_ptr = delta.ptr();
  auto dq_ptr = dq.ptr(), dk_ptr = dk.ptr(), dv_ptr = dv.ptr();
  auto layout_ptr = buffers.layout().ptr();  // 0 when dense
  int layout_cols = buffers.layout_cols();
  const auto rows = static_cast<std::size_t>(reference_rows(p.head_dim));
  const auto q_count = static_cast<unsigned>(nq), kv_count = static_cast<unsigned>(nkv);

  if (fwd == nullptr) {
    const LoadedKernel ref = load_kernel(make_request("reference/attention_reference.cuh", fwd_expr, arch));
    void* fwd_args[] = {&params, &q_heads_ptr, &o_ptr, &lse_ptr, &layout_ptr, &layout_cols};
    gpu::launch(ref.kernel, {{ceil_div(n, rows), q_count, 1}, {128, 1, 1}, 0}, fwd_args, nullptr, fwd_expr);
  } else {  // the given O and LSE in the reference's layout: [query heads][seqlen][head_dim], rows past a
            // sequence's length (varlen) zero and -inf
    std::vector<float> o_rows(nq * n * d, 0.0f), lse_rows(nq * n, -std::numeric_limits<float>::infinity());
    const std::vector<int> cu = p.cu_seqlens_q();
    for (std::size_t i = 0; i < nq; ++i) {
      const int b = q_heads[i] / p.heads, h = q_heads[i] % p.heads;
      for (int r = 0; r < p.len_q(b); ++r) {
        const std::int64_t at = p.offset(b, h, r, false);
        for (std::size_t c = 0; c < d; ++c)
          o_rows[(i * n + r) * d + c] = verify::to_float(fwd->o[static_cast<std::size_t>(at) + c], p.dtype);
        const std::int64_t row = p.varlen() ? std::int64_t{h} * p.total_q() + cu[b] + r
                                            : (std::int64_t{b} * p.heads + h) * p.seqlen + r;
        lse_rows[i * n + r] = fwd->lse[static_cast<std::size_t>(row)];
      }
    }
    o.upload(o_rows.data(), o_rows.size() * sizeof(float));
    lse.upload(lse_rows.data(), lse_rows.size() * sizeof(float));
  }
  void* delta_args[] = {&params, &q_heads_ptr, &d_o_ptr, &o_ptr, &delta_ptr};
  gpu::launch(bwd.delta, {{ceil_div(n, 128), q_count, 1}, {128, 1, 1}, 0}, delta_args, nullptr, "bwd delta");
  void* dq_args[] = {&params,    &q_heads_ptr, &d_o_ptr,    &lse_ptr,
                     &delta_ptr, &dq_ptr,      &layout_ptr, &layout_cols};
  gpu::launch(bwd.dq, {{ceil_div(n, rows), q_count, 1}, {128, 1, 1}, 0}, dq_args, nullptr, "bwd dq");
  void* dkdv_args[] = {&params, &kv_heads_ptr, &d_o_ptr,    &lse_ptr,    &delta_ptr,
                       &dk_ptr, &dv_ptr,       &layout_ptr, &layout_cols};
  gpu::launch(bwd.dkdv, {{ceil_div(nk, rows), kv_count, 1}, {128, 1, 1}, 0}, dkdv_args, nullptr, "bwd dkdv");
  gpu::Context::synchronize();

  GpuBackwardOutput out;
  out.dq.resize(nq * n * d);
  out.lse.resize(nq * n);
  out.delta.resize(nq * n);
  out.dk.resize(nkv * nk * d);
  out.dv.resize(nkv * nk * d);
  dq.download(out.dq.data(), out.dq.size() * sizeof(float));
  lse.download(out.lse.data(), out.lse.size() * sizeof(float));
  delta.download(out.delta.data(), out.delta.size() * sizeof(float));
  dk.download(out.dk.data(), out.dk.size() * sizeof(float));
  dv.download(out.dv.data(), out.dv.size() * sizeof(float));
  if (p.varlen()) {  // each head keeps its sequence's rows (the kernels wrote seqlen / seqlen_k rows' room)
    auto len_q = [&](std::size_t i) { return static_cast<std::size_t>(p.len_q(q_heads[i] / p.heads)); };
    auto len_k = [&](std::size_t i) {
      return static_cast<std::size_t>(p.len_k(kv_heads[i] / p.num_kv_heads()));
    };
    pack_rows(out.dq, nq, n, d, len_q);
    pack_rows(out.lse, nq, n, 1, len_q);
    pack_rows(out.delta, nq, n, 1, len_q);
    pack_rows(out.dk, nkv, nk, d, len_k);
    pack_rows(out.dv, nkv, nk, d, len_k);
  }
  return out;
}

}  // namespace flashtune::run
