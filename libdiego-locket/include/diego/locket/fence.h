// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fence.h
// -----------------------------------------------------------------------------
//
// Write fencing for an active/standby process (the BBS): a check run inside
// every write transaction just before COMMIT (`bbs::SqlDatabase::Options::
// before_commit`), so a process that is no longer the lock holder cannot
// commit anything, even if it has not noticed yet.
//
// `MakeLockFence(runner, clock, options)` returns a check that fails the
// commit with `ErrFenced()` when
//   1. the runner's lease has passed (`LockRunner::LeaseExpiry() <=
//      clock->Now()`): without a refresh the lock row may already be gone
//      and taken by another process; or
//   2. `options.check_table` is set (Locket's rows live in this same
//      database, as when diego-bbs serves Locket itself) and the `locks` row
//      of `options.key` is missing or owned by someone other than
//      `options.owner`. This read happens inside the write transaction, so it
//      is serialized with the other process's Lock (SQLite: the database
//      write lock; PostgreSQL: `SELECT ... FOR SHARE` on the row).
//
// Thread-safety: the returned function is thread-safe.

#ifndef DIEGO_LOCKET_FENCE_H_
#define DIEGO_LOCKET_FENCE_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "diego/base/clock.h"
#include "diego/bbs/sql.h"
#include "diego/locket/lock_runner.h"

namespace diego::locket {

struct LockFenceOptions {
  std::string key = "bbs";
  std::string owner;
  bool check_table = true;
};

// kFailedPrecondition "not the active holder of lock \"<key>\"; refusing to
// write" (with the reason appended after ": ").
absl::Status ErrFenced(absl::string_view key, absl::string_view reason);

// `runner` and `clock` must outlive the returned function.
std::function<absl::Status(bbs::SqlTx&)> MakeLockFence(const LockRunner* runner, Clock* clock,
                                                       LockFenceOptions options);

}  // namespace diego::locket

#endif  // DIEGO_LOCKET_FENCE_H_
