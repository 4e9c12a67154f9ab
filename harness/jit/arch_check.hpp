#pragma once
// Whether a target architecture ("sm_90a") can be compiled for: the shape sm_<digits>[a|f], a real
// architecture this NVRTC lists (supported_archs()), and sm_80 or newer (the kernel templates use bf16
// mma.sync). Checked before a sweep starts, so that a typo is one clear error rather than every kernel
// failing as a compile error.
#include <optional>
#include <string>

namespace flashtune::jit {

// Why `arch` cannot be used, or nullopt: "sm_10 is not an architecture NVRTC 13.0 compiles for (it knows
// sm_75, sm_80, ...)".
std::optional<std::string> arch_problem(const std::string& arch);

}  // namespace flashtune::jit
