#include "diego/auction/auction_runner.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/auction/cell_client.h"
#include "diego/auction/scheduler.h"
#include "diego/auction/strategies.h"
#include "diego/auction/types.h"
#include "diego/testing/fake_cell_client.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::auction {
namespace {

using ::diego::fakes::FakeCellClient;
using ::diego::fakes::FakeClock;
using ::diego::fakes::StatusIs;
using ::diego::fakes::TestLogger;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

// A `CellDirectory` over a fixed list of cells, with an injectable error.
class TestDirectory final : public CellDirectory {
 public:
  void Add(std::string cell_id, std::shared_ptr<CellClient> client) {
    absl::MutexLock lock(&mu_);
    cells_.push_back(CellEndpoint{std::move(cell_id), std::move(client)});
  }

  // Fails the next `times` calls (negative: until cleared with OK).
  void SetError(absl::Status error, int times = -1) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
    error_times_ = times;
  }

  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  absl::StatusOr<std::vector<CellEndpoint>> Cells() override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (!error_.ok() && error_times_ != 0) {
      absl::Status error = error_;
      if (error_times_ > 0 && --error_times_ == 0) {
        error_ = absl::OkStatus();
      }
      return error;
    }
    return cells_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<CellEndpoint> cells_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  int error_times_ ABSL_GUARDED_BY(mu_) = 0;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

// A plain `AuctionResultsReporter` that records every call and keeps
// Diego's auctioneer counters.
class RecordingReporter final : public AuctionResultsReporter {
 public:
  struct FailedLrp {
    std::string process_guid;
    int32_t index;
    std::string placement_error;
  };
  struct RejectedTask {
    std::string task_guid;
    std::string reason;
  };

  absl::Status FailActualLrp(const Lrp& lrp, absl::string_view placement_error) override {
    absl::MutexLock lock(&mu_);
    failed_lrps_.push_back({lrp.process_guid, lrp.index, std::string(placement_error)});
    return fail_error_;
  }

  absl::Status RejectTask(const Task& task, absl::string_view rejection_reason) override {
    absl::MutexLock lock(&mu_);
    rejected_tasks_.push_back({task.task_guid, std::string(rejection_reason)});
    return absl::OkStatus();
  }

  void AuctionCompleted(const AuctionResults& results) override {
    absl::MutexLock lock(&mu_);
    lrp_auctions_started_ += results.successful_lrps.size();
    task_auctions_started_ += results.successful_tasks.size();
    lrp_auctions_failed_ += results.failed_lrps.size();
    task_auctions_failed_ += results.failed_tasks.size();
    ++rounds_;
  }

  void FetchStatesCompleted(absl::Duration duration) override {
    absl::MutexLock lock(&mu_);
    fetch_durations_.push_back(duration);
  }

  void FailedCellStateRequest() override {
    absl::MutexLock lock(&mu_);
    ++failed_cell_state_requests_;
  }

  void set_fail_error(absl::Status error) {
    absl::MutexLock lock(&mu_);
    fail_error_ = std::move(error);
  }

  // Blocks (in real time, without sleeping) until `n` rounds have completed.
  void AwaitRounds(int n) {
    absl::MutexLock lock(&mu_);
    await_rounds_ = n;
    mu_.Await(absl::Condition(this, &RecordingReporter::RoundsReached));
  }

  std::vector<FailedLrp> failed_lrps() const {
    absl::MutexLock lock(&mu_);
    return failed_lrps_;
  }
  std::vector<RejectedTask> rejected_tasks() const {
    absl::MutexLock lock(&mu_);
    return rejected_tasks_;
  }
  std::vector<absl::Duration> fetch_durations() const {
    absl::MutexLock lock(&mu_);
    return fetch_durations_;
  }
  int failed_cell_state_requests() const {
    absl::MutexLock lock(&mu_);
    return failed_cell_state_requests_;
  }
  size_t lrp_auctions_started() const {
    absl::MutexLock lock(&mu_);
    return lrp_auctions_started_;
  }
  size_t lrp_auctions_failed() const {
    absl::MutexLock lock(&mu_);
    return lrp_auctions_failed_;
  }
  size_t task_auctions_started() const {
    absl::MutexLock lock(&mu_);
    return task_auctions_started_;
  }
  size_t task_auctions_failed() const {
    absl::MutexLock lock(&mu_);
    return task_auctions_failed_;
  }
  int rounds() const {
    absl::MutexLock lock(&mu_);
    return rounds_;
  }

 private:
  bool RoundsReached() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return rounds_ >= await_rounds_;
  }

  mutable absl::Mutex mu_;
  int await_rounds_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<FailedLrp> failed_lrps_ ABSL_GUARDED_BY(mu_);
  std::vector<RejectedTask> rejected_tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> fetch_durations_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_error_ ABSL_GUARDED_BY(mu_);
  int failed_cell_state_requests_ ABSL_GUARDED_BY(mu_) = 0;
  size_t lrp_auctions_started_ ABSL_GUARDED_BY(mu_) = 0;
  size_t lrp_auctions_failed_ ABSL_GUARDED_BY(mu_) = 0;
  size_t task_auctions_started_ ABSL_GUARDED_BY(mu_) = 0;
  size_t task_auctions_failed_ ABSL_GUARDED_BY(mu_) = 0;
  int rounds_ ABSL_GUARDED_BY(mu_) = 0;
};

// Answers `State()` from a fake rep but refuses all work it is given, as a
// rep whose executor cannot allocate anything would.
class RefusingCellClient final : public CellClient {
 public:
  explicit RefusingCellClient(std::shared_ptr<FakeCellClient> rep) : rep_(std::move(rep)) {}
  absl::StatusOr<CellState> State() override { return rep_->State(); }
  absl::StatusOr<Work> Perform(const Work& work) override {
    Work refused = work;
    refused.cell_id.clear();
    return refused;
  }

 private:
  std::shared_ptr<FakeCellClient> rep_;
};

LrpStartRequest LrpStart(const std::string& process_guid, std::vector<int32_t> indices,
                         int32_t memory_mb = 64) {
  return LrpStartRequest{.process_guid = process_guid,
                         .domain = "cf-apps",
                         .indices = std::move(indices),
                         .constraint = {.root_fs = "preloaded:cflinuxfs4"},
                         .resource = {.memory_mb = memory_mb, .disk_mb = 64}};
}

TaskStartRequest TaskStart(const std::string& task_guid, int32_t memory_mb = 64) {
  return TaskStartRequest{.task_guid = task_guid,
                          .domain = "cf-tasks",
                          .constraint = {.root_fs = "docker:///busybox"},
                          .resource = {.memory_mb = memory_mb, .disk_mb = 64}};
}

std::vector<std::string> LrpIds(const std::vector<LrpAuction>& auctions) {
  std::vector<std::string> ids;
  for (const LrpAuction& auction : auctions) {
    ids.push_back(auction.Identifier());
  }
  return ids;
}

std::vector<std::string> TaskIds(const std::vector<TaskAuction>& auctions) {
  std::vector<std::string> ids;
  for (const TaskAuction& auction : auctions) {
    ids.push_back(auction.Identifier());
  }
  return ids;
}

class AuctionRunnerTest : public ::testing::Test {
 protected:
  // Builds the runner; call after adjusting `options_`.
  AuctionRunner& runner() {
    if (runner_ == nullptr) {
      runner_ = std::make_unique<AuctionRunner>(&directory_, &scheduler_, &reporter_, &clock_,
                                                log_.logger(), options_);
    }
    return *runner_;
  }

  std::shared_ptr<FakeCellClient> AddCell(const std::string& cell_id, const std::string& zone = "z1",
                                          int32_t memory_mb = 1024) {
    auto cell = std::make_shared<FakeCellClient>(FakeCellClient::NewCellState(
        cell_id, zone, {.memory_mb = memory_mb, .disk_mb = 4096, .containers = 100}));
    directory_.Add(cell_id, cell);
    return cell;
  }

  // Declared first so it is destroyed last: the runner's workers may sleep
  // on it until the runner is gone.
  FakeClock clock_;
  TestLogger log_{"auctioneer", &clock_};
  std::unique_ptr<PlacementStrategy> strategy_ = NewDiegoStrategy();
  Scheduler scheduler_{strategy_.get(), AuctionConfig{}};
  TestDirectory directory_;
  RecordingReporter reporter_;
  AuctionRunnerOptions options_;
  std::unique_ptr<AuctionRunner> runner_;
};

// --- Batching ------------------------------------------------------------

TEST_F(AuctionRunnerTest, QueuesOneAuctionPerIndexAndSignalsWork) {
  EXPECT_FALSE(runner().HasWork());
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0, 1, 2})});
  runner().ScheduleTasksForAuctions({TaskStart("t1")});
  EXPECT_TRUE(runner().HasWork());
  EXPECT_EQ(runner().PendingLrpAuctions(), 3u);
  EXPECT_EQ(runner().PendingTaskAuctions(), 1u);
}

TEST_F(AuctionRunnerTest, DropsInvalidStartRequests) {
  LrpStartRequest no_domain = LrpStart("web", {0});
  no_domain.domain.clear();
  TaskStartRequest no_rootfs = TaskStart("t1");
  no_rootfs.constraint.root_fs.clear();
  runner().ScheduleLrpsForAuctions({no_domain, LrpStart("api", {})});
  runner().ScheduleTasksForAuctions({no_rootfs});
  EXPECT_EQ(runner().PendingLrpAuctions(), 0u);
  EXPECT_EQ(runner().PendingTaskAuctions(), 0u);
  EXPECT_TRUE(log_.Contains("start-validate-failed"));
}

TEST_F(AuctionRunnerTest, DedupesTheBatchAndCommitsOnePerformPerCell) {
  std::shared_ptr<FakeCellClient> cell = AddCell("cell-1");
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0, 1})});
  runner().ScheduleLrpsForAuctions({LrpStart("web", {1})});  // web.1 again.
  runner().ScheduleTasksForAuctions({TaskStart("t1"), TaskStart("t1")});

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());

  EXPECT_THAT(LrpIds(results.successful_lrps), UnorderedElementsAre("web.0", "web.1"));
  EXPECT_THAT(TaskIds(results.successful_tasks), ElementsAre("t1"));
  EXPECT_THAT(results.failed_lrps, IsEmpty());
  EXPECT_THAT(results.failed_tasks, IsEmpty());
  for (const LrpAuction& auction : results.successful_lrps) {
    EXPECT_EQ(auction.record.winner, "cell-1");
  }
  std::vector<Work> performed = cell->PerformedWork();
  ASSERT_THAT(performed, SizeIs(1));
  EXPECT_EQ(performed[0].cell_id, "cell-1");
  EXPECT_THAT(performed[0].lrps, SizeIs(2));
  EXPECT_THAT(performed[0].tasks, SizeIs(1));
  EXPECT_THAT(cell->state().lrps, SizeIs(2));
  EXPECT_FALSE(runner().HasWork());
  EXPECT_EQ(runner().PendingLrpAuctions(), 0u);
}

TEST_F(AuctionRunnerTest, EverythingQueuedBeforeARoundIsAuctionedTogether) {
  std::shared_ptr<FakeCellClient> cell = AddCell("cell-1");
  for (int i = 0; i < 5; ++i) {
    runner().ScheduleLrpsForAuctions({LrpStart("app-" + std::to_string(i), {0})});
  }
  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());
  EXPECT_THAT(results.successful_lrps, SizeIs(5));
  EXPECT_EQ(cell->PerformCallCount(), 1);
  EXPECT_EQ(cell->StateCallCount(), 1);
}

TEST_F(AuctionRunnerTest, EmptyBatchContactsNoCell) {
  std::shared_ptr<FakeCellClient> cell = AddCell("cell-1");
  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());
  EXPECT_THAT(results.successful_lrps, IsEmpty());
  EXPECT_EQ(directory_.calls(), 0);
  EXPECT_EQ(cell->StateCallCount(), 0);
  EXPECT_EQ(reporter_.rounds(), 0);
}

TEST_F(AuctionRunnerTest, SpreadsAnAppsInstancesAndRoutesWorkToEachWinner) {
  std::shared_ptr<FakeCellClient> a = AddCell("cell-a", "z1");
  std::shared_ptr<FakeCellClient> b = AddCell("cell-b", "z2");
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0, 1})});

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());

  EXPECT_THAT(results.successful_lrps, SizeIs(2));
  ASSERT_THAT(a->PerformedWork(), SizeIs(1));
  ASSERT_THAT(b->PerformedWork(), SizeIs(1));
  EXPECT_EQ(a->PerformedWork()[0].cell_id, "cell-a");
  EXPECT_EQ(b->PerformedWork()[0].cell_id, "cell-b");
  EXPECT_THAT(a->state().lrps, SizeIs(1));
  EXPECT_THAT(b->state().lrps, SizeIs(1));
}

// --- Cells -----------------------------------------------------------------

TEST_F(AuctionRunnerTest, NoCellsFailsEverythingAsUnableToCommunicate) {
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0, 1})});
  runner().ScheduleTasksForAuctions({TaskStart("t1")});

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());

  EXPECT_THAT(results.successful_lrps, IsEmpty());
  ASSERT_THAT(results.failed_lrps, SizeIs(2));
  ASSERT_THAT(results.failed_tasks, SizeIs(1));
  for (const LrpAuction& auction : results.failed_lrps) {
    EXPECT_EQ(auction.record.placement_error, "unable to communicate to compatible cells");
  }
  EXPECT_EQ(results.failed_tasks[0].record.placement_error, kErrorCellCommunication);
  ASSERT_THAT(reporter_.failed_lrps(), SizeIs(2));
  EXPECT_EQ(reporter_.failed_lrps()[0].placement_error, kErrorCellCommunication);
  ASSERT_THAT(reporter_.rejected_tasks(), SizeIs(1));
  EXPECT_EQ(reporter_.rejected_tasks()[0].task_guid, "t1");
  EXPECT_EQ(reporter_.rejected_tasks()[0].reason, kErrorCellCommunication);
  EXPECT_EQ(reporter_.lrp_auctions_failed(), 2u);
  EXPECT_EQ(reporter_.task_auctions_failed(), 1u);
}

TEST_F(AuctionRunnerTest, DropsEvacuatingMismatchedAndErroringCells) {
  std::shared_ptr<FakeCellClient> evacuating = AddCell("cell-evacuating");
  evacuating->SetEvacuating(true);
  std::shared_ptr<FakeCellClient> imposter = std::make_shared<FakeCellClient>(
      FakeCellClient::NewCellState("someone-else", "z1", {.memory_mb = 1024, .disk_mb = 4096, .containers = 100}));
  directory_.Add("cell-imposter", imposter);
  std::shared_ptr<FakeCellClient> broken = AddCell("cell-broken");
  broken->SetStateError(absl::UnavailableError("cell 'cell-broken': connection refused"));
  std::shared_ptr<FakeCellClient> good = AddCell("cell-good");
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0, 1, 2})});

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());

  EXPECT_THAT(results.successful_lrps, SizeIs(3));
  for (const LrpAuction& auction : results.successful_lrps) {
    EXPECT_EQ(auction.record.winner, "cell-good");
  }
  EXPECT_EQ(evacuating->PerformCallCount(), 0);
  EXPECT_EQ(imposter->PerformCallCount(), 0);
  EXPECT_EQ(broken->PerformCallCount(), 0);
  EXPECT_EQ(broken->StateCallCount(), 1);  // Another cell answered: no retry.
  EXPECT_EQ(reporter_.failed_cell_state_requests(), 1);
  EXPECT_TRUE(log_.Contains("auctioneer.auction.ignored-evacuating-cell"));
  EXPECT_TRUE(log_.Contains("auctioneer.auction.cell-id-mismatch"));
  EXPECT_TRUE(log_.Contains("auctioneer.auction.failed-to-get-state"));
}

TEST_F(AuctionRunnerTest, RetriesStateFetchWhileNoCellAnswers) {
  std::shared_ptr<FakeCellClient> cell = AddCell("cell-1");
  cell->SetStateError(absl::UnavailableError("flaky"), 2);
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0})});

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());

  EXPECT_THAT(results.successful_lrps, SizeIs(1));
  EXPECT_EQ(cell->StateCallCount(), 3);
  EXPECT_EQ(directory_.calls(), 1);
  EXPECT_EQ(reporter_.failed_cell_state_requests(), 2);
  EXPECT_TRUE(log_.Contains("failed-to-communicate-to-cells-retry"));
}

TEST_F(AuctionRunnerTest, GivesUpAfterFourStateFetchAttempts) {
  std::shared_ptr<FakeCellClient> cell = AddCell("cell-1");
  cell->SetStateError(absl::UnavailableError("down"));
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0})});

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());

  EXPECT_EQ(cell->StateCallCount(), 4);
  EXPECT_EQ(reporter_.failed_cell_state_requests(), 4);
  ASSERT_THAT(results.failed_lrps, SizeIs(1));
  EXPECT_EQ(results.failed_lrps[0].record.placement_error, kErrorCellCommunication);
  EXPECT_TRUE(log_.Contains("failed-to-communicate-to-cells-abort"));
  EXPECT_THAT(reporter_.fetch_durations(), SizeIs(1));
}

TEST_F(AuctionRunnerTest, DropsCellsThatDoNotAnswerWithinTheStateTimeout) {
  options_.cell_state_timeout = absl::Seconds(10);
  options_.max_state_fetch_attempts = 1;
  std::shared_ptr<FakeCellClient> slow = AddCell("cell-slow");
  slow->SetStateDelay(&clock_, absl::Seconds(20));
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0})});

  absl::StatusOr<AuctionResults> results;
  std::thread round([&] { results = runner().RunOnce(); });
  clock_.BlockUntilSleepers(2);  // The slow rep, and the round's deadline.
  clock_.Advance(absl::Seconds(10));
  round.join();  // The round ended without the slow rep's answer.

  ASSERT_OK(results);
  ASSERT_THAT(results->failed_lrps, SizeIs(1));
  EXPECT_EQ(results->failed_lrps[0].record.placement_error, kErrorCellCommunication);
  EXPECT_EQ(reporter_.failed_cell_state_requests(), 1);
  EXPECT_THAT(reporter_.fetch_durations(), ElementsAre(absl::Seconds(10)));
  EXPECT_EQ(slow->PerformCallCount(), 0);
  EXPECT_TRUE(log_.Contains("failed-to-get-state"));
  clock_.Advance(absl::Seconds(10));  // Let the abandoned call finish.
}

TEST_F(AuctionRunnerTest, DirectoryErrorKeepsTheBatchForTheNextRound) {
  std::shared_ptr<FakeCellClient> cell = AddCell("cell-1");
  directory_.SetError(absl::UnavailableError("bbs down"), 1);
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0})});

  EXPECT_THAT(runner().RunOnce(), StatusIs(absl::StatusCode::kUnavailable, "bbs down"));
  EXPECT_EQ(runner().PendingLrpAuctions(), 1u);
  EXPECT_TRUE(runner().HasWork());
  EXPECT_EQ(cell->StateCallCount(), 0);
  EXPECT_TRUE(log_.Contains("failed-to-fetch-reps"));

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());
  EXPECT_THAT(results.successful_lrps, SizeIs(1));
}

// --- Commit ------------------------------------------------------------------

TEST_F(AuctionRunnerTest, WorkTheCellReturnsBecomesFailuresWithNoPlacementError) {
  // The cell's rep admits LRPs while memory + proxy memory fits what earlier
  // ones left (rep Perform), while the scheduler reserved only the plain
  // request: of two 40MB LRPs with 20MB proxy memory on 100MB, one comes back.
  CellState state = FakeCellClient::NewCellState(
      "cell-1", "z1", {.memory_mb = 100, .disk_mb = 4096, .containers = 100});
  state.proxy_memory_allocation_mb = 20;
  auto cell = std::make_shared<FakeCellClient>(state);
  directory_.Add("cell-1", cell);
  // A second cell takes the tasks and refuses them all.
  auto refusing_rep = std::make_shared<FakeCellClient>(FakeCellClient::NewCellState(
      "cell-2", "z1", {.memory_mb = 10, .disk_mb = 4096, .containers = 100}));
  directory_.Add("cell-2", std::make_shared<RefusingCellClient>(refusing_rep));

  runner().ScheduleLrpsForAuctions({LrpStart("web", {0}, 40), LrpStart("api", {0}, 40)});
  runner().ScheduleTasksForAuctions({TaskStart("t1", 5)});

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());

  ASSERT_THAT(results.successful_lrps, SizeIs(1));
  ASSERT_THAT(results.failed_lrps, SizeIs(1));
  EXPECT_EQ(results.failed_lrps[0].record.placement_error, "");
  EXPECT_EQ(results.failed_lrps[0].record.winner, "");
  EXPECT_THAT(results.successful_tasks, IsEmpty());
  ASSERT_THAT(TaskIds(results.failed_tasks), ElementsAre("t1"));
  EXPECT_EQ(results.failed_tasks[0].record.placement_error, "");

  ASSERT_THAT(reporter_.failed_lrps(), SizeIs(1));
  EXPECT_EQ(reporter_.failed_lrps()[0].process_guid, results.failed_lrps[0].lrp.process_guid);
  EXPECT_EQ(reporter_.failed_lrps()[0].placement_error, "");
  ASSERT_THAT(reporter_.rejected_tasks(), SizeIs(1));
  EXPECT_EQ(reporter_.rejected_tasks()[0].reason, "");
  EXPECT_EQ(reporter_.lrp_auctions_started(), 1u);
  EXPECT_EQ(reporter_.lrp_auctions_failed(), 1u);
  EXPECT_EQ(reporter_.task_auctions_failed(), 1u);
  EXPECT_TRUE(log_.Contains("lrp-failed-to-be-placed"));
  EXPECT_TRUE(log_.Contains("task-failed-to-be-placed"));
}

TEST_F(AuctionRunnerTest, PerformErrorMarksNothingFailed) {
  std::shared_ptr<FakeCellClient> cell = AddCell("cell-1");
  cell->SetPerformError(absl::DeadlineExceededError("cell 'cell-1': POST timed out"));
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0, 1})});
  runner().ScheduleTasksForAuctions({TaskStart("t1")});

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());

  // Diego keeps them as placed: the cell may have started them, and
  // convergence repairs the rest without risking duplicates.
  EXPECT_THAT(results.successful_lrps, SizeIs(2));
  EXPECT_THAT(results.successful_tasks, SizeIs(1));
  EXPECT_THAT(results.failed_lrps, IsEmpty());
  EXPECT_THAT(results.failed_tasks, IsEmpty());
  EXPECT_THAT(reporter_.failed_lrps(), IsEmpty());
  EXPECT_THAT(reporter_.rejected_tasks(), IsEmpty());
  EXPECT_TRUE(log_.Contains("auctioneer.auction.failed-to-commit"));
}

TEST_F(AuctionRunnerTest, PerformsOnAllWinningCellsInParallel) {
  std::shared_ptr<FakeCellClient> a = AddCell("cell-a", "z1");
  std::shared_ptr<FakeCellClient> b = AddCell("cell-b", "z2");
  a->SetPerformDelay(&clock_, absl::Seconds(1));
  b->SetPerformDelay(&clock_, absl::Seconds(1));
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0, 1})});

  absl::StatusOr<AuctionResults> results;
  std::thread round([&] { results = runner().RunOnce(); });
  clock_.BlockUntilSleepers(2);  // Both Perform calls are in flight at once.
  clock_.Advance(absl::Seconds(1));
  round.join();

  ASSERT_OK(results);
  EXPECT_THAT(results->successful_lrps, SizeIs(2));
  EXPECT_EQ(a->PerformCallCount(), 1);
  EXPECT_EQ(b->PerformCallCount(), 1);
}

// --- Records and reporting --------------------------------------------------

TEST_F(AuctionRunnerTest, RecordsAttemptsAndWaitTimeWithTheInjectedClock) {
  AddCell("cell-1");
  const absl::Time queued = clock_.Now();
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0})});
  runner().ScheduleTasksForAuctions({TaskStart("t1")});
  clock_.Advance(absl::Seconds(5));

  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());

  ASSERT_THAT(results.successful_lrps, SizeIs(1));
  const AuctionRecord& record = results.successful_lrps[0].record;
  EXPECT_EQ(record.queue_time, queued);
  EXPECT_EQ(record.wait_duration, absl::Seconds(5));
  EXPECT_EQ(record.attempts, 1);
  ASSERT_THAT(results.successful_tasks, SizeIs(1));
  EXPECT_EQ(results.successful_tasks[0].record.attempts, 1);
  EXPECT_EQ(results.successful_tasks[0].record.wait_duration, absl::Seconds(5));
  EXPECT_EQ(reporter_.lrp_auctions_started(), 1u);
  EXPECT_EQ(reporter_.task_auctions_started(), 1u);
  EXPECT_THAT(reporter_.fetch_durations(), ElementsAre(absl::ZeroDuration()));
  EXPECT_EQ(reporter_.rounds(), 1);
  EXPECT_TRUE(log_.Contains("auctioneer.auction.scheduled"));
}

TEST_F(AuctionRunnerTest, ReporterErrorsAreLoggedNotFatal) {
  reporter_.set_fail_error(absl::UnavailableError("bbs down"));
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0})});
  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner().RunOnce());
  EXPECT_THAT(results.failed_lrps, SizeIs(1));
  EXPECT_TRUE(log_.Contains("failed-to-fail-actual-lrp"));
  EXPECT_EQ(reporter_.rounds(), 1);
}

TEST_F(AuctionRunnerTest, WorksWithoutAReporter) {
  AddCell("cell-1");
  AuctionRunner runner(&directory_, &scheduler_, nullptr, &clock_, log_.logger());
  runner.ScheduleLrpsForAuctions({LrpStart("web", {0})});
  ASSERT_OK_AND_ASSIGN(AuctionResults results, runner.RunOnce());
  EXPECT_THAT(results.successful_lrps, SizeIs(1));
}

// --- The loop ------------------------------------------------------------------

TEST_F(AuctionRunnerTest, RunAuctionsWhenWorkArrivesUntilStopped) {
  std::shared_ptr<FakeCellClient> cell = AddCell("cell-1");
  std::thread loop([&] { runner().Run(); });

  runner().ScheduleLrpsForAuctions({LrpStart("web", {0})});
  reporter_.AwaitRounds(1);
  runner().ScheduleTasksForAuctions({TaskStart("t1")});
  reporter_.AwaitRounds(2);
  runner().Stop();
  loop.join();

  EXPECT_EQ(reporter_.lrp_auctions_started(), 1u);
  EXPECT_EQ(reporter_.task_auctions_started(), 1u);
  EXPECT_EQ(cell->PerformCallCount(), 2);
}

TEST_F(AuctionRunnerTest, RunRetriesTheDirectoryAfterASecond) {
  AddCell("cell-1");
  directory_.SetError(absl::UnavailableError("bbs down"), 1);
  runner();  // Build before the loop thread uses it.
  std::thread loop([&] { runner().Run(); });
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0})});

  clock_.BlockUntilSleepers(1);  // The retry wait after the failed fetch.
  EXPECT_EQ(reporter_.rounds(), 0);
  clock_.Advance(absl::Seconds(1));
  reporter_.AwaitRounds(1);
  runner().Stop();
  loop.join();

  EXPECT_EQ(directory_.calls(), 2);
  EXPECT_EQ(reporter_.lrp_auctions_started(), 1u);
}

TEST_F(AuctionRunnerTest, StopCutsTheRetryWaitShort) {
  directory_.SetError(absl::UnavailableError("bbs down"));
  runner();
  std::thread loop([&] { runner().Run(); });
  runner().ScheduleLrpsForAuctions({LrpStart("web", {0})});
  clock_.BlockUntilSleepers(1);
  runner().Stop();
  loop.join();  // Returns without the clock moving.
  EXPECT_EQ(directory_.calls(), 1);
}

TEST_F(AuctionRunnerTest, StopBeforeRunReturnsAtOnce) {
  runner().Stop();
  runner().Run();
  SUCCEED();
}

}  // namespace
}  // namespace diego::auction
