#include "run/gpu_reference.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "gpu/context.hpp"
#include "gpu/launch.hpp"
#include "reference_rows.h"
#include "run/kernel_loader.hpp"

namespace flashtune::run {

GpuReferenceOutput gpu_reference(const AttentionBuffers& buffers, std::span<const int> heads,
                                 const std::string& arch) {
  const AttentionProblem& p = buffers.problem();
  const std::string expr = fmt::format("flashtune::attention_reference<{}, {}, {}>", p.head_dim,
                                       p.causal ? "true" : "false", cuda_type_name(p.dtype));
  LoadedKernel ref = load_kernel(make_request("reference/attention_reference.cuh", expr, arch));

  const std::size_t n = static_cast<std::size_t>(p.seqlen);
  const std::size_t nh = heads.size();
  gpu::DeviceBuffer d_heads(nh * sizeof(int));
  d_heads.upload(heads.data(), nh * sizeof(int));
  gpu::DeviceBuffer o(nh * n * p.head_dim * sizeof(float));
  gpu::DeviceBuffer lse(nh * n * sizeof(float));

  AttentionParams params = buffers.params();
  auto heads_ptr = d_heads.ptr();
  auto o_ptr = o.ptr();
  auto lse_ptr = lse.ptr();
  auto layout_ptr = buffers.layout().ptr();  // 0 when dense
  int layout_cols = buffers.layout_cols();
  void* args[] = {&params, &heads_ptr, &o_ptr, &lse_ptr, &layout_ptr, &layout_cols};
  const std::size_t rows = static_cast<std::size_t>(reference_rows(p.head_dim));
  gpu::LaunchShape shape{
      {static_cast<unsigned>((n + rows - 1) / rows), static_cast<unsigned>(nh), 1}, {128, 1, 1}, 0};
  gpu::launch(ref.kernel, shape, args, nullptr, expr);
  gpu::Context::synchronize();

  GpuReferenceOutput out;
  out.o.resize(nh * n * p.head_dim);
  out.lse.resize(nh * n);
  o.download(out.o.data(), out.o.size() * sizeof(float));
  lse.download(out.lse.data(), out.lse.size() * sizeof(float));
  if (p.varlen()) {  // each head keeps its sequence's rows (the kernel wrote seqlen rows' room per head)
    std::size_t at = 0;
    const auto d = static_cast<std::size_t>(p.head_dim);
    for (std::size_t i = 0; i < nh; ++i) {
      const auto rows = static_cast<std::size_t>(p.len_q(heads[i] / p.heads));
      std::copy_n(out.o.begin() + static_cast<std::ptrdiff_t>(i * n * d), rows * d,
                  out.o.begin() + static_cast<std::ptrdiff_t>(at * d));
      std::copy_n(out.lse.begin() + static_cast<std::ptrdiff_t>(i * n), rows,
                  out.lse.begin() + static_cast<std::ptrdiff_t>(at));
      at += rows;
    }
    out.o.resize(at * d);
    out.lse.resize(at);
  }
  return out;
}

}  // namespace flashtune::run
