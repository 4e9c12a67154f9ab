#pragma once
// Whether a compiled kernel fits a streaming multiprocessor, and how many of its blocks do: the occupancy
// arithmetic of the CUDA occupancy calculator, from ptxas facts alone, so it works without a GPU.
#include <string>
#include <vector>

#include "kernel_limits.h"

namespace flashtune {

// Per-SM limits. The defaults are sm_90 (H100): 64 K registers, 228 KiB shared memory of which a block may
// opt in to 227 KiB, 1 KiB reserved by the system per block, 2048 threads, 32 blocks.
struct SmLimits {
  int registers = 65536;
  int register_granularity = 256;  // registers are allocated per warp in units of 256
  int smem_bytes = 233472;
  int smem_optin_per_block = kSmemOptinBytes;
  int smem_reserved_per_block = 1024;
  int threads = 2048;
  int blocks = 32;
  // The shared-memory capacities (KiB) the SM can be carved out to, ascending; the last is smem_bytes.
  std::vector<int> carveout_levels_kib = {0, 8, 16, 32, 64, 100, 132, 164, 196, 228};
};

// The limits of compute capability major.minor (8.0, 8.6, 8.7, 8.9, 9.0, 10.x, 12.x), from the CUDA
// programming guide's table of compute capabilities; the sm_90 defaults for anything else.
SmLimits sm_limits_for(int cc_major, int cc_minor);

// Multiprocessors a persistent launch is sized for: an H100 SXM's 132. KernelTemplate::launch sees the
// problem, not the device; on a GPU with fewer multiprocessors the extra CTAs simply wait for a free one
// (persistent kernels are correct for any grid size).
constexpr int kPersistentSms = 132;

struct ResourceFit {
  bool fits = false;
  int blocks_per_sm = 0;
  std::string limited_by;  // "registers", "shared memory", "threads", "blocks", or why it does not fit
};

ResourceFit check_resources(int registers_per_thread, int threads_per_block, int smem_per_block,
                            const SmLimits& limits = {});

}  // namespace flashtune
