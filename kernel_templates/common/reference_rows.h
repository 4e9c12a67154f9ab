#pragma once
// Query rows per CTA of the GPU reference (attention_reference.cuh); the host sizes the grid with it. Its
// static shared memory stays under 48 KiB at head_dim 256.
#include "host_device.h"

namespace flashtune {

FLASHTUNE_HOST_DEVICE constexpr int reference_rows(int head_dim) {
  return head_dim > 128 ? 8 : 16;
}

}  // namespace flashtune
