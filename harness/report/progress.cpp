#include "report/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace flashtune::report {

Progress::Progress(std::string label, bool quiet)
    : label_(std::move(label)), quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0) {}

void Progress::update(std::size_t done, std::size_t total) {
  if (quiet_ || total == 0) return;
  if (tty_) {
    std::fprintf(stderr, "\r%s %zu/%zu", label_.c_str(), done, total);
    std::fflush(stderr);
    open_ = true;
    return;
  }
  const int decile = static_cast<int>(10 * done / total);
  if (decile != last_decile_) {
    last_decile_ = decile;
    std::fprintf(stderr, "%s %zu/%zu\n", label_.c_str(), done, total);
  }
}

void Progress::finish() {
  if (open_) std::fputc('\n', stderr);
  open_ = false;
}

}  // namespace flashtune::report
