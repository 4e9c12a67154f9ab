#include "store/detail/sqlite.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include <fmt/format.h>

namespace flashtune::store::detail {
namespace {

// The first words of a statement, whitespace collapsed: "INSERT INTO trials (sweep_id, ...".
std::string sql_context(std::string_view sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    if (out.size() >= 48) {
      out += " ...";
      break;
    }
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

void log_failure(std::string_view call, const std::filesystem::path& path, const char* message) noexcept {
  std::fprintf(stderr, "flashtune: warning: %.*s on %s failed while releasing a resource: %s\n",
               static_cast<int>(call.size()), call.data(), path.c_str(), message);
}

// sqlite says "unable to open database file", and its last OS error is often from a fallback attempt (ENOENT
// from a read-only retry after EACCES): say what is wrong with the path instead, where that can be seen.
std::string why_not_openable(const std::filesystem::path& path, int system_errno) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return "it is a directory";
  if (fs::exists(path, ec)) {
    if (::access(path.c_str(), R_OK | W_OK) != 0) return fmt::format("the file: {}", std::strerror(errno));
  } else {
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      return fmt::format("cannot create it in {}: {}", dir.string(), std::strerror(errno));
  }
  return system_errno != 0 ? std::strerror(system_errno) : "no further detail";
}

// "file:" URI of a path: every byte but unreserved ones and '/' percent-encoded.
std::string file_uri(const std::filesystem::path& path, std::string_view query) {
  std::string uri = "file:";
  for (unsigned char c : path.string()) {
    if (std::isalnum(c) != 0 || c == '/' || c == '-' || c == '_' || c == '.' || c == '~')
      uri += static_cast<char>(c);
    else
      uri += fmt::format("%{:02X}", c);
  }
  return uri + "?" + std::string(query);
}

}  // namespace

bool is_not_a_database(const SqliteError& e) {
  return e.code() == SQLITE_NOTADB || e.code() == SQLITE_CORRUPT;
}

Database::Database(std::filesystem::path path, Mode mode) : path_(std::move(path)) {
  int flags = SQLITE_OPEN_FULLMUTEX;
  std::string name = path_.string();
  if (mode == Mode::read_write) {
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  } else {
    flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
    name = file_uri(path_, mode == Mode::immutable ? "mode=ro&immutable=1" : "mode=ro");
  }
  const int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    message += fmt::format(" ({})", why_not_openable(path_, db_ != nullptr ? sqlite3_system_errno(db_) : 0));
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
    throw SqliteError(fmt::format("sqlite3_open_v2 on {}: {}", path_.string(), message), rc & 0xff, message);
  }
  if (mode == Mode::read_write && sqlite3_db_readonly(db_, "main") == 1) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    const std::string message = "the file is not writable (sqlite opened it read-only)";
    throw SqliteError(fmt::format("sqlite3_open_v2 on {}: {}", path_.string(), message), SQLITE_READONLY,
                      message);
  }
}

std::unique_ptr<Database> Database::copy_in_memory(const Database& source) {
  std::unique_ptr<Database> copy(new Database());
  copy->path_ = source.path_;
  const int rc =
      sqlite3_open_v2(":memory:", &copy->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) copy->fail(rc, "sqlite3_open_v2", ":memory:");
  sqlite3_backup* backup = sqlite3_backup_init(copy->db_, "main", source.db_, "main");
  if (backup == nullptr) copy->fail(sqlite3_errcode(copy->db_), "sqlite3_backup_init", "copy to memory");
  const int step = sqlite3_backup_step(backup, -1);
  const int finish = sqlite3_backup_finish(backup);
  if (step != SQLITE_DONE) source.fail(step, "sqlite3_backup_step", "copy to memory");
  copy->check(finish, "sqlite3_backup_finish", "copy to memory");
  return copy;
}

Database::~Database() {
  if (db_ == nullptr) return;
  const int rc = sqlite3_close_v2(db_);
  if (rc != SQLITE_OK) log_failure("sqlite3_close_v2", path_, sqlite3_errstr(rc));
}

void Database::fail(int rc, std::string_view call, std::string_view context) const {
  const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  throw SqliteError(fmt::format("{}({}) on {}: {}", call, context, path_.string(), message), rc & 0xff,
                    message);
}

void Database::check(int rc, std::string_view call, std::string_view context) const {
  if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) fail(rc, call, context);
}

void Database::busy_timeout(int ms) {
  check(sqlite3_busy_timeout(db_, ms), "sqlite3_busy_timeout", std::to_string(ms));
}

void Database::exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string what = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw SqliteError(fmt::format("sqlite3_exec({}) on {}: {}", sql_context(sql), path_.string(), what),
                      rc & 0xff, what);
  }
}

std::int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

std::int64_t Database::changes() const {
  return sqlite3_changes(db_);
}

Statement::Statement(Database& db, std::string_view sql) : db_(db), context_(sql_context(sql)) {
  const char* tail = nullptr;
  db_.check(sqlite3_prepare_v2(db_.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, &tail),
            "sqlite3_prepare_v2", context_);
  if (stmt_ == nullptr)
    throw Error(ErrorKind::internal, fmt::format("sqlite3_prepare_v2({}): no statement", context_));
}

Statement::~Statement() {
  // sqlite3_finalize repeats the last step's error, which was already thrown: nothing to report here.
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::string_view v) {
  db_.check(sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT),
            "sqlite3_bind_text", context_);
  return *this;
}

Statement& Statement::bind(int index, double v) {
  db_.check(sqlite3_bind_double(stmt_, index, v), "sqlite3_bind_double", context_);
  return *this;
}

Statement& Statement::bind_int64(int index, std::int64_t v) {
  db_.check(sqlite3_bind_int64(stmt_, index, v), "sqlite3_bind_int64", context_);
  return *this;
}

Statement& Statement::bind_null(int index) {
  db_.check(sqlite3_bind_null(stmt_, index), "sqlite3_bind_null", context_);
  return *this;
}

void Statement::check_parameter_count(int n) const {
  const int want = sqlite3_bind_parameter_count(stmt_);
  if (n != want)
    throw Error(ErrorKind::internal, fmt::format("{}: {} values bound to {} parameters", context_, n, want));
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail(rc, "sqlite3_step", context_);
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  db_.check(sqlite3_reset(stmt_), "sqlite3_reset", context_);
  db_.check(sqlite3_clear_bindings(stmt_), "sqlite3_clear_bindings", context_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

int Statement::int32(int column) const {
  return sqlite3_column_int(stmt_, column);
}

double Statement::real(int column) const {
  if (is_null(column)) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (p == nullptr) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!open_) return;
  char* message = nullptr;
  const int rc = sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, &message);
  // An error inside the transaction may already have rolled it back: then there is nothing to undo.
  if (rc != SQLITE_OK && sqlite3_get_autocommit(db_.handle()) == 0)
    log_failure("ROLLBACK", db_.path(), message != nullptr ? message : sqlite3_errstr(rc));
  sqlite3_free(message);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace flashtune::store::detail
