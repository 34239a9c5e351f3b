// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: convergence.h
// -----------------------------------------------------------------------------
//
// The database half of BBS convergence (diego-spec.md 3.4): one call per
// kind of work that reads the store, makes every state change convergence
// itself makes (each a compare-and-set write publishing its events), and
// returns what must be sent to other components. The `Converger`
// (converger.h) runs these on a timer and sends the results: start requests
// to the auctioneer (one batch per pass), retirements and route updates to
// reps, completion callbacks to the callback pool.
//
// Task convergence (`ConvergeTasks`), in Diego's order:
//   1. Pending, created_at < now - expire_pending_task_duration -> Completed,
//      failed, "not started within time limit".
//   2. Every other Pending task -> `tasks_to_auction`.
//   3. Running on a cell not in `cells` -> Completed, failed,
//      "cell disappeared before completion".
//   4. Resolving, updated_at < now - kick_task_duration -> Completed
//      (demoted; its callback is resubmitted by rule 6 of a later pass or,
//      as in Diego, of this one when also due).
//   5. Completed, first_completed_at < now - expire_completed_task_duration
//      -> deleted (TaskRemoved).
//   6. Completed (not deleted by 5), updated_at < now - kick_task_duration,
//      with a completion_callback_url -> `tasks_to_complete`.
//   Tasks completed by rules 1 and 3 that have a callback URL are also in
//   `tasks_to_complete` (every Completed transition submits the callback).
//   Rows whose blob does not parse are deleted (Diego) and counted.
//
// LRP convergence (`ConvergeLrps`), in Diego's order:
//   1. Delete expired domains; delete EVACUATING rows whose cell is not in
//      `cells` (ActualLRPInstanceRemoved events).
//   2. Stale unclaimed: ORDINARY UNCLAIMED with since < now -
//      stale_unclaimed_duration -> start request (no write).
//   3. Missing cells: ORDINARY CLAIMED/RUNNING rows on a cell not in
//      `cells`: if the index already has a SUSPECT row (this row is the
//      replacement, and its cell is gone too), unclaim the ORDINARY row
//      (-> UNCLAIMED, instance key cleared) and auction it; otherwise flip it
//      ORDINARY -> SUSPECT (still routable) and create a new UNCLAIMED
//      ORDINARY row for the index, auctioned. `missing_cell_ids` lists the
//      cells.
//   4. Instance counts: for each DesiredLRP, every index < instances with no
//      ORDINARY row -> create UNCLAIMED + auction (never gated); every
//      ORDINARY index >= instances -> `keys_to_retire` (fresh domain only).
//   5. Orphans: ORDINARY rows with no DesiredLRP, fresh domain ->
//      `keys_to_retire`.
//   6. Suspects: SUSPECT rows with no DesiredLRP (fresh domain) -> deleted;
//      an index whose ORDINARY row is RUNNING -> SUSPECT deleted; SUSPECT
//      whose cell is back in `cells` -> ORDINARY row deleted (whatever its
//      state) and SUSPECT flipped to ORDINARY.
//   7. Crashed: ORDINARY CRASHED rows the restart policy now restarts ->
//      unclaimed (CRASHED -> UNCLAIMED keeping crash_count and crash reason)
//      and auctioned.
//   8. Drift: ORDINARY RUNNING rows whose internal routes or metric tags
//      differ from what the DesiredLRP now gives that instance ->
//      `runtime_updates` (the rep's UpdateLRPInstance).
//   All start requests of one pass are merged per process guid (indices
//   ascending), in process-guid order.
//
// Cost: a pass that finds nothing to do reads only narrow columns (no
// blobs are decoded for rows that need no action), so it stays cheap at
// Diego's 250k scale (benchmarks/bbs_benchmark, docs/benchmarks.md).
//
// Thread-safety: implementations are thread-safe; two passes may run at once
// (each write is its own compare-and-set transaction).

#ifndef DIEGO_BBS_CONVERGENCE_H_
#define DIEGO_BBS_CONVERGENCE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "diego/auction/types.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/task.pb.h"

namespace diego::bbs {

// Ids of the cells whose presence exists (the Locket presences).
using CellSet = absl::flat_hash_set<std::string>;

struct ConvergenceOptions {
  absl::Duration kick_task_duration = absl::Seconds(30);
  absl::Duration expire_pending_task_duration = absl::Minutes(30);
  absl::Duration expire_completed_task_duration = absl::Seconds(120);
  absl::Duration stale_unclaimed_duration = absl::Seconds(30);
};

struct TaskConvergenceResult {
  // Pending tasks to (re-)send to the auctioneer, by task guid.
  std::vector<model::v1::Task> tasks_to_auction;
  // Completed tasks with a completion_callback_url to hand to the callback
  // pool, by task guid.
  std::vector<model::v1::Task> tasks_to_complete;

  // Metrics (Diego's names in comments).
  int64_t pending = 0;             // TasksPending (after this pass)
  int64_t running = 0;             // TasksRunning
  int64_t completed = 0;           // TasksCompleted
  int64_t resolving = 0;           // TasksResolving
  int64_t pruned = 0;              // ConvergenceTasksPruned (deleted + corrupt)
  int64_t kicked = 0;              // ConvergenceTasksKicked (state changes + resubmits)
};

// One instance whose routes or tags must be pushed to its rep.
struct RuntimeUpdate {
  model::v1::ActualLRPKey key;
  model::v1::ActualLRPInstanceKey instance_key;
  std::vector<model::v1::ActualLRPInternalRoute> internal_routes;
  std::map<std::string, std::string> metric_tags;
};

struct LrpConvergenceResult {
  std::vector<auction::LrpStartRequest> start_requests;
  std::vector<model::v1::ActualLRPKey> keys_to_retire;
  std::vector<RuntimeUpdate> runtime_updates;
  std::vector<std::string> missing_cell_ids;  // sorted

  // Metrics (Diego's names in comments), counted over ORDINARY rows after
  // this pass's writes.
  int64_t desired_instances = 0;       // LRPsDesired
  int64_t claimed = 0;                 // LRPsClaimed
  int64_t unclaimed = 0;               // LRPsUnclaimed
  int64_t running = 0;                 // LRPsRunning
  int64_t crashed = 0;                 // CrashedActualLRPs
  int64_t crashing_desired = 0;        // CrashingDesiredLRPs
  int64_t missing = 0;                 // LRPsMissing (indices created)
  int64_t extra = 0;                   // LRPsExtra (keys_to_retire)
  int64_t suspect_running = 0;         // SuspectRunningLRPs
  int64_t suspect_claimed = 0;         // SuspectClaimedLRPs
  int64_t present_cells = 0;           // PresentCells
  int64_t suspect_cells = 0;           // SuspectCells (missing_cell_ids)
  std::vector<std::string> fresh_domains;  // Domain.<name> = 1
};

class ConvergenceStore {
 public:
  virtual ~ConvergenceStore() = default;

  // Task convergence at the store's clock's now. Errors: the database's (a
  // failed individual transition is skipped and retried next pass, not an
  // error of the pass).
  virtual absl::StatusOr<TaskConvergenceResult> ConvergeTasks(
      const CellSet& cells, const ConvergenceOptions& options) = 0;

  // LRP convergence at the store's clock's now. Errors as above.
  virtual absl::StatusOr<LrpConvergenceResult> ConvergeLrps(
      const CellSet& cells, const ConvergenceOptions& options) = 0;
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_CONVERGENCE_H_
