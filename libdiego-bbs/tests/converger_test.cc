// Copyright 2026 The libdiego Authors.
//
// Converger: the orchestration of a pass over a scripted ConvergenceStore
// (cell set first, both halves, one auction batch per kind, retirements
// through a real BbsService over SQLite, rep updates, completions, the
// workers bound, metrics), the triggers on a FakeClock (start, interval,
// vanished cell, no overlap, Stop), and end-to-end passes over the real
// SqlStore convergence (lost cell, returning cell, missing instance,
// scale-down).

#include "diego/bbs/converger.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "diego/bbs/metrics.h"
#include "diego/bbs/outbound.h"
#include "diego/bbs/service.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/go_json.h"
#include "diego/testing/child_process.h"
#include "diego/testing/fake_auctioneer_client.h"
#include "diego/testing/fake_cell_presence_source.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/fake_rep_client.h"
#include "diego/testing/recording_event_sink.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service_fixture.h"
#include "test_databases.h"

namespace diego::bbs {
namespace {

using ::diego::fakes::FakeCellPresenceSource;
using ::diego::fakes::StatusIs;
using model::v1::ActualLRP;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

// Waits (real time, bounded) for what another thread does after a wake-up
// that is not a FakeClock deadline (`BlockUntilSleepers` cannot tell it from
// the wait it left).
bool Eventually(const std::function<bool()>& condition) {
  return fakes::PollUntil(condition, absl::Seconds(30), absl::Milliseconds(1));
}

auction::LrpStartRequest StartRequest(const std::string& guid, std::vector<int32_t> indices) {
  auction::LrpStartRequest request;
  request.process_guid = guid;
  request.domain = kDomain;
  request.indices = std::move(indices);
  request.resource.memory_mb = 128;
  return request;
}

model::v1::Task PendingTask(const std::string& guid) {
  model::v1::Task task;
  task.set_task_guid(guid);
  task.set_domain(kDomain);
  task.set_state(model::v1::Task::Pending);
  task.mutable_task_definition()->set_root_fs("preloaded:cflinuxfs4");
  task.mutable_task_definition()->set_memory_mb(64);
  return task;
}

model::v1::DesiredLRP NewLrp(const std::string& guid, int32_t instances) {
  model::v1::DesiredLRP lrp;
  lrp.set_process_guid(guid);
  lrp.set_domain(kDomain);
  lrp.set_log_guid("log-" + guid);
  lrp.set_root_fs("preloaded:cflinuxfs4");
  lrp.set_instances(instances);
  lrp.set_memory_mb(128);
  lrp.set_disk_mb(256);
  model::v1::RunAction* run = lrp.mutable_action()->mutable_run_action();
  run->set_path("/app/start");
  run->set_user("vcap");
  return lrp;
}

// -----------------------------------------------------------------------------
// Collaborators.
// -----------------------------------------------------------------------------

// One half of a ScriptedStore: its scripted result and hook, and a record of
// its calls (how many, how many overlapped, the last call's arguments).
template <typename Result>
class ScriptedHalf {
 public:
  // Records the call, runs the hook (outside the lock), returns the result.
  absl::StatusOr<Result> Call(const CellSet& cells, const ConvergenceOptions& options) {
    std::function<void()> hook;
    absl::StatusOr<Result> result;
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      cells_ = cells;
      options_ = options;
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
      hook = hook_;
      result = result_;
    }
    if (hook) hook();
    absl::MutexLock lock(&mu_);
    --in_flight_;
    return result;
  }

  void SetResult(absl::StatusOr<Result> result) {
    absl::MutexLock lock(&mu_);
    result_ = std::move(result);
  }
  // Run inside every call, outside the half's lock.
  void SetHook(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    hook_ = std::move(hook);
  }

  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int max_in_flight() const {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }
  CellSet cells() const {
    absl::MutexLock lock(&mu_);
    return cells_;
  }
  ConvergenceOptions options() const {
    absl::MutexLock lock(&mu_);
    return options_;
  }

 private:
  mutable absl::Mutex mu_;
  absl::StatusOr<Result> result_ ABSL_GUARDED_BY(mu_) = Result();
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  CellSet cells_ ABSL_GUARDED_BY(mu_);
  ConvergenceOptions options_ ABSL_GUARDED_BY(mu_);
};

// A ConvergenceStore whose two halves return scripted results and record
// their calls.
class ScriptedStore final : public ConvergenceStore {
 public:
  absl::StatusOr<TaskConvergenceResult> ConvergeTasks(const CellSet& cells,
                                                      const ConvergenceOptions& options) override {
    return tasks_.Call(cells, options);
  }
  absl::StatusOr<LrpConvergenceResult> ConvergeLrps(const CellSet& cells,
                                                    const ConvergenceOptions& options) override {
    return lrps_.Call(cells, options);
  }

  ScriptedHalf<TaskConvergenceResult>& tasks() { return tasks_; }
  ScriptedHalf<LrpConvergenceResult>& lrps() { return lrps_; }

 private:
  ScriptedHalf<TaskConvergenceResult> tasks_;
  ScriptedHalf<LrpConvergenceResult> lrps_;
};

// Reps whose UpdateLrpInstance calls are held until `bound` of them run at
// once (then every call passes): shows the converger reaches its workers
// bound, and records that it never exceeds it.
class GatedReps final : public RepClientFactory, public RepClient {
 public:
  explicit GatedReps(int bound) : bound_(bound) {}

  absl::StatusOr<std::shared_ptr<RepClient>> ForCell(const model::v1::CellPresence&) override {
    return std::shared_ptr<RepClient>(this, [](RepClient*) {});
  }
  absl::Status StopLrpInstance(const model::v1::ActualLRPKey&,
                               const model::v1::ActualLRPInstanceKey&) override {
    return absl::OkStatus();
  }
  absl::Status CancelTask(absl::string_view) override { return absl::OkStatus(); }
  absl::Status UpdateLrpInstance(const model::v1::ActualLRPKey&,
                                 const model::v1::ActualLRPInstanceKey&,
                                 absl::Span<const model::v1::ActualLRPInternalRoute>,
                                 const std::map<std::string, std::string>&) override {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    if (in_flight_ >= bound_) open_ = true;
    mu_.AwaitWithTimeout(absl::Condition(&open_), absl::Seconds(30));
    --in_flight_;
    ++calls_;
    return absl::OkStatus();
  }

  int max_in_flight() const {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  const int bound_;
  mutable absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

// -----------------------------------------------------------------------------
// Fixture: a BbsService over SqlStore on SQLite (service_fixture.h;
// retirements go through it), fake outbound clients, a FakeCellPresenceSource
// and a scripted store.
// -----------------------------------------------------------------------------

class ConvergerTest : public BbsServiceFixture {
 protected:
  std::unique_ptr<Converger> MakeConverger(Converger::Options options,
                                           ConvergenceStore* store = nullptr,
                                           CellPresenceSource* cells = nullptr,
                                           RepClientFactory* reps = nullptr,
                                           TaskCompletionHandler* completions = nullptr) {
    return std::make_unique<Converger>(
        store != nullptr ? store : &scripted_, cells != nullptr ? cells : &cells_, &auctioneer_,
        reps != nullptr ? reps : &reps_, service_.get(),
        completions != nullptr ? completions : &completions_, &clock_, *log_.logger(), options);
  }

  // Registers FakeCellPresenceSource's presence of `cell_id` in the
  // SqlStore's `locks` table (the cell set the real convergence reads).
  void AddPresence(const std::string& cell_id) {
    RegisterPresence(FakeCellPresenceSource::Presence(cell_id));
  }

  // Desires `lrp` in the SqlStore (no auction) and claims `index` on `cell`.
  void DesireAndClaim(const model::v1::DesiredLRP& lrp, int32_t index, const std::string& cell) {
    ASSERT_OK(store_->DesireLrp(lrp, "trace").status());
    const model::v1::ActualLRPInstanceKey instance =
        InstanceKey("ig-" + std::to_string(index), cell);
    ASSERT_OK(store_->ClaimActualLrp(lrp.process_guid(), index, instance, "trace").status());
  }

  // Starts (process_guid, index) as instance ig-<index> on `cell`.
  void StartInstance(const std::string& guid, int32_t index, const std::string& cell) {
    model::StartActualLrpParams params;
    params.key = LrpKey(guid, index);
    params.instance_key = InstanceKey("ig-" + std::to_string(index), cell);
    params.net_info.set_address("10.0.0.1");
    ASSERT_OK(store_->StartActualLrp(params, "trace").status());
  }

  // `MakeConverger(options)`, started; returns once the first pass ran and
  // the loop sleeps.
  std::unique_ptr<Converger> StartConverger(Converger::Options options) {
    std::unique_ptr<Converger> converger = MakeConverger(options);
    converger->Start();
    clock_.BlockUntilSleepers(1);
    return converger;
  }

  // Moves the fake time by `d` and waits until the converger's loop sleeps
  // again.
  void Tick(absl::Duration d) {
    clock_.Advance(d);
    clock_.BlockUntilSleepers(1);
  }

  std::vector<ActualLRP> Rows(const std::string& guid) {
    ActualLrpFilter filter;
    filter.process_guid = guid;
    absl::StatusOr<std::vector<ActualLRP>> rows = store_->ActualLrps(filter);
    EXPECT_OK(rows.status());
    return rows.ok() ? *rows : std::vector<ActualLRP>();
  }

  FakeCellPresenceSource cells_;
  ScriptedStore scripted_;
};

Converger::Options QuietOptions() {
  Converger::Options options;
  options.cell_poll_interval = absl::ZeroDuration();
  return options;
}

// -----------------------------------------------------------------------------
// One pass.
// -----------------------------------------------------------------------------

TEST_F(ConvergerTest, SkipsThePassWhenTheCellSetCannotBeRead) {
  cells_.SetError(absl::UnavailableError("locket down"));
  auto converger = MakeConverger(QuietOptions());
  EXPECT_THAT(converger->ConvergeOnce(), StatusIs(absl::StatusCode::kUnavailable, "locket down"));
  EXPECT_EQ(scripted_.tasks().calls(), 0);
  EXPECT_EQ(scripted_.lrps().calls(), 0);
  EXPECT_EQ(converger->metrics().skipped_runs, 1);
  EXPECT_EQ(converger->metrics().lrp_runs, 0);
  EXPECT_TRUE(log_.Contains("failed-listing-cells"));

  cells_.SetError(absl::OkStatus());
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_EQ(scripted_.lrps().calls(), 1);
  EXPECT_EQ(converger->metrics().skipped_runs, 1);
}

TEST_F(ConvergerTest, RunsBothHalvesWithTheCellSetAndOptions) {
  cells_.AddCell("cell-a");
  cells_.AddCell("cell-b");
  Converger::Options options = QuietOptions();
  options.convergence.kick_task_duration = absl::Seconds(7);
  options.convergence.stale_unclaimed_duration = absl::Seconds(11);
  auto converger = MakeConverger(options);

  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_EQ(cells_.CellsCalls(), 1);
  EXPECT_THAT(scripted_.tasks().cells(), UnorderedElementsAre("cell-a", "cell-b"));
  EXPECT_THAT(scripted_.lrps().cells(), UnorderedElementsAre("cell-a", "cell-b"));
  EXPECT_EQ(scripted_.tasks().options().kick_task_duration, absl::Seconds(7));
  EXPECT_EQ(scripted_.lrps().options().stale_unclaimed_duration, absl::Seconds(11));
  EXPECT_EQ(converger->metrics().task_runs, 1);
  EXPECT_EQ(converger->metrics().lrp_runs, 1);
  // Nothing to send.
  EXPECT_THAT(auctioneer_.LrpBatches(), IsEmpty());
  EXPECT_THAT(auctioneer_.TaskBatches(), IsEmpty());
}

TEST_F(ConvergerTest, RunsTheTwoHalvesConcurrently) {
  absl::Notification task_entered;
  absl::Notification lrp_entered;
  bool task_saw_lrp = false;
  bool lrp_saw_task = false;
  scripted_.tasks().SetHook([&] {
    task_entered.Notify();
    task_saw_lrp = lrp_entered.WaitForNotificationWithTimeout(absl::Seconds(30));
  });
  scripted_.lrps().SetHook([&] {
    lrp_entered.Notify();
    lrp_saw_task = task_entered.WaitForNotificationWithTimeout(absl::Seconds(30));
  });
  auto converger = MakeConverger(QuietOptions());
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_TRUE(task_saw_lrp);
  EXPECT_TRUE(lrp_saw_task);
}

TEST_F(ConvergerTest, SendsEveryStartRequestAndPendingTaskInOneBatchEach) {
  LrpConvergenceResult lrps;
  lrps.start_requests = {StartRequest("a", {0}), StartRequest("b", {1, 2}),
                         StartRequest("c", {0, 3})};
  scripted_.lrps().SetResult(lrps);
  TaskConvergenceResult tasks;
  tasks.tasks_to_auction = {PendingTask("t1"), PendingTask("t2")};
  scripted_.tasks().SetResult(tasks);
  auto converger = MakeConverger(QuietOptions());

  EXPECT_OK(converger->ConvergeOnce());
  ASSERT_THAT(auctioneer_.LrpBatches(), SizeIs(1));
  EXPECT_EQ(auctioneer_.LrpBatches()[0], lrps.start_requests);
  ASSERT_THAT(auctioneer_.TaskBatches(), SizeIs(1));
  ASSERT_THAT(auctioneer_.TaskBatches()[0], SizeIs(2));
  EXPECT_EQ(auctioneer_.TaskBatches()[0][0], TaskStartRequestFromTask(PendingTask("t1")));
  EXPECT_EQ(auctioneer_.TaskBatches()[0][1].task_guid, "t2");
}

TEST_F(ConvergerTest, AnAuctioneerFailureIsLoggedAndTheNextPassResends) {
  LrpConvergenceResult lrps;
  lrps.start_requests = {StartRequest("a", {0})};
  scripted_.lrps().SetResult(lrps);
  TaskConvergenceResult tasks;
  tasks.tasks_to_auction = {PendingTask("t1")};
  scripted_.tasks().SetResult(tasks);
  auctioneer_.SetError(absl::UnavailableError("auctioneer down"));
  auto converger = MakeConverger(QuietOptions());

  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_TRUE(log_.Contains("failed-to-request-starts"));
  EXPECT_TRUE(log_.Contains("failed-requesting-task-auctions"));

  auctioneer_.SetError(absl::OkStatus());
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_THAT(auctioneer_.LrpBatches(), SizeIs(2));
  EXPECT_THAT(auctioneer_.TaskBatches(), SizeIs(2));
}

TEST_F(ConvergerTest, RetiresKeysThroughTheService) {
  // Index 0 runs on a present cell: its rep is asked to stop it. Index 1 is
  // claimed on a cell that is gone: the row is removed.
  ASSERT_OK(store_->UpsertDomain(kDomain, absl::ZeroDuration()));
  AddPresence("cell-1");
  DesireAndClaim(NewLrp("web", 3), 0, "cell-1");
  StartInstance("web", 0, "cell-1");
  ASSERT_OK(store_->ClaimActualLrp("web", 1, InstanceKey("ig-1", "cell-gone"), "trace").status());

  LrpConvergenceResult lrps;
  lrps.keys_to_retire = {LrpKey("web", 0), LrpKey("web", 1)};
  scripted_.lrps().SetResult(lrps);
  cells_.AddCell("cell-1");
  auto converger = MakeConverger(QuietOptions());
  EXPECT_OK(converger->ConvergeOnce());

  auto stops = reps_.ClientFor("cell-1")->StopCalls();
  ASSERT_THAT(stops, SizeIs(1));
  EXPECT_EQ(stops[0].key.index(), 0);
  EXPECT_EQ(stops[0].instance_key.instance_guid(), "ig-0");
  EXPECT_FALSE(reps_.HasClient("cell-gone"));
  std::vector<int32_t> indices;
  for (const ActualLRP& row : Rows("web")) indices.push_back(row.actual_lrp_key().index());
  EXPECT_THAT(indices, ElementsAre(0, 2));
}

TEST_F(ConvergerTest, LogsARetirementTheServiceRefuses) {
  LrpConvergenceResult lrps;
  lrps.keys_to_retire = {LrpKey("no-such-lrp", 0)};
  scripted_.lrps().SetResult(lrps);
  auto converger = MakeConverger(QuietOptions());
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_TRUE(log_.Contains("retiring-lrp-failed"));
}

TEST_F(ConvergerTest, SendsRuntimeUpdatesToTheRepOfTheRowsCell) {
  cells_.AddCell("cell-1");
  model::v1::CellPresence moved = FakeCellPresenceSource::Presence("cell-2");
  moved.set_rep_url("https://10.0.0.2:1801");
  cells_.SetCell(moved);
  RuntimeUpdate update;
  update.key = LrpKey("web", 0);
  update.instance_key = InstanceKey("ig-0", "cell-2");
  model::v1::ActualLRPInternalRoute route;
  route.set_hostname("web.apps.internal");
  update.internal_routes = {route};
  update.metric_tags = {{"app_name", "web"}, {"instance_id", "0"}};
  RuntimeUpdate lost = update;
  lost.key = LrpKey("web", 1);
  lost.instance_key = InstanceKey("ig-1", "cell-gone");
  LrpConvergenceResult lrps;
  lrps.runtime_updates = {update, lost};
  scripted_.lrps().SetResult(lrps);
  auto converger = MakeConverger(QuietOptions());

  EXPECT_OK(converger->ConvergeOnce());
  auto calls = reps_.ClientFor("cell-2")->UpdateCalls();
  ASSERT_THAT(calls, SizeIs(1));
  EXPECT_EQ(calls[0].key.process_guid(), "web");
  EXPECT_EQ(calls[0].instance_key.instance_guid(), "ig-0");
  ASSERT_THAT(calls[0].internal_routes, SizeIs(1));
  EXPECT_EQ(calls[0].internal_routes[0].hostname(), "web.apps.internal");
  EXPECT_EQ(calls[0].metric_tags, update.metric_tags);
  // The rep was found by the presence read at the start of the pass.
  ASSERT_THAT(reps_.ForCellCalls(), SizeIs(1));
  EXPECT_EQ(reps_.ForCellCalls()[0].rep_url(), "https://10.0.0.2:1801");
  EXPECT_FALSE(reps_.HasClient("cell-gone"));
  EXPECT_TRUE(log_.Contains("skipping-update-of-lrp-on-missing-cell"));
}

TEST_F(ConvergerTest, RepFailuresAreLogged) {
  cells_.AddCell("cell-1");
  reps_.ClientFor("cell-1")->SetError(absl::UnavailableError("rep down"));
  RuntimeUpdate update;
  update.key = LrpKey("web", 0);
  update.instance_key = InstanceKey("ig-0", "cell-1");
  LrpConvergenceResult lrps;
  lrps.runtime_updates = {update};
  scripted_.lrps().SetResult(lrps);
  auto converger = MakeConverger(QuietOptions());
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_TRUE(log_.Contains("failed-updating-lrp-instance"));

  reps_.SetError(absl::InternalError("no client"));
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_TRUE(log_.Contains("failed-creating-rep-client"));
}

TEST_F(ConvergerTest, HandsTasksToCompleteToTheCompletionHandler) {
  TaskConvergenceResult tasks;
  tasks.tasks_to_complete = {PendingTask("done-1"), PendingTask("done-2")};
  scripted_.tasks().SetResult(tasks);
  auto converger = MakeConverger(QuietOptions());
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_THAT(completions_.guids(), ElementsAre("done-1", "done-2"));
}

TEST_F(ConvergerTest, WithoutACompletionHandlerTasksToCompleteAreOnlyLogged) {
  TaskConvergenceResult tasks;
  tasks.tasks_to_complete = {PendingTask("done-1")};
  scripted_.tasks().SetResult(tasks);
  Converger converger(&scripted_, &cells_, &auctioneer_, &reps_, service_.get(), nullptr, &clock_,
                      *log_.logger(), QuietOptions());
  EXPECT_OK(converger.ConvergeOnce());
  EXPECT_TRUE(log_.Contains("no-completion-handler"));
  EXPECT_THAT(completions_.guids(), IsEmpty());
}

TEST_F(ConvergerTest, AFailedHalfIsReportedAndTheOtherHalfStillRuns) {
  scripted_.lrps().SetResult(absl::UnavailableError("database gone"));
  TaskConvergenceResult tasks;
  tasks.tasks_to_auction = {PendingTask("t1")};
  scripted_.tasks().SetResult(tasks);
  auto converger = MakeConverger(QuietOptions());

  EXPECT_THAT(converger->ConvergeOnce(), StatusIs(absl::StatusCode::kUnavailable, "database gone"));
  EXPECT_THAT(auctioneer_.TaskBatches(), SizeIs(1));
  EXPECT_TRUE(log_.Contains("failed-to-converge-lrps"));
  EXPECT_EQ(converger->metrics().lrp_runs, 1);
  EXPECT_EQ(converger->metrics().task_runs, 1);

  scripted_.lrps().SetResult(LrpConvergenceResult());
  scripted_.tasks().SetResult(absl::InternalError("tasks broken"));
  EXPECT_THAT(converger->ConvergeOnce(), StatusIs(absl::StatusCode::kInternal, "tasks broken"));
  EXPECT_TRUE(log_.Contains("failed-to-converge-tasks"));
}

TEST_F(ConvergerTest, RepCallsRunOnAtMostWorkersThreads) {
  GatedReps reps(/*bound=*/2);
  cells_.AddCell("cell-1");
  LrpConvergenceResult lrps;
  for (int i = 0; i < 7; ++i) {
    RuntimeUpdate update;
    update.key = LrpKey("web", i);
    update.instance_key = InstanceKey("ig-" + std::to_string(i), "cell-1");
    lrps.runtime_updates.push_back(update);
  }
  scripted_.lrps().SetResult(lrps);
  Converger::Options options = QuietOptions();
  options.workers = 2;
  auto converger = MakeConverger(options, nullptr, nullptr, &reps);
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_EQ(reps.calls(), 7);
  EXPECT_EQ(reps.max_in_flight(), 2);
}

TEST_F(ConvergerTest, RecordsMetricsOfEachPass) {
  cells_.AddCell("cell-1");
  LrpConvergenceResult lrps;
  lrps.start_requests = {StartRequest("a", {0})};
  lrps.keys_to_retire = {LrpKey("gone", 0)};
  lrps.missing_cell_ids = {"cell-9"};
  lrps.missing = 3;
  lrps.extra = 1;
  lrps.crashing_desired = 2;
  lrps.suspect_running = 4;
  lrps.suspect_claimed = 5;
  lrps.suspect_cells = 1;
  lrps.present_cells = 1;
  lrps.desired_instances = 10;
  scripted_.lrps().SetResult(lrps);
  TaskConvergenceResult tasks;
  tasks.tasks_to_auction = {PendingTask("t1")};
  tasks.pending = 1;
  tasks.pruned = 2;
  tasks.kicked = 3;
  scripted_.tasks().SetResult(tasks);
  // The LRP half takes 3 s of (fake) time.
  scripted_.lrps().SetHook([&] { clock_.Advance(absl::Seconds(3)); });
  auto converger = MakeConverger(QuietOptions());

  EXPECT_OK(converger->ConvergeOnce());
  scripted_.lrps().SetHook(nullptr);
  EXPECT_OK(converger->ConvergeOnce());
  ConvergerMetrics m = converger->metrics();
  EXPECT_EQ(m.lrp_runs, 2);
  EXPECT_EQ(m.task_runs, 2);
  EXPECT_EQ(m.skipped_runs, 0);
  EXPECT_EQ(m.tasks_pruned, 4);
  EXPECT_EQ(m.tasks_kicked, 6);
  EXPECT_EQ(m.last_lrp.missing, 3);
  EXPECT_EQ(m.last_lrp.extra, 1);
  EXPECT_EQ(m.last_lrp.suspect_cells, 1);
  EXPECT_EQ(m.last_lrp.desired_instances, 10);
  EXPECT_THAT(m.last_lrp.missing_cell_ids, ElementsAre("cell-9"));
  EXPECT_THAT(m.last_lrp.start_requests, IsEmpty());
  EXPECT_THAT(m.last_lrp.keys_to_retire, IsEmpty());
  EXPECT_EQ(m.last_task.pending, 1);
  EXPECT_THAT(m.last_task.tasks_to_auction, IsEmpty());
  EXPECT_TRUE(log_.Contains("detected-missing-cells"));

  // Durations are read on the injected clock.
  scripted_.lrps().SetHook([&] { clock_.Advance(absl::Seconds(3)); });
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_EQ(converger->metrics().last_lrp_duration, absl::Seconds(3));
}

TEST_F(ConvergerTest, TheCollectorPublishesDiegosMetricNames) {
  LrpConvergenceResult lrps;
  lrps.missing = 3;
  lrps.extra = 2;
  lrps.crashing_desired = 1;
  lrps.suspect_running = 4;
  lrps.suspect_claimed = 5;
  lrps.suspect_cells = 6;
  scripted_.lrps().SetResult(lrps);
  TaskConvergenceResult tasks;
  tasks.pruned = 7;
  tasks.kicked = 8;
  scripted_.tasks().SetResult(tasks);
  scripted_.lrps().SetHook([&] { clock_.Advance(absl::Milliseconds(1500)); });
  auto converger = MakeConverger(QuietOptions());
  EXPECT_OK(converger->ConvergeOnce());
  cells_.SetError(absl::UnavailableError("locket down"));
  EXPECT_FALSE(converger->ConvergeOnce().ok());

  Metrics metrics;
  AddConvergerCollector(metrics, converger.get());
  const std::string text = metrics.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("# TYPE ConvergenceLRPRuns counter\nConvergenceLRPRuns 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE ConvergenceTaskRuns counter\nConvergenceTaskRuns 1\n"));
  EXPECT_THAT(text, HasSubstr("\nConvergenceLRPDuration 1.5\n"));
  EXPECT_THAT(text, HasSubstr("\nConvergenceTasksPruned 7\n"));
  EXPECT_THAT(text, HasSubstr("\nConvergenceTasksKicked 8\n"));
  EXPECT_THAT(text, HasSubstr("\nConvergenceSkippedRuns 1\n"));
  EXPECT_THAT(text, HasSubstr("\nLRPsMissing 3\n"));
  EXPECT_THAT(text, HasSubstr("\nLRPsExtra 2\n"));
  EXPECT_THAT(text, HasSubstr("\nCrashingDesiredLRPs 1\n"));
  EXPECT_THAT(text, HasSubstr("\nSuspectRunningLRPs 4\n"));
  EXPECT_THAT(text, HasSubstr("\nSuspectClaimedLRPs 5\n"));
  EXPECT_THAT(text, HasSubstr("\nSuspectCells 6\n"));
  EXPECT_THAT(text, HasSubstr("\nConvergenceTaskDuration "));
}

// -----------------------------------------------------------------------------
// Triggers.
// -----------------------------------------------------------------------------

TEST_F(ConvergerTest, StartRunsAPassAtOnceThenIntervalAfterEachPass) {
  Converger::Options options = QuietOptions();
  options.interval = absl::Seconds(30);
  // The first pass takes 10 s: the next one is due 30 s after it ended.
  scripted_.lrps().SetHook([&] {
    if (scripted_.lrps().calls() == 1) clock_.Advance(absl::Seconds(10));
  });
  auto converger = StartConverger(options);
  EXPECT_EQ(scripted_.lrps().calls(), 1);
  EXPECT_EQ(scripted_.tasks().calls(), 1);

  Tick(absl::Seconds(29));
  EXPECT_EQ(scripted_.lrps().calls(), 1);
  Tick(absl::Seconds(1));
  EXPECT_EQ(scripted_.lrps().calls(), 2);
  Tick(absl::Seconds(30));
  EXPECT_EQ(scripted_.lrps().calls(), 3);
  EXPECT_EQ(converger->metrics().cell_triggered_runs, 0);
  converger->Stop();
  EXPECT_TRUE(log_.Contains("converger-process.started"));
  EXPECT_TRUE(log_.Contains("converger-process.done"));
}

TEST_F(ConvergerTest, AVanishedCellTriggersAPassWithinThePollInterval) {
  cells_.AddCell("cell-a");
  cells_.AddCell("cell-b");
  Converger::Options options;
  options.interval = absl::Seconds(30);
  options.cell_poll_interval = absl::Seconds(1);
  auto converger = StartConverger(options);
  EXPECT_EQ(scripted_.lrps().calls(), 1);

  // Polls that see every cell (or a new one) do nothing.
  Tick(absl::Seconds(1));
  cells_.AddCell("cell-c");
  Tick(absl::Seconds(1));
  EXPECT_EQ(scripted_.lrps().calls(), 1);
  EXPECT_GE(cells_.CellsCalls(), 3);

  cells_.RemoveCell("cell-b");
  Tick(absl::Seconds(1));
  EXPECT_EQ(scripted_.lrps().calls(), 2);
  EXPECT_THAT(scripted_.lrps().cells(), UnorderedElementsAre("cell-a", "cell-c"));
  EXPECT_EQ(converger->metrics().cell_triggered_runs, 1);
  EXPECT_TRUE(log_.Contains("received-cell-disappeared-event"));

  // The interval restarted after the triggered pass: 29 s of polls later
  // nothing ran, at 30 s the periodic pass does.
  for (int i = 0; i < 29; ++i) {
    Tick(absl::Seconds(1));
  }
  EXPECT_EQ(scripted_.lrps().calls(), 2);
  Tick(absl::Seconds(1));
  EXPECT_EQ(scripted_.lrps().calls(), 3);
  EXPECT_EQ(converger->metrics().cell_triggered_runs, 1);
}

TEST_F(ConvergerTest, AFailedPollDoesNotTriggerAPass) {
  cells_.AddCell("cell-a");
  Converger::Options options;
  options.interval = absl::Seconds(30);
  options.cell_poll_interval = absl::Seconds(1);
  auto converger = StartConverger(options);
  cells_.SetError(absl::UnavailableError("locket down"));
  Tick(absl::Seconds(1));
  EXPECT_EQ(scripted_.lrps().calls(), 1);
  // Back with the same cells: still nothing vanished.
  cells_.SetError(absl::OkStatus());
  Tick(absl::Seconds(1));
  EXPECT_EQ(scripted_.lrps().calls(), 1);
  EXPECT_EQ(converger->metrics().cell_triggered_runs, 0);
}

TEST_F(ConvergerTest, WithoutCellPollingOnlyTheIntervalTriggers) {
  cells_.AddCell("cell-a");
  Converger::Options options = QuietOptions();
  options.interval = absl::Seconds(30);
  auto converger = StartConverger(options);
  const int64_t reads = cells_.CellsCalls();
  cells_.RemoveCell("cell-a");
  Tick(absl::Seconds(29));
  EXPECT_EQ(scripted_.lrps().calls(), 1);
  EXPECT_EQ(cells_.CellsCalls(), reads);
  Tick(absl::Seconds(1));
  EXPECT_EQ(scripted_.lrps().calls(), 2);
}

TEST_F(ConvergerTest, PassesNeverOverlap) {
  absl::Notification release;
  scripted_.lrps().SetHook([&] {
    if (scripted_.lrps().calls() == 1) release.WaitForNotification();
  });
  auto converger = MakeConverger(QuietOptions());
  converger->Start();
  ASSERT_TRUE(Eventually([&] { return scripted_.lrps().calls() == 1; }));

  // A direct pass waits behind the loop's.
  std::thread direct([&] { EXPECT_OK(converger->ConvergeOnce()); });
  ASSERT_TRUE(Eventually([&] { return log_.Contains("waiting-for-running-pass"); }))
      << ::testing::PrintToString(log_.Messages());
  EXPECT_EQ(scripted_.lrps().calls(), 1);
  EXPECT_EQ(cells_.CellsCalls(), 1);
  release.Notify();
  direct.join();
  EXPECT_EQ(scripted_.lrps().calls(), 2);
  EXPECT_EQ(scripted_.lrps().max_in_flight(), 1);
  converger->Stop();
}

TEST_F(ConvergerTest, StopWaitsForTheRunningPassAndIsIdempotent) {
  absl::Notification in_pass;
  absl::Notification release;
  scripted_.lrps().SetHook([&] {
    in_pass.Notify();
    release.WaitForNotification();
  });
  auto converger = MakeConverger(QuietOptions());
  converger->Start();
  in_pass.WaitForNotification();
  std::thread stopper([&] { converger->Stop(); });
  release.Notify();
  stopper.join();
  // The pass finished before Stop returned, and no other pass starts.
  EXPECT_EQ(converger->metrics().lrp_runs, 1);
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(scripted_.lrps().calls(), 1);
  converger->Stop();
  EXPECT_EQ(clock_.Sleepers(), 0);
}

TEST_F(ConvergerTest, StopWithoutStartAndStartAfterStopDoNothing) {
  auto converger = MakeConverger(QuietOptions());
  converger->Stop();
  converger->Start();
  EXPECT_EQ(clock_.Sleepers(), 0);
  EXPECT_EQ(scripted_.lrps().calls(), 0);
}

// -----------------------------------------------------------------------------
// End to end: the real SqlStore convergence. The converger reads the cell
// set from the same store (Locket's presences), as the BBS does.
// -----------------------------------------------------------------------------

class ConvergerIntegrationTest : public ConvergerTest {
 protected:
  void SetUp() override {
    ConvergerTest::SetUp();
    ASSERT_OK(store_->UpsertDomain(kDomain, absl::ZeroDuration()));
  }

  std::unique_ptr<Converger> MakeRealConverger() {
    Converger::Options options;
    options.interval = absl::Seconds(30);
    options.cell_poll_interval = absl::Seconds(1);
    return MakeConverger(options, store_.get(), store_.get());
  }

  // The rows of `guid` at `index`, as "PRESENCE STATE instance@cell".
  std::vector<std::string> Describe(const std::string& guid, int32_t index) {
    std::vector<std::string> out;
    for (const ActualLRP& row : Rows(guid)) {
      if (row.actual_lrp_key().index() != index) continue;
      out.push_back(absl::StrCat(ActualLRP::Presence_Name(row.presence()), " ", row.state(), " ",
                                 row.actual_lrp_instance_key().instance_guid(), "@",
                                 row.actual_lrp_instance_key().cell_id()));
    }
    return out;
  }
};

TEST_F(ConvergerIntegrationTest, ALostCellsInstancesTurnSuspectAndAreReplacedInOneBatch) {
  AddPresence("cell-1");
  AddPresence("cell-2");
  DesireAndClaim(NewLrp("web", 3), 0, "cell-1");
  StartInstance("web", 0, "cell-1");
  StartInstance("web", 1, "cell-1");
  StartInstance("web", 2, "cell-2");
  auto converger = MakeRealConverger();
  converger->Start();
  clock_.BlockUntilSleepers(1);
  EXPECT_THAT(auctioneer_.LrpBatches(), IsEmpty());

  // cell-1's presence expires; the next poll notices.
  RemovePresence("cell-1");
  Tick(absl::Seconds(1));
  EXPECT_EQ(converger->metrics().cell_triggered_runs, 1);
  ASSERT_THAT(auctioneer_.LrpBatches(), SizeIs(1));
  ASSERT_THAT(auctioneer_.LrpBatches()[0], SizeIs(1));
  EXPECT_EQ(auctioneer_.LrpBatches()[0][0].process_guid, "web");
  EXPECT_THAT(auctioneer_.LrpBatches()[0][0].indices, ElementsAre(0, 1));
  EXPECT_THAT(Describe("web", 0),
              UnorderedElementsAre("ORDINARY UNCLAIMED @", "SUSPECT RUNNING ig-0@cell-1"));
  EXPECT_THAT(Describe("web", 1),
              UnorderedElementsAre("ORDINARY UNCLAIMED @", "SUSPECT RUNNING ig-1@cell-1"));
  EXPECT_THAT(Describe("web", 2), ElementsAre("ORDINARY RUNNING ig-2@cell-2"));
  EXPECT_THAT(converger->metrics().last_lrp.missing_cell_ids, ElementsAre("cell-1"));
  converger->Stop();
}

TEST_F(ConvergerIntegrationTest, ACellBackBeforeTheReplacementRunsGetsItsInstanceBack) {
  AddPresence("cell-1");
  DesireAndClaim(NewLrp("web", 1), 0, "cell-1");
  StartInstance("web", 0, "cell-1");
  auto converger = MakeRealConverger();
  RemovePresence("cell-1");
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_THAT(Describe("web", 0),
              UnorderedElementsAre("ORDINARY UNCLAIMED @", "SUSPECT RUNNING ig-0@cell-1"));

  AddPresence("cell-1");
  EXPECT_OK(converger->ConvergeOnce());
  EXPECT_THAT(Describe("web", 0), ElementsAre("ORDINARY RUNNING ig-0@cell-1"));
}

TEST_F(ConvergerIntegrationTest, AMissingInstanceIsRecreatedAndAuctioned) {
  AddPresence("cell-1");
  DesireAndClaim(NewLrp("web", 2), 0, "cell-1");
  StartInstance("web", 0, "cell-1");
  StartInstance("web", 1, "cell-1");
  // A lost write: index 1's row is gone.
  ASSERT_OK(store_->RemoveActualLrp("web", 1, nullptr, "trace"));
  auto converger = MakeRealConverger();
  EXPECT_OK(converger->ConvergeOnce());
  ASSERT_THAT(auctioneer_.LrpBatches(), SizeIs(1));
  ASSERT_THAT(auctioneer_.LrpBatches()[0], SizeIs(1));
  EXPECT_THAT(auctioneer_.LrpBatches()[0][0].indices, ElementsAre(1));
  EXPECT_THAT(Describe("web", 1), ElementsAre("ORDINARY UNCLAIMED @"));
  EXPECT_EQ(converger->metrics().last_lrp.missing, 1);
}

TEST_F(ConvergerIntegrationTest, ScaleDownRetiresTheExtraInstancesThroughTheirRep) {
  AddPresence("cell-1");
  DesireAndClaim(NewLrp("web", 3), 0, "cell-1");
  for (int32_t i = 0; i < 3; ++i) StartInstance("web", i, "cell-1");
  // Lower the count in the store only, so nobody has told the rep yet.
  model::v1::DesiredLRPUpdate update;
  update.set_instances(1);
  ASSERT_OK(store_->UpdateDesiredLrp("web", update, "trace").status());
  const size_t stops_before = reps_.ClientFor("cell-1")->StopCalls().size();

  auto converger = MakeRealConverger();
  EXPECT_OK(converger->ConvergeOnce());
  auto stops = reps_.ClientFor("cell-1")->StopCalls();
  ASSERT_THAT(stops, SizeIs(stops_before + 2));
  std::vector<int32_t> stopped;
  for (size_t i = stops_before; i < stops.size(); ++i) stopped.push_back(stops[i].key.index());
  std::sort(stopped.begin(), stopped.end());
  EXPECT_THAT(stopped, ElementsAre(1, 2));
  EXPECT_EQ(converger->metrics().last_lrp.extra, 2);
  // Index 0 is untouched.
  EXPECT_THAT(Describe("web", 0), ElementsAre("ORDINARY RUNNING ig-0@cell-1"));
}

TEST_F(ConvergerIntegrationTest, TasksOnALostCellFailAndPendingTasksAreAuctionedInOneBatch) {
  AddPresence("cell-1");
  model::v1::TaskDefinition definition = PendingTask("x").task_definition();
  definition.set_completion_callback_url("http://cc.example.com/done");
  ASSERT_OK(store_->DesireTask(definition, "running", kDomain).status());
  ASSERT_OK(store_->StartTask("running", "cell-1").status());
  ASSERT_OK(store_->DesireTask(definition, "pending-1", kDomain).status());
  ASSERT_OK(store_->DesireTask(definition, "pending-2", kDomain).status());
  RemovePresence("cell-1");

  auto converger = MakeRealConverger();
  EXPECT_OK(converger->ConvergeOnce());
  ASSERT_OK_AND_ASSIGN(model::v1::Task task, store_->TaskByGuid("running"));
  EXPECT_EQ(task.state(), model::v1::Task::Completed);
  EXPECT_TRUE(task.failed());
  EXPECT_EQ(task.failure_reason(), "cell disappeared before completion");
  EXPECT_THAT(completions_.guids(), ElementsAre("running"));
  const std::vector<std::vector<auction::TaskStartRequest>> batches = auctioneer_.TaskBatches();
  ASSERT_THAT(batches, SizeIs(1));
  std::vector<std::string> auctioned;
  for (const auction::TaskStartRequest& r : batches[0]) auctioned.push_back(r.task_guid);
  EXPECT_THAT(auctioned, UnorderedElementsAre("pending-1", "pending-2"));
}

}  // namespace
}  // namespace diego::bbs
