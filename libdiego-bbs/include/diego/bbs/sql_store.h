// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: sql_store.h
// -----------------------------------------------------------------------------
//
// `SqlStore`: the BBS store (store.h) on the SQL layer (sql.h), SQLite or
// PostgreSQL, with the schema of schema.h. Every mutating call is one
// `SqlDatabase::Write()` (group committed with concurrent calls); events are
// published from `AfterCommit`, so they reach the sink in commit order.
//
// A stored row whose blob does not parse fails every call that reads it with
// kDataLoss, "corrupt <what> row <id>: ..." (Diego's Deserialize); list reads
// fail as a whole rather than skip the row. Cell presences whose JSON does not
// parse are the exception: `Cells()` skips them (silently: the store has no
// logger) and `CellById()` reports kDataLoss for one.
//
//   ASSERT_OK_AND_ASSIGN(auto db, SqlDatabase::Open("sqlite:///tmp/bbs.db"));
//   ASSERT_OK(MigrateSchema(*db));
//   EventHub hub;
//   SqlStore store(db.get(), &hub, Clock::Real());
//   ASSERT_OK_AND_ASSIGN(DesireLrpResult r, store.DesireLrp(lrp, "trace"));

#ifndef DIEGO_BBS_SQL_STORE_H_
#define DIEGO_BBS_SQL_STORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "diego/base/clock.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/store.h"
#include "diego/model/restart_policy.h"
#include "diego/model/task_state.h"

namespace diego::bbs {

class SqlStore final : public BbsStore {
 public:
  struct Options {
    // BBS `max_task_retries`.
    int32_t max_task_retries = model::kDefaultMaxTaskRetries;
    // Crash restart policy.
    model::RestartCalculator restart_policy;
    // Makes modification-tag epochs; default `GenerateGuid()`. Tests inject a
    // deterministic one.
    std::function<std::string()> generate_guid;
    // Where `Cells()`/`CellById()` read cell presences; null = the `locks`
    // table of this database (Locket served from it). diego-bbs with a remote
    // Locket passes a `locket::LocketCellPresenceSource`. Must outlive the
    // store.
    CellPresenceSource* cells = nullptr;
  };

  // `db` (migrated), `events` and `clock` must outlive the store.
  SqlStore(SqlDatabase* db, EventSink* events, Clock* clock, Options options);
  SqlStore(SqlDatabase* db, EventSink* events, Clock* clock)
      : SqlStore(db, events, clock, Options()) {}

  SqlDatabase* database() { return db_; }

  // DomainStore
  absl::StatusOr<std::vector<std::string>> FreshDomains() override;
  absl::Status UpsertDomain(absl::string_view domain, absl::Duration ttl) override;

  // TaskStore
  absl::StatusOr<std::vector<model::v1::Task>> Tasks(const TaskFilter& filter) override;
  absl::StatusOr<model::v1::Task> TaskByGuid(absl::string_view task_guid) override;
  absl::StatusOr<model::v1::Task> DesireTask(const model::v1::TaskDefinition& definition,
                                             absl::string_view task_guid,
                                             absl::string_view domain) override;
  absl::StatusOr<model::StartTaskResult> StartTask(absl::string_view task_guid,
                                                   absl::string_view cell_id) override;
  absl::StatusOr<TaskChange> CancelTask(absl::string_view task_guid) override;
  absl::StatusOr<TaskChange> FailTask(absl::string_view task_guid,
                                      absl::string_view failure_reason) override;
  absl::StatusOr<TaskChange> RejectTask(absl::string_view task_guid,
                                        absl::string_view rejection_reason) override;
  absl::StatusOr<TaskChange> CompleteTask(absl::string_view task_guid, absl::string_view cell_id,
                                          bool failed, absl::string_view failure_reason,
                                          absl::string_view result) override;
  absl::StatusOr<TaskChange> ResolvingTask(absl::string_view task_guid) override;
  absl::StatusOr<model::v1::Task> DeleteTask(absl::string_view task_guid) override;

  // DesiredLrpStore
  absl::StatusOr<std::vector<model::v1::DesiredLRP>> DesiredLrps(
      const DesiredLrpFilter& filter) override;
  absl::StatusOr<model::v1::DesiredLRP> DesiredLrpByProcessGuid(
      absl::string_view process_guid) override;
  absl::StatusOr<std::vector<model::v1::DesiredLRPSchedulingInfo>> DesiredLrpSchedulingInfos(
      const DesiredLrpFilter& filter) override;
  absl::StatusOr<model::v1::DesiredLRPSchedulingInfo> DesiredLrpSchedulingInfoByProcessGuid(
      absl::string_view process_guid) override;
  absl::StatusOr<std::vector<model::v1::DesiredLRP>> DesiredLrpRoutingInfos(
      const DesiredLrpFilter& filter) override;
  absl::StatusOr<DesireLrpResult> DesireLrp(const model::v1::DesiredLRP& lrp,
                                            absl::string_view trace_id) override;
  absl::StatusOr<UpdateLrpResult> UpdateDesiredLrp(absl::string_view process_guid,
                                                   const model::v1::DesiredLRPUpdate& update,
                                                   absl::string_view trace_id) override;
  absl::StatusOr<RemoveLrpResult> RemoveDesiredLrp(absl::string_view process_guid,
                                                   absl::string_view trace_id) override;

  // ActualLrpStore
  absl::StatusOr<std::vector<model::v1::ActualLRP>> ActualLrps(
      const ActualLrpFilter& filter) override;
  absl::StatusOr<std::vector<model::v1::ActualLRP>> ActualLrpsByProcessGuids(
      absl::Span<const std::string> process_guids) override;
  absl::StatusOr<ActualLrpChange> ClaimActualLrp(
      absl::string_view process_guid, int32_t index,
      const model::v1::ActualLRPInstanceKey& instance_key, absl::string_view trace_id) override;
  absl::StatusOr<ActualLrpChange> StartActualLrp(const model::StartActualLrpParams& params,
                                                 absl::string_view trace_id) override;
  absl::StatusOr<CrashLrpResult> CrashActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::string_view reason, absl::string_view trace_id) override;
  absl::StatusOr<ActualLrpChange> FailActualLrp(const model::v1::ActualLRPKey& key,
                                                absl::string_view placement_error,
                                                absl::string_view trace_id) override;
  absl::Status RemoveActualLrp(absl::string_view process_guid, int32_t index,
                               const model::v1::ActualLRPInstanceKey* instance_key,
                               absl::string_view trace_id) override;
  absl::StatusOr<EvacuationResult> EvacuateClaimedActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::string_view trace_id) override;
  absl::StatusOr<EvacuationResult> EvacuateRunningActualLrp(
      const model::StartActualLrpParams& params, absl::string_view trace_id) override;
  absl::StatusOr<EvacuationResult> EvacuateStoppedActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::string_view trace_id) override;
  absl::StatusOr<EvacuationResult> EvacuateCrashedActualLrp(
      const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
      absl::string_view reason, absl::string_view trace_id) override;
  absl::Status RemoveEvacuatingActualLrp(const model::v1::ActualLRPKey& key,
                                         const model::v1::ActualLRPInstanceKey& instance_key,
                                         absl::string_view trace_id) override;

  // CellPresenceSource (reads Locket's `locks` table, type_code PRESENCE, or
  // `Options::cells`).
  absl::StatusOr<std::vector<model::v1::CellPresence>> Cells() override;
  absl::StatusOr<model::v1::CellPresence> CellById(absl::string_view cell_id) override;

  // ConvergenceStore (sql_store_convergence.cc)
  absl::StatusOr<TaskConvergenceResult> ConvergeTasks(const CellSet& cells,
                                                      const ConvergenceOptions& options) override;
  absl::StatusOr<LrpConvergenceResult> ConvergeLrps(const CellSet& cells,
                                                    const ConvergenceOptions& options) override;

  // BbsStore
  absl::StatusOr<StoreCounts> Counts() override;

 private:
  std::string NewEpoch();
  absl::Time Now() { return clock_->Now(); }

  SqlDatabase* const db_;
  EventSink* const events_;
  Clock* const clock_;
  const Options options_;
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_SQL_STORE_H_
