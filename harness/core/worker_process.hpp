#pragma once
// One child process that speaks a line protocol: requests on its stdin, replies on its stdout, its stderr
// shared with ours (or appended to a file: Options::stderr_file). Only the pipes' parent ends are kept here;
// they are close-on-exec, so a later child never holds another child's pipe open (which would hide that
// child's EOF).
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flashtune {

class WorkerProcess {
 public:
  struct Options {
    // Where the child's stderr goes: empty = ours; else this file, created or appended to (so that what a
    // child such as compute-sanitizer reports is kept apart and attributed to it).
    std::filesystem::path stderr_file;
    // How long finish(false) and the destructor wait for the child to exit after closing its stdin, before
    // killing it.
    std::chrono::milliseconds exit_grace{1000};
    // The longest reply line kept: a child that writes more without a newline is misbehaving, and
    // read_available() stops reading it (overflowed() says so) instead of growing without bound.
    std::size_t max_line_bytes = std::size_t{16} << 20;
  };

  // Starts argv[0] (looked up in PATH when it has no slash) with argv. Throws Error(not_found) when it cannot
  // be started, Error(internal) when the pipes cannot be made, Error(io) when stderr_file cannot be opened.
  explicit WorkerProcess(const std::vector<std::string>& argv) : WorkerProcess(argv, Options{}) {}
  WorkerProcess(const std::vector<std::string>& argv, const Options& options);
  // noexcept: closes the child's stdin (a well-behaved worker exits on EOF), waits for it a moment, then
  // kills and reaps it.
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  int stdout_fd() const { return out_; }

  // Writes `line` and a newline. False when the child no longer reads (it died): never raises SIGPIPE.
  bool send_line(const std::string& line);

  // Reads what the child has written (call when poll() reports stdout_fd() readable or hung up). False at end
  // of file or on a read error, i.e. the child closed its stdout or died, and when a line outgrew
  // Options::max_line_bytes (then overflowed() is true: end the child with finish(true)).
  bool read_available();
  bool overflowed() const { return overflowed_; }

  // The next complete line read so far, without its newline.
  std::optional<std::string> take_line();
  // Whether a complete line is waiting to be taken.
  bool has_line() const { return buffer_.find('\n') != std::string::npos; }

  // Ends the child (SIGKILL first when `kill` is true, or when it does not exit within Options::exit_grace),
  // reaps it and describes how it ended: "exit status 3", "signal 11: Segmentation fault". Idempotent.
  std::string finish(bool kill);

 private:
  pid_t pid_ = -1;
  std::chrono::milliseconds exit_grace_{1000};
  std::size_t max_line_bytes_;
  bool overflowed_ = false;
  std::size_t open_line_bytes_ = 0;  // bytes read since the last newline
  int in_ = -1;                      // the child's stdin, our write end
  int out_ = -1;                     // the child's stdout, our read end
  std::string buffer_;
  std::string ended_;  // finish()'s description, once reaped
};

}  // namespace flashtune
