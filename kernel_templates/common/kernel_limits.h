#pragma once
// Facts of the target that both the kernel templates (device, NVRTC) and the harness (host: the mirrors of
// the templates' static_asserts in harness/kernels/) use, written once. Plain constants only.

namespace flashtune {

// The largest dynamic shared memory a block may opt in to on sm_90 (227 KiB): every template's traits
// static_assert against it, and the host rejects a configuration over it before compiling.
inline constexpr int kSmemOptinBytes = 232448;

}  // namespace flashtune
