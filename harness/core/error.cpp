#include "core/error.hpp"

#include "core/enum_names.hpp"

namespace flashtune {

namespace {
constexpr EnumNames<ErrorKind, 8> kNames{{{
    {ErrorKind::invalid_argument, "invalid_argument"},
    {ErrorKind::not_found, "not_found"},
    {ErrorKind::no_gpu, "no_gpu"},
    {ErrorKind::driver, "driver"},
    {ErrorKind::compile, "compile"},
    {ErrorKind::resource_exceeded, "resource_exceeded"},
    {ErrorKind::io, "io"},
    {ErrorKind::internal, "internal"},
}}};
}  // namespace

std::string_view to_string(ErrorKind k) {
  return kNames.name(k, "unknown");
}

}  // namespace flashtune
