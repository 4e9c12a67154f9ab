#include "run/attention_tensor_maps.hpp"

#include <cstdint>

#include "core/error.hpp"
#include "kernels/kernel_template.hpp"

namespace flashtune::run {

std::vector<gpu::TensorMap> attention_tensor_maps(const std::vector<TensorMapRequest>& requests,
                                                  const AttentionParams& params,
                                                  const AttentionProblem& problem) {
  std::vector<gpu::TensorMap> maps(requests.size());
  attention_tensor_maps(requests, params, problem, maps);
  return maps;
}

void attention_tensor_maps(std::span<const TensorMapRequest> requests, const AttentionParams& params,
                           const AttentionProblem& problem, std::span<gpu::TensorMap> out) {
  if (out.size() < requests.size())
    throw Error(ErrorKind::internal, "attention_tensor_maps: room for fewer maps than requested");
  const bool general = variant_of(problem).general;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const TensorMapRequest& r = requests[i];
    const void* base = nullptr;
    switch (r.tensor) {
      case TensorMapRequest::Tensor::q:
        base = params.q;
        break;
      case TensorMapRequest::Tensor::k:
        base = params.k;
        break;
      case TensorMapRequest::Tensor::v:
        base = params.v;
        break;
      case TensorMapRequest::Tensor::o:
        base = params.o;
        break;
    }
    gpu::TiledTensorMapSpec s;
    s.address = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(base));
    s.bf16 = problem.dtype == DType::bf16;
    if (general) {
      // [batch, heads, rows, head_dim] by the tensor's strides: dims innermost first (head_dim, rows, heads,
      // batch), strides in bytes.
      const bool kv = r.tensor == TensorMapRequest::Tensor::k || r.tensor == TensorMapRequest::Tensor::v;
      const TensorStrides& st = r.tensor == TensorMapRequest::Tensor::q   ? params.q_stride
                                : r.tensor == TensorMapRequest::Tensor::k ? params.k_stride
                                : r.tensor == TensorMapRequest::Tensor::v ? params.v_stride
                                                                          : params.o_stride;
      s.rank = 4;
      // Varlen: one batch entry of all the packed rows (the kernel adds a sequence's first row); its batch
      // stride is never stepped, but must be a valid one.
      const bool varlen = problem.varlen();
      const std::uint64_t rows = varlen ? static_cast<std::uint64_t>(kv ? params.total_k : params.total_q)
                                        : static_cast<std::uint64_t>(kv ? problem.keys() : problem.seqlen);
      s.dims = {static_cast<std::uint64_t>(problem.head_dim), rows,
                static_cast<std::uint64_t>(kv ? problem.num_kv_heads() : problem.heads),
                varlen ? 1 : static_cast<std::uint64_t>(problem.batch)};
      s.strides = {
          static_cast<std::uint64_t>(st.row) * 2, static_cast<std::uint64_t>(st.head) * 2,
          varlen ? rows * static_cast<std::uint64_t>(st.row) * 2 : static_cast<std::uint64_t>(st.batch) * 2};
      s.box = {static_cast<std::uint32_t>(r.box_cols), static_cast<std::uint32_t>(r.box_rows), 1, 1};
    } else {
      s.dims = {static_cast<std::uint64_t>(problem.head_dim), static_cast<std::uint64_t>(problem.seqlen),
                static_cast<std::uint64_t>(problem.batch) * static_cast<std::uint64_t>(problem.heads), 1};
      s.box = {static_cast<std::uint32_t>(r.box_cols), static_cast<std::uint32_t>(r.box_rows), 1, 1};
    }
    s.swizzle_bytes = r.swizzle_bytes;
    s.label = std::string(to_string(r.tensor));
    out[i] = gpu::encode_tiled(s);
  }
}

}  // namespace flashtune::run
