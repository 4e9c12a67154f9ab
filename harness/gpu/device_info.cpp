#include "gpu/device_info.hpp"

#include <fmt/format.h>

#include "gpu/detail/driver_table.hpp"

namespace flashtune::gpu {
namespace {

int attribute(CUdevice dev, CUdevice_attribute attr, const char* what) {
  int value = 0;
  detail::check(detail::driver().cuDeviceGetAttribute(&value, attr, dev), "cuDeviceGetAttribute", what);
  return value;
}

// For the informational clock and bus fields: 0 where the driver does not report them (they are deprecated in
// the CUDA 13 runtime), rather than failing the whole query.
int optional_attribute(CUdevice dev, CUdevice_attribute attr) {
  int value = 0;
  return detail::driver().cuDeviceGetAttribute(&value, attr, dev) == CUDA_SUCCESS ? value : 0;
}

std::string format_uuid(const CUuuid& id) {
  const auto* b = reinterpret_cast<const unsigned char*>(id.bytes);
  return fmt::format(
      "GPU-{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:"
      "02x}",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

}  // namespace

GpuIdentity DeviceInfo::identity() const {
  return GpuIdentity{name, cc_major, cc_minor, sm_count, smem_optin_per_block, l2_bytes, driver_version};
}

std::string DeviceInfo::arch() const {
  return arch_name(cc_major, cc_minor);
}

double DeviceInfo::peak_dram_bytes_per_s() const {
  return 2.0 * static_cast<double>(mem_clock_khz) * 1e3 * static_cast<double>(mem_bus_width) / 8.0;
}

std::string DeviceInfo::to_string() const {
  return fmt::format("{} ({}, {} SMs, {:.1f} GiB, driver {}.{})", name, arch(), sm_count,
                     static_cast<double>(total_mem_bytes) / (1024.0 * 1024.0 * 1024.0), driver_version / 1000,
                     driver_version % 1000 / 10);
}

int device_count() {
  int count = 0;
  detail::check(detail::driver().cuDeviceGetCount(&count), "cuDeviceGetCount");
  return count;
}

DeviceInfo query_device(int ordinal) {
  const detail::DriverTable& d = detail::driver();
  const CUdevice dev = detail::device_handle(ordinal);
  const std::string where = fmt::format("device {}", ordinal);

  DeviceInfo info;
  info.ordinal = ordinal;
  char name[256] = {};
  detail::check(d.cuDeviceGetName(name, sizeof(name) - 1, dev), "cuDeviceGetName", where);
  info.name = name;

  info.cc_major = attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "COMPUTE_CAPABILITY_MAJOR");
  info.cc_minor = attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "COMPUTE_CAPABILITY_MINOR");
  info.sm_count = attribute(dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "MULTIPROCESSOR_COUNT");
  info.l2_bytes = attribute(dev, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, "L2_CACHE_SIZE");
  info.smem_optin_per_block = attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                                        "MAX_SHARED_MEMORY_PER_BLOCK_OPTIN");
  info.smem_per_sm = attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR,
                               "MAX_SHARED_MEMORY_PER_MULTIPROCESSOR");
  info.smem_per_block_default =
      attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, "MAX_SHARED_MEMORY_PER_BLOCK");
  info.smem_reserved_per_block = attribute(dev, CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK,
                                           "RESERVED_SHARED_MEMORY_PER_BLOCK");
  info.regs_per_sm = attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR,
                               "MAX_REGISTERS_PER_MULTIPROCESSOR");
  info.regs_per_block =
      attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK, "MAX_REGISTERS_PER_BLOCK");
  info.max_threads_per_sm =
      attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, "MAX_THREADS_PER_MULTIPROCESSOR");
  info.max_threads_per_block =
      attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "MAX_THREADS_PER_BLOCK");
  info.max_blocks_per_sm =
      attribute(dev, CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR, "MAX_BLOCKS_PER_MULTIPROCESSOR");
  info.warp_size = attribute(dev, CU_DEVICE_ATTRIBUTE_WARP_SIZE, "WARP_SIZE");
  info.sm_clock_khz = optional_attribute(dev, CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
  info.mem_clock_khz = optional_attribute(dev, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
  info.mem_bus_width = optional_attribute(dev, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);

  size_t total = 0;
  detail::check(d.cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem", where);
  info.total_mem_bytes = static_cast<long long>(total);
  detail::check(d.cuDriverGetVersion(&info.driver_version), "cuDriverGetVersion");

  CUuuid id = {};
  detail::check(d.cuDeviceGetUuid(&id, dev), "cuDeviceGetUuid", where);
  info.uuid = format_uuid(id);
  return info;
}

}  // namespace flashtune::gpu
