#pragma once
// Element-type traits for the attention templates (NVRTC has no <type_traits>: these are our own).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace flashtune {

template <typename A, typename B>
struct is_same_type {
  static constexpr bool value = false;
};
template <typename A>
struct is_same_type<A, A> {
  static constexpr bool value = true;
};

template <typename T>
struct element_traits;

template <>
struct element_traits<__nv_bfloat16> {
  static constexpr bool is_bf16 = true;
  // Two fp32 values rounded (nearest even) into one 32-bit register of two bf16, low half = a.
  static __device__ __forceinline__ unsigned pack2(float a, float b) {
    __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<unsigned*>(&h);
  }
  static __device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
};

template <>
struct element_traits<__half> {
  static constexpr bool is_bf16 = false;
  static __device__ __forceinline__ unsigned pack2(float a, float b) {
    __half2 h = __floats2half2_rn(a, b);
    return *reinterpret_cast<unsigned*>(&h);
  }
  static __device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
};

__device__ __forceinline__ float neg_infinity() {
  return __int_as_float(0xff800000);
}

// v through an empty asm: the compiler cannot tell where it came from, so what is derived from it (a
// loader's per-thread addresses) is recomputed where it is used instead of hoisted out of the loops and kept
// live in a kernel that needs every register.
__device__ __forceinline__ int opaque(int v) {
  asm volatile("" : "+r"(v));
  return v;
}

}  // namespace flashtune
