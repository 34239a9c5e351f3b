// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: store.h
// -----------------------------------------------------------------------------
//
// The BBS state store seams: domains, tasks, desired LRPs, actual LRPs
// (ORDINARY / EVACUATING / SUSPECT rows) with evacuation, and cell presences.
// `SqlStore` (sql_store.h) implements all of them on SQLite or PostgreSQL;
// `fakes::` in libdiego-testing may implement them in memory.
//
// Contract shared by every mutating call:
//   * one call = one transaction; Diego's transition rules and errors apply
//     (`diego/model/task_state.h`, `actual_lrp_state.h`, `errors.h`), so a
//     refused call changes nothing;
//   * every committed change publishes its events (events.h) to the store's
//     EventSink exactly once, in commit order; a no-op publishes nothing;
//   * lost updates are impossible: each write re-reads the row inside its
//     transaction and updates it with compare-and-set on
//     modification_tag_index (or the task's updated_at), rerunning on
//     conflict;
//   * timestamps come from the store's injected Clock (Unix nanoseconds).
//
// What the store does *not* do: validate requests (the service does, with
// `model::Validate*`), talk to the auctioneer or reps, or look up cells. Calls
// return what the caller needs for that (indices to auction, rows whose rep
// must be told to stop, ...).
//
// Errors are Diego's (model/errors.h): `ErrResourceNotFound()`,
// `ErrResourceExists()`, the transition errors, ...; storage failures are
// kUnavailable/kInternal and map to Diego's UnknownError.
//
// Thread-safety: implementations are thread-safe.

#ifndef DIEGO_BBS_STORE_H_
#define DIEGO_BBS_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/task_state.h"
#include "diego/bbs/convergence.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/task.pb.h"

namespace diego::bbs {

// -----------------------------------------------------------------------------
// Domains (diego-spec.md 1.6).
// -----------------------------------------------------------------------------

class DomainStore {
 public:
  virtual ~DomainStore() = default;

  // The domains whose expire time is in the future or that never expire, in
  // name order.
  virtual absl::StatusOr<std::vector<std::string>> FreshDomains() = 0;

  // Inserts or refreshes `domain`: expires at now + ttl; ttl zero = never.
  virtual absl::Status UpsertDomain(absl::string_view domain, absl::Duration ttl) = 0;
};

// -----------------------------------------------------------------------------
// Tasks (diego-spec.md 1.3).
// -----------------------------------------------------------------------------

// Empty fields do not filter.
struct TaskFilter {
  std::string domain;
  std::string cell_id;
};

// A task before and after a change.
struct TaskChange {
  model::v1::Task before;
  model::v1::Task after;
};

class TaskStore {
 public:
  virtual ~TaskStore() = default;

  // Matching tasks, ordered by guid.
  virtual absl::StatusOr<std::vector<model::v1::Task>> Tasks(const TaskFilter& filter) = 0;

  // `ErrResourceNotFound()` when there is none.
  virtual absl::StatusOr<model::v1::Task> TaskByGuid(absl::string_view task_guid) = 0;

  // Inserts a Pending task (`model::DesireTask`). Duplicate guid:
  // `ErrResourceExists()`. Event: task_created.
  virtual absl::StatusOr<model::v1::Task> DesireTask(const model::v1::TaskDefinition& definition,
                                                     absl::string_view task_guid,
                                                     absl::string_view domain) = 0;

  // `model::StartTask`. Event task_changed only when `should_start`.
  virtual absl::StatusOr<model::StartTaskResult> StartTask(absl::string_view task_guid,
                                                           absl::string_view cell_id) = 0;

  // `model::CancelTask`; the caller asks the rep on `before.cell_id()` (if
  // any) to cancel. Event task_changed.
  virtual absl::StatusOr<TaskChange> CancelTask(absl::string_view task_guid) = 0;

  // `model::FailTask` (deprecated route). Event task_changed.
  virtual absl::StatusOr<TaskChange> FailTask(absl::string_view task_guid,
                                              absl::string_view failure_reason) = 0;

  // `model::RejectTask` with the store's max_task_retries. Event
  // task_changed. The caller re-auctions when `after` is Pending.
  virtual absl::StatusOr<TaskChange> RejectTask(absl::string_view task_guid,
                                                absl::string_view rejection_reason) = 0;

  // `model::CompleteTask`. Event task_changed. The caller submits the
  // completion callback when `after.completion_callback_url` is set.
  virtual absl::StatusOr<TaskChange> CompleteTask(absl::string_view task_guid,
                                                  absl::string_view cell_id, bool failed,
                                                  absl::string_view failure_reason,
                                                  absl::string_view result) = 0;

  // `model::ResolvingTask`. Event task_changed.
  virtual absl::StatusOr<TaskChange> ResolvingTask(absl::string_view task_guid) = 0;

  // `model::DeleteTask` precondition, then deletes the row. Returns the
  // deleted task. Event task_removed.
  virtual absl::StatusOr<model::v1::Task> DeleteTask(absl::string_view task_guid) = 0;
};

// -----------------------------------------------------------------------------
// Desired LRPs (diego-spec.md 1.4).
// -----------------------------------------------------------------------------

// Empty fields do not filter. `app_guids` matches process guids that start
// with "<app_guid>" (Diego's process guid is "<app_guid>-<version>"): any of
// them, each as Diego's SQL `process_guid LIKE '<app_guid>%'`, i.e.
// case-sensitive, with `%` and `_` in an app guid acting as wildcards and `\`
// escaping the next character (on both engines). As in Diego, only
// `DesiredLrps` applies `app_guids`; `DesiredLrpSchedulingInfos` filters on
// `domain` and `process_guids`, `DesiredLrpRoutingInfos` on `process_guids`.
struct DesiredLrpFilter {
  std::string domain;
  std::vector<std::string> process_guids;
  std::vector<std::string> app_guids;
};

struct DesireLrpResult {
  // The stored LRP (modification tag {fresh epoch, 0}).
  model::v1::DesiredLRP lrp;
  // Indices for which an UNCLAIMED ActualLRP was created (0..instances-1);
  // the caller auctions them.
  std::vector<int32_t> created_indices;
};

struct UpdateLrpResult {
  model::v1::DesiredLRP before;
  model::v1::DesiredLRP after;
  // Scale up: indices [old, new) created UNCLAIMED; the caller auctions them.
  std::vector<int32_t> created_indices;
  // Scale down: CLAIMED/RUNNING non-evacuating rows with index >= new count;
  // the caller asks their reps to stop them (UNCLAIMED/CRASHED ones were
  // deleted in the transaction).
  std::vector<model::v1::ActualLRP> to_stop;
  // Internal routes or metric tags changed: the CLAIMED/RUNNING rows (index
  // < new count) whose reps get UpdateLRPInstance.
  std::vector<model::v1::ActualLRP> to_update;
};

struct RemoveLrpResult {
  model::v1::DesiredLRP removed;
  // CLAIMED/RUNNING non-evacuating rows whose reps must stop them.
  std::vector<model::v1::ActualLRP> to_stop;
};

class DesiredLrpStore {
 public:
  virtual ~DesiredLrpStore() = default;

  // Ordered by process guid.
  virtual absl::StatusOr<std::vector<model::v1::DesiredLRP>> DesiredLrps(
      const DesiredLrpFilter& filter) = 0;
  // `ErrResourceNotFound()` when absent.
  virtual absl::StatusOr<model::v1::DesiredLRP> DesiredLrpByProcessGuid(
      absl::string_view process_guid) = 0;
  // Reads only scheduling info (never run info). Ordered by process guid.
  virtual absl::StatusOr<std::vector<model::v1::DesiredLRPSchedulingInfo>>
  DesiredLrpSchedulingInfos(const DesiredLrpFilter& filter) = 0;
  virtual absl::StatusOr<model::v1::DesiredLRPSchedulingInfo>
  DesiredLrpSchedulingInfoByProcessGuid(absl::string_view process_guid) = 0;
  // DesiredLRPs with only process_guid, domain, log_guid, instances, routes,
  // modification_tag and metric_tags; filters on process_guids only (Diego).
  virtual absl::StatusOr<std::vector<model::v1::DesiredLRP>> DesiredLrpRoutingInfos(
      const DesiredLrpFilter& filter) = 0;

  // Inserts `lrp` (already validated) with a fresh modification tag and
  // UNCLAIMED ORDINARY ActualLRPs for 0..instances-1, in one transaction.
  // Duplicate process guid: `ErrResourceExists()`, nothing written. Events:
  // desired_lrp_created, then actual_lrp_instance_created per index.
  virtual absl::StatusOr<DesireLrpResult> DesireLrp(const model::v1::DesiredLRP& lrp,
                                                    absl::string_view trace_id) = 0;

  // Applies `update` (already validated; only instances, routes, annotation,
  // metric_tags, image credentials), tag index + 1, and the instance-count
  // consequences described on UpdateLrpResult, in one transaction. Events:
  // desired_lrp_changed, then the actual-LRP events of created/deleted rows.
  virtual absl::StatusOr<UpdateLrpResult> UpdateDesiredLrp(
      absl::string_view process_guid, const model::v1::DesiredLRPUpdate& update,
      absl::string_view trace_id) = 0;

  // Deletes the desired LRP and its UNCLAIMED/CRASHED non-evacuating
  // ActualLRPs. Events: desired_lrp_removed, actual_lrp_instance_removed per
  // deleted row.
  virtual absl::StatusOr<RemoveLrpResult> RemoveDesiredLrp(absl::string_view process_guid,
                                                           absl::string_view trace_id) = 0;
};

// -----------------------------------------------------------------------------
// Actual LRPs (diego-spec.md 1.5) and evacuation (5.4).
// -----------------------------------------------------------------------------

// Empty fields / nullopt do not filter.
struct ActualLrpFilter {
  std::string domain;
  std::string cell_id;
  std::string process_guid;
  std::optional<int32_t> index;
};

struct ActualLrpChange {
  // False when the call was a no-op (nothing written, no event).
  bool changed = false;
  model::v1::ActualLRP before;
  model::v1::ActualLRP after;
};

struct CrashLrpResult {
  model::v1::ActualLRP before;
  model::v1::ActualLRP after;
  // The restart policy restarts at once: `after` is UNCLAIMED and the caller
  // auctions the index.
  bool restart_immediately = false;
};

struct EvacuationResult {
  bool keep_container = false;
  // The index to auction (the ordinary row was unclaimed), if any.
  bool auction = false;
};

class ActualLrpStore {
 public:
  virtual ~ActualLrpStore() = default;

  // All rows (every presence) matching `filter`, ordered by (process_guid,
  // index, presence).
  virtual absl::StatusOr<std::vector<model::v1::ActualLRP>> ActualLrps(
      const ActualLrpFilter& filter) = 0;
  // All rows of these process guids, same order. Empty list: empty result.
  virtual absl::StatusOr<std::vector<model::v1::ActualLRP>> ActualLrpsByProcessGuids(
      absl::Span<const std::string> process_guids) = 0;

  // Rows are "the ORDINARY row of (process_guid, index)" unless said
  // otherwise. Missing row: `ErrResourceNotFound()`.

  // `model::ClaimActualLrp`. If the row matching `instance_key` for that
  // index is SUSPECT, a no-op.
  virtual absl::StatusOr<ActualLrpChange> ClaimActualLrp(
      absl::string_view process_guid, int32_t index,
      const model::v1::ActualLRPInstanceKey& instance_key, absl::string_view trace_id) = 0;

  // `model::StartActualLrp`; creates the ORDINARY row RUNNING when there is
  // none; then deletes the index's EVACUATING row and SUSPECT row (events for
  // each). If the caller's instance is the SUSPECT row: a no-op.
  virtual absl::StatusOr<ActualLrpChange> StartActualLrp(
      const model::StartActualLrpParams& params, absl::string_view trace_id) = 0;

  // `model::CrashActualLrp` with the store's restart policy. Crash of the
  // SUSPECT row (matching instance key) deletes it. Events: crashed + the
  // instance events.
  virtual absl::StatusOr<CrashLrpResult> CrashActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::string_view reason, absl::string_view trace_id) = 0;

  // `model::FailActualLrp`.
  virtual absl::StatusOr<ActualLrpChange> FailActualLrp(const model::v1::ActualLRPKey& key,
                                                        absl::string_view placement_error,
                                                        absl::string_view trace_id) = 0;

  // Deletes the ORDINARY row when `instance_key` is null or matches
  // (`model::RemoveActualLrp`). Event: removed.
  virtual absl::Status RemoveActualLrp(absl::string_view process_guid, int32_t index,
                                       const model::v1::ActualLRPInstanceKey* instance_key,
                                       absl::string_view trace_id) = 0;

  // Evacuation (diego-spec.md 5.4), each one transaction.
  virtual absl::StatusOr<EvacuationResult> EvacuateClaimedActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::string_view trace_id) = 0;
  virtual absl::StatusOr<EvacuationResult> EvacuateRunningActualLrp(
      const model::StartActualLrpParams& params, absl::string_view trace_id) = 0;
  virtual absl::StatusOr<EvacuationResult> EvacuateStoppedActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::string_view trace_id) = 0;
  virtual absl::StatusOr<EvacuationResult> EvacuateCrashedActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::string_view reason, absl::string_view trace_id) = 0;
  // Deletes the EVACUATING row if its instance key matches; missing row is
  // success (Diego).
  virtual absl::Status RemoveEvacuatingActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::string_view trace_id) = 0;
};

// -----------------------------------------------------------------------------
// Cells (diego-spec.md 1.7): Locket presences.
// -----------------------------------------------------------------------------

class CellPresenceSource {
 public:
  virtual ~CellPresenceSource() = default;
  // Every present cell, ordered by cell id. Presences whose JSON value does
  // not parse are skipped (and logged by the implementation).
  virtual absl::StatusOr<std::vector<model::v1::CellPresence>> Cells() = 0;
  // `ErrResourceNotFound()` when the cell has no presence.
  virtual absl::StatusOr<model::v1::CellPresence> CellById(absl::string_view cell_id) = 0;
};

// -----------------------------------------------------------------------------
// Counts for the BBS's gauges (LRPsDesired, LRPsRunning, TasksPending, ...).
// -----------------------------------------------------------------------------

struct StoreCounts {
  int64_t lrps_desired = 0;       // Sum of desired instances.
  int64_t desired_lrps = 0;       // Number of DesiredLRPs.
  int64_t lrps_unclaimed = 0;     // ORDINARY rows by state.
  int64_t lrps_claimed = 0;
  int64_t lrps_running = 0;
  int64_t crashed_actual_lrps = 0;
  int64_t lrps_evacuating = 0;    // EVACUATING rows.
  int64_t suspect_lrps = 0;       // SUSPECT rows (running or claimed).
  int64_t tasks_pending = 0;
  int64_t tasks_running = 0;
  int64_t tasks_completed = 0;
  int64_t tasks_resolving = 0;
  int64_t domains = 0;            // Fresh domains.
};

// Everything the BBS API and its converger need.
class BbsStore : public DomainStore,
                 public TaskStore,
                 public DesiredLrpStore,
                 public ActualLrpStore,
                 public CellPresenceSource,
                 public ConvergenceStore {
 public:
  virtual absl::StatusOr<StoreCounts> Counts() = 0;
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_STORE_H_
