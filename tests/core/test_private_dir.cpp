// core/private_dir: the cache directory is created 0700 and refused when another user owns it or others can
// write it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "core/private_dir.hpp"

namespace flashtune {
namespace {
namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("flashtune-private-" + std::to_string(::getpid()));
  TempDir() { fs::remove_all(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

TEST(PrivateDir, CreatesEveryMissingComponent0700) {
  TempDir t;
  const fs::path deep = t.path / "a" / "b";
  ensure_private_dir(deep);
  EXPECT_EQ(mode_of(t.path), 0700u);
  EXPECT_EQ(mode_of(t.path / "a"), 0700u);
  EXPECT_EQ(mode_of(deep), 0700u);
  EXPECT_FALSE(not_private_reason(deep).has_value());
  ensure_private_dir(deep);  // idempotent
}

TEST(PrivateDir, RefusesADirectoryOthersCanWrite) {
  TempDir t;
  ensure_private_dir(t.path);
  ::chmod(t.path.c_str(), 0777);
  try {
    ensure_private_dir(t.path);
    ADD_FAILURE() << "a world-writable directory was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("writable by every user (mode 0777"), std::string::npos) << e.what();
  }
  ::chmod(t.path.c_str(), 0770);
  ASSERT_TRUE(not_private_reason(t.path).has_value());
  EXPECT_NE(not_private_reason(t.path)->find("its group"), std::string::npos);
  ::chmod(t.path.c_str(), 0755);  // readable by others is fine: only writes change what flashtune runs
  EXPECT_FALSE(not_private_reason(t.path).has_value());
}

TEST(PrivateDir, RefusesADirectoryOfAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another user";
  TempDir t;
  ensure_private_dir(t.path);
  ASSERT_EQ(::chown(t.path.c_str(), 65534, 65534), 0);
  try {
    ensure_private_dir(t.path);
    ADD_FAILURE() << "another user's directory was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("owned by uid 65534"), std::string::npos) << e.what();
  }
}

TEST(PrivateDir, AFileInTheWayIsAnError) {
  TempDir t;
  fs::create_directories(t.path);
  const fs::path file = t.path / "f";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fclose(f);
  }
  EXPECT_THROW(ensure_private_dir(file / "cache"), Error);
  EXPECT_THROW(ensure_private_dir(file), Error);
}

}  // namespace
}  // namespace flashtune
