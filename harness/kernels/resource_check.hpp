#pragma once
// Whether a compiled kernel fits a streaming multiprocessor, and how many of its blocks do: the occupancy
// arithmetic of the CUDA occupancy calculator, from ptxas facts alone, so it works without a GPU.
#include <string>

namespace flashtune {

// Per-SM limits. The defaults are sm_90 (H100): 64 K registers, 228 KiB shared memory of which a block may
// opt in to 227 KiB, 1 KiB reserved by the system per block, 2048 threads, 32 blocks.
struct SmLimits {
  int registers = 65536;
  int register_granularity = 256;  // registers are allocated per warp in units of 256
  int smem_bytes = 233472;
  int smem_optin_per_block = 232448;
  int smem_reserved_per_block = 1024;
  int threads = 2048;
  int blocks = 32;
};

struct ResourceFit {
  bool fits = false;
  int blocks_per_sm = 0;
  std::string limited_by;  // "registers", "shared memory", "threads", "blocks", or why it does not fit
};

ResourceFit check_resources(int registers_per_thread, int threads_per_block, int smem_per_block,
                            const SmLimits& limits = {});

}  // namespace flashtune
