#pragma once
// Warpgroup matrix multiply-accumulate (wgmma.mma_async, sm_90a): shared-memory matrix descriptors for the
// 128-byte-swizzled layouts that TMA writes, the fence / commit / wait protocol, and register-count
// reallocation between warpgroups (setmaxnreg). The instructions themselves are in wgmma_ops.cuh.
//
// Tiles are stored as TMA's SWIZZLE_128B boxes of 64 16-bit columns: a [rows, d] tile is d/64 "panels" of
// rows x 128 bytes, 16-byte chunk c of row r at chunk c ^ (r % 8), each panel 1024-byte aligned.
//   K-major operand (Q, K: the reduction dimension is contiguous): 8-row core groups 1024 bytes apart (SBO);
//     a k16 step inside a panel starts 32 bytes further, the next 64 k values are in the next panel.
//   MN-major operand (V as B of P V: the output dimension is contiguous): 8 k rows 128 bytes apart, groups
//     of 8 k rows 1024 bytes apart (SBO), the next 64 output columns one panel further (LBO).
// A head_dim that is no multiple of 64 (96) uses SWIZZLE_64B boxes of 32 columns: panels of rows x 64 bytes,
// chunk c (0..3) of row r at c ^ ((r / 2) % 4), 512-byte atoms: SBO 512, two k16 steps a panel, the next 32
// output columns one panel further.
//
//   wgmma_fence();  Wgmma<64>::ss<T, 0>(acc, da, db, 0); ...; wgmma_commit();  wgmma_wait<0>();
#include "wgmma_ops.cuh"

namespace flashtune {

// A descriptor for a kSwizzleBytes-swizzled operand (128 or 64) at shared address `addr` (a multiple of 16
// within a layout aligned to the swizzle's 8-row atom, 8 * kSwizzleBytes bytes). Layout type (bits 62..63):
// 1 is the 128-byte swizzle, 2 the 64-byte one.
template <int kSwizzleBytes>
__device__ __forceinline__ unsigned long long wgmma_desc_swizzled(unsigned addr, unsigned lbo_bytes,
                                                                  unsigned sbo_bytes) {
  static_assert(kSwizzleBytes == 128 || kSwizzleBytes == 64, "128- or 64-byte swizzle");
  unsigned long long d = 0;
  d |= static_cast<unsigned long long>((addr & 0x3FFFFu) >> 4);
  d |= static_cast<unsigned long long>((lbo_bytes >> 4) & 0x3FFFu) << 16;
  d |= static_cast<unsigned long long>((sbo_bytes >> 4) & 0x3FFFu) << 32;
  d |= (kSwizzleBytes == 128 ? 1ull : 2ull) << 62;
  return d;
}

// A descriptor for a 128-byte-swizzled operand at shared address `addr` (a multiple of 16 within a
// 1024-byte aligned layout).
__device__ __forceinline__ unsigned long long wgmma_desc_sw128(unsigned addr, unsigned lbo_bytes,
                                                               unsigned sbo_bytes) {
  return wgmma_desc_swizzled<128>(addr, lbo_bytes, sbo_bytes);
}

// Orders this thread's earlier register writes (accumulators, A fragments) before the next wgmma.
__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
// Waits until at most N committed wgmma groups of this warpgroup are pending.
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

// Keeps the compiler from moving reads or writes of accumulator registers across a wgmma boundary.
template <int kN>
__device__ __forceinline__ void fence_registers(float (&r)[kN]) {
#pragma unroll
  for (int i = 0; i < kN; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int kN>
__device__ __forceinline__ void fence_registers(unsigned (&r)[kN][4]) {
#pragma unroll
  for (int i = 0; i < kN; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) asm volatile("" : "+r"(r[i][j])::"memory");
}

// Gives registers back to (dec) or takes them from (inc) the CTA's pool; every thread of the warpgroup
// executes it. kRegs is a multiple of 8 in 24..256.
template <int kRegs>
__device__ __forceinline__ void setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}
template <int kRegs>
__device__ __forceinline__ void setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}

}  // namespace flashtune
