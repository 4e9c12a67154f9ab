#pragma once
// Which GPU a result was measured on: the facts that can change a kernel's best configuration. Plain data,
// filled from gpu::DeviceInfo by the process that owns the GPU (the trial worker) and stored with every sweep
// and every cached best configuration.
#include <string>

namespace flashtune {

struct GpuIdentity {
  std::string name;  // "NVIDIA H100 80GB HBM3"
  int cc_major = 0;
  int cc_minor = 0;
  int sm_count = 0;
  int smem_optin_per_block = 0;  // bytes
  long long l2_bytes = 0;
  int driver_version = 0;  // 13000 for CUDA 13.0

  // Every field, in one string: "NVIDIA H100 80GB HBM3|cc9.0|sm132|smem232448|l2-52428800|drv13000". Two
  // identities are the same GPU for the results cache exactly when their keys are equal.
  std::string key() const;
  // "NVIDIA H100 80GB HBM3 (sm_90a, 132 SMs, driver 13.0)"
  std::string to_string() const;
  bool operator==(const GpuIdentity&) const = default;
};

// NVRTC's architecture for a compute capability: "sm_90a" for 9.0 (the arch-specific features: wgmma, TMA
// multicast), "sm_80" for 8.0.
std::string arch_name(int cc_major, int cc_minor);

}  // namespace flashtune
