#pragma once
// Compilation that runs ahead of timing: a CompilePool drives its worker processes from a background thread
// while the tuner's thread times the kernels already compiled.
//
//   AsyncCompiler c(requests, /*jobs=*/16, cache);   // starts at once
//   const jit::CompileResult& r = c.wait(i);         // blocks until request i is compiled
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "jit/compile_pool.hpp"
#include "jit/cubin_cache.hpp"

namespace flashtune::tune {

class AsyncCompiler {
 public:
  // jobs <= 0: one worker process per core.
  AsyncCompiler(std::vector<jit::CompileRequest> requests, int jobs, jit::CubinCache cache);
  // noexcept: stops early if still compiling (its busy workers are killed) and joins the thread.
  ~AsyncCompiler();
  AsyncCompiler(const AsyncCompiler&) = delete;
  AsyncCompiler& operator=(const AsyncCompiler&) = delete;

  // The result of request i, once there is one. Rethrows what the compile thread threw (a missing source, a
  // worker that cannot start).
  const jit::CompileResult& wait(std::size_t i);

  std::size_t size() const { return requests_.size(); }
  std::size_t done() const;
  // Seconds from the start to the latest result (the compile phase's wall time once all are done).
  double wall_s() const;

 private:
  void work(int jobs);

  std::vector<jit::CompileRequest> requests_;
  jit::CubinCache cache_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<std::optional<jit::CompileResult>> results_;
  std::size_t done_ = 0;
  double wall_s_ = 0;
  bool cancel_ = false;
  std::exception_ptr error_;
  std::jthread thread_;
};

}  // namespace flashtune::tune
