#pragma once
// The error of a malformed search space: where (file:line:column of the offending YAML node) and what was
// expected. It is a flashtune::Error of kind invalid_argument, so callers that only know Error still report
// it.
//
//   throw SpaceError({"x.yaml", 3, 5}, "parameter 'warps': pow2 bounds must be powers of two, got 3");
//   // what(): "x.yaml:3:5: parameter 'warps': pow2 bounds must be powers of two, got 3"
#include <string>

#include "core/error.hpp"
#include "space/source_location.hpp"

namespace flashtune::space {

class SpaceError : public Error {
 public:
  SpaceError(SourceLocation where, std::string message);

  const SourceLocation& where() const noexcept { return where_; }
  const std::string& message() const noexcept { return message_; }  // without the location

 private:
  SourceLocation where_;
  std::string message_;
};

}  // namespace flashtune::space
