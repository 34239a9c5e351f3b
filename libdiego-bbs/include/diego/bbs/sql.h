// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: sql.h
// -----------------------------------------------------------------------------
//
// One small SQL layer with two engines: SQLite (the embedded default; WAL,
// synchronous=FULL, one file) and PostgreSQL (libpq; for deployments that
// outgrow one machine). The BBS store is written once against this layer.
//
// The shape is fixed by what the BBS needs:
//
//   * Reads run concurrently on a pool of connections, each inside one
//     read transaction (a consistent snapshot for multi-statement reads).
//   * Writes are *group committed*: every `Write()` is queued to a single
//     writer, which runs a batch of queued writes inside one database
//     transaction, each write in its own SAVEPOINT, and commits (one fsync)
//     for the whole batch. A write whose function fails is rolled back to its
//     savepoint alone; the others in the batch still commit. `Write()`
//     returns only after the commit is durable (or failed).
//   * Callbacks registered with `SqlTx::AfterCommit()` run on the writer
//     thread after the batch committed, in the order the writes ran, before
//     any caller of the batch is woken. The store publishes its events there,
//     which is how "every committed change emits its event once, in commit
//     order" holds without a global lock around commit + publish.
//   * A single writer per process serializes this process's writes. Another
//     process writing the same database (a second BBS during failover) is
//     guarded by compare-and-set in the store's UPDATEs; a write that loses a
//     CAS returns `SqlConflictError()` and `Write()` reruns it (see there).
//
// SQL text uses `?` placeholders for both engines (the PostgreSQL engine
// rewrites them to `$1..$n`, ignoring `?` inside quoted literals). Prepared
// statements are cached per connection, keyed by the SQL text, so callers
// should pass constant SQL strings. Column types used by libdiego are only
// BIGINT (integers and booleans as 0/1), TEXT and a blob type (`BLOB` on
// SQLite, `BYTEA` on PostgreSQL; see `BlobType()`); `ON CONFLICT ... DO`
// and `RETURNING` work on both engines.
//
// Thread-safety: `SqlDatabase` is thread-safe. A `SqlTx` is valid only
// inside the function it was passed to, on that thread.

#ifndef DIEGO_BBS_SQL_H_
#define DIEGO_BBS_SQL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace diego::bbs {

enum class SqlEngine { kSqlite, kPostgres };

// "sqlite" or "postgres".
absl::string_view SqlEngineName(SqlEngine engine);

// A parsed `--db` URL.
//
//   sqlite:///var/lib/diego/bbs.db   absolute path /var/lib/diego/bbs.db
//   sqlite://relative/bbs.db         path relative to the working directory
//   postgres://user[:password]@host[:port]/dbname[?key=value&...]
//   postgresql://...                 same
//
// For PostgreSQL the URL is handed to libpq as is (libpq accepts URIs), so
// every libpq parameter (sslmode, host=/path for a unix socket, ...) works.
struct DatabaseUrl {
  SqlEngine engine = SqlEngine::kSqlite;
  std::string sqlite_path;        // kSqlite: the file path.
  std::string postgres_conninfo;  // kPostgres: the libpq connection URI.
};

// Parses `url`. Errors are kInvalidArgument naming the problem, e.g.
// `unsupported database URL scheme "mysql" (want sqlite:// or postgres://)`
// or `sqlite URL has no path`.
absl::StatusOr<DatabaseUrl> ParseDatabaseUrl(absl::string_view url);

// A statement parameter. Views must stay valid for the duration of the call.
struct SqlText {
  absl::string_view value;
};
struct SqlBlob {
  absl::string_view value;
};
using SqlParam = std::variant<std::nullptr_t, int64_t, SqlText, SqlBlob>;

// Shorthands: `Text(s)`, `Blob(bytes)`, `Int(n)`, `Bool(b)` (0/1), `Null()`.
inline SqlParam Text(absl::string_view s) { return SqlText{s}; }
inline SqlParam Blob(absl::string_view b) { return SqlBlob{b}; }
inline SqlParam Int(int64_t v) { return v; }
inline SqlParam Bool(bool b) { return static_cast<int64_t>(b ? 1 : 0); }
inline SqlParam Null() { return nullptr; }

// One result row. Columns are numbered from 0 in SELECT order. Views returned
// by `Text()`/`Blob()` are valid until the row callback returns.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual int size() const = 0;
  virtual bool IsNull(int column) const = 0;
  // An integer column (BIGINT). NULL reads as 0.
  virtual int64_t Int(int column) const = 0;
  // A TEXT column. NULL reads as "".
  virtual absl::string_view Text(int column) const = 0;
  // A BLOB/BYTEA column. NULL reads as "".
  virtual absl::string_view Blob(int column) const = 0;
  bool Bool(int column) const { return Int(column) != 0; }
};

// A transaction (or, inside `Write()`, one savepoint of the batch's
// transaction).
class SqlTx {
 public:
  virtual ~SqlTx() = default;

  virtual SqlEngine engine() const = 0;

  // Runs a statement that returns no rows; returns the number of rows it
  // changed. Errors: kAlreadyExists for a unique/primary-key violation,
  // kAborted for a serialization failure or deadlock (the write is retried,
  // see `Write()`), kUnavailable when the connection is lost, kInternal for
  // anything else; the message carries the engine's error text and the SQL.
  //
  // After a statement fails with an engine error, every later statement of
  // the same transaction (in `Write()`: of the same attempt) fails with
  // kFailedPrecondition: PostgreSQL aborts a transaction on any error, and
  // SQLite is made to behave the same. A write function that returns OK
  // after one of its statements failed is rolled back and `Write()` returns
  // that statement's error. So a write that must go on after a conflict uses
  // `ON CONFLICT ... DO` (and the rows changed) instead of catching
  // kAlreadyExists. `Exclusive()` (autocommit) is exempt.
  virtual absl::StatusOr<int64_t> Exec(absl::string_view sql,
                                       absl::Span<const SqlParam> params = {}) = 0;

  // Runs a query and calls `on_row` for each row, in order. Stops at the
  // first error `on_row` returns and returns it. Errors as for `Exec`.
  virtual absl::Status Query(absl::string_view sql, absl::Span<const SqlParam> params,
                             absl::FunctionRef<absl::Status(const SqlRow&)> on_row) = 0;

  // Only valid inside `SqlDatabase::Write()`: runs `fn` on the writer thread
  // after this write's batch committed, in the order registered across the
  // batch. Dropped if this write is rolled back or the commit fails. In a
  // `Read()`, calling this is a programming error (DIEGO_CHECK).
  virtual void AfterCommit(std::function<void()> fn) = 0;
};

// `BLOB` for SQLite, `BYTEA` for PostgreSQL.
absl::string_view BlobType(SqlEngine engine);

// The status a write function returns when a compare-and-set UPDATE matched
// no row because another writer changed it first: kAborted,
// "sql: concurrent update conflict". `Write()` rolls the write back and runs
// it again.
absl::Status SqlConflictError();

class SqlDatabase {
 public:
  struct Options {
    // Reader connections (also the maximum number of concurrent `Read()`s;
    // more wait). At least 1.
    int read_connections = 8;
    // Maximum writes group-committed in one transaction.
    int max_batch = 512;
    // How often `Write()` reruns a write that returned kAborted before giving
    // up with that error.
    int max_write_attempts = 5;
    // SQLite: busy timeout when another process holds the write lock.
    // PostgreSQL: connect timeout.
    absl::Duration busy_timeout = absl::Seconds(10);
    // SQLite: create the file (and nothing else) if it does not exist.
    bool create_if_missing = true;
    // Fencing: when set, runs on the writer inside every batch's transaction
    // after the batch's writes and before COMMIT. If it fails, the batch is
    // rolled back and every `Write()` of the batch whose function succeeded
    // returns its status (a write that failed keeps its own error; AfterCommit
    // callbacks are dropped); nothing is retried. Used by an
    // active/standby BBS to refuse writes once it may have lost its lock
    // (diego/locket/fence.h). Not run for `Exclusive()` or `Read()`.
    std::function<absl::Status(SqlTx&)> before_commit;
  };

  virtual ~SqlDatabase() = default;

  // Connects (PostgreSQL) or opens (SQLite: sets WAL, synchronous=FULL,
  // foreign_keys=ON, busy_timeout) and starts the writer thread. Errors:
  // kInvalidArgument for a bad URL, kUnavailable when the server cannot be
  // reached or the file cannot be opened, with the engine's message.
  static absl::StatusOr<std::unique_ptr<SqlDatabase>> Open(absl::string_view url,
                                                           const Options& options);
  static absl::StatusOr<std::unique_ptr<SqlDatabase>> Open(absl::string_view url) {
    return Open(url, Options());
  }

  virtual SqlEngine engine() const = 0;

  // Runs `fn` inside a read-only transaction on a pooled connection and
  // returns its status (or the engine's error). Concurrent with other reads
  // and with writes; sees every write whose `Write()` has returned.
  virtual absl::Status Read(absl::FunctionRef<absl::Status(SqlTx&)> fn) = 0;

  // Queues `fn` for the writer and blocks until its batch committed. `fn`
  // runs on the writer thread inside a savepoint; its status is returned.
  // If `fn` fails, its changes (and its AfterCommit callbacks) are discarded
  // and the rest of the batch is unaffected. If `fn` returns kAborted it is
  // rolled back and rerun, up to `max_write_attempts` times. If the COMMIT
  // itself fails every write of the batch returns that error (nothing of the
  // batch is durable). `fn` must not block on other writes.
  virtual absl::Status Write(absl::FunctionRef<absl::Status(SqlTx&)> fn) = 0;

  // Runs `fn` outside any batch on the writer connection, in autocommit mode
  // (used for DDL by migrations). Blocks other writes while it runs.
  virtual absl::Status Exclusive(absl::FunctionRef<absl::Status(SqlTx&)> fn) = 0;
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_SQL_H_
