#include "core/dtype.hpp"

namespace flashtune {

std::string_view to_string(DType t) {
  return t == DType::bf16 ? "bf16" : "fp16";
}

std::optional<DType> parse_dtype(std::string_view s) {
  if (s == "bf16" || s == "bfloat16") return DType::bf16;
  if (s == "fp16" || s == "f16" || s == "half" || s == "float16") return DType::f16;
  return std::nullopt;
}

std::string_view cuda_type_name(DType t) {
  return t == DType::bf16 ? "__nv_bfloat16" : "__half";
}

}  // namespace flashtune
