#include "core/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>

#include "core/error.hpp"

namespace flashtune {
namespace fs = std::filesystem;
namespace {

std::string file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Writes all of `bytes` to `fd`, then closes it; the errno of the first failure, or 0.
int write_and_close(int fd, std::string_view bytes) {
  int err = 0;
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  return err;
}

fs::path temp_name(const fs::path& target) {
  static std::atomic<unsigned> counter{0};
  static const unsigned tag = std::random_device{}();
  return fs::path(target.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) +
                  "." + std::to_string(tag));
}

}  // namespace

void write_file(const fs::path& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorKind::io, "cannot write " + path.string() + ": " + std::strerror(errno));
  if (const int err = write_and_close(fd, bytes); err != 0)
    throw Error(ErrorKind::io, "cannot write " + path.string() + ": " + std::strerror(err));
}

void write_file_atomically(const fs::path& target, std::string_view bytes) {
  const fs::path tmp = temp_name(target);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(ErrorKind::io, "cannot write " + tmp.string() + ": " + std::strerror(errno));
  if (const int err = write_and_close(fd, bytes); err != 0) {
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::io, "cannot write " + tmp.string() + ": " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::io,
                "cannot rename " + tmp.string() + " to " + target.string() + ": " + std::strerror(err));
  }
}

std::string read_regular_file(const fs::path& path, std::size_t max_bytes, std::string_view what) {
  const std::string name = std::string(what) + " " + path.string();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    throw Error(err == ENOENT ? ErrorKind::not_found : ErrorKind::io,
                name + ": cannot read: " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) throw Error(ErrorKind::io, name + ": cannot read: " + file_kind(st.st_mode));
  // O_NONBLOCK: should the path have become a FIFO since the stat, opening it does not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(ErrorKind::io, name + ": cannot read: " + std::strerror(errno));
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::io, name + ": cannot read: not a regular file");
  }
  std::string out;
  char chunk[65536];
  while (true) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorKind::io, name + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      throw Error(ErrorKind::io, name + ": larger than the " + std::to_string(max_bytes) + " bytes allowed");
    }
    out.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

void finish_stdout() {
  errno = 0;
  std::cout.flush();
  const bool cout_failed = std::cout.fail();
  int err = errno;
  const bool c_failed = std::fflush(stdout) != 0 || std::ferror(stdout) != 0;
  if (err == 0) err = errno;
  if (cout_failed || c_failed)
    throw Error(ErrorKind::io, std::string("cannot write standard output") +
                                   (err != 0 ? std::string(": ") + std::strerror(err) : std::string()));
}

}  // namespace flashtune
