#include "gpu/module.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <utility>

#include "core/error.hpp"
#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {
namespace {

bool is_binary(std::span<const char> image) {
  static constexpr char kElf[] = {'\x7f', 'E', 'L', 'F'};
  static constexpr char kFatbin[] = {'\x50', '\xed', '\x55', '\xba'};  // 0xBA55ED50, little-endian
  auto starts_with = [&](const char(&magic)[4]) {
    return image.size() >= 4 && std::memcmp(image.data(), magic, 4) == 0;
  };
  return starts_with(kElf) || starts_with(kFatbin);
}

}  // namespace

Module Module::load(std::span<const char> image, std::string_view context) {
  if (image.empty())
    throw Error(ErrorKind::invalid_argument, fmt::format("Module::load({}): empty image", context));
  const bool binary = is_binary(image);
  // PTX is read up to its NUL: copy it when the span has none.
  std::string ptx;
  const void* data = image.data();
  if (!binary && image.back() != '\0') {
    ptx.assign(image.data(), image.size());
    data = ptx.c_str();
  }

  char error_log[8192] = {};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void* values[] = {error_log, reinterpret_cast<void*>(static_cast<std::uintptr_t>(sizeof(error_log) - 1))};

  CUmodule module = nullptr;
  CUresult r = detail::driver().cuModuleLoadDataEx(&module, data, 2, options, values);
  if (r != CUDA_SUCCESS) {
    const std::string where = fmt::format("{}{}{} bytes", context, context.empty() ? "" : ", ", image.size());
    std::string_view log(error_log, std::strlen(error_log));
    throw detail::driver_error(r, "cuModuleLoadDataEx",
                               fmt::format("{}, {}", binary ? "binary" : "PTX", where), ErrorKind::driver,
                               log);
  }
  return Module(module);
}

Module::~Module() {
  unload();
}

Module::Module(Module&& other) noexcept : module_(std::exchange(other.module_, nullptr)) {}

Module& Module::operator=(Module&& other) noexcept {
  if (this != &other) {
    unload();
    module_ = std::exchange(other.module_, nullptr);
  }
  return *this;
}

Kernel Module::kernel(const std::string& lowered_name) const {
  if (module_ == nullptr) {
    throw Error(ErrorKind::internal, fmt::format("Module::kernel({}): no module loaded", lowered_name));
  }
  CUfunction function = nullptr;
  detail::check(detail::driver().cuModuleGetFunction(&function, module_, lowered_name.c_str()),
                "cuModuleGetFunction", lowered_name);
  return Kernel(function, lowered_name);
}

void Module::unload() noexcept {
  if (module_ == nullptr) return;
  detail::log_failure(detail::driver().cuModuleUnload(module_), "cuModuleUnload");
  module_ = nullptr;
}

}  // namespace flashtune::gpu
