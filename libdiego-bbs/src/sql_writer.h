// Copyright 2026 The libdiego Authors.
//
// The engine-independent half of `SqlDatabase` (not installed): the reader
// connection pool, the group-commit writer and the `SqlTx` handed to callers.
// An engine supplies only `Connection`s (one writer, readers made on demand)
// and the statements that open its transactions.
//
// The writer: `Write()` queues a `Pending` and blocks on it. One thread takes
// up to `max_batch` consecutive queued writes, runs BEGIN (SQLite: BEGIN
// IMMEDIATE), each write inside `SAVEPOINT diego_write` (RELEASE on success,
// ROLLBACK TO on failure; kAborted reruns up to `max_write_attempts`),
// the fencing hook (`Options::before_commit`, if set; its failure rolls the
// batch back and fails every write of it with its status), COMMIT, then the
// batch's AfterCommit callbacks in order, then wakes the callers. A failing
// COMMIT (or a savepoint statement failing, meaning the transaction is gone)
// fails every write of the batch.
// `Exclusive()` is queued the same way and runs alone between batches.

#ifndef DIEGO_BBS_SRC_SQL_WRITER_H_
#define DIEGO_BBS_SRC_SQL_WRITER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/types/span.h"
#include "diego/bbs/sql.h"

namespace diego::bbs::sql_internal {

// One database connection, used by one thread at a time.
class Connection {
 public:
  virtual ~Connection() = default;

  // Called before each use: reconnects a connection that was lost
  // (PostgreSQL; dropping its statement cache). kUnavailable if it cannot.
  virtual absl::Status EnsureOpen() = 0;

  // As `SqlTx::Exec`.
  virtual absl::StatusOr<int64_t> Exec(absl::string_view sql,
                                       absl::Span<const SqlParam> params) = 0;

  // As `SqlTx::Query`; sets `*engine_error` when the error came from the
  // engine rather than from `on_row`.
  virtual absl::Status Query(absl::string_view sql, absl::Span<const SqlParam> params,
                             absl::FunctionRef<absl::Status(const SqlRow&)> on_row,
                             bool* engine_error) = 0;

  // Whether a transaction is open on the connection.
  virtual bool InTransaction() = 0;

  // Runs parameterless statements in order, stopping at the first error.
  // PostgreSQL sends them in one round trip.
  virtual absl::Status ExecSequence(absl::Span<const absl::string_view> statements) {
    for (absl::string_view sql : statements) {
      absl::StatusOr<int64_t> r = Exec(sql, {});
      if (!r.ok()) return r.status();
    }
    return absl::OkStatus();
  }

  // Opens a read transaction with `begin_sql`.
  virtual absl::Status BeginRead(absl::string_view begin_sql) {
    return Exec(begin_sql, {}).status();
  }

  // Ends the read transaction: COMMIT when `ok`, else (or if COMMIT fails)
  // ROLLBACK. Returns COMMIT's error.
  virtual absl::Status EndRead(bool ok) {
    absl::Status status;
    if (ok) status = Exec("COMMIT", {}).status();
    if (InTransaction()) (void)Exec("ROLLBACK", {});
    return status;
  }
};

// Makes a new reader connection.
using ConnectionFactory = std::function<absl::StatusOr<std::unique_ptr<Connection>>()>;

struct EngineTraits {
  SqlEngine engine = SqlEngine::kSqlite;
  // Opens a write batch's transaction ("BEGIN IMMEDIATE" / "BEGIN").
  const char* write_begin = "BEGIN";
  // Opens a read transaction.
  const char* read_begin = "BEGIN";
};

// The `SqlTx` given to callers. In kRead and kWrite mode, the first engine
// error makes every later statement of the same transaction (or write
// attempt) fail with kFailedPrecondition: PostgreSQL aborts the transaction
// on an error, and SQLite is made to behave the same so code tested on one
// engine works on the other. For the same reason a write function that
// returns OK after one of its statements failed is rolled back and its
// `Write()` returns that statement's error.
class TxImpl final : public SqlTx {
 public:
  enum class Mode { kRead, kWrite, kExclusive };

  TxImpl(Connection* conn, SqlEngine engine, Mode mode,
         std::vector<std::function<void()>>* after_commit)
      : conn_(conn), engine_(engine), mode_(mode), after_commit_(after_commit) {}

  SqlEngine engine() const override { return engine_; }
  absl::StatusOr<int64_t> Exec(absl::string_view sql,
                               absl::Span<const SqlParam> params) override;
  absl::Status Query(absl::string_view sql, absl::Span<const SqlParam> params,
                     absl::FunctionRef<absl::Status(const SqlRow&)> on_row) override;
  void AfterCommit(std::function<void()> fn) override;

  // The first engine error of this transaction (OK if none).
  const absl::Status& failed() const { return failed_; }

 private:
  absl::Status Poisoned(absl::string_view sql) const;

  Connection* conn_;
  SqlEngine engine_;
  Mode mode_;
  std::vector<std::function<void()>>* after_commit_;
  absl::Status failed_;  // The first engine error (kRead / kWrite).
};

// The single writer of one database.
class GroupCommitWriter {
 public:
  // `before_commit` may be empty (no fencing).
  GroupCommitWriter(std::unique_ptr<Connection> conn, const EngineTraits& traits,
                    int max_batch, int max_write_attempts,
                    std::function<absl::Status(SqlTx&)> before_commit = nullptr);
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;
  // Stops (see `Stop()`).
  ~GroupCommitWriter();

  absl::Status Write(absl::FunctionRef<absl::Status(SqlTx&)> fn);
  absl::Status Exclusive(absl::FunctionRef<absl::Status(SqlTx&)> fn);

  // Finishes the batch in progress, fails every queued write with
  // kCancelled, joins the thread. Later calls fail with kCancelled.
  void Stop();

 private:
  struct Pending {
    Pending(absl::FunctionRef<absl::Status(SqlTx&)> f, bool excl) : fn(f), exclusive(excl) {}
    absl::FunctionRef<absl::Status(SqlTx&)> fn;
    bool exclusive;
    absl::Status result;
    absl::Notification done;
  };

  absl::Status Enqueue(Pending& pending);
  void Run();
  void RunBatch();
  void RunExclusive(Pending& pending);
  // Runs one write (with reruns) in the open savepoint and leaves a fresh
  // savepoint open for the next write; the last write of the batch leaves
  // the statements that end it in `*finish` instead. Returns false if the
  // batch's transaction is unusable; `*fatal` then holds the error.
  bool RunWrite(Pending& pending, bool last, std::vector<absl::string_view>* finish,
                absl::Status* fatal);
  void FailBatch(const absl::Status& status);
  // Runs `before_commit_` in the batch's transaction; `*finish` loses the
  // statements it ran first (a pending ROLLBACK TO) and keeps the COMMIT.
  absl::Status RunBeforeCommit(std::vector<absl::string_view>* finish);

  const std::unique_ptr<Connection> conn_;
  const EngineTraits traits_;
  const int max_batch_;
  const int max_write_attempts_;
  const std::function<absl::Status(SqlTx&)> before_commit_;

  absl::Mutex mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Writer-thread state, reused across batches.
  std::vector<Pending*> batch_;
  std::vector<std::function<void()>> after_commit_;

  std::thread thread_;
};

// A `SqlDatabase` from an engine's connections. `writer` is already open;
// readers are made by `reader_factory` on first use (at most
// `options.read_connections`).
std::unique_ptr<SqlDatabase> NewDatabase(const EngineTraits& traits,
                                         std::unique_ptr<Connection> writer,
                                         ConnectionFactory reader_factory,
                                         const SqlDatabase::Options& options);

// The engines (sql_sqlite.cc, sql_postgres.cc). Options are validated.
absl::StatusOr<std::unique_ptr<SqlDatabase>> OpenSqlite(const std::string& path,
                                                        const SqlDatabase::Options& options);
absl::StatusOr<std::unique_ptr<SqlDatabase>> OpenPostgres(const std::string& conninfo,
                                                          const SqlDatabase::Options& options);

}  // namespace diego::bbs::sql_internal

#endif  // DIEGO_BBS_SRC_SQL_WRITER_H_
