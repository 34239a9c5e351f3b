// Copyright 2026 The libdiego Authors.
//
// Converger: the convergence loop of the active BBS (Diego's converger
// package and the convergence halves of its LRP and task controllers). The
// database work is the ConvergenceStore's; this file reads the cell set,
// runs both halves, sends what they return, keeps the metrics and runs the
// timer and the cell watcher.

#include "diego/bbs/converger.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "diego/bbs/metrics.h"
#include "diego/model/errors.h"
#include "diego/model/v1/actual_lrp_requests.pb.h"

namespace diego::bbs {

Converger::Converger(ConvergenceStore* store, CellPresenceSource* cells,
                     AuctioneerClient* auctioneer, RepClientFactory* reps, BbsService* service,
                     TaskCompletionHandler* completions, Clock* clock, Logger logger,
                     Options options)
    : store_(store),
      cells_(cells),
      auctioneer_(auctioneer),
      reps_(reps),
      service_(service),
      completions_(completions),
      clock_(clock),
      logger_(std::move(logger)),
      options_(std::move(options)) {}

Converger::~Converger() { Stop(); }

absl::Status Converger::ConvergeOnce() { return RunPass(/*cell_triggered=*/false); }

void Converger::Start() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (started_ || stop_.HasBeenNotified()) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void Converger::Stop() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

ConvergerMetrics Converger::metrics() const {
  absl::MutexLock lock(&mu_);
  return metrics_;
}

void Converger::Loop() {
  Logger logger = logger_.Session("converger-process");
  logger.Info("started");
  const bool poll = options_.cell_poll_interval > absl::ZeroDuration();
  bool cell_triggered = false;
  while (!stop_.HasBeenNotified()) {
    // Errors are logged by the pass; the next one retries.
    RunPass(cell_triggered).IgnoreError();
    cell_triggered = false;
    // Diego's timer is reset after each pass, whatever started it.
    const absl::Time next_pass = clock_->Now() + options_.interval;
    for (;;) {
      absl::Time wake = next_pass;
      if (poll) wake = std::min(wake, clock_->Now() + options_.cell_poll_interval);
      if (!clock_->SleepUntil(wake, &stop_)) {
        logger.Info("done");
        return;
      }
      if (clock_->Now() >= next_pass) break;
      if (poll && CellVanished()) {
        cell_triggered = true;
        break;
      }
    }
  }
  logger.Info("done");
}

bool Converger::CellVanished() {
  absl::StatusOr<std::vector<model::v1::CellPresence>> cells = cells_->Cells();
  if (!cells.ok()) {
    // Locket is unreachable: the next pass is skipped anyway.
    logger_.Session("cell-watcher").Debug("failed-listing-cells", {{"error", cells.status()}});
    return false;
  }
  CellSet now;
  for (const model::v1::CellPresence& cell : *cells) now.insert(cell.cell_id());
  std::vector<std::string> gone;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : known_cells_) {
      if (!now.contains(id)) gone.push_back(id);
    }
    known_cells_ = std::move(now);
  }
  if (gone.empty()) return false;
  std::sort(gone.begin(), gone.end());
  logger_.Session("cell-watcher").Info("received-cell-disappeared-event", {{"cell-id", gone}});
  return true;
}

absl::Status Converger::RunPass(bool cell_triggered) {
  Logger logger = logger_.Session("executing-convergence");
  if (!pass_mu_.TryLock()) {
    logger.Debug("waiting-for-running-pass");
    pass_mu_.Lock();
  }
  struct Unlock {
    absl::Mutex* mu;
    ~Unlock() { mu->Unlock(); }
  } unlock{&pass_mu_};
  if (cell_triggered) {
    absl::MutexLock lock(&mu_);
    ++metrics_.cell_triggered_runs;
  }

  absl::StatusOr<std::vector<model::v1::CellPresence>> presences = cells_->Cells();
  if (!presences.ok()) {
    // As Diego: without the cell set every cell would look lost, so the
    // pass is skipped and the next one retries.
    logger.Error("failed-listing-cells", presences.status());
    absl::MutexLock lock(&mu_);
    ++metrics_.skipped_runs;
    return presences.status();
  }
  CellSet cells;
  for (const model::v1::CellPresence& cell : *presences) cells.insert(cell.cell_id());
  {
    absl::MutexLock lock(&mu_);
    known_cells_ = cells;
  }

  absl::Status task_status;
  std::thread tasks([&] { task_status = ConvergeTasks(cells, logger); });
  absl::Status lrp_status = ConvergeLrps(cells, *presences, logger);
  tasks.join();
  return task_status.ok() ? lrp_status : task_status;
}

absl::Status Converger::ConvergeTasks(const CellSet& cells, const Logger& logger) {
  logger.Info("converge-tasks-started");
  const absl::Time start = clock_->Now();
  absl::StatusOr<TaskConvergenceResult> result = store_->ConvergeTasks(cells, options_.convergence);
  if (result.ok()) {
    std::vector<auction::TaskStartRequest> requests;
    requests.reserve(result->tasks_to_auction.size());
    for (const model::v1::Task& task : result->tasks_to_auction) {
      requests.push_back(TaskStartRequestFromTask(task));
    }
    if (!requests.empty()) {
      logger.Debug("requesting-task-auctions", {{"num_tasks_to_auction", requests.size()}});
      absl::Status status = auctioneer_->RequestTaskAuctions(requests);
      if (!status.ok()) {
        // The tasks stay Pending; the next pass re-sends them.
        logger.Error("failed-requesting-task-auctions", status,
                     {{"num_tasks_to_auction", requests.size()}});
      }
    }
    for (const model::v1::Task& task : result->tasks_to_complete) {
      if (completions_ == nullptr) {
        logger.Info("no-completion-handler", {{"task_guid", task.task_guid()}});
        continue;
      }
      completions_->TaskCompleted(task);
    }
  } else {
    logger.Error("failed-to-converge-tasks", result.status());
  }
  const absl::Duration took = clock_->Now() - start;

  logger.Info("converge-tasks-done", {{"duration", took}});
  absl::MutexLock lock(&mu_);
  ++metrics_.task_runs;
  metrics_.last_task_duration = took;
  if (!result.ok()) return result.status();
  result->tasks_to_auction.clear();
  result->tasks_to_complete.clear();
  metrics_.tasks_pruned += result->pruned;
  metrics_.tasks_kicked += result->kicked;
  metrics_.last_task = *std::move(result);
  return absl::OkStatus();
}

absl::Status Converger::ConvergeLrps(const CellSet& cells,
                                     const std::vector<model::v1::CellPresence>& presences,
                                     const Logger& logger) {
  logger.Info("converge-lrps-started");
  const absl::Time start = clock_->Now();
  absl::StatusOr<LrpConvergenceResult> result = store_->ConvergeLrps(cells, options_.convergence);
  if (result.ok()) {
    if (!result->missing_cell_ids.empty()) {
      logger.Info("detected-missing-cells", {{"cell_ids", result->missing_cell_ids}});
    }
    // Every start request of the pass in one call.
    if (!result->start_requests.empty()) {
      logger.Debug("requesting-start-auctions",
                   {{"start_requests_count", result->start_requests.size()}});
      absl::Status status = auctioneer_->RequestLrpAuctions(result->start_requests);
      if (!status.ok()) {
        // The rows are UNCLAIMED: the stale-unclaimed rule re-sends them.
        logger.Error("failed-to-request-starts", status,
                     {{"start_requests_count", result->start_requests.size()}});
      }
    }

    absl::flat_hash_map<std::string, const model::v1::CellPresence*> by_id;
    for (const model::v1::CellPresence& cell : presences) by_id[cell.cell_id()] = &cell;
    const std::vector<model::v1::ActualLRPKey>& retire = result->keys_to_retire;
    const std::vector<RuntimeUpdate>& updates = result->runtime_updates;
    Logger retire_logger = logger.WithData({{"retiring_lrp_count", retire.size()}});
    RunBounded(retire.size() + updates.size(), [&](size_t i) {
      if (i < retire.size()) {
        const model::v1::ActualLRPKey& key = retire[i];
        model::v1::RetireActualLRPRequest request;
        *request.mutable_actual_lrp_key() = key;
        model::v1::ActualLRPLifecycleResponse response =
            service_->RetireActualLrp(request, RequestContext());
        if (response.has_error()) {
          retire_logger.Error("retiring-lrp-failed", model::FromBbsError(response.error()),
                              {{"process_guid", key.process_guid()}, {"index", key.index()}});
        }
        return;
      }
      const RuntimeUpdate& update = updates[i - retire.size()];
      const LogData data = {{"process_guid", update.key.process_guid()},
                            {"index", update.key.index()},
                            {"instance_guid", update.instance_key.instance_guid()},
                            {"cell_id", update.instance_key.cell_id()}};
      auto cell = by_id.find(update.instance_key.cell_id());
      if (cell == by_id.end()) {
        // The cell vanished: the missing-cell rule handles the instance.
        logger.Info("skipping-update-of-lrp-on-missing-cell", data);
        return;
      }
      absl::StatusOr<std::shared_ptr<RepClient>> rep = reps_->ForCell(*cell->second);
      if (!rep.ok()) {
        logger.Error("failed-creating-rep-client", rep.status(), data);
        return;
      }
      absl::Status status = (*rep)->UpdateLrpInstance(update.key, update.instance_key,
                                                      update.internal_routes, update.metric_tags);
      if (!status.ok()) logger.Error("failed-updating-lrp-instance", status, data);
    });
  } else {
    logger.Error("failed-to-converge-lrps", result.status());
  }
  const absl::Duration took = clock_->Now() - start;

  logger.Info("converge-lrps-done", {{"duration", took}});
  absl::MutexLock lock(&mu_);
  ++metrics_.lrp_runs;
  metrics_.last_lrp_duration = took;
  if (!result.ok()) return result.status();
  result->start_requests.clear();
  result->keys_to_retire.clear();
  result->runtime_updates.clear();
  metrics_.last_lrp = *std::move(result);
  return absl::OkStatus();
}

void Converger::RunBounded(size_t n, const std::function<void(size_t)>& work) const {
  if (n == 0) return;
  const size_t threads = std::min(n, static_cast<size_t>(std::max(options_.workers, 1)));
  std::atomic<size_t> next{0};
  auto drain = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) work(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(drain);
  drain();  // The calling thread is one of the workers.
  for (std::thread& thread : pool) thread.join();
}

void AddConvergerCollector(Metrics& metrics, const Converger* converger) {
  metrics.AddCollector([converger]() {
    const ConvergerMetrics m = converger->metrics();
    std::vector<MetricSample> out;
    auto add = [&](absl::string_view name, absl::string_view help, MetricType type, double value) {
      out.push_back(MetricSample{std::string(name), std::string(help), type, {}, value});
    };
    constexpr MetricType kCounter = MetricType::kCounter;
    constexpr MetricType kGauge = MetricType::kGauge;
    add("ConvergenceLRPRuns", "LRP convergence passes run.", kCounter,
        static_cast<double>(m.lrp_runs));
    add("ConvergenceLRPDuration", "Duration of the last LRP convergence pass, in seconds.", kGauge,
        absl::ToDoubleSeconds(m.last_lrp_duration));
    add("ConvergenceTaskRuns", "Task convergence passes run.", kCounter,
        static_cast<double>(m.task_runs));
    add("ConvergenceTaskDuration", "Duration of the last task convergence pass, in seconds.",
        kGauge, absl::ToDoubleSeconds(m.last_task_duration));
    add("ConvergenceTasksPruned", "Tasks deleted by convergence (expired or corrupt).", kCounter,
        static_cast<double>(m.tasks_pruned));
    add("ConvergenceTasksKicked", "Tasks whose state convergence changed or resubmitted.", kCounter,
        static_cast<double>(m.tasks_kicked));
    add("ConvergenceSkippedRuns", "Convergence passes skipped: the cell set could not be read.",
        kCounter, static_cast<double>(m.skipped_runs));
    add("ConvergenceCellTriggeredRuns", "Convergence passes started by a vanished cell.", kCounter,
        static_cast<double>(m.cell_triggered_runs));
    add("LRPsMissing", "LRP instances the last convergence pass created.", kGauge,
        static_cast<double>(m.last_lrp.missing));
    add("LRPsExtra", "LRP instances the last convergence pass retired.", kGauge,
        static_cast<double>(m.last_lrp.extra));
    add("CrashingDesiredLRPs", "DesiredLRPs with a crashed instance (last convergence pass).",
        kGauge, static_cast<double>(m.last_lrp.crashing_desired));
    add("SuspectRunningLRPs", "SUSPECT ActualLRPs RUNNING (last convergence pass).", kGauge,
        static_cast<double>(m.last_lrp.suspect_running));
    add("SuspectClaimedLRPs", "SUSPECT ActualLRPs CLAIMED (last convergence pass).", kGauge,
        static_cast<double>(m.last_lrp.suspect_claimed));
    add("SuspectCells", "Cells with instances but no presence (last convergence pass).", kGauge,
        static_cast<double>(m.last_lrp.suspect_cells));
    return out;
  });
}

}  // namespace diego::bbs
