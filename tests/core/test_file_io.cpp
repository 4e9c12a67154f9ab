// core/file_io: writes that the disk refuses are errors naming the file; reads refuse what is not a regular
// file or is too large, without blocking.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "core/file_io.hpp"

namespace flashtune {
namespace {
namespace fs = std::filesystem;

fs::path temp_dir() {
  const fs::path d = fs::temp_directory_path() / ("flashtune-file-io-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(FileIo, WriteFileRoundTripsAndTruncates) {
  const fs::path f = temp_dir() / "out.txt";
  write_file(f, "a longer first text");
  write_file(f, "short");
  EXPECT_EQ(read_regular_file(f, 100, "test file"), "short");
  fs::remove_all(f.parent_path());
}

TEST(FileIo, AFullDeviceIsAnErrorNamingTheFile) {
  const std::string m = message_of([] { write_file("/dev/full", std::string(100000, 'x')); });
  EXPECT_NE(m.find("cannot write /dev/full"), std::string::npos) << m;
  EXPECT_NE(m.find("No space left on device"), std::string::npos) << m;
}

TEST(FileIo, AFileSizeLimitIsAnErrorNotASignal) {
  // In a child: lower RLIMIT_FSIZE, ignore SIGXFSZ (as main() does), write past the limit.
  const fs::path dir = temp_dir();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{4096, 4096};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    const std::string m = message_of([&] { write_file_atomically(dir / "big", std::string(100000, 'x')); });
    const bool named =
        m.find("File too large") != std::string::npos && m.find(dir.string()) != std::string::npos;
    const bool cleaned = std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 0;
    ::_exit(named && cleaned ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  fs::remove_all(dir);
}

TEST(FileIo, ReadRefusesSpecialFilesWithoutBlocking) {
  const fs::path dir = temp_dir();
  const fs::path fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(message_of([&] { read_regular_file(fifo, 100, "x"); }).find("a FIFO"), std::string::npos);
  EXPECT_NE(message_of([] { read_regular_file("/dev/zero", 100, "x"); }).find("a character device"),
            std::string::npos);
  EXPECT_NE(message_of([&] { read_regular_file(dir, 100, "x"); }).find("a directory"), std::string::npos);
  try {
    read_regular_file(dir / "missing", 100, "x");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
  std::ofstream(dir / "big") << std::string(101, 'y');
  EXPECT_NE(message_of([&] { read_regular_file(dir / "big", 100, "x"); }).find("larger than the 100 bytes"),
            std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flashtune
