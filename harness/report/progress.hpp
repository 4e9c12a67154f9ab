#pragma once
// The one progress reporter: a rewritten line on a terminal, a line per 10% (or per step for short work) when
// stderr is not a terminal, nothing when quiet.
#include <cstddef>
#include <string>

namespace flashtune::report {

class Progress {
 public:
  Progress(std::string label, bool quiet = false);
  void update(std::size_t done, std::size_t total);
  void finish();

 private:
  std::string label_;
  bool quiet_;
  bool tty_;
  int last_decile_ = -1;
  bool open_ = false;
};

}  // namespace flashtune::report
