#include "diego/auction/auction_runner.h"

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/auction/json.h"
#include "diego/base/logger.h"

namespace diego::auction {

// A bounded pool of threads started on demand, like Diego's `workpool`: a
// task runs at once on an idle thread or a new one while fewer than
// `max_workers` exist, else waits in a FIFO queue. Threads live until the pool
// is destroyed; queued tasks not yet started at that point are dropped.
class AuctionRunner::WorkerPool {
 public:
  explicit WorkerPool(int max_workers) : max_workers_(max_workers < 1 ? 1 : max_workers) {}

  ~WorkerPool() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      queue_.clear();
    }
    for (std::thread& thread : threads_) {
      thread.join();
    }
  }

  void Submit(std::function<void()> task) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(task));
    if (queue_.size() > static_cast<size_t>(idle_) &&
        threads_.size() < static_cast<size_t>(max_workers_)) {
      threads_.emplace_back([this] { Work(); });
    }
  }

 private:
  void Work() {
    while (true) {
      std::function<void()> task;
      {
        absl::MutexLock lock(&mu_);
        ++idle_;
        mu_.Await(absl::Condition(
            +[](WorkerPool* pool) ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool->mu_) {
              return pool->stopping_ || !pool->queue_.empty();
            },
            this));
        --idle_;
        if (stopping_) {
          return;
        }
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  const int max_workers_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Only touched under `mu_` (Submit) or after `stopping_` (destructor).
  std::vector<std::thread> threads_;
};

namespace {

std::string LrpIdentifier(const Lrp& lrp) { return absl::StrCat(lrp.process_guid, ".", lrp.index); }

// The results of one parallel `State()` sweep, shared with the workers so a
// worker whose call outlives the round's deadline can still finish safely.
struct StateSweep {
  absl::Mutex mu;
  std::vector<std::optional<absl::StatusOr<CellState>>> results ABSL_GUARDED_BY(mu);
  size_t remaining ABSL_GUARDED_BY(mu) = 0;
  absl::Notification done;
};

}  // namespace

AuctionRunner::AuctionRunner(CellDirectory* cells, const Scheduler* scheduler,
                             AuctionResultsReporter* reporter, Clock* clock, const Logger* logger,
                             AuctionRunnerOptions options)
    : cells_(cells),
      scheduler_(scheduler),
      reporter_(reporter),
      clock_(clock),
      logger_(*logger),
      options_(options),
      pool_(std::make_unique<WorkerPool>(options.max_workers)) {}

AuctionRunner::~AuctionRunner() = default;

void AuctionRunner::ScheduleLrpsForAuctions(std::vector<LrpStartRequest> starts) {
  const absl::Time now = clock_->Now();
  std::vector<LrpAuction> auctions;
  for (const LrpStartRequest& start : starts) {
    // The auctioneer's handler drops invalid requests silently (a log line,
    // still 202); the runner applies the same rule to whatever it is given.
    if (absl::Status valid = ValidateLrpStartRequest(start); !valid.ok()) {
      logger_.Error("start-validate-failed", valid,
                    {{"process_guid", start.process_guid}, {"domain", start.domain}});
      continue;
    }
    std::vector<LrpAuction> expanded = LrpAuctionsFromRequest(start, now);
    for (LrpAuction& auction : expanded) {
      auctions.push_back(std::move(auction));
    }
  }
  absl::MutexLock lock(&mu_);
  for (LrpAuction& auction : auctions) {
    lrp_auctions_.push_back(std::move(auction));
  }
  has_work_ = true;  // Mirrors batch.go `claimToHaveWork`.
}

void AuctionRunner::ScheduleTasksForAuctions(std::vector<TaskStartRequest> tasks) {
  const absl::Time now = clock_->Now();
  std::vector<TaskAuction> auctions;
  for (TaskStartRequest& task : tasks) {
    if (absl::Status valid = ValidateTaskStartRequest(task); !valid.ok()) {
      logger_.Error("task-start-validate-failed", valid, {{"task_guid", task.task_guid}});
      continue;
    }
    TaskAuction auction;
    auction.task = std::move(task);
    auction.record.queue_time = now;
    auctions.push_back(std::move(auction));
  }
  absl::MutexLock lock(&mu_);
  for (TaskAuction& auction : auctions) {
    task_auctions_.push_back(std::move(auction));
  }
  has_work_ = true;
}

void AuctionRunner::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](AuctionRunner* runner) ABSL_EXCLUSIVE_LOCKS_REQUIRED(runner->mu_) {
            return runner->stopped_ || runner->has_work_;
          },
          this));
      if (stopped_) {
        return;
      }
    }
    absl::StatusOr<AuctionResults> round = RunOnce();
    if (!round.ok()) {
      // auction_runner.go: on a failed cell fetch, sleep a second and go
      // round again (RunOnce re-armed the wakeup and kept the batch).
      clock_->SleepUntil(clock_->Now() + options_.cell_directory_retry_interval, &stop_);
    }
  }
}

void AuctionRunner::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  if (!stop_.HasBeenNotified()) {
    stop_.Notify();
  }
}

size_t AuctionRunner::PendingLrpAuctions() const {
  absl::MutexLock lock(&mu_);
  return lrp_auctions_.size();
}

size_t AuctionRunner::PendingTaskAuctions() const {
  absl::MutexLock lock(&mu_);
  return task_auctions_.size();
}

bool AuctionRunner::HasWork() const {
  absl::MutexLock lock(&mu_);
  return has_work_;
}

std::vector<AuctionRunner::LiveCell> AuctionRunner::FetchCellStates(
    const Logger& logger, const std::vector<CellEndpoint>& endpoints) {
  auto sweep = std::make_shared<StateSweep>();
  {
    absl::MutexLock lock(&sweep->mu);
    sweep->results.resize(endpoints.size());
    sweep->remaining = endpoints.size();
  }
  if (endpoints.empty()) {
    sweep->done.Notify();
  }
  for (size_t i = 0; i < endpoints.size(); ++i) {
    pool_->Submit([sweep, i, client = endpoints[i].client] {
      absl::StatusOr<CellState> state = client->State();
      absl::MutexLock lock(&sweep->mu);
      sweep->results[i] = std::move(state);
      if (--sweep->remaining == 0) {
        sweep->done.Notify();
      }
    });
  }
  if (options_.cell_state_timeout > absl::ZeroDuration()) {
    if (!sweep->done.HasBeenNotified()) {
      clock_->SleepUntil(clock_->Now() + options_.cell_state_timeout, &sweep->done);
    }
  } else {
    sweep->done.WaitForNotification();
  }

  std::vector<std::optional<absl::StatusOr<CellState>>> results;
  {
    absl::MutexLock lock(&sweep->mu);
    results = sweep->results;  // Late answers land in `sweep` unseen.
  }
  // Mirrors zone_builder.go `fetchStateAndBuildZones`.
  std::vector<LiveCell> live;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const std::string& cell_id = endpoints[i].cell_id;
    if (!results[i].has_value()) {
      logger.Error("failed-to-get-state",
                   absl::DeadlineExceededError(
                       absl::StrCat("cell '", cell_id, "': no state within ",
                                    absl::FormatDuration(options_.cell_state_timeout))),
                   {{"cell-guid", cell_id}});
      if (reporter_ != nullptr) {
        reporter_->FailedCellStateRequest();
      }
      continue;
    }
    absl::StatusOr<CellState>& state = *results[i];
    if (!state.ok()) {
      logger.Error("failed-to-get-state", state.status(), {{"cell-guid", cell_id}});
      if (reporter_ != nullptr) {
        reporter_->FailedCellStateRequest();
      }
      continue;
    }
    if (state->evacuating) {
      logger.Info("ignored-evacuating-cell", {{"cell-guid", cell_id}});
      continue;
    }
    if (!state->cell_id.empty() && state->cell_id != cell_id) {
      logger.Error("cell-id-mismatch", {{"cell-guid", cell_id}, {"cell-state-guid", state->cell_id}});
      continue;
    }
    // Diego accepts a state without a cell id; name it after the directory
    // entry so the scheduler's work can be routed back to this client.
    state->cell_id = cell_id;
    live.push_back(LiveCell{*std::move(state), endpoints[i].client});
  }
  return live;
}

void AuctionRunner::Commit(const Logger& logger, const std::vector<Work>& work,
                           const std::vector<LiveCell>& cells, AuctionResults* results) {
  std::unordered_map<std::string, std::shared_ptr<CellClient>> clients;
  for (const LiveCell& cell : cells) {
    clients.emplace(cell.state.cell_id, cell.client);
  }

  struct Outcome {
    std::string cell_id;
    absl::StatusOr<Work> failed;
  };
  std::vector<Outcome> outcomes(work.size());
  std::vector<Work> unroutable;
  absl::BlockingCounter pending(static_cast<int>(work.size()));
  for (size_t i = 0; i < work.size(); ++i) {
    outcomes[i].cell_id = work[i].cell_id;
    auto it = clients.find(work[i].cell_id);
    if (it == clients.end() || (work[i].lrps.empty() && work[i].tasks.empty())) {
      if (it == clients.end()) {
        // The scheduler named a cell this round did not fetch. Nothing was
        // sent, so failing the work cannot duplicate anything.
        logger.Error("work-for-unknown-cell", {{"cell-guid", work[i].cell_id}});
        outcomes[i].failed = work[i];
      } else {
        outcomes[i].failed = Work{};
      }
      pending.DecrementCount();
      continue;
    }
    Work to_send = work[i];
    to_send.cell_id = it->first;  // cell.go: `rep.Work{CellID: guid}`.
    pool_->Submit([&outcomes, &pending, i, client = it->second, to_send = std::move(to_send)] {
      outcomes[i].failed = client->Perform(to_send);
      pending.DecrementCount();
    });
  }
  pending.Wait();

  // Mirrors scheduler.go `Schedule` after `commitCells`: whatever a cell
  // returns moves from the successes to the failures, with no placement error.
  std::unordered_set<std::string> failed_lrps;
  std::unordered_set<std::string> failed_tasks;
  for (const Outcome& outcome : outcomes) {
    if (!outcome.failed.ok()) {
      // cell.go `Commit`: an error may mean partial success; do not
      // reschedule, so nothing is started twice. Convergence repairs it.
      logger.Error("failed-to-commit", outcome.failed.status(), {{"cell-guid", outcome.cell_id}});
      continue;
    }
    for (const Lrp& lrp : outcome.failed->lrps) {
      logger.Info("lrp-failed-to-be-placed", {{"lrp-guid", LrpIdentifier(lrp)}});
      failed_lrps.insert(LrpIdentifier(lrp));
    }
    for (const Task& task : outcome.failed->tasks) {
      logger.Info("task-failed-to-be-placed", {{"task-guid", task.task_guid}});
      failed_tasks.insert(task.task_guid);
    }
  }
  if (!failed_lrps.empty()) {
    std::vector<LrpAuction> kept;
    for (LrpAuction& auction : results->successful_lrps) {
      if (failed_lrps.contains(LrpIdentifier(auction.lrp))) {
        auction.record.winner.clear();
        auction.record.placement_error.clear();
        auction.lrp.instance_guid.clear();
        results->failed_lrps.push_back(std::move(auction));
      } else {
        kept.push_back(std::move(auction));
      }
    }
    results->successful_lrps = std::move(kept);
  }
  if (!failed_tasks.empty()) {
    std::vector<TaskAuction> kept;
    for (TaskAuction& auction : results->successful_tasks) {
      if (failed_tasks.contains(auction.task.task_guid)) {
        auction.record.winner.clear();
        auction.record.placement_error.clear();
        results->failed_tasks.push_back(std::move(auction));
      } else {
        kept.push_back(std::move(auction));
      }
    }
    results->successful_tasks = std::move(kept);
  }
}

void AuctionRunner::Report(const Logger& logger, const AuctionResults& results) {
  if (reporter_ == nullptr) {
    return;
  }
  for (const LrpAuction& auction : results.failed_lrps) {
    absl::Status status = reporter_->FailActualLrp(auction.lrp, auction.record.placement_error);
    if (!status.ok()) {
      logger.Error("failed-to-fail-actual-lrp", status,
                   {{"process_guid", auction.lrp.process_guid}, {"index", auction.lrp.index}});
    }
  }
  for (const TaskAuction& auction : results.failed_tasks) {
    absl::Status status = reporter_->RejectTask(auction.task, auction.record.placement_error);
    if (!status.ok()) {
      logger.Error("failed-to-reject-task", status, {{"task_guid", auction.task.task_guid}});
    }
  }
  reporter_->AuctionCompleted(results);
}

absl::StatusOr<AuctionResults> AuctionRunner::RunOnce() {
  absl::MutexLock round_lock(&round_mu_);
  {
    absl::MutexLock lock(&mu_);
    has_work_ = false;
    if (lrp_auctions_.empty() && task_auctions_.empty()) {
      return AuctionResults{};
    }
  }
  const Logger logger = logger_.Session("auction");

  logger.Info("fetching-cell-reps");
  absl::StatusOr<std::vector<CellEndpoint>> endpoints = cells_->Cells();
  if (!endpoints.ok()) {
    logger.Error("failed-to-fetch-reps", endpoints.status());
    absl::MutexLock lock(&mu_);
    has_work_ = true;  // Keep the batch and come back (auction_runner.go).
    return endpoints.status();
  }
  logger.Info("fetched-cell-reps", {{"cell-reps-count", endpoints->size()}});

  logger.Info("fetching-zone-state");
  const absl::Time fetch_start = clock_->Now();
  std::vector<LiveCell> cells;
  const int attempts = options_.max_state_fetch_attempts < 1 ? 1 : options_.max_state_fetch_attempts;
  for (int attempt = 1;; ++attempt) {
    cells = FetchCellStates(logger, *endpoints);
    if (!cells.empty() || endpoints->empty()) {
      break;
    }
    if (attempt >= attempts) {
      logger.Info("failed-to-communicate-to-cells-abort");
      break;
    }
    logger.Info("failed-to-communicate-to-cells-retry", {{"attempt", attempt}});
  }
  const absl::Duration fetch_duration = clock_->Now() - fetch_start;
  if (reporter_ != nullptr) {
    reporter_->FetchStatesCompleted(fetch_duration);
  }
  logger.Info("fetched-zone-state", {{"cell-state-count", cells.size()},
                                     {"num-failed-requests", endpoints->size() - cells.size()},
                                     {"duration", fetch_duration}});

  // Drain and dedupe (batch.go `DedupeAndDrain`): the first auction queued
  // for an identity wins; later duplicates are dropped.
  logger.Info("fetching-auctions");
  std::vector<LrpAuction> queued_lrps;
  std::vector<TaskAuction> queued_tasks;
  {
    absl::MutexLock lock(&mu_);
    queued_lrps.swap(lrp_auctions_);
    queued_tasks.swap(task_auctions_);
    has_work_ = false;
  }
  std::vector<LrpAuction> lrps;
  std::vector<TaskAuction> tasks;
  std::unordered_map<std::string, int32_t> attempts_before;
  std::unordered_set<std::string> seen;
  for (LrpAuction& auction : queued_lrps) {
    std::string id = LrpIdentifier(auction.lrp);
    if (seen.insert(id).second) {
      attempts_before[absl::StrCat("lrp:", id)] = auction.record.attempts;
      lrps.push_back(std::move(auction));
    }
  }
  seen.clear();
  for (TaskAuction& auction : queued_tasks) {
    if (seen.insert(auction.task.task_guid).second) {
      attempts_before[absl::StrCat("task:", auction.task.task_guid)] = auction.record.attempts;
      tasks.push_back(std::move(auction));
    }
  }
  logger.Info("fetched-auctions",
              {{"lrp-start-auctions", lrps.size()}, {"task-auctions", tasks.size()}});

  AuctionResults results;
  if (cells.empty()) {
    // scheduler.go: with no zones every auction fails this way.
    for (LrpAuction& auction : lrps) {
      auction.record.placement_error = std::string(kErrorCellCommunication);
      results.failed_lrps.push_back(std::move(auction));
    }
    for (TaskAuction& auction : tasks) {
      auction.record.placement_error = std::string(kErrorCellCommunication);
      results.failed_tasks.push_back(std::move(auction));
    }
  } else {
    logger.Info("scheduling");
    std::vector<CellState> states;
    states.reserve(cells.size());
    for (const LiveCell& cell : cells) {
      states.push_back(cell.state);
    }
    ScheduleOutput output = scheduler_->Schedule(std::move(states), std::move(lrps), std::move(tasks));
    results = std::move(output.results);
    Commit(logger, output.work, cells, &results);
  }

  // scheduler.go `markResults`: one more attempt for every auction, and the
  // time since it was queued.
  const absl::Time now = clock_->Now();
  const auto mark = [&](AuctionRecord& record, const std::string& key) {
    auto it = attempts_before.find(key);
    record.attempts = (it == attempts_before.end() ? 0 : it->second) + 1;
    record.wait_duration = now - record.queue_time;
  };
  for (LrpAuction& auction : results.successful_lrps) {
    mark(auction.record, absl::StrCat("lrp:", LrpIdentifier(auction.lrp)));
  }
  for (LrpAuction& auction : results.failed_lrps) {
    mark(auction.record, absl::StrCat("lrp:", LrpIdentifier(auction.lrp)));
  }
  for (TaskAuction& auction : results.successful_tasks) {
    mark(auction.record, absl::StrCat("task:", auction.task.task_guid));
  }
  for (TaskAuction& auction : results.failed_tasks) {
    mark(auction.record, absl::StrCat("task:", auction.task.task_guid));
  }

  logger.Info("scheduled", {{"successful-lrp-start-auctions", results.successful_lrps.size()},
                            {"successful-task-auctions", results.successful_tasks.size()},
                            {"failed-lrp-start-auctions", results.failed_lrps.size()},
                            {"failed-task-auctions", results.failed_tasks.size()}});
  Report(logger, results);
  return results;
}

}  // namespace diego::auction
