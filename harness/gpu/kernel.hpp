#pragma once
// One kernel of a loaded Module: its compiled facts and the per-kernel settings a launch depends on.
// A Kernel does not own anything: it is valid while its Module lives.
#include <string>
#include <utility>

struct CUfunc_st;

namespace flashtune::gpu {

// What the compiler decided, as cuFuncGetAttribute reports it.
struct KernelAttributes {
  int num_regs = 0;                // per thread
  int local_bytes_per_thread = 0;  // spills and local arrays
  int static_smem_bytes = 0;
  int const_bytes = 0;
  int max_threads_per_block = 0;  // the most this kernel can launch with (registers, __launch_bounds__)
  int ptx_version = 0;            // the virtual architecture compiled for, major*10+minor (80 for sm_80)
  int binary_version = 0;         // the architecture of the binary that runs (90 on an H100)
  int max_dynamic_smem_bytes =
      0;                      // the current opt-in limit (48 KiB minus static until set_max_dynamic_smem)
  int carveout_percent = -1;  // preferred shared memory carveout, -1 when left to the driver
};

class Kernel {
 public:
  Kernel() = default;  // no kernel: launching it fails
  Kernel(CUfunc_st* function, std::string name) : function_(function), name_(std::move(name)) {}

  const std::string& name() const noexcept { return name_; }  // the lowered (mangled) name
  CUfunc_st* native() const noexcept { return function_; }

  KernelAttributes attributes() const;  // read afresh on every call

  // Allows launches with up to `bytes` of dynamic shared memory. Needed above 48 KiB; the most is the
  // device's smem_optin_per_block minus static_smem_bytes. Over that limit: DriverError with kind
  // resource_exceeded.
  void set_max_dynamic_smem(int bytes);
  // Hints the L1 / shared memory split, in percent of the maximum shared memory (0..100, or -1 for no
  // preference).
  void set_carveout_percent(int percent);

  // How many blocks of `threads` threads using `dynamic_smem` bytes fit on one SM at once. 0 means the launch
  // cannot run (note: the driver also answers 0, with success, when dynamic_smem exceeds the limit that
  // set_max_dynamic_smem set).
  int max_active_blocks_per_sm(int threads, int dynamic_smem) const;

 private:
  int attribute(int which, const char* what) const;

  CUfunc_st* function_ = nullptr;
  std::string name_;
};

}  // namespace flashtune::gpu
