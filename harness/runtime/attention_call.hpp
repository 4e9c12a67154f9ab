#pragma once
// One call of the runtime: device pointers with their shapes and strides, as a caller (C++ or a framework
// through DLPack) describes its tensors, and the check that turns it into an AttentionProblem.
//
//   AttentionCall c{.q = {q_ptr, {B, H, N, d}}, .k = {k_ptr, {B, H, N, d}}, .v = {v_ptr, {B, H, N, d}},
//                   .o = o_ptr, .dtype = DType::bf16, .causal = true};
//   AttentionProblem p = problem_of(c);   // Error(invalid_argument) naming the argument that is wrong
#include <array>
#include <cstdint>
#include <optional>

#include "core/dtype.hpp"
#include "core/problem.hpp"

namespace flashtune::runtime {

struct TensorArg {
  const void* data = nullptr;
  std::array<std::int64_t, 4> shape{};                 // [batch, heads, seqlen, head_dim]
  std::optional<std::array<std::int64_t, 4>> strides;  // in elements; nullopt: contiguous
};

struct AttentionCall {
  TensorArg q, k, v;
  void* o = nullptr;     // [batch, heads, seqlen, head_dim], contiguous, of dtype
  float* lse = nullptr;  // [batch, heads, seqlen] fp32 (natural log, scale included), or null: not returned
  DType dtype = DType::bf16;
  bool causal = false;
  float scale = 0;  // softmax scale; 0 means 1/sqrt(head_dim)
};

// The problem `call` describes. Throws Error(invalid_argument) naming the argument: a null pointer; a shape
// with an extent below 1 or past int; q, k and v of different shapes (grouped heads and unequal lengths are
// not supported yet); strides other than the contiguous ones; a pointer not 16-byte aligned; a dtype other
// than bf16 and fp16; a scale that is negative or not finite; 2^31 rows or more in all. head_dim is left to
// the templates (selection.hpp), grid limits to the chosen configuration (runtime.cpp).
AttentionProblem problem_of(const AttentionCall& call);

}  // namespace flashtune::runtime
