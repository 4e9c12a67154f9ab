#pragma once
// How a sweep reports progress while it runs. The tuner calls it; a printer (report/tune_progress.hpp) draws
// it. The core never prints.
#include <cstddef>
#include <string>
#include <string_view>

namespace flashtune::trial {

struct Progress {
  std::string phase;  // "compiling", "problem 3/8: B16 H16 N1024 d128 bf16", "re-measuring", ...
  std::size_t compiled = 0, to_compile = 0;
  std::size_t verified = 0;  // trials whose output was checked against the reference
  std::size_t timed = 0;     // trials timed on the GPU
  std::size_t trials_done = 0, trials_total = 0;
  double best_tflops = 0;  // the best of the current problem so far (0: none yet)
  std::string best_label;
  double eta_s = -1;  // -1: unknown yet
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void progress(const Progress& p) { (void)p; }
  // A one-line message for people ("no GPU: ...", "results cache: 16 of 16 answered").
  virtual void note(std::string_view message) { (void)message; }
};

}  // namespace flashtune::trial
