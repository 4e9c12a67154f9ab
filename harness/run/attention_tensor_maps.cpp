#include "run/attention_tensor_maps.hpp"

#include <cstdint>

#include "core/error.hpp"

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
    s.dims = {static_cast<std::uint64_t>(problem.head_dim), static_cast<std::uint64_t>(problem.seqlen),
              static_cast<std::uint64_t>(problem.batch) * static_cast<std::uint64_t>(problem.heads)};
    s.box = {static_cast<std::uint32_t>(r.box_cols), static_cast<std::uint32_t>(r.box_rows), 1};
    s.swizzle_bytes = 128;
    s.label = std::string(to_string(r.tensor));
    out[i] = gpu::encode_tiled(s);
  }
}

}  // namespace flashtune::run
