#pragma once
// The process-wide state of the Python binding: each device's primary context (retained once, kept until the
// process ends) and the runtime::Runtime objects (one per forced template, made when first needed, never
// destroyed: the driver frees their modules and buffers when the process exits, after the interpreter is
// gone).
//
//   DeviceScope scope(ordinal);                // the device's primary context is current on this thread
//   runtime_for("").attention(call, stream);   // the runtime's own choice of template
//
// Thread-safe.
#include <filesystem>
#include <string>

#include "gpu/current_context.hpp"

namespace flashtune::runtime {
class Runtime;
}

namespace flashtune::python {

// Makes the primary context of device `ordinal` current on this thread while it lives, then restores the
// context that was current before (none, or the caller's own). Throws Error(no_gpu) without a driver or
// device, ArgumentError(device) for an ordinal past the devices there are.
class DeviceScope {
 public:
  explicit DeviceScope(int ordinal);
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  gpu::ContextScope scope_;
};

// The primary context of `ordinal` (retained on first use), as a handle and its id.
struct PrimaryContext {
  CUctx_st* context = nullptr;
  unsigned long long id = 0;
};
const PrimaryContext& primary_context(int ordinal);

// The runtime that runs `template_id` ("": the runtime's choice among its default candidates), on the
// default results store, or on the loaded bundle: load_bundle's, else $FLASHTUNE_BUNDLE when the first
// runtime is made.
runtime::Runtime& runtime_for(const std::string& template_id);

// Runs `bundle` (a folder of `flashtune export --format bundle`; empty: the results store again) from now on.
// Reads it at once: a bad bundle throws (Error(not_found), Error(io)) and changes nothing. Runtimes made
// before are kept, unused.
void load_bundle(const std::filesystem::path& bundle);
std::filesystem::path loaded_bundle();  // empty: none

}  // namespace flashtune::python
