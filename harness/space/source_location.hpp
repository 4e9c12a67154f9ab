#pragma once
// A place in a search-space file, for error messages and pruning reasons: "spaces/x.yaml:3:7".
//
//   SourceLocation{"fa2_fwd.yaml", 14, 5}.to_string()  // "fa2_fwd.yaml:14:5"
//   SourceLocation{"fa2_fwd.yaml"}.to_string()         // "fa2_fwd.yaml" (line unknown)
#include <string>

namespace flashtune::space {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown (then the column is ignored)
  int column = 0;  // 1-based; 0 = unknown

  std::string to_string() const;
  friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};

}  // namespace flashtune::space
