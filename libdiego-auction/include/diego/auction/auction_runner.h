// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: auction_runner.h
// -----------------------------------------------------------------------------
//
// `diego::auction::AuctionRunner` is the auctioneer's main loop (Diego's
// auction/auctionrunner `auctionRunner.Run`, diego-spec.md 4.1 and 4.5). Start
// requests from the BBS are appended to an in-memory batch; a single loop
// wakes whenever the batch has work (there is no timed batching window, so
// everything that arrives while a round runs is handled together in the next
// one) and runs one auction round:
//
//   1. Ask the `CellDirectory` for the present cells and their clients. On
//      error, keep the batch, wait `cell_directory_retry_interval` (1s) and
//      try again.
//   2. Fetch every cell's state in parallel on a bounded worker pool, each
//      call bounded by `cell_state_timeout`. Cells whose call fails or times
//      out (each counted as a failed cell state request), that report
//      `Evacuating`, or that report a different non-empty cell id are
//      dropped. If no cell is left, fetch again, up to
//      `max_state_fetch_attempts` (4) attempts in all.
//   3. Drain the batch, dropping duplicates (same `Identifier()`; the first
//      one queued wins).
//   4. With no cells, fail everything with "unable to communicate to
//      compatible cells"; otherwise place the batch with `Scheduler::Schedule`.
//   5. `Perform` each winning cell's work, in parallel. Items a cell returns
//      (could not start) become failures with an empty placement error. If a
//      `Perform` call itself fails, nothing it carried is marked failed: the
//      cell may have started some of it, and convergence repairs the rest
//      (Diego avoids duplicate instances this way).
//   6. Stamp every auction's record (attempts + 1; wait time = now - queue
//      time) and report: each failed LRP through `FailActualLrp`, each failed
//      task through `RejectTask`, then the round's metrics.
//
// Example:
//
//   AuctionRunner runner(&directory, &scheduler, &reporter, Clock::Real(), &logger);
//   std::thread loop([&] { runner.Run(); });
//   runner.ScheduleLrpsForAuctions({start_request});   // From POST /v1/lrps.
//   ...
//   runner.Stop();
//   loop.join();

#ifndef DIEGO_AUCTION_AUCTION_RUNNER_H_
#define DIEGO_AUCTION_AUCTION_RUNNER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/auction/cell_client.h"
#include "diego/auction/scheduler.h"
#include "diego/auction/types.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"

namespace diego::auction {

// The placement error of every auction in a round where no cell answered
// (Diego's `auctiontypes.ErrorCellCommunication`).
inline constexpr absl::string_view kErrorCellCommunication =
    "unable to communicate to compatible cells";

// One present cell: its id (the cell presence's `cell_id`) and a client for
// its rep. The client is shared so a directory may cache clients (and their
// keep-alive connections) across rounds.
struct CellEndpoint {
  std::string cell_id;
  std::shared_ptr<CellClient> client;  // Never null.
};

// Where the runner learns which cells exist. In Diego this is the BBS's
// `/v1/cells/list.r1` (Locket presences) plus a rep client per cell
// (auctioneer `auctionRunnerDelegate.FetchCellReps`).
class CellDirectory {
 public:
  virtual ~CellDirectory() = default;

  // Returns the cells present now, in a stable order (the order cells are
  // handed to the scheduler). Called once per round, from the runner's loop.
  //
  // Any error means "unknown this round": the runner logs it, keeps the
  // batch, and retries after `cell_directory_retry_interval`.
  [[nodiscard]] virtual absl::StatusOr<std::vector<CellEndpoint>> Cells() = 0;
};

// Where the runner sends a round's outcome. In Diego these are the BBS calls
// of the auctioneer's runner delegate and the metrics of its metric emitter
// delegate. All methods are called from the runner's loop, one at a time.
class AuctionResultsReporter {
 public:
  virtual ~AuctionResultsReporter() = default;

  // An LRP instance could not be placed: the BBS's `FailActualLRP(key,
  // placement_error)` (the row stays UNCLAIMED with the error and is
  // re-auctioned by convergence). `lrp` carries the key (`process_guid`,
  // `index`, `domain`). An error is logged and otherwise ignored.
  [[nodiscard]] virtual absl::Status FailActualLrp(const Lrp& lrp,
                                                   absl::string_view placement_error) = 0;

  // A task could not be placed: the BBS's `RejectTask(task_guid,
  // rejection_reason)`. An error is logged and otherwise ignored.
  [[nodiscard]] virtual absl::Status RejectTask(const Task& task,
                                                absl::string_view rejection_reason) = 0;

  // The round is over (after the calls above). Diego's counters:
  // `AuctioneerLRPAuctionsStarted` += successful LRPs,
  // `AuctioneerTaskAuctionsStarted` += successful tasks,
  // `AuctioneerLRPAuctionsFailed` += failed LRPs,
  // `AuctioneerTaskAuctionsFailed` += failed tasks.
  virtual void AuctionCompleted(const AuctionResults& results) = 0;

  // Fetching cell states (all attempts of the round) took `duration`
  // (`AuctioneerFetchStatesDuration`).
  virtual void FetchStatesCompleted(absl::Duration duration) = 0;

  // One cell's state request failed or timed out
  // (`AuctioneerFailedCellStateRequests` += 1).
  virtual void FailedCellStateRequest() = 0;
};

struct AuctionRunnerOptions {
  // Upper bound on concurrent `State()` / `Perform()` calls (Diego's
  // `auction_runner_workers`). Worker threads start on demand and then stay
  // until the runner is destroyed. Must be at least 1.
  int max_workers = 1000;

  // How long a round waits for all cell states (Diego's `cell_state_timeout`).
  // Cells that have not answered by then are dropped; their calls are
  // abandoned (they finish in the background). Zero or negative: wait for
  // every call.
  absl::Duration cell_state_timeout = absl::Seconds(10);

  // State fetch attempts per round while no cell answers. At least 1.
  int max_state_fetch_attempts = 4;

  // The wait before retrying after the `CellDirectory` fails.
  absl::Duration cell_directory_retry_interval = absl::Seconds(1);
};

// The auction loop; see the file comment.
//
// Thread safety: `ScheduleLrpsForAuctions`, `ScheduleTasksForAuctions`,
// `Stop` and the observers may be called from any thread at any time. Rounds
// (`Run` or `RunOnce`) are serialized: a second caller waits.
class AuctionRunner {
 public:
  // None of the pointers is owned; all must outlive the runner. `reporter`
  // may be null (outcomes are then only logged and returned by `RunOnce`);
  // the others must not be. Each round logs in a `Session("auction")` of
  // `logger`.
  AuctionRunner(CellDirectory* cells, const Scheduler* scheduler,
                AuctionResultsReporter* reporter, Clock* clock, const Logger* logger,
                AuctionRunnerOptions options = {});

  AuctionRunner(const AuctionRunner&) = delete;
  AuctionRunner& operator=(const AuctionRunner&) = delete;

  // `Run` must have returned. Waits for abandoned `State()` calls still in
  // flight to return.
  ~AuctionRunner();

  // Queues one auction per index of every valid request, stamped with the
  // clock's current time, and wakes the loop. Invalid requests (see
  // `ValidateLrpStartRequest` in json.h) are dropped with a log line, as the
  // auctioneer's handler drops them. Never blocks on a round.
  void ScheduleLrpsForAuctions(std::vector<LrpStartRequest> starts);

  // As above for tasks (`ValidateTaskStartRequest`).
  void ScheduleTasksForAuctions(std::vector<TaskStartRequest> tasks);

  // Runs rounds whenever the batch has work, until `Stop()`. A round in
  // progress when `Stop()` is called completes first; a directory retry wait
  // is cut short.
  void Run();

  // Makes `Run` return (or not start). Idempotent; may precede `Run`.
  void Stop();

  // Runs one round now, whether or not the loop was woken, and clears the
  // wakeup. Returns the round's results (all four lists empty if the batch
  // was empty, in which case no cell is contacted), or the `CellDirectory`'s
  // error, in which case the batch is kept and the wakeup re-armed.
  [[nodiscard]] absl::StatusOr<AuctionResults> RunOnce();

  // Observers, mostly for tests: auctions queued and not yet drained (before
  // deduplication), and whether the loop's wakeup is set.
  size_t PendingLrpAuctions() const;
  size_t PendingTaskAuctions() const;
  bool HasWork() const;

 private:
  class WorkerPool;

  // A cell that answered this round.
  struct LiveCell {
    CellState state;
    std::shared_ptr<CellClient> client;
  };

  // One parallel sweep of `State()` calls; drops unusable cells.
  std::vector<LiveCell> FetchCellStates(const Logger& logger,
                                        const std::vector<CellEndpoint>& endpoints);

  // Sends each cell its work and folds what comes back into `results`.
  void Commit(const Logger& logger, const std::vector<Work>& work,
              const std::vector<LiveCell>& cells, AuctionResults* results);

  void Report(const Logger& logger, const AuctionResults& results);

  CellDirectory* const cells_;
  const Scheduler* const scheduler_;
  AuctionResultsReporter* const reporter_;
  Clock* const clock_;
  const Logger logger_;
  const AuctionRunnerOptions options_;
  std::unique_ptr<WorkerPool> pool_;

  // Serializes rounds.
  absl::Mutex round_mu_;

  mutable absl::Mutex mu_;
  std::vector<LrpAuction> lrp_auctions_ ABSL_GUARDED_BY(mu_);
  std::vector<TaskAuction> task_auctions_ ABSL_GUARDED_BY(mu_);
  bool has_work_ ABSL_GUARDED_BY(mu_) = false;  // Diego's 1-slot `HasWork` channel.
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Notification stop_;  // Cuts the directory retry wait short.
};

}  // namespace diego::auction

#endif  // DIEGO_AUCTION_AUCTION_RUNNER_H_
