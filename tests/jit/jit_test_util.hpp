#pragma once
// Helpers shared by the tests of harness/jit: the fixture directory, scratch directories, requests for the
// tiny fixture kernel, and a guard that fails a test which does not finish in time (instead of hanging
// CTest).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

#include "jit/compile_request.hpp"

namespace flashtune::jit::testing {
namespace fs = std::filesystem;

inline fs::path fixture_dir() {
  return FLASHTUNE_JIT_FIXTURE_DIR;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

// A fresh directory, removed with everything in it at the end of the scope.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("flashtune-jit-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

  // Copies the tiny fixture kernel and its helper header here; returns the kernel's path.
  fs::path copy_tiny_kernel() const {
    fs::copy_file(fixture_dir() / "tiny_kernel.cuh", path_ / "tiny_kernel.cuh");
    fs::copy_file(fixture_dir() / "tiny_helper.cuh", path_ / "tiny_helper.cuh");
    return path_ / "tiny_kernel.cuh";
  }

 private:
  fs::path path_;
};

inline constexpr const char* kTinyBf16 = "scale_kernel<4, __nv_bfloat16>";
inline constexpr const char* kTinyBf16Lowered = "_Z12scale_kernelILi4E13__nv_bfloat16EvPT0_f";

inline CompileRequest tiny_request(const std::string& arch = "sm_90a", fs::path source = {}) {
  CompileRequest r;
  r.source_file = source.empty() ? fixture_dir() / "tiny_kernel.cuh" : source;
  r.name_expressions = {kTinyBf16};
  r.arch = arch;
  return r;
}

// Runs f() on another thread; if it has not returned within `limit`, fails the test and ends the process (a
// hung thread cannot be joined), so that a hang shows up as a failure in seconds.
template <typename F>
auto within(std::chrono::seconds limit, F&& f) {
  auto done = std::async(std::launch::async, std::forward<F>(f));
  if (done.wait_for(limit) != std::future_status::ready) {
    ADD_FAILURE() << "did not finish within " << limit.count() << " s";
    std::fflush(nullptr);
    std::_Exit(1);
  }
  return done.get();
}

}  // namespace flashtune::jit::testing
