// core/worker_process: a child that writes an endless line is cut off at Options::max_line_bytes.
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <string>

#include "core/worker_process.hpp"

namespace flashtune {
namespace {

TEST(WorkerProcess, AnEndlessLineStopsAtTheLimit) {
  WorkerProcess::Options o;
  o.max_line_bytes = 1 << 20;
  WorkerProcess p({"/bin/sh", "-c", "printf 'ok\\n'; exec head -c 50000000 /dev/zero"}, o);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool open = true;
  while (open && std::chrono::steady_clock::now() < deadline) {
    pollfd fd{p.stdout_fd(), POLLIN, 0};
    ::poll(&fd, 1, 100);
    open = p.read_available();
  }
  EXPECT_FALSE(open);
  EXPECT_TRUE(p.overflowed());
  EXPECT_EQ(p.take_line(), std::optional<std::string>("ok"));  // the complete line before it is kept
  // Ended by a signal: SIGKILL, or SIGPIPE when its next write finds the pipe that finish() closed first.
  const std::string ended = p.finish(true);
  EXPECT_TRUE(ended.find("signal 9") != std::string::npos || ended.find("signal 13") != std::string::npos)
      << ended;
}

TEST(WorkerProcess, LinesUnderTheLimitPass) {
  WorkerProcess::Options o;
  o.max_line_bytes = 1000;
  WorkerProcess p({"/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do printf '%0900d\\n' 0; done"}, o);
  int lines = 0;
  bool open = true;
  while (open) {
    pollfd fd{p.stdout_fd(), POLLIN, 0};
    ::poll(&fd, 1, 1000);
    open = p.read_available();
    while (auto l = p.take_line()) {
      EXPECT_EQ(l->size(), 900u);
      ++lines;
    }
  }
  EXPECT_FALSE(p.overflowed());
  EXPECT_EQ(lines, 10);
}

}  // namespace
}  // namespace flashtune
