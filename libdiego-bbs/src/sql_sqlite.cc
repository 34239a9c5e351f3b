// Copyright 2026 The libdiego Authors.
//
// The SQLite engine: one writer connection and `read_connections` reader
// connections on the same file, WAL mode, synchronous=FULL. Each connection
// is opened with SQLITE_OPEN_NOMUTEX (it is used by one thread at a time) and
// keeps its own cache of persistent prepared statements keyed by SQL text.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "absl/container/node_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "sql_writer.h"

namespace diego::bbs::sql_internal {
namespace {

// More distinct statements than this on one connection (dynamic SQL) drops
// the cache and starts over.
constexpr size_t kMaxCachedStatements = 512;

absl::string_view View(const void* data, int bytes) {
  if (data == nullptr || bytes <= 0) return {};
  return absl::string_view(static_cast<const char*>(data), static_cast<size_t>(bytes));
}

class SqliteRow final : public SqlRow {
 public:
  explicit SqliteRow(sqlite3_stmt* stmt) : stmt_(stmt), size_(sqlite3_column_count(stmt)) {}

  int size() const override { return size_; }
  bool IsNull(int column) const override {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }
  int64_t Int(int column) const override { return sqlite3_column_int64(stmt_, column); }
  absl::string_view Text(int column) const override {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return View(text, sqlite3_column_bytes(stmt_, column));
  }
  absl::string_view Blob(int column) const override {
    const void* blob = sqlite3_column_blob(stmt_, column);
    return View(blob, sqlite3_column_bytes(stmt_, column));
  }

 private:
  sqlite3_stmt* stmt_;
  int size_;
};

class SqliteConnection final : public Connection {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteConnection>> Open(const std::string& path,
                                                                bool writer,
                                                                const SqlDatabase::Options& options);

  ~SqliteConnection() override {
    for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
    sqlite3_close_v2(db_);
  }

  absl::Status EnsureOpen() override { return absl::OkStatus(); }

  absl::StatusOr<int64_t> Exec(absl::string_view sql,
                               absl::Span<const SqlParam> params) override {
    Statement stmt(this);
    DIEGO_RETURN_IF_ERROR(stmt.Prepare(sql));
    DIEGO_RETURN_IF_ERROR(Bind(stmt.get(), params, sql));
    const int64_t before = sqlite3_total_changes64(db_);
    const bool has_columns = sqlite3_column_count(stmt.get()) > 0;
    int64_t rows = 0;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) ++rows;
    if (rc != SQLITE_DONE) return Error(rc, sql);
    if (has_columns) return rows;  // A query or RETURNING: the rows it produced.
    return sqlite3_total_changes64(db_) == before ? 0 : sqlite3_changes64(db_);
  }

  absl::Status Query(absl::string_view sql, absl::Span<const SqlParam> params,
                     absl::FunctionRef<absl::Status(const SqlRow&)> on_row,
                     bool* engine_error) override {
    Statement stmt(this);
    absl::Status status = stmt.Prepare(sql);
    if (status.ok()) status = Bind(stmt.get(), params, sql);
    if (!status.ok()) {
      *engine_error = true;
      return status;
    }
    SqliteRow row(stmt.get());
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      DIEGO_RETURN_IF_ERROR(on_row(row));
    }
    if (rc != SQLITE_DONE) {
      *engine_error = true;
      return Error(rc, sql);
    }
    return absl::OkStatus();
  }

  bool InTransaction() override { return sqlite3_get_autocommit(db_) == 0; }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}

  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };

  // A statement in use: cached ones are reset (and their bindings cleared)
  // after use, uncached ones finalized.
  class Statement {
   public:
    explicit Statement(SqliteConnection* conn) : conn_(conn) {}
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() {
      if (stmt_ == nullptr) return;
      if (cached_ != nullptr) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
        cached_->in_use = false;
      } else {
        sqlite3_finalize(stmt_);
      }
    }

    absl::Status Prepare(absl::string_view sql) {
      auto it = conn_->cache_.find(sql);
      const bool found = it != conn_->cache_.end();
      if (found && !it->second.in_use) {
        stmt_ = it->second.stmt;
        cached_ = &it->second;
        cached_->in_use = true;
        return absl::OkStatus();
      }
      const char* tail = nullptr;
      int rc = sqlite3_prepare_v3(conn_->db_, sql.data(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &stmt_, &tail);
      if (rc != SQLITE_OK) return conn_->Error(rc, sql);
      if (stmt_ == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("sqlite: empty statement \"", sql, "\""));
      }
      if (tail != nullptr &&
          !absl::StripAsciiWhitespace(absl::string_view(tail, static_cast<size_t>(
                                                                  sql.data() + sql.size() - tail)))
               .empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("sqlite: more than one statement in \"", sql, "\""));
      }
      // The same SQL already running further up this thread's stack (a query
      // inside a row callback) gets a statement of its own, not cached.
      if (found) return absl::OkStatus();
      if (conn_->cache_.size() >= kMaxCachedStatements && !conn_->AnyInUse()) {
        for (auto& [text, cached] : conn_->cache_) sqlite3_finalize(cached.stmt);
        conn_->cache_.clear();
      }
      cached_ = &conn_->cache_.try_emplace(std::string(sql)).first->second;  // Stable address.
      cached_->stmt = stmt_;
      cached_->in_use = true;
      return absl::OkStatus();
    }

    sqlite3_stmt* get() const { return stmt_; }

   private:
    SqliteConnection* conn_;
    sqlite3_stmt* stmt_ = nullptr;
    Cached* cached_ = nullptr;
  };

  bool AnyInUse() const {
    for (const auto& [text, cached] : cache_) {
      if (cached.in_use) return true;
    }
    return false;
  }

  absl::Status Bind(sqlite3_stmt* stmt, absl::Span<const SqlParam> params,
                    absl::string_view sql) {
    const int want = sqlite3_bind_parameter_count(stmt);
    if (static_cast<size_t>(want) != params.size()) {
      return absl::InvalidArgumentError(absl::StrCat("sqlite: statement takes ", want,
                                                      " parameters, got ", params.size(),
                                                      ": \"", sql, "\""));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      const SqlParam& param = params[i];
      if (std::holds_alternative<std::nullptr_t>(param)) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (const int64_t* v = std::get_if<int64_t>(&param)) {
        rc = sqlite3_bind_int64(stmt, index, *v);
      } else if (const SqlText* t = std::get_if<SqlText>(&param)) {
        // A null data pointer would bind NULL; an empty string is "".
        rc = sqlite3_bind_text64(stmt, index, t->value.empty() ? "" : t->value.data(),
                                 t->value.size(), SQLITE_STATIC, SQLITE_UTF8);
      } else {
        const SqlBlob& b = std::get<SqlBlob>(param);
        rc = b.value.empty() ? sqlite3_bind_zeroblob(stmt, index, 0)
                             : sqlite3_bind_blob64(stmt, index, b.value.data(), b.value.size(),
                                                   SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) return Error(rc, sql);
    }
    return absl::OkStatus();
  }

  absl::Status Error(int rc, absl::string_view sql) const {
    const int extended = sqlite3_extended_errcode(db_);
    const std::string message =
        absl::StrCat("sqlite: ", sqlite3_errmsg(db_), " (in \"", sql, "\")");
    if (extended == SQLITE_CONSTRAINT_PRIMARYKEY || extended == SQLITE_CONSTRAINT_UNIQUE) {
      return absl::AlreadyExistsError(message);
    }
    switch (rc & 0xff) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        // The busy timeout expired: another process holds the lock.
        return absl::UnavailableError(message);
      default:
        return absl::InternalError(message);
    }
  }

  sqlite3* db_;
  absl::node_hash_map<std::string, Cached> cache_;
};

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const std::string& path, bool writer, const SqlDatabase::Options& options) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (writer && options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::UnavailableError(
        absl::StrCat("sqlite: cannot open \"", path, "\": ", message));
  }
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));

  auto setup = [&](const char* sql) -> absl::Status {
    char* error = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
    if (rc == SQLITE_OK) return absl::OkStatus();
    std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    return absl::UnavailableError(
        absl::StrCat("sqlite: cannot open \"", path, "\": ", sql, ": ", message));
  };
  if (writer) {
    std::string mode;
    char* error = nullptr;
    rc = sqlite3_exec(
        db, "PRAGMA journal_mode=WAL",
        +[](void* out, int n, char** values, char**) {
          if (n > 0 && values[0] != nullptr) *static_cast<std::string*>(out) = values[0];
          return 0;
        },
        &mode, &error);
    if (rc != SQLITE_OK) {
      std::string message = error != nullptr ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      return absl::UnavailableError(absl::StrCat("sqlite: cannot open \"", path, "\": ", message));
    }
    if (absl::AsciiStrToLower(mode) != "wal") {
      return absl::UnavailableError(absl::StrCat("sqlite: cannot put \"", path,
                                                 "\" in WAL mode (journal_mode is ", mode, ")"));
    }
    DIEGO_RETURN_IF_ERROR(setup("PRAGMA synchronous=FULL"));
  }
  DIEGO_RETURN_IF_ERROR(setup("PRAGMA foreign_keys=ON"));
  if (!writer) DIEGO_RETURN_IF_ERROR(setup("PRAGMA query_only=ON"));
  return conn;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDatabase>> OpenSqlite(const std::string& path,
                                                        const SqlDatabase::Options& options) {
  DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> writer,
                         SqliteConnection::Open(path, /*writer=*/true, options));
  EngineTraits traits;
  traits.engine = SqlEngine::kSqlite;
  traits.write_begin = "BEGIN IMMEDIATE";
  traits.read_begin = "BEGIN";
  ConnectionFactory readers = [path, options]() -> absl::StatusOr<std::unique_ptr<Connection>> {
    DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> conn,
                           SqliteConnection::Open(path, /*writer=*/false, options));
    return std::unique_ptr<Connection>(std::move(conn));
  };
  return NewDatabase(traits, std::move(writer), std::move(readers), options);
}

}  // namespace diego::bbs::sql_internal
