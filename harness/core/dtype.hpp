#pragma once
// Element types the attention templates accept. The kernels see them as CUDA types; the host sees this enum.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace flashtune {

enum class DType { bf16, f16 };

// "bf16" / "fp16": the spelling used on the command line, in search spaces and in results.
std::string_view to_string(DType t);
// Accepts bf16, bfloat16, fp16, f16, half; nullopt for anything else.
std::optional<DType> parse_dtype(std::string_view s);
// The CUDA type name used in template arguments: "__nv_bfloat16" / "__half".
std::string_view cuda_type_name(DType t);
constexpr std::size_t element_bytes(DType) {
  return 2;
}

}  // namespace flashtune
