#include "report/tune_progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>

namespace flashtune::report {

TuneProgressPrinter::TuneProgressPrinter(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO) != 0) {}

TuneProgressPrinter::~TuneProgressPrinter() {
  finish();
}

void TuneProgressPrinter::finish() {
  if (open_) std::fputc('\n', stderr);
  open_ = false;
}

std::string TuneProgressPrinter::line(const trial::Progress& p) const {
  std::string s = fmt::format("[{}] compiled {}/{} | verified {} | timed {}", p.phase, p.compiled,
                              p.to_compile, p.verified, p.timed);
  if (p.trials_total > 0) s += fmt::format(" | trials {}/{}", p.trials_done, p.trials_total);
  if (p.best_tflops > 0) s += fmt::format(" | best {:.1f} TFLOP/s ({})", p.best_tflops, p.best_label);
  if (p.eta_s >= 0) s += fmt::format(" | ETA {:.0f} s", p.eta_s);
  return s;
}

void TuneProgressPrinter::progress(const trial::Progress& p) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    // Redraw at most 20 times a second, and always on a new phase.
    if (p.phase == last_phase_ && now - last_draw_ < std::chrono::milliseconds(50)) return;
    last_draw_ = now;
    last_phase_ = p.phase;
    std::string s = line(p);
    if (s.size() > 200) s.resize(200);
    std::fprintf(stderr, "\r\033[K%s", s.c_str());
    std::fflush(stderr);
    open_ = true;
    return;
  }
  const int decile = p.trials_total > 0 ? static_cast<int>(10 * p.trials_done / p.trials_total) : -1;
  if (p.phase != last_phase_ || decile != last_decile_) {
    last_phase_ = p.phase;
    last_decile_ = decile;
    std::fprintf(stderr, "%s\n", line(p).c_str());
  }
}

void TuneProgressPrinter::note(std::string_view message) {
  if (open_) std::fputc('\n', stderr);
  open_ = false;
  std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
}

}  // namespace flashtune::report
