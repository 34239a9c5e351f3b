// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: task_state.h
// -----------------------------------------------------------------------------
//
// The Task state machine of Diego's BBS (bbs `models/task.go`
// `ValidateTransitionTo`, `db/sqldb/task_db.go`, and the rejection retry rule of
// `controllers/task_controller.go`) as pure functions. Each operation takes the
// task as currently stored and the time of the request, and returns either the
// task as it must be stored afterwards or Diego's exact error. Nothing here
// touches storage, emits events or calls a rep; the BBS store calls these
// inside its transaction and does the rest.
//
// States and the generic rule (`ValidateTaskTransition`):
//
//   Pending --Start--> Running --Complete--> Completed --Resolving--> Resolving
//      \________Cancel/Fail/4th Reject_______^                           |
//                                                                      Delete
//
//   -> Running only from Pending; -> Completed only from Running;
//   -> Resolving only from Completed. Cancel and Fail also complete a Pending
//   task; Reject moves Pending or Running back to Pending.
//
// Each operation documents the fields it writes; timestamps are Unix
// nanoseconds taken from `now`. Reasons (`failure_reason`,
// `rejection_reason`) are stored through `TruncateBbsReason()`; `result` is
// stored as given.
//
// Every function is pure and thread-safe.

#ifndef DIEGO_MODEL_TASK_STATE_H_
#define DIEGO_MODEL_TASK_STATE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/model/v1/task.pb.h"

namespace diego::model {

// The failure reason CancelTask stores.
inline constexpr absl::string_view kTaskCancelledReason = "task was cancelled";

// How many rejections a task survives; the rejection that finds
// `rejection_count >= max_task_retries` fails it instead (BBS `max_task_retries`).
inline constexpr int32_t kDefaultMaxTaskRetries = 3;

// Diego's column limit for reasons (task failure and rejection reasons,
// ActualLRP crash reasons and placement errors).
inline constexpr size_t kMaxBbsReasonBytes = 1024;

// Marker Diego puts at the end of a reason it had to cut.
inline constexpr absl::string_view kTruncatedMarker = "(truncated)";

// Diego's `truncateString(s, 1024)` (bbs `db/sqldb`): a reason shorter than
// `kMaxBbsReasonBytes` is kept; a longer one, or one of exactly that length,
// becomes its first 1013 bytes followed by "(truncated)", 1024 bytes in total.
// Counts bytes, not characters, so a multi-byte UTF-8 character may be cut.
// Shared with `actual_lrp_state.h`.
std::string TruncateBbsReason(absl::string_view reason);

// The generic rule: OK when `to` is Running and `from` is Pending, `to` is
// Completed and `from` is Running, or `to` is Resolving and `from` is
// Completed. Anything else (including any `to` outside those three) is
// `NewTaskTransitionError(from, to)`: `InvalidStateTransition` /
// `kFailedPrecondition`, "Cannot transition from <from> to <to>".
[[nodiscard]] absl::Status ValidateTaskTransition(v1::Task::State from, v1::Task::State to);

// A new Pending task for `definition`, as BBS DesireTask inserts it:
// `task_guid`, `domain`, `created_at = updated_at = now`,
// `first_completed_at = 0`, everything else default. Does not validate the
// definition (see `validation.h`); a duplicate guid is the store's
// `ResourceExists`.
v1::Task DesireTask(const v1::TaskDefinition& definition, absl::string_view task_guid,
                    absl::string_view domain, absl::Time now);

// Outcome of `StartTask`.
struct StartTaskResult {
  // The task to store (unchanged when `should_start` is false).
  v1::Task task;
  // Whether the caller (the rep) should run the task. False when the task was
  // already Running on the same cell: a repeated start is a no-op.
  bool should_start = false;
};

// A rep on `cell_id` starts `task`.
//
// - Running on `cell_id` already: OK, task unchanged, `should_start = false`.
// - Pending: OK, Running on `cell_id`, `updated_at = now`, `should_start = true`.
// - Otherwise (including Running on another cell): `InvalidStateTransition`,
//   "Cannot transition from <state> to Running".
[[nodiscard]] absl::StatusOr<StartTaskResult> StartTask(const v1::Task& task,
                                                        absl::string_view cell_id, absl::Time now);

// A client cancels `task`. From Pending or Running: Completed, failed,
// `kTaskCancelledReason`, result and cell_id cleared, `first_completed_at =
// updated_at = now`. Otherwise `InvalidStateTransition`, "Cannot transition
// from <state> to Completed". The BBS asks the rep on the input task's
// `cell_id()` (if any) to stop it; that is the caller's business.
[[nodiscard]] absl::StatusOr<v1::Task> CancelTask(const v1::Task& task, absl::Time now);

// Deprecated Diego endpoint: fails `task` with `failure_reason`. Same rules and
// writes as `CancelTask` with the given reason (truncated).
[[nodiscard]] absl::StatusOr<v1::Task> FailTask(const v1::Task& task,
                                                absl::string_view failure_reason, absl::Time now);

// Outcome of `RejectTask`.
struct RejectTaskResult {
  // The task to store.
  v1::Task task;
  // True when this rejection exhausted the retries and the task is now
  // Completed and failed (with the rejection reason as failure reason).
  bool failed = false;
};

// A cell rejects `task` (it could not start it; the auctioneer will place it
// again). Combines BBS RejectTask and the task controller's retry rule:
//
// - Pending or Running: back to Pending, `rejection_count + 1`,
//   `rejection_reason = TruncateBbsReason(reason)`, `updated_at = now`. If the
//   count *before* this rejection was `>= max_task_retries`, the task is then
//   failed as by `FailTask(reason)` (Completed, failed, first_completed_at),
//   and `failed` is true. With the default 3 the 4th rejection fails the task.
// - Any other state: `ErrBadRequest()` (`InvalidRequest`, "the request
//   received is invalid") — unless the retries are exhausted too, in which
//   case Diego's follow-up FailTask is what the caller sees:
//   "Cannot transition from <state> to Completed".
[[nodiscard]] absl::StatusOr<RejectTaskResult> RejectTask(
    const v1::Task& task, absl::string_view reason, absl::Time now,
    int32_t max_task_retries = kDefaultMaxTaskRetries);

// The rep on `cell_id` reports `task` finished.
//
// - Running on a different cell: `NewRunningOnDifferentCellError(cell_id,
//   task.cell_id())` (`RunningOnDifferentCell`, "Running on cell <actual> not
//   <cell_id>").
// - Running (on `cell_id`): Completed with `failed`,
//   `TruncateBbsReason(failure_reason)` and `result`; cell_id cleared;
//   `first_completed_at = updated_at = now`.
// - Otherwise: `InvalidStateTransition`, "Cannot transition from <state> to
//   Completed".
[[nodiscard]] absl::StatusOr<v1::Task> CompleteTask(const v1::Task& task, absl::string_view cell_id,
                                                    bool failed, absl::string_view failure_reason,
                                                    absl::string_view result, absl::Time now);

// A client (or the BBS completion-callback worker) takes responsibility for a
// Completed task: Resolving, `updated_at = now`. Otherwise
// `InvalidStateTransition`, "Cannot transition from <state> to Resolving".
[[nodiscard]] absl::StatusOr<v1::Task> ResolvingTask(const v1::Task& task, absl::Time now);

// Precondition of BBS DeleteTask: OK only for a Resolving task; otherwise
// `InvalidStateTransition`, "Cannot transition from <state> to Resolving"
// (Diego's wording). The row is then deleted by the store.
[[nodiscard]] absl::Status DeleteTask(const v1::Task& task);

}  // namespace diego::model

#endif  // DIEGO_MODEL_TASK_STATE_H_
