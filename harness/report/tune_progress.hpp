#pragma once
// The sweep's progress printer: on a terminal one line redrawn in place
//   [problem 3/8: B16 H16 N1024 d128 bf16] compiled 120/240 | verified 80 | timed 75 | trials 155/900 |
//   best 285.3 TFLOP/s (block_m=128 ...) | ETA 12 s
// and, when stderr is not a terminal, a plain line per problem and per tenth of the trials. Notes go on their
// own lines either way. Quiet prints notes only.
#include <chrono>
#include <string>

#include "trial/observer.hpp"

namespace flashtune::report {

class TuneProgressPrinter final : public trial::Observer {
 public:
  explicit TuneProgressPrinter(bool quiet = false);
  ~TuneProgressPrinter() override;  // ends an open terminal line
  void progress(const trial::Progress& p) override;
  void note(std::string_view message) override;
  void finish();

 private:
  std::string line(const trial::Progress& p) const;
  bool quiet_;
  bool tty_;
  bool open_ = false;
  std::string last_phase_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace flashtune::report
