#include "core/error.hpp"

namespace flashtune {

std::string_view to_string(ErrorKind k) {
  switch (k) {
    case ErrorKind::invalid_argument:
      return "invalid_argument";
    case ErrorKind::not_found:
      return "not_found";
    case ErrorKind::no_gpu:
      return "no_gpu";
    case ErrorKind::driver:
      return "driver";
    case ErrorKind::compile:
      return "compile";
    case ErrorKind::resource_exceeded:
      return "resource_exceeded";
    case ErrorKind::io:
      return "io";
    case ErrorKind::internal:
      return "internal";
  }
  return "unknown";
}

}  // namespace flashtune
