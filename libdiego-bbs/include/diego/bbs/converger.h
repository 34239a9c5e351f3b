// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: converger.h
// -----------------------------------------------------------------------------
//
// `Converger`: the BBS's convergence loop (diego-spec.md 3.4), run only by the
// active BBS. One pass:
//
//   1. Reads the cell set (`CellPresenceSource::Cells()`). If that fails
//      (Locket unreachable), the pass is skipped and logged, as in Diego.
//   2. Runs task convergence and LRP convergence (convergence.h)
//      concurrently.
//   3. Sends the follow-ups:
//        * all LRP start requests of the pass in ONE
//          `AuctioneerClient::RequestLrpAuctions` call, and all pending tasks
//          in one `RequestTaskAuctions` call (failures logged; the next pass
//          retries);
//        * each key to retire through `BbsService::RetireActualLrp` (cell
//          gone -> row removed; else the rep is asked to stop it);
//        * each runtime update through the instance's rep
//          (`RepClient::UpdateLrpInstance`), the rep found by the row's cell
//          among the presences read in step 1;
//        * each task to complete to the `TaskCompletionHandler`.
//      Retirements and rep updates run on at most `workers` threads at once
//      (Diego's convergence_workers).
//   4. Records metrics (see `ConvergerMetrics`).
//
// Triggers: `Start()` runs a pass at once, then `interval` after each pass
// completes (Diego's converge_repeat_interval, restarted after each run), and
// also at once when a cell disappears: every `cell_poll_interval` the
// converger re-reads the cell set and, if a cell present at the previous
// read is gone, runs a pass immediately (Diego's cell-disappeared trigger,
// which its Locket-backed cell watcher never fires; with it a lost cell is
// acted on within presence TTL + cell_poll_interval instead of up to a whole
// interval later). Passes never overlap.
//
// All waiting is on the injected clock, so tests drive it with a FakeClock.
//
// Thread-safety: thread-safe.

#ifndef DIEGO_BBS_CONVERGER_H_
#define DIEGO_BBS_CONVERGER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/bbs/convergence.h"
#include "diego/bbs/outbound.h"
#include "diego/bbs/service.h"
#include "diego/bbs/store.h"

namespace diego::bbs {

class Metrics;

// Totals since the converger was made, and the last pass's figures.
struct ConvergerMetrics {
  int64_t lrp_runs = 0;                  // ConvergenceLRPRuns
  int64_t task_runs = 0;                 // ConvergenceTaskRuns
  int64_t skipped_runs = 0;              // passes skipped (no cell set)
  int64_t cell_triggered_runs = 0;       // passes started by a vanished cell
  int64_t tasks_pruned = 0;              // ConvergenceTasksPruned (total)
  int64_t tasks_kicked = 0;              // ConvergenceTasksKicked (total)
  absl::Duration last_lrp_duration;      // ConvergenceLRPDuration
  absl::Duration last_task_duration;     // ConvergenceTaskDuration
  LrpConvergenceResult last_lrp;         // counts of the last LRP pass (lists cleared)
  TaskConvergenceResult last_task;       // counts of the last task pass (lists cleared)
};

class Converger {
 public:
  struct Options {
    absl::Duration interval = absl::Seconds(30);            // converge_repeat_interval
    absl::Duration cell_poll_interval = absl::Seconds(1);  // 0 = no cell trigger
    int workers = 20;                                       // convergence_workers
    ConvergenceOptions convergence;
  };

  // Every pointer must outlive the converger. `completions` may be null
  // (tasks to complete are then only logged).
  Converger(ConvergenceStore* store, CellPresenceSource* cells, AuctioneerClient* auctioneer,
            RepClientFactory* reps, BbsService* service, TaskCompletionHandler* completions,
            Clock* clock, Logger logger, Options options);
  ~Converger();  // Stop().

  Converger(const Converger&) = delete;
  Converger& operator=(const Converger&) = delete;

  // One whole pass (steps 1-4), on the calling thread; returns when every
  // follow-up was sent. Errors: the cell set could not be read (the pass was
  // skipped) or a convergence call failed (the other half still ran).
  absl::Status ConvergeOnce();

  // Starts the background loop (a pass at once). Call once.
  void Start();
  // Stops the loop, waiting for a running pass. Idempotent.
  void Stop();

  ConvergerMetrics metrics() const;

 private:
  // The background loop (see the file comment).
  void Loop();
  // One pass; `cell_triggered` counts it in cell_triggered_runs.
  absl::Status RunPass(bool cell_triggered);
  // Re-reads the cell set; true when a cell of the previous read is gone.
  bool CellVanished();
  // The task half of a pass: store call, auction batch, completions.
  absl::Status ConvergeTasks(const CellSet& cells, const Logger& logger);
  // The LRP half: store call, auction batch, retirements, rep updates.
  absl::Status ConvergeLrps(const CellSet& cells,
                            const std::vector<model::v1::CellPresence>& presences,
                            const Logger& logger);
  // Runs work(0) .. work(n - 1) on at most `workers` threads; returns when
  // all are done.
  void RunBounded(size_t n, const std::function<void(size_t)>& work) const;

  ConvergenceStore* const store_;
  CellPresenceSource* const cells_;
  AuctioneerClient* const auctioneer_;
  RepClientFactory* const reps_;
  BbsService* const service_;
  TaskCompletionHandler* const completions_;
  Clock* const clock_;
  Logger logger_;
  const Options options_;

  absl::Mutex pass_mu_;  // serializes passes
  mutable absl::Mutex mu_;
  ConvergerMetrics metrics_ ABSL_GUARDED_BY(mu_);
  // Cell ids of the last successful read (pass or poll).
  CellSet known_cells_ ABSL_GUARDED_BY(mu_);

  absl::Mutex lifecycle_mu_;  // Start / Stop
  bool started_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  absl::Notification stop_;
  std::thread thread_ ABSL_GUARDED_BY(lifecycle_mu_);
};

// Publishes `converger`'s metrics on `metrics` (Diego's names, see
// ConvergerMetrics and convergence.h) at each scrape.
void AddConvergerCollector(Metrics& metrics, const Converger* converger);

}  // namespace diego::bbs

#endif  // DIEGO_BBS_CONVERGER_H_
