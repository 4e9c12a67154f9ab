// ResultStore's read-only access (show, export, compare, report): it never creates, writes or migrates a
// file, refuses what is not a regular file, and refuses a damaged database instead of answering from it.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "store/detail/sqlite.hpp"
#include "store/result_store.hpp"
#include "store_test_util.hpp"

namespace flashtune::store {
namespace {
using namespace testing;
using Access = ResultStore::Access;

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Error error_of(const fs::path& path, Access access) {
  try {
    ResultStore db(path, access);
  } catch (const Error& e) {
    return e;
  }
  return Error(ErrorKind::internal, "no error");
}

TEST(ReadOnlyStore, AMissingFileIsNotCreated) {
  ScratchDir dir;
  const fs::path path = dir / "sub" / "typo.db";
  const Error e = error_of(path, Access::read_only);
  EXPECT_EQ(e.kind(), ErrorKind::not_found) << e.what();
  EXPECT_NE(std::string(e.what()).find("no results database at " + path.string()), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "sub"));
}

TEST(ReadOnlyStore, SpecialFilesAreRefusedByReadersAndWriters) {
  for (Access a : {Access::read_only, Access::read_write}) {
    const Error e = error_of("/dev/null", a);
    EXPECT_EQ(e.kind(), ErrorKind::io) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  for (const char* junk : {"/dev/null-journal", "/dev/null-wal", "/dev/null-shm"})
    EXPECT_FALSE(fs::exists(junk)) << junk;
}

TEST(ReadOnlyStore, ReadingLeavesAReadOnlyFileAsItWas) {
  ScratchDir dir;
  const fs::path path = dir / "r.db";
  write_sample_database(path, 5);
  fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const std::string before = bytes_of(path);
  {
    const ResultStore db(path, Access::read_only);
    EXPECT_EQ(db.best_entries().size(), 5u);
    EXPECT_THROW(const_cast<ResultStore&>(db).put_best(entry_for(problem(512))), Error);
  }
  EXPECT_EQ(bytes_of(path), before);
  for (const char* suffix : {"-wal", "-journal"}) EXPECT_FALSE(fs::exists(path.string() + suffix)) << suffix;
}

// An older schema is migrated in a private in-memory copy: the file keeps its version and its bytes.
TEST(ReadOnlyStore, AnOlderSchemaIsReadWithoutMigratingTheFile) {
  ScratchDir dir;
  const fs::path path = dir / "v1.db";
  fs::copy_file(FLASHTUNE_V1_DB, path);
  const std::string before = bytes_of(path);
  {
    const ResultStore db(path, Access::read_only);
    EXPECT_EQ(db.best_entries().size(), 32u);
    ASSERT_EQ(db.sweeps().size(), 1u);
    EXPECT_EQ(db.trials(db.sweeps()[0].id).size(), 2256u);
  }
  EXPECT_EQ(bytes_of(path), before);
  detail::Database raw(path, detail::Database::Mode::read_only);
  detail::Statement v(raw, "PRAGMA user_version");
  ASSERT_TRUE(v.step());
  EXPECT_EQ(v.int32(0), 1);
}

// Flipped bits that sqlite does not notice on open: readers (integrity_check) and writers (quick_check)
// refuse the file with a message that says so, instead of showing changed or missing entries.
TEST(ReadOnlyStore, ADamagedDatabaseIsRefused) {
  ScratchDir dir;
  const fs::path pristine = dir / "good.db";
  write_sample_database(pristine, 400);
  const fs::path damaged = dir / "damaged.db";
  ASSERT_TRUE(write_damaged_copy(pristine, damaged));
  for (Access a : {Access::read_only, Access::read_write}) {
    const Error e = error_of(damaged, a);
    EXPECT_EQ(e.kind(), ErrorKind::io) << e.what();
    EXPECT_NE(std::string(e.what()).find(damaged.string() + " is damaged"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ResultStore(pristine, Access::read_only).best_entries().size(), 400u);
}

}  // namespace
}  // namespace flashtune::store
