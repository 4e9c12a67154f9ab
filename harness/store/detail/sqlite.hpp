#pragma once
// A thin RAII layer over the SQLite C API, for harness/store only: a connection, a prepared statement and a
// write transaction. Every sqlite call is checked; a failure throws SqliteError (an Error of kind io) naming
// the call, what it was doing, the database path and sqlite's message:
//
//   sqlite3_step(INSERT INTO trials ...) on /home/me/.cache/flashtune/flashtune.db: FOREIGN KEY constraint
//   failed
//
// Values reach SQL only through bound parameters. Destructors never throw: they log a failure to stderr.
// sqlite3.h stays in the .cpp; this header only names the handle types.
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/error.hpp"

extern "C" {
struct sqlite3;
struct sqlite3_stmt;
}

namespace flashtune::store::detail {

class SqliteError : public Error {
 public:
  SqliteError(const std::string& what, int code, std::string message)
      : Error(ErrorKind::io, what), code_(code), message_(std::move(message)) {}
  // The primary result code (SQLITE_BUSY, SQLITE_NOTADB, ...).
  int code() const noexcept { return code_; }
  // sqlite's own words: "file is not a database".
  const std::string& message() const noexcept { return message_; }

 private:
  int code_;
  std::string message_;
};

bool is_not_a_database(const SqliteError& e);  // SQLITE_NOTADB or SQLITE_CORRUPT

class Database {
 public:
  enum class Mode {
    read_write,  // created when missing; a file that exists but cannot be written is an error (sqlite would
                 // silently open it read-only)
    read_only,   // never created or written (SQLITE_OPEN_READONLY); the file must exist
    immutable,   // read_only, and sqlite assumes nobody writes it meanwhile (no -shm needed): for a WAL
                 // database in a directory this user cannot write
  };
  explicit Database(std::filesystem::path path, Mode mode = Mode::read_write);
  // A private in-memory copy of `source` (sqlite's backup API), named like it in messages: for reading an
  // older schema migrated without writing the file.
  static std::unique_ptr<Database> copy_in_memory(const Database& source);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return path_; }

  void busy_timeout(int ms);
  // Runs SQL without parameters or results (schema, pragmas): one or more statements.
  void exec(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  std::int64_t changes() const;  // rows changed by the last statement

  // Throws SqliteError unless rc is SQLITE_OK (or SQLITE_ROW / SQLITE_DONE).
  void check(int rc, std::string_view call, std::string_view context = {}) const;
  [[noreturn]] void fail(int rc, std::string_view call, std::string_view context) const;

 private:
  Database() = default;
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view v);  // 1-based, as in SQL
  Statement& bind(int index, double v);            // NaN is stored as NULL (sqlite's rule), read back as NaN
  Statement& bind(int index, const std::optional<double>& v) {
    return v ? bind(index, *v) : bind_null(index);
  }
  template <std::integral T>
  Statement& bind(int index, T v) {
    return bind_int64(index, static_cast<std::int64_t>(v));
  }
  Statement& bind(int index, const std::string& v) { return bind(index, std::string_view(v)); }
  Statement& bind(int index, const char* v) { return bind(index, std::string_view(v)); }
  Statement& bind_null(int index);
  // Binds the arguments to parameters 1..N; N must be the statement's parameter count.
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    check_parameter_count(static_cast<int>(sizeof...(args)));
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  bool step();  // true: a row is ready; false: done
  void run();   // steps to the end; for statements that return no rows
  void reset();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  int int32(int column) const;
  double real(int column) const;  // NULL -> NaN
  std::string text(int column) const;

 private:
  Statement& bind_int64(int index, std::int64_t v);
  void check_parameter_count(int n) const;

  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string context_;  // the start of the SQL, for messages
};

// Reads a row's columns left to right: Columns c(st); r.id = c.int64(); r.name = c.text(); ...
class Columns {
 public:
  explicit Columns(const Statement& st) : st_(st) {}
  bool is_null() const { return st_.is_null(i_); }
  std::int64_t int64() { return st_.int64(i_++); }
  int int32() { return st_.int32(i_++); }
  bool boolean() { return st_.int64(i_++) != 0; }
  double real() { return st_.real(i_++); }
  std::optional<double> optional_real() {  // NULL -> nullopt
    const bool null = is_null();
    const double v = real();
    return null ? std::nullopt : std::optional<double>(v);
  }
  std::string text() { return st_.text(i_++); }

  // The next columns into `out...`, in order, each by its type: bool, integers (32 or 64 bits), float and
  // double, std::string, std::optional<double> (NULL -> nullopt).
  template <typename... T>
  void read(T&... out) {
    (read_one(out), ...);
  }

 private:
  template <typename T>
  void read_one(T& out) {
    if constexpr (std::is_same_v<T, bool>)
      out = boolean();
    else if constexpr (std::is_integral_v<T>)
      out = static_cast<T>(sizeof(T) <= 4 ? int32() : int64());
    else if constexpr (std::is_floating_point_v<T>)
      out = static_cast<T>(real());
    else if constexpr (std::is_same_v<T, std::string>)
      out = text();
    else if constexpr (std::is_same_v<T, std::optional<double>>)
      out = optional_real();
    else
      static_assert(sizeof(T) == 0, "Columns::read: no column type for this member");
  }

  const Statement& st_;
  int i_ = 0;
};

// BEGIN IMMEDIATE: takes the write lock at once (waiting up to the busy timeout), so that two writers never
// deadlock upgrading a read lock. Rolls back unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool open_ = true;
};

}  // namespace flashtune::store::detail
