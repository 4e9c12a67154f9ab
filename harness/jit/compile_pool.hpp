#pragma once
// Parallel compilation. NVRTC does not compile in parallel across the threads of one process, so the pool
// runs compile worker PROCESSES (flashtune-jit-worker: CPU only, they never touch the GPU) and talks to them
// over pipes, one JSON line per request and per reply. Compiled cubins travel through the CubinCache, not the
// pipes.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "jit/compile_request.hpp"
#include "jit/cubin_cache.hpp"

namespace flashtune {
class WorkerProcess;
}

namespace flashtune::jit {

// The argv of the compile worker: {$FLASHTUNE_JIT_WORKER} when set (a path, no arguments), else
// executable_dir()/flashtune-jit-worker when it exists, else the worker in the build tree. Throws
// Error(not_found) listing the places tried when none exists.
std::vector<std::string> default_worker_command();

// How long a worker may take for one request before it is killed and the request fails: the
// FLASHTUNE_COMPILE_TIMEOUT environment variable (whole seconds, 1..86400), else 600 s. Throws
// Error(invalid_argument) for a malformed value.
std::chrono::seconds default_compile_timeout();

// Not thread-safe: one thread drives a pool (its workers already run in parallel).
class CompilePool {
 public:
  using Progress = std::function<void(std::size_t done, std::size_t total)>;
  // Called once per request as soon as its result is known (cache hits first), on the calling thread, with
  // the request's index; duplicates of a request get their own call.
  using OnResult = std::function<void(std::size_t index, const CompileResult& result)>;

  // Up to `workers` worker processes, started on demand by compile() and kept for later calls. The cache
  // directory is appended to `worker_command` as the last argument. workers == 0 compiles in this process.
  // A worker that has not answered a request within `timeout` is killed.
  explicit CompilePool(int workers, std::vector<std::string> worker_command = default_worker_command(),
                       std::chrono::seconds timeout = default_compile_timeout());
  ~CompilePool();  // noexcept: closes the workers' pipes and reaps them (killing one that does not exit)
  CompilePool(const CompilePool&) = delete;
  CompilePool& operator=(const CompilePool&) = delete;

  // Results in request order, cubins loaded from `cache`. Requests already in the cache are answered here
  // without a worker; identical requests are compiled once. A request whose worker dies, answers garbage,
  // writes a reply line over WorkerProcess::Options::max_line_bytes or does not answer within the timeout
  // gets ok == false with a log starting "compile worker crashed (" saying which, and the exit status or
  // signal; the worker is replaced and the batch goes on. A worker that reports an exception gives ok ==
  // false with the message. Neither is cached. `progress`, if set, is called once per finished request, on
  // this thread. Throws what cache_key() throws (a missing source file), Error(not_found) if the worker
  // cannot be started, and Error(io) when the cache cannot be written (the worker's message names the file).
  std::vector<CompileResult> compile(const std::vector<CompileRequest>& requests, const CubinCache& cache,
                                     const Progress& progress = {}, const OnResult& on_result = {});

 private:
  int workers_;
  std::vector<std::string> command_;
  std::chrono::seconds timeout_;
  std::filesystem::path workers_cache_dir_;  // the cache directory the running workers were started with
  std::vector<std::unique_ptr<WorkerProcess>> procs_;
};

}  // namespace flashtune::jit
