#pragma once
// The key of one cached best configuration: which GPU (its whole identity, driver included), which kernel
// template and which version of its source, which NVRTC compiled it, and which problem bucket and budget. A
// change in any of them is a different key, so results never leak across GPUs, drivers, compilers or edits.
#include <string>

#include "core/gpu_identity.hpp"
#include "store/problem_key.hpp"

namespace flashtune::store {

struct BestKey {
  GpuIdentity gpu;
  std::string template_id;  // "fa2_fwd"
  std::string source_hash;  // jit::source_hash() of the template
  int nvrtc_version = 0;    // 12080 for 12.8
  ProblemKey problem;

  // "<gpu key> fa2_fwd src=<hash> nvrtc=12080 bf16 d128 n4096 bh64 smem232448"
  std::string to_string() const;
  bool operator==(const BestKey&) const = default;
};

}  // namespace flashtune::store
