#include "space/source_location.hpp"

#include <fmt/format.h>

namespace flashtune::space {

std::string SourceLocation::to_string() const {
  if (line <= 0) return file;
  if (column <= 0) return fmt::format("{}:{}", file, line);
  return fmt::format("{}:{}:{}", file, line, column);
}

}  // namespace flashtune::space
