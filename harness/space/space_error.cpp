#include "space/space_error.hpp"

#include <utility>

namespace flashtune::space {

SpaceError::SpaceError(SourceLocation where, std::string message)
    : Error(ErrorKind::invalid_argument, where.to_string() + ": " + message),
      where_(std::move(where)),
      message_(std::move(message)) {}

}  // namespace flashtune::space
