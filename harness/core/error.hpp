#pragma once
// The one exception type of flashtune: a kind (what went wrong, as a value callers can switch on) and a
// message that names the failing call and its context ("cuLaunchKernel(fa2_fwd<128,64,...>):
// CUDA_ERROR_INVALID_VALUE").
#include <stdexcept>
#include <string>
#include <string_view>

namespace flashtune {

enum class ErrorKind {
  invalid_argument,   // bad input from the user (CLI, problem, configuration)
  not_found,          // a file, template or kernel that should exist does not
  no_gpu,             // no driver or no device: timing is impossible, compile-time work is not
  driver,             // a CUDA driver API call failed
  compile,            // NVRTC failed to compile
  resource_exceeded,  // a configuration needs more shared memory / registers than the device has
  io,                 // file system
  internal,           // a flashtune bug
};

std::string_view to_string(ErrorKind k);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace flashtune
