// Copyright 2026 The libdiego Authors.
//
// SqlStore::ConvergeTasks (convergence.h, diego-spec.md 3.4) on both
// engines: rules 1-6 with their exact failure reasons, timestamps and events,
// the callback hand-off, corrupt rows, and the metrics.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/bbs/convergence.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/v1/task.pb.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/recording_event_sink.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store_event_matchers.h"
#include "test_databases.h"

namespace diego::bbs {
namespace {

using ::diego::fakes::StatusIs;
using ::diego::model::v1::Task;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class TaskConvergenceTest : public ::testing::TestWithParam<SqlEngine> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(database_, testing::OpenTestDatabase(GetParam()));
    store_ = std::make_unique<SqlStore>(database_.db.get(), &sink_, &clock_);
  }

  int64_t Now() { return absl::ToUnixNanos(clock_.Now()); }

  // A Pending task (events consumed); `callback` sets the completion
  // callback URL.
  Task Desire(absl::string_view guid, bool callback = true) {
    model::v1::TaskDefinition definition;
    definition.set_root_fs("preloaded:cflinuxfs4");
    definition.mutable_action()->mutable_run_action()->set_path("/bin/true");
    definition.set_memory_mb(64);
    if (callback) definition.set_completion_callback_url("http://cc/callback");
    absl::StatusOr<Task> task = store_->DesireTask(definition, guid, "domain");
    EXPECT_OK(task.status());
    sink_.Take();
    return task.ok() ? *task : Task();
  }
  Task Running(absl::string_view guid, absl::string_view cell, bool callback = true) {
    Desire(guid, callback);
    absl::StatusOr<model::StartTaskResult> started = store_->StartTask(guid, cell);
    EXPECT_OK(started.status());
    sink_.Take();
    return started.ok() ? started->task : Task();
  }
  Task Completed(absl::string_view guid, bool callback = true) {
    Running(guid, "cell-1", callback);
    absl::StatusOr<TaskChange> done = store_->CompleteTask(guid, "cell-1", false, "", "result");
    EXPECT_OK(done.status());
    sink_.Take();
    return done.ok() ? done->after : Task();
  }
  Task Resolving(absl::string_view guid, bool callback = true) {
    Completed(guid, callback);
    absl::StatusOr<TaskChange> resolving = store_->ResolvingTask(guid);
    EXPECT_OK(resolving.status());
    sink_.Take();
    return resolving.ok() ? resolving->after : Task();
  }

  TaskConvergenceResult Converge(const CellSet& cells = {"cell-1"}) {
    absl::StatusOr<TaskConvergenceResult> result = store_->ConvergeTasks(cells, options_);
    EXPECT_OK(result.status());
    return result.ok() ? *std::move(result) : TaskConvergenceResult();
  }

  Task Stored(absl::string_view guid) {
    absl::StatusOr<Task> task = store_->TaskByGuid(guid);
    EXPECT_OK(task.status());
    return task.ok() ? *task : Task();
  }

  static std::vector<std::string> Guids(const std::vector<Task>& tasks) {
    std::vector<std::string> guids;
    for (const Task& task : tasks) guids.push_back(task.task_guid());
    return guids;
  }

  // `event` is task_changed from `before` to `after`.
  static void ExpectChanged(const BbsEvent& event, const Task& before, const Task& after) {
    EXPECT_EQ(event.type, "task_changed");
    EXPECT_EQ(event.stream, EventStream::kTasks);
    const auto changed = Decode<model::v1::TaskChangedEvent>(event);
    EXPECT_THAT(changed.before(), EqualsProto(before));
    EXPECT_THAT(changed.after(), EqualsProto(after));
  }

  // Inserts a row whose blob does not parse.
  void InsertCorrupt(absl::string_view guid, Task::State state, absl::string_view cell,
                     int64_t timestamps) {
    ASSERT_OK(database_.db->Write([&](SqlTx& tx) {
      const SqlParam params[] = {Text(guid),      Int(state),      Text(cell),      Int(timestamps),
                                 Int(timestamps), Int(timestamps), Blob("\xff\xff")};
      return tx
          .Exec(
              "INSERT INTO tasks (guid, domain, state, cell_id, created_at, updated_at,"
              " first_completed_at, data) VALUES (?, 'domain', ?, ?, ?, ?, ?, ?)",
              params)
          .status();
    }));
  }

  testing::TestDatabase database_;
  fakes::FakeClock clock_;
  fakes::RecordingEventSink sink_;
  std::unique_ptr<SqlStore> store_;
  ConvergenceOptions options_;
};

// Rules 1 and 2.
TEST_P(TaskConvergenceTest, ExpiredPendingTasksFailAndTheOthersAreAuctioned) {
  const Task old = Desire("old");
  const Task old_without_callback = Desire("old-no-callback", /*callback=*/false);
  clock_.Advance(absl::Minutes(30));
  const Task young = Desire("young");

  // Exactly 30 minutes old: not expired yet, auctioned.
  TaskConvergenceResult result = Converge();
  EXPECT_THAT(Guids(result.tasks_to_auction), ElementsAre("old", "old-no-callback", "young"));
  EXPECT_THAT(sink_.Take(), IsEmpty());

  clock_.Advance(absl::Nanoseconds(1));
  result = Converge();
  EXPECT_THAT(Guids(result.tasks_to_auction), ElementsAre("young"));
  EXPECT_THAT(result.tasks_to_auction[0], EqualsProto(young));
  for (const Task* before : {&old, &old_without_callback}) {
    const Task after = Stored(before->task_guid());
    EXPECT_EQ(after.state(), Task::Completed);
    EXPECT_TRUE(after.failed());
    EXPECT_EQ(after.failure_reason(), "not started within time limit");
    EXPECT_EQ(after.result(), "");
    EXPECT_EQ(after.first_completed_at(), Now());
    EXPECT_EQ(after.updated_at(), Now());
  }
  const std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(events, SizeIs(2));
  ExpectChanged(events[0], old, Stored("old"));
  ExpectChanged(events[1], old_without_callback, Stored("old-no-callback"));
  // Its completion callback is due at once; the one without a URL has none.
  ASSERT_THAT(result.tasks_to_complete, SizeIs(1));
  EXPECT_THAT(result.tasks_to_complete[0], EqualsProto(Stored("old")));
  EXPECT_EQ(result.kicked, 3);  // 2 failed + 1 auctioned.
  EXPECT_EQ(result.pending, 1);
  EXPECT_EQ(result.completed, 2);
  EXPECT_EQ(result.pruned, 0);

  // Rule 2 again on the next pass: Pending tasks are auctioned every pass.
  clock_.Advance(absl::Seconds(1));
  result = Converge();
  EXPECT_THAT(Guids(result.tasks_to_auction), ElementsAre("young"));
  EXPECT_THAT(result.tasks_to_complete, IsEmpty());
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

// Rule 3: at most once, a task on a vanished cell is never run again.
TEST_P(TaskConvergenceTest, RunningTasksOnMissingCellsFail) {
  const Task lost = Running("lost", "cell-gone");
  const Task kept = Running("kept", "cell-1");
  const Task lost_quietly = Running("lost-no-callback", "cell-gone", /*callback=*/false);

  const TaskConvergenceResult result = Converge({"cell-1"});
  const Task after = Stored("lost");
  EXPECT_EQ(after.state(), Task::Completed);
  EXPECT_TRUE(after.failed());
  EXPECT_EQ(after.failure_reason(), "cell disappeared before completion");
  EXPECT_EQ(after.result(), "");
  EXPECT_EQ(after.cell_id(), "cell-gone");  // Diego's statement keeps it.
  EXPECT_EQ(after.first_completed_at(), Now());
  EXPECT_EQ(after.updated_at(), Now());
  EXPECT_THAT(Stored("kept"), EqualsProto(kept));
  const std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(events, SizeIs(2));
  ExpectChanged(events[0], lost, after);
  ExpectChanged(events[1], lost_quietly, Stored("lost-no-callback"));
  EXPECT_THAT(Guids(result.tasks_to_complete), ElementsAre("lost"));
  EXPECT_EQ(result.kicked, 2);
  EXPECT_EQ(result.running, 1);
  EXPECT_EQ(result.completed, 2);

  // With no cells at all, every Running task fails.
  Converge({});
  EXPECT_EQ(Stored("kept").state(), Task::Completed);
  EXPECT_EQ(Stored("kept").failure_reason(), "cell disappeared before completion");
}

// Rules 4 and 6.
TEST_P(TaskConvergenceTest, StuckResolvingTasksAreDemotedAndTheirCallbackResubmitted) {
  const Task resolving = Resolving("resolving");
  const Task quiet = Resolving("resolving-no-callback", /*callback=*/false);
  clock_.Advance(absl::Seconds(30));
  TaskConvergenceResult result = Converge();
  EXPECT_EQ(result.resolving, 2);
  EXPECT_THAT(result.tasks_to_complete, IsEmpty());
  EXPECT_THAT(sink_.Take(), IsEmpty());

  clock_.Advance(absl::Nanoseconds(1));
  result = Converge();
  // Only the state changes (Diego): updated_at stays, so rule 6 of this very
  // pass finds the callback due.
  Task demoted = resolving;
  demoted.set_state(Task::Completed);
  EXPECT_THAT(Stored("resolving"), EqualsProto(demoted));
  Task demoted_quiet = quiet;
  demoted_quiet.set_state(Task::Completed);
  EXPECT_THAT(Stored("resolving-no-callback"), EqualsProto(demoted_quiet));
  const std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(events, SizeIs(2));
  ExpectChanged(events[0], resolving, demoted);
  ExpectChanged(events[1], quiet, demoted_quiet);
  ASSERT_THAT(result.tasks_to_complete, SizeIs(1));
  EXPECT_THAT(result.tasks_to_complete[0], EqualsProto(demoted));
  EXPECT_EQ(result.kicked, 1);  // The resubmitted callback.
  EXPECT_EQ(result.resolving, 0);
  EXPECT_EQ(result.completed, 2);
}

// Rule 6 alone.
TEST_P(TaskConvergenceTest, CompletedTasksCallbacksAreResubmittedAfterTheKickDuration) {
  const Task done = Completed("done");
  Completed("done-no-callback", /*callback=*/false);
  clock_.Advance(absl::Seconds(30));
  EXPECT_THAT(Converge().tasks_to_complete, IsEmpty());
  clock_.Advance(absl::Nanoseconds(1));
  TaskConvergenceResult result = Converge();
  ASSERT_THAT(result.tasks_to_complete, SizeIs(1));
  EXPECT_THAT(result.tasks_to_complete[0], EqualsProto(done));
  EXPECT_EQ(result.kicked, 1);
  // Nothing is written; every pass resubmits until the task is resolved.
  EXPECT_THAT(sink_.Take(), IsEmpty());
  EXPECT_THAT(Guids(Converge().tasks_to_complete), ElementsAre("done"));

  // A custom kick duration is honoured.
  options_.kick_task_duration = absl::Minutes(5);
  EXPECT_THAT(Converge().tasks_to_complete, IsEmpty());
}

// Rule 5 (and 4 + 5 in one pass).
TEST_P(TaskConvergenceTest, ExpiredCompletedTasksAreDeleted) {
  const Task done = Completed("done");
  const Task resolving = Resolving("resolving");
  clock_.Advance(absl::Seconds(120));
  TaskConvergenceResult result = Converge();
  EXPECT_EQ(result.pruned, 0);
  sink_.Take();  // The demotion of "resolving".
  ASSERT_OK(store_->ResolvingTask("resolving").status());
  sink_.Take();
  const Task resolving_again = Stored("resolving");

  clock_.Advance(absl::Seconds(30) + absl::Nanoseconds(1));
  result = Converge();
  EXPECT_THAT(store_->TaskByGuid("done"), StatusIs(absl::StatusCode::kNotFound));
  // Stuck Resolving and past its expiry: demoted, then deleted, as Diego's
  // statements in sequence do.
  EXPECT_THAT(store_->TaskByGuid("resolving"), StatusIs(absl::StatusCode::kNotFound));
  const std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(events, SizeIs(3));
  EXPECT_EQ(events[0].type, "task_removed");
  EXPECT_THAT(Decode<model::v1::TaskRemovedEvent>(events[0]).task(), EqualsProto(done));
  Task demoted = resolving_again;
  demoted.set_state(Task::Completed);
  ExpectChanged(events[1], resolving_again, demoted);
  EXPECT_EQ(events[2].type, "task_removed");
  EXPECT_THAT(Decode<model::v1::TaskRemovedEvent>(events[2]).task(), EqualsProto(demoted));
  EXPECT_EQ(result.pruned, 2);
  EXPECT_THAT(result.tasks_to_complete, IsEmpty());
  EXPECT_EQ(result.completed, 0);
}

TEST_P(TaskConvergenceTest, CorruptRowsAreDeletedAndCountedAsPruned) {
  Desire("fine");
  const int64_t long_ago = Now() - absl::ToInt64Nanoseconds(absl::Hours(1));
  InsertCorrupt("bad-pending", Task::Pending, "", Now());
  InsertCorrupt("bad-expired", Task::Pending, "",
                long_ago - absl::ToInt64Nanoseconds(absl::Hours(1)));
  InsertCorrupt("bad-running", Task::Running, "cell-gone", long_ago);
  InsertCorrupt("bad-completed", Task::Completed, "",
                Now() - absl::ToInt64Nanoseconds(absl::Minutes(1)));

  const TaskConvergenceResult result = Converge();
  EXPECT_EQ(result.pruned, 4);
  EXPECT_THAT(Guids(result.tasks_to_auction), ElementsAre("fine"));
  EXPECT_THAT(sink_.Take(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<Task> tasks, store_->Tasks(TaskFilter()));
  EXPECT_THAT(Guids(tasks), ElementsAre("fine"));
  EXPECT_EQ(result.pending, 1);
  EXPECT_EQ(result.running + result.completed + result.resolving, 0);
}

TEST_P(TaskConvergenceTest, MetricsCountTasksByStateAfterThePass) {
  Desire("p1");
  Desire("p2");
  Running("r1", "cell-1");
  Running("r2", "cell-1");
  Running("r3", "cell-gone");
  Completed("c1");
  Resolving("s1");
  const TaskConvergenceResult result = Converge();
  EXPECT_EQ(result.pending, 2);
  EXPECT_EQ(result.running, 2);
  EXPECT_EQ(result.completed, 2);
  EXPECT_EQ(result.resolving, 1);
  EXPECT_EQ(result.kicked, 3);  // 2 auctioned + r3 failed.
  EXPECT_EQ(result.pruned, 0);
}

TEST_P(TaskConvergenceTest, CustomExpiryDurationsAreHonoured) {
  options_.expire_pending_task_duration = absl::Minutes(1);
  options_.expire_completed_task_duration = absl::Minutes(10);
  Desire("pending");
  Completed("done");
  clock_.Advance(absl::Minutes(2));
  Converge();
  EXPECT_EQ(Stored("pending").failure_reason(), "not started within time limit");
  EXPECT_EQ(Stored("done").state(), Task::Completed);
  clock_.Advance(absl::Minutes(8) + absl::Nanoseconds(1));
  Converge();
  EXPECT_THAT(store_->TaskByGuid("done"), StatusIs(absl::StatusCode::kNotFound));
}

INSTANTIATE_TEST_SUITE_P(Engines, TaskConvergenceTest, ::testing::ValuesIn(testing::kTestEngines),
                         testing::TestEngineName);

}  // namespace
}  // namespace diego::bbs
