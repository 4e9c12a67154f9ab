#include "core/worker_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.hpp"

extern char** environ;

namespace flashtune {
namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "signal " + std::to_string(WTERMSIG(status)) + ": " + ::strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// Waits up to `grace` for the child to exit; true (and its status) when it did.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds grace, int& status) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (true) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

WorkerProcess::WorkerProcess(const std::vector<std::string>& argv, const Options& options)
    : exit_grace_(options.exit_grace), max_line_bytes_(options.max_line_bytes) {
  if (argv.empty()) throw Error(ErrorKind::internal, "worker process: empty command");
  int err_fd = -1;
  if (!options.stderr_file.empty()) {
    err_fd = ::open(options.stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_fd < 0)
      throw Error(ErrorKind::io, "cannot open " + options.stderr_file.string() + ": " + strerror(errno));
  }
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
    close_fd(err_fd);
    throw Error(ErrorKind::internal, std::string("pipe2: ") + strerror(errno));
  }
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    close_fd(err_fd);
    throw Error(ErrorKind::internal, std::string("pipe2: ") + strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  if (err_fd >= 0) posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  close_fd(err_fd);
  in_ = in_pipe[1];
  out_ = out_pipe[0];
  if (rc != 0) {
    close_fd(in_);
    close_fd(out_);
    pid_ = -1;
    throw Error(ErrorKind::not_found, "cannot start worker '" + argv[0] + "': " + strerror(rc));
  }
  ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
}

WorkerProcess::~WorkerProcess() {
  finish(false);
}

bool WorkerProcess::send_line(const std::string& line) {
  if (in_ < 0) return false;
  const std::string data = line + "\n";
  // Block SIGPIPE on this thread while writing, and swallow the one our write raises, so that a dead child
  // shows up as EPIPE here instead of killing the process.
  sigset_t pipe_set, old_set, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  std::size_t written = 0;
  bool ok = true;
  while (written < data.size()) {
    ssize_t n = ::write(in_, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (!ok && errno == EPIPE && !was_pending) {
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return ok;
}

bool WorkerProcess::read_available() {
  if (out_ < 0 || overflowed_) return false;
  char chunk[4096];
  while (true) {
    ssize_t n = ::read(out_, chunk, sizeof chunk);
    if (n > 0) {
      const std::string_view got(chunk, static_cast<std::size_t>(n));
      buffer_.append(got);
      // Only the bytes after the last newline (the line still being written) can outgrow the limit.
      const std::size_t nl = got.rfind('\n');
      open_line_bytes_ = nl == std::string_view::npos ? open_line_bytes_ + got.size() : got.size() - nl - 1;
      if (open_line_bytes_ > max_line_bytes_) {
        overflowed_ = true;
        return false;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // 0: end of file; < 0: a read error
  }
}

std::optional<std::string> WorkerProcess::take_line() {
  std::size_t nl = buffer_.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  return line;
}

std::string WorkerProcess::finish(bool kill) {
  close_fd(in_);
  close_fd(out_);
  if (pid_ < 0) return ended_;
  int status = 0;
  if (kill || !wait_for_exit(pid_, exit_grace_, status)) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  ended_ = describe(status);
  pid_ = -1;
  return ended_;
}

}  // namespace flashtune
