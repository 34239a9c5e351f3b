// Copyright 2026 The libdiego Authors.
//
// Helpers shared by the SqlStore source files (not installed).
//
//   sql_store.cc              ctor, domains, cells, counts, the helpers below
//                             marked [common]
//   sql_store_tasks.cc        TaskStore and the task row helpers below [tasks]
//   sql_store_desired.cc      DesiredLrpStore and the helper below [desired]
//   sql_store_actual_rows.cc  the actual_lrps row helpers below [actual rows]
//   sql_store_actual.cc       ActualLrpStore lifecycle calls
//   sql_store_evacuation.cc   evacuation calls
//   sql_store_convergence*.cc ConvergenceStore and the convergence index
//                             (sql_store_convergence_index.h)

#ifndef DIEGO_BBS_SQL_STORE_INTERNAL_H_
#define DIEGO_BBS_SQL_STORE_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/store.h"
#include "google/protobuf/message_lite.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/task.pb.h"

namespace diego::bbs::internal {

// [common] Parses a stored blob into `message`; a blob that does not parse is
// kDataLoss "corrupt <what> row <id>: ...".
absl::Status ParseStored(absl::string_view blob, google::protobuf::MessageLite& message,
                         absl::string_view what, absl::string_view id);

// [common] Registers an AfterCommit callback that publishes `events` to
// `sink` (nothing when `events` is empty).
void PublishAfterCommit(SqlTx& tx, EventSink* sink, std::vector<BbsEvent> events);

// [actual rows] Column list / row decoding is private to the rows file. The
// writing helpers also keep the convergence index in step (each row's bucket
// and runtime fingerprint, its DesiredLRP's fingerprints copied on insert,
// the ORDINARY rows' bucket sums; sql_store_convergence_index.h), so every
// actual_lrps write must go through them.

// Inserts `lrp` (its key, presence, state, instance key, since, tag, crash
// count into columns; the whole message into `data`). A row already at that
// (process_guid, index, presence) is kAlreadyExists.
absl::Status InsertActualLrp(SqlTx& tx, const model::v1::ActualLRP& lrp);

// `InsertActualLrp`, except that a row already there is `SqlConflictError()`:
// a write that read no row and lost the race to another writer reruns
// against the current rows.
absl::Status InsertNewActualLrp(SqlTx& tx, const model::v1::ActualLRP& lrp);

// Overwrites the row of `lrp`'s (process_guid, index, presence) if its stored
// modification_tag_index is still `expected_tag_index`; otherwise
// `SqlConflictError()`.
absl::Status UpdateActualLrp(SqlTx& tx, const model::v1::ActualLRP& lrp,
                             int64_t expected_tag_index);

// Deletes that row; returns whether one was deleted.
absl::StatusOr<bool> DeleteActualLrp(SqlTx& tx, absl::string_view process_guid, int32_t index,
                                     model::v1::ActualLRP::Presence presence);

// Moves the row of `lrp` (as read) to `presence`, keeping everything else,
// modification tag included (Diego's ChangeActualLRPPresence), if its stored
// modification_tag_index is still `lrp`'s; otherwise `SqlConflictError()`.
// A row already at the target presence is the engine's kAlreadyExists.
// Returns the moved row.
absl::StatusOr<model::v1::ActualLRP> ChangeActualLrpPresence(
    SqlTx& tx, const model::v1::ActualLRP& lrp, model::v1::ActualLRP::Presence presence);

// Deletes the row of `lrp`'s (process_guid, index, presence) if its stored
// modification_tag_index is still `lrp`'s; otherwise (changed or already
// gone) `SqlConflictError()`, so `Write()` reruns the caller against the
// current rows.
absl::Status DeleteActualLrpIfUnchanged(SqlTx& tx, const model::v1::ActualLRP& lrp);

// The row at (process_guid, index, presence), or nullopt.
absl::StatusOr<std::optional<model::v1::ActualLRP>> ReadActualLrp(
    SqlTx& tx, absl::string_view process_guid, int32_t index,
    model::v1::ActualLRP::Presence presence);

// Every row matching `filter`, ordered by (process_guid, index, presence).
absl::StatusOr<std::vector<model::v1::ActualLRP>> ReadActualLrps(SqlTx& tx,
                                                                  const ActualLrpFilter& filter);

// The rows of one (process_guid, index), at most one per presence.
struct ActualLrpIndexRows {
  std::optional<model::v1::ActualLRP> ordinary;
  std::optional<model::v1::ActualLRP> evacuating;
  std::optional<model::v1::ActualLRP> suspect;

  bool empty() const { return !ordinary && !evacuating && !suspect; }
  // The first of ordinary, evacuating, suspect whose instance key equals
  // `instance_key`, or null (Diego's `lookupLRPInSlice`).
  const model::v1::ActualLRP* WithInstanceKey(
      const model::v1::ActualLRPInstanceKey& instance_key) const;
};

// Reads every presence of (process_guid, index) in one query. An empty
// `process_guid` matches nothing.
absl::StatusOr<ActualLrpIndexRows> ReadActualLrpIndexRows(SqlTx& tx,
                                                          absl::string_view process_guid,
                                                          int32_t index);

// One stored row changing inside a write: `before` null = created, `after`
// null = removed; `crashed` adds the actual_lrp_crashed event.
struct ActualLrpRowChange {
  const model::v1::ActualLRP* before = nullptr;
  const model::v1::ActualLRP* after = nullptr;
  bool crashed = false;
};

// The LRP-instance events of all `changes` of one write: each change's
// `ActualLrpChangeEvents()`, then the whole list stably ordered as Diego's
// event calculator orders one request's events (crash events first, then
// events whose resulting LRP is RUNNING, then the rest).
std::vector<BbsEvent> ActualLrpEvents(absl::Span<const ActualLrpRowChange> changes,
                                      absl::string_view trace_id);

// [desired] Inserts `lrp` (already validated and carrying its modification
// tag) as a desired_lrps row created at `now`, with its bucket, runtime
// fingerprints and bucket sums, and points existing ActualLRP rows of its
// process guid at its fingerprints. Returns the stored LRP, or
// `ErrResourceExists()` when the process guid is taken (nothing written).
// Creates no ActualLRPs and publishes nothing.
absl::StatusOr<model::v1::DesiredLRP> InsertDesiredLrp(SqlTx& tx,
                                                       const model::v1::DesiredLRP& lrp,
                                                       absl::Time now);

// [tasks] A task row as read inside a write: the message and the exact
// stored bytes (the compare-and-set operand).
struct StoredTask {
  model::v1::Task task;
  std::string data;
};

// Inserts `task` (columns from the message); false when its guid is taken.
absl::StatusOr<bool> InsertTask(SqlTx& tx, const model::v1::Task& task);

// The row of `guid`, or nullopt; a blob that does not parse is kDataLoss.
absl::StatusOr<std::optional<StoredTask>> ReadTask(SqlTx& tx, absl::string_view guid);

// Overwrites the row of `after` if it still holds exactly `before.data`;
// otherwise `SqlConflictError()`.
absl::Status UpdateTask(SqlTx& tx, const StoredTask& before, const model::v1::Task& after);

// Deletes the row of `guid` if it still holds exactly `data`; otherwise
// `SqlConflictError()`.
absl::Status DeleteTaskIfUnchanged(SqlTx& tx, absl::string_view guid, absl::string_view data);

}  // namespace diego::bbs::internal

#endif  // DIEGO_BBS_SQL_STORE_INTERNAL_H_
