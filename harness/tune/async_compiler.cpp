#include "tune/async_compiler.hpp"

#include <chrono>

#include "core/error.hpp"

namespace flashtune::tune {
namespace {
struct Cancelled {};
}  // namespace

AsyncCompiler::AsyncCompiler(std::vector<jit::CompileRequest> requests, int jobs, jit::CubinCache cache)
    : requests_(std::move(requests)), cache_(std::move(cache)), results_(requests_.size()) {
  if (jobs <= 0) jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  thread_ = std::jthread([this, jobs] { work(jobs); });
}

AsyncCompiler::~AsyncCompiler() {
  {
    std::lock_guard lock(mutex_);
    cancel_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void AsyncCompiler::work(int jobs) {
  const auto start = std::chrono::steady_clock::now();
  try {
    jit::CompilePool pool(jobs);
    pool.compile(requests_, cache_, {}, [&](std::size_t i, const jit::CompileResult& r) {
      std::lock_guard lock(mutex_);
      if (cancel_) throw Cancelled{};  // unwinds the pool's dispatch, which kills busy workers
      results_[i] = r;
      ++done_;
      wall_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ready_.notify_all();
    });
  } catch (const Cancelled&) {
  } catch (...) {
    std::lock_guard lock(mutex_);
    error_ = std::current_exception();
    ready_.notify_all();
  }
}

const jit::CompileResult& AsyncCompiler::wait(std::size_t i) {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return results_.at(i).has_value() || error_; });
  if (!results_[i] && error_) std::rethrow_exception(error_);
  return *results_[i];
}

std::size_t AsyncCompiler::done() const {
  std::lock_guard lock(mutex_);
  return done_;
}

double AsyncCompiler::wall_s() const {
  std::lock_guard lock(mutex_);
  return wall_s_;
}

}  // namespace flashtune::tune
