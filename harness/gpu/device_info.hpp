#pragma once
// What flashtune needs to know about a GPU: its identity (recorded with every result) and the limits that
// decide whether a kernel configuration fits (shared memory, registers, threads).
#include <string>

#include "core/gpu_identity.hpp"

namespace flashtune::gpu {

struct DeviceInfo {
  int ordinal = 0;
  std::string name;  // "NVIDIA H100 80GB HBM3"
  int cc_major = 0;
  int cc_minor = 0;
  int sm_count = 0;
  long long l2_bytes = 0;
  int smem_optin_per_block = 0;     // the most dynamic+static shared memory one block can opt in to
  int smem_per_sm = 0;              // shared memory per multiprocessor
  int smem_per_block_default = 0;   // without opting in (48 KiB)
  int smem_reserved_per_block = 0;  // taken by the driver from every block (1 KiB on sm_80+)
  int regs_per_sm = 0;
  int regs_per_block = 0;
  int max_threads_per_sm = 0;
  int max_threads_per_block = 0;
  int max_blocks_per_sm = 0;
  int warp_size = 0;
  long long total_mem_bytes = 0;
  int driver_version = 0;  // 13000 for CUDA 13.0
  int sm_clock_khz = 0;    // the driver's "typical" SM clock; this and the next two: 0 where not reported
  int mem_clock_khz = 0;   // peak memory clock
  int mem_bus_width = 0;   // bits
  std::string uuid;        // "GPU-5f3c...", as nvidia-smi prints it

  // The compile target for this device, as NVRTC's -arch takes it: compute capability 9.0 and newer get the
  // architecture-specific "a" target, which enables wgmma / setmaxnreg (9.0) and tcgen05 (10.x) and whose
  // cubin runs on exactly this compute capability ("sm_90a" for 9.0, "sm_100a" for 10.0, "sm_120a" for 12.0);
  // older devices get the plain target ("sm_80", "sm_86").
  std::string arch() const;
  // What keys results to this GPU: name, compute capability, SM count, shared memory, L2, driver.
  GpuIdentity identity() const;
  // Peak DRAM bandwidth from the memory clock and bus width (DDR: two transfers a clock), in bytes per
  // second.
  double peak_dram_bytes_per_s() const;
  // "NVIDIA H100 80GB HBM3 (sm_90a, 132 SMs, 79.1 GiB, driver 13.0)"
  std::string to_string() const;
};

// The number of visible devices (CUDA_VISIBLE_DEVICES applies). Throws Error(no_gpu) without a driver.
int device_count();

// Reads every field of DeviceInfo. Throws Error(no_gpu) without a driver or device, Error(invalid_argument)
// for an ordinal out of range. Needs no context.
DeviceInfo query_device(int ordinal = 0);

}  // namespace flashtune::gpu
