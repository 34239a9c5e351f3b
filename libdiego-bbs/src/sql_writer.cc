// Copyright 2026 The libdiego Authors.

#include "sql_writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "diego/base/check.h"

namespace diego::bbs::sql_internal {
namespace {

constexpr absl::string_view kSavepoint = "SAVEPOINT diego_write";
constexpr absl::string_view kRelease = "RELEASE SAVEPOINT diego_write";
constexpr absl::string_view kRollbackTo = "ROLLBACK TO SAVEPOINT diego_write";

absl::Status ClosedError() {
  return absl::CancelledError("sql: database closed before the write ran");
}

}  // namespace

// ---------------------------------------------------------------------------
// TxImpl

absl::Status TxImpl::Poisoned(absl::string_view sql) const {
  return absl::FailedPreconditionError(
      absl::StrCat("sql: statement after a failed statement in the same transaction (",
                   failed_.message(), "): ", sql));
}

absl::StatusOr<int64_t> TxImpl::Exec(absl::string_view sql, absl::Span<const SqlParam> params) {
  if (!failed_.ok()) return Poisoned(sql);
  absl::StatusOr<int64_t> result = conn_->Exec(sql, params);
  if (!result.ok() && mode_ != Mode::kExclusive) failed_ = result.status();
  return result;
}

absl::Status TxImpl::Query(absl::string_view sql, absl::Span<const SqlParam> params,
                           absl::FunctionRef<absl::Status(const SqlRow&)> on_row) {
  if (!failed_.ok()) return Poisoned(sql);
  bool engine_error = false;
  absl::Status status = conn_->Query(sql, params, on_row, &engine_error);
  if (engine_error && mode_ != Mode::kExclusive) failed_ = status;
  return status;
}

void TxImpl::AfterCommit(std::function<void()> fn) {
  DIEGO_CHECK(mode_ == Mode::kWrite) << "SqlTx::AfterCommit is only valid inside Write()";
  after_commit_->push_back(std::move(fn));
}

// ---------------------------------------------------------------------------
// GroupCommitWriter

GroupCommitWriter::GroupCommitWriter(std::unique_ptr<Connection> conn,
                                     const EngineTraits& traits, int max_batch,
                                     int max_write_attempts,
                                     std::function<absl::Status(SqlTx&)> before_commit)
    : conn_(std::move(conn)),
      traits_(traits),
      max_batch_(max_batch),
      max_write_attempts_(max_write_attempts),
      before_commit_(std::move(before_commit)) {
  batch_.reserve(max_batch_);
  thread_ = std::thread([this] { Run(); });
}

GroupCommitWriter::~GroupCommitWriter() { Stop(); }

void GroupCommitWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status GroupCommitWriter::Enqueue(Pending& pending) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return ClosedError();
    queue_.push_back(&pending);
  }
  pending.done.WaitForNotification();
  return std::move(pending.result);
}

absl::Status GroupCommitWriter::Write(absl::FunctionRef<absl::Status(SqlTx&)> fn) {
  Pending pending(fn, /*excl=*/false);
  return Enqueue(pending);
}

absl::Status GroupCommitWriter::Exclusive(absl::FunctionRef<absl::Status(SqlTx&)> fn) {
  Pending pending(fn, /*excl=*/true);
  return Enqueue(pending);
}

void GroupCommitWriter::Run() {
  while (true) {
    batch_.clear();
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](GroupCommitWriter* w) ABSL_SHARED_LOCKS_REQUIRED(w->mu_) {
            return w->stopping_ || !w->queue_.empty();
          },
          this));
      if (stopping_) {
        for (Pending* pending : queue_) {
          pending->result = ClosedError();
          pending->done.Notify();
        }
        queue_.clear();
        return;
      }
      if (queue_.front()->exclusive) {
        batch_.push_back(queue_.front());
        queue_.pop_front();
      } else {
        while (!queue_.empty() && !queue_.front()->exclusive &&
               static_cast<int>(batch_.size()) < max_batch_) {
          batch_.push_back(queue_.front());
          queue_.pop_front();
        }
      }
    }
    if (batch_.front()->exclusive) {
      RunExclusive(*batch_.front());
    } else {
      RunBatch();
    }
  }
}

void GroupCommitWriter::RunExclusive(Pending& pending) {
  absl::Status status = conn_->EnsureOpen();
  if (status.ok()) {
    TxImpl tx(conn_.get(), traits_.engine, TxImpl::Mode::kExclusive, nullptr);
    status = pending.fn(tx);
    // Never leave a transaction the function opened behind for the batches.
    if (conn_->InTransaction()) (void)conn_->Exec("ROLLBACK", {});
  }
  pending.result = std::move(status);
  pending.done.Notify();
}

void GroupCommitWriter::FailBatch(const absl::Status& status) {
  for (Pending* pending : batch_) {
    pending->result = status;
    pending->done.Notify();
  }
}

// Savepoints: "ROLLBACK TO" keeps the savepoint open, so after a failed
// write the next one reuses it; after a successful one "RELEASE; SAVEPOINT"
// opens the next. COMMIT releases whatever is still open. Each boundary is
// one ExecSequence (one round trip on PostgreSQL).
bool GroupCommitWriter::RunWrite(Pending& pending, bool last,
                                 std::vector<absl::string_view>* finish, absl::Status* fatal) {
  for (int attempt = 1;; ++attempt) {
    const size_t mark = after_commit_.size();
    TxImpl tx(conn_.get(), traits_.engine, TxImpl::Mode::kWrite, &after_commit_);
    absl::Status status = pending.fn(tx);
    // A function that swallowed a failed statement cannot commit: on
    // PostgreSQL its savepoint is unusable until rolled back.
    if (status.ok() && !tx.failed().ok()) status = tx.failed();
    if (status.ok()) {
      pending.result = absl::OkStatus();
      if (last) {
        finish->assign({"COMMIT"});
        return true;
      }
      *fatal = conn_->ExecSequence({kRelease, kSavepoint});
      return fatal->ok();
    }
    after_commit_.erase(after_commit_.begin() + static_cast<ptrdiff_t>(mark),
                        after_commit_.end());
    const bool rerun = status.code() == absl::StatusCode::kAborted && attempt < max_write_attempts_;
    if (!rerun) pending.result = std::move(status);
    if (last && !rerun) {
      finish->assign({kRollbackTo, "COMMIT"});
      return true;
    }
    *fatal = conn_->ExecSequence({kRollbackTo});
    if (!fatal->ok()) return false;
    if (!rerun) return true;
  }
}

void GroupCommitWriter::RunBatch() {
  absl::Status status = conn_->EnsureOpen();
  if (status.ok()) status = conn_->ExecSequence({traits_.write_begin, kSavepoint});
  if (!status.ok()) {
    if (conn_->InTransaction()) (void)conn_->Exec("ROLLBACK", {});
    FailBatch(status);
    return;
  }
  after_commit_.clear();
  std::vector<absl::string_view> finish;
  for (size_t i = 0; i < batch_.size(); ++i) {
    absl::Status fatal;
    if (!RunWrite(*batch_[i], i + 1 == batch_.size(), &finish, &fatal)) {
      if (conn_->InTransaction()) (void)conn_->Exec("ROLLBACK", {});
      after_commit_.clear();
      FailBatch(absl::Status(fatal.code(),
                             absl::StrCat("sql: write batch aborted: ", fatal.message())));
      return;
    }
  }
  if (before_commit_) {
    if (absl::Status s = RunBeforeCommit(&finish); !s.ok()) {
      if (conn_->InTransaction()) (void)conn_->Exec("ROLLBACK", {});
      after_commit_.clear();
      // A write that already failed keeps its own error; the ones that would
      // have committed get the fence's.
      for (Pending* pending : batch_) {
        if (pending->result.ok()) pending->result = s;
        pending->done.Notify();
      }
      return;
    }
  }
  if (absl::Status s = conn_->ExecSequence(finish); !s.ok()) {
    if (conn_->InTransaction()) (void)conn_->Exec("ROLLBACK", {});
    after_commit_.clear();
    FailBatch(absl::Status(s.code(), absl::StrCat("sql: commit failed: ", s.message())));
    return;
  }
  for (std::function<void()>& fn : after_commit_) fn();
  after_commit_.clear();
  for (Pending* pending : batch_) pending->done.Notify();
}

absl::Status GroupCommitWriter::RunBeforeCommit(std::vector<absl::string_view>* finish) {
  // The last write's ROLLBACK TO must come first: on PostgreSQL a failed
  // savepoint refuses every statement until rolled back.
  const std::vector<absl::string_view> pending(finish->begin(), finish->end() - 1);
  if (!pending.empty()) {
    if (absl::Status s = conn_->ExecSequence(pending); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("sql: write batch aborted: ", s.message()));
    }
    finish->erase(finish->begin(), finish->end() - 1);
  }
  TxImpl tx(conn_.get(), traits_.engine, TxImpl::Mode::kWrite, &after_commit_);
  absl::Status status = before_commit_(tx);
  if (status.ok()) status = tx.failed();
  return status;
}

// ---------------------------------------------------------------------------
// The database.

namespace {

class PooledDatabase final : public SqlDatabase {
 public:
  PooledDatabase(const EngineTraits& traits, std::unique_ptr<Connection> writer,
                 ConnectionFactory reader_factory, const SqlDatabase::Options& options)
      : traits_(traits),
        reader_factory_(std::move(reader_factory)),
        readers_(static_cast<size_t>(options.read_connections)),
        writer_(std::move(writer), traits, options.max_batch, options.max_write_attempts,
                options.before_commit) {
    free_.reserve(readers_.size());
    for (size_t i = readers_.size(); i > 0; --i) free_.push_back(static_cast<int>(i - 1));
  }

  ~PooledDatabase() override { writer_.Stop(); }

  SqlEngine engine() const override { return traits_.engine; }

  absl::Status Read(absl::FunctionRef<absl::Status(SqlTx&)> fn) override {
    int slot;
    {
      absl::MutexLock lock(&pool_mu_);
      pool_mu_.Await(absl::Condition(
          +[](std::vector<int>* free) { return !free->empty(); }, &free_));
      slot = free_.back();
      free_.pop_back();
    }
    absl::Status status = ReadOn(readers_[static_cast<size_t>(slot)], fn);
    {
      absl::MutexLock lock(&pool_mu_);
      free_.push_back(slot);
    }
    return status;
  }

  absl::Status Write(absl::FunctionRef<absl::Status(SqlTx&)> fn) override {
    return writer_.Write(fn);
  }

  absl::Status Exclusive(absl::FunctionRef<absl::Status(SqlTx&)> fn) override {
    return writer_.Exclusive(fn);
  }

 private:
  absl::Status ReadOn(std::unique_ptr<Connection>& conn,
                      absl::FunctionRef<absl::Status(SqlTx&)> fn) {
    if (conn == nullptr) {
      absl::StatusOr<std::unique_ptr<Connection>> made = reader_factory_();
      if (!made.ok()) return made.status();
      conn = *std::move(made);
    }
    if (absl::Status s = conn->EnsureOpen(); !s.ok()) return s;
    if (absl::Status s = conn->BeginRead(traits_.read_begin); !s.ok()) {
      (void)conn->EndRead(/*ok=*/false);
      return s;
    }
    TxImpl tx(conn.get(), traits_.engine, TxImpl::Mode::kRead, nullptr);
    absl::Status status = fn(tx);
    absl::Status ended = conn->EndRead(status.ok());
    return status.ok() ? ended : status;
  }

  const EngineTraits traits_;
  const ConnectionFactory reader_factory_;

  absl::Mutex pool_mu_;
  std::vector<int> free_ ABSL_GUARDED_BY(pool_mu_);
  // Slot i is used only by the Read() that took i from `free_`.
  std::vector<std::unique_ptr<Connection>> readers_;

  GroupCommitWriter writer_;
};

}  // namespace

std::unique_ptr<SqlDatabase> NewDatabase(const EngineTraits& traits,
                                         std::unique_ptr<Connection> writer,
                                         ConnectionFactory reader_factory,
                                         const SqlDatabase::Options& options) {
  return std::make_unique<PooledDatabase>(traits, std::move(writer), std::move(reader_factory),
                                          options);
}

}  // namespace diego::bbs::sql_internal
