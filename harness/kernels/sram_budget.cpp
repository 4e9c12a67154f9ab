#include "kernels/sram_budget.hpp"

#include <algorithm>

namespace flashtune {

SramPlan plan_sram_budget(std::int64_t budget_bytes, const SmLimits& device) {
  SramPlan plan;
  plan.limits = device;
  const std::int64_t limit = budget_bytes <= 0
                                 ? device.smem_optin_per_block
                                 : std::min<std::int64_t>(budget_bytes, device.smem_optin_per_block);
  plan.per_block_limit = static_cast<int>(limit);
  const int need = plan.per_block_limit + device.smem_reserved_per_block;
  plan.sm_capacity_bytes = device.smem_bytes;
  for (int kib : device.carveout_levels_kib)
    if (kib * 1024 >= need) {
      plan.sm_capacity_bytes = std::min(kib * 1024, device.smem_bytes);
      break;
    }
  plan.carveout_percent =
      device.smem_bytes > 0 ? static_cast<int>(100LL * plan.sm_capacity_bytes / device.smem_bytes) : 100;
  plan.limits.smem_bytes = plan.sm_capacity_bytes;
  plan.limits.smem_optin_per_block = plan.per_block_limit;
  return plan;
}

}  // namespace flashtune
