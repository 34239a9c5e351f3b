// Copyright 2026 The libdiego Authors.
//
// SqlStore's TaskStore on both engines: every transition and refusal with
// Diego's exact errors, filters, the events each committed change publishes
// (and that refusals and no-ops publish nothing), and corrupt rows.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/errors.h"
#include "diego/model/task_state.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/v1/task.pb.h"
#include "diego/model/wire.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/recording_event_sink.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "store_event_matchers.h"
#include "test_databases.h"

namespace diego::bbs {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::StatusIs;
using ::diego::model::v1::Error;
using ::diego::model::v1::Task;
using ::diego::model::v1::TaskDefinition;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;


// Collects every published event, in order.
using RecordingSink = ::diego::fakes::RecordingEventSink;


bool HasType(const absl::Status& status, Error::Type type) {
  return model::HasBbsErrorType(status, type);
}

int64_t Nanos(absl::Time t) { return absl::ToUnixNanos(t); }

TaskDefinition Definition(absl::string_view annotation = "a") {
  TaskDefinition definition;
  definition.set_root_fs("preloaded:cflinuxfs4");
  definition.mutable_action()->mutable_run_action()->set_path("/bin/true");
  definition.set_memory_mb(128);
  definition.set_disk_mb(256);
  definition.set_log_guid("log-guid");
  definition.set_annotation(std::string(annotation));
  definition.set_completion_callback_url("http://cc/callback");
  return definition;
}

class SqlStoreTasksTest : public ::testing::TestWithParam<SqlEngine> {
 protected:
  void SetUp() override { Open(SqlStore::Options()); }

  void Open(SqlStore::Options options) {
    absl::StatusOr<testing::TestDatabase> db = testing::OpenTestDatabase(GetParam());
    ASSERT_OK(db);
    database_ = *std::move(db);
    store_ = std::make_unique<SqlStore>(database_.db.get(), &sink_, &clock_, std::move(options));
  }

  // A Pending task "t" (its creation event consumed).
  Task Pending(absl::string_view guid = "t", absl::string_view domain = "d") {
    absl::StatusOr<Task> task = store_->DesireTask(Definition(), guid, domain);
    EXPECT_OK(task);
    sink_.Take();
    return task.ok() ? *task : Task();
  }

  // A task running on `cell`.
  void Running(absl::string_view guid, absl::string_view cell) {
    Pending(guid);
    ASSERT_OK(store_->StartTask(guid, cell));
    sink_.Take();
  }

  void Completed(absl::string_view guid) {
    Running(guid, "cell-1");
    ASSERT_OK(store_->CompleteTask(guid, "cell-1", false, "", "result"));
    sink_.Take();
  }

  Task Stored(absl::string_view guid) {
    absl::StatusOr<Task> task = store_->TaskByGuid(guid);
    EXPECT_OK(task);
    return task.ok() ? *task : Task();
  }

  // Expects exactly one task_changed event from `before` to `after`.
  void ExpectChangedEvent(const Task& before, const Task& after) {
    std::vector<BbsEvent> events = sink_.Take();
    ASSERT_THAT(events, SizeIs(1));
    EXPECT_EQ(events[0].type, "task_changed");
    EXPECT_EQ(events[0].stream, EventStream::kTasks);
    EXPECT_FALSE(events[0].cell_filtered);
    auto message = Decode<model::v1::TaskChangedEvent>(events[0]);
    EXPECT_THAT(message.before(), EqualsProto(before));
    EXPECT_THAT(message.after(), EqualsProto(after));
  }

  FakeClock clock_;
  RecordingSink sink_;
  testing::TestDatabase database_;
  std::unique_ptr<SqlStore> store_;
};

TEST_P(SqlStoreTasksTest, DesireTaskInsertsPendingTaskAndPublishesCreated) {
  ASSERT_OK_AND_ASSIGN(Task task, store_->DesireTask(Definition(), "task-1", "domain-1"));
  EXPECT_EQ(task.task_guid(), "task-1");
  EXPECT_EQ(task.domain(), "domain-1");
  EXPECT_EQ(task.state(), Task::Pending);
  EXPECT_EQ(task.created_at(), Nanos(clock_.Now()));
  EXPECT_EQ(task.updated_at(), Nanos(clock_.Now()));
  EXPECT_EQ(task.first_completed_at(), 0);
  EXPECT_THAT(task.task_definition(), EqualsProto(Definition()));
  EXPECT_THAT(Stored("task-1"), EqualsProto(task));

  std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].type, "task_created");
  EXPECT_EQ(events[0].stream, EventStream::kTasks);
  EXPECT_THAT(Decode<model::v1::TaskCreatedEvent>(events[0]).task(), EqualsProto(task));
}

TEST_P(SqlStoreTasksTest, DesireTaskWithDuplicateGuidIsResourceExistsAndChangesNothing) {
  ASSERT_OK_AND_ASSIGN(Task first, store_->DesireTask(Definition("first"), "t", "d"));
  sink_.Take();
  clock_.Advance(absl::Seconds(1));

  absl::StatusOr<Task> second = store_->DesireTask(Definition("second"), "t", "other");
  EXPECT_THAT(second,
              StatusIs(absl::StatusCode::kAlreadyExists, "the requested resource already exists"));
  EXPECT_TRUE(HasType(second.status(), Error::ResourceExists));
  EXPECT_THAT(Stored("t"), EqualsProto(first));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, StartTaskMovesPendingToRunning) {
  const Task before = Pending();
  clock_.Advance(absl::Seconds(2));
  ASSERT_OK_AND_ASSIGN(model::StartTaskResult result, store_->StartTask("t", "cell-1"));
  EXPECT_TRUE(result.should_start);
  EXPECT_EQ(result.task.state(), Task::Running);
  EXPECT_EQ(result.task.cell_id(), "cell-1");
  EXPECT_EQ(result.task.updated_at(), Nanos(clock_.Now()));
  EXPECT_THAT(Stored("t"), EqualsProto(result.task));
  ExpectChangedEvent(before, result.task);
}

TEST_P(SqlStoreTasksTest, StartTaskOnSameCellIsANoOpWithoutEvent) {
  Running("t", "cell-1");
  const Task running = Stored("t");
  clock_.Advance(absl::Seconds(5));
  ASSERT_OK_AND_ASSIGN(model::StartTaskResult result, store_->StartTask("t", "cell-1"));
  EXPECT_FALSE(result.should_start);
  EXPECT_THAT(result.task, EqualsProto(running));
  EXPECT_THAT(Stored("t"), EqualsProto(running));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, StartTaskOnOtherCellIsRefused) {
  Running("t", "cell-1");
  const Task running = Stored("t");
  absl::StatusOr<model::StartTaskResult> result = store_->StartTask("t", "cell-2");
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "Cannot transition from Running to Running"));
  EXPECT_TRUE(HasType(result.status(), Error::InvalidStateTransition));
  EXPECT_THAT(Stored("t"), EqualsProto(running));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, StartTaskOfCompletedTaskIsRefused) {
  Completed("t");
  EXPECT_THAT(store_->StartTask("t", "cell-1"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "Cannot transition from Completed to Running"));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, CancelTaskCompletesPendingTask) {
  const Task before = Pending();
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(TaskChange change, store_->CancelTask("t"));
  EXPECT_THAT(change.before, EqualsProto(before));
  EXPECT_EQ(change.after.state(), Task::Completed);
  EXPECT_TRUE(change.after.failed());
  EXPECT_EQ(change.after.failure_reason(), "task was cancelled");
  EXPECT_EQ(change.after.first_completed_at(), Nanos(clock_.Now()));
  EXPECT_THAT(Stored("t"), EqualsProto(change.after));
  ExpectChangedEvent(before, change.after);
}

TEST_P(SqlStoreTasksTest, CancelTaskOfRunningTaskReportsItsCell) {
  Running("t", "cell-7");
  ASSERT_OK_AND_ASSIGN(TaskChange change, store_->CancelTask("t"));
  EXPECT_EQ(change.before.cell_id(), "cell-7");
  EXPECT_EQ(change.after.cell_id(), "");
  EXPECT_EQ(change.after.state(), Task::Completed);
  ExpectChangedEvent(change.before, change.after);
}

TEST_P(SqlStoreTasksTest, CancelTaskOfCompletedTaskIsRefused) {
  Completed("t");
  const Task completed = Stored("t");
  absl::StatusOr<TaskChange> change = store_->CancelTask("t");
  EXPECT_THAT(change, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "Cannot transition from Completed to Completed"));
  EXPECT_TRUE(HasType(change.status(), Error::InvalidStateTransition));
  EXPECT_THAT(Stored("t"), EqualsProto(completed));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, FailTaskCompletesWithTheReason) {
  Running("t", "cell-1");
  const Task before = Stored("t");
  ASSERT_OK_AND_ASSIGN(TaskChange change, store_->FailTask("t", "boom"));
  EXPECT_EQ(change.after.state(), Task::Completed);
  EXPECT_TRUE(change.after.failed());
  EXPECT_EQ(change.after.failure_reason(), "boom");
  ExpectChangedEvent(before, change.after);

  EXPECT_THAT(store_->FailTask("t", "again"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "Cannot transition from Completed to Completed"));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, RejectTaskRequeuesUntilTheFourthRejectionFailsIt) {
  Running("t", "cell-1");
  for (int i = 1; i <= 3; ++i) {
    const Task before = Stored("t");
    clock_.Advance(absl::Seconds(1));
    ASSERT_OK_AND_ASSIGN(TaskChange change, store_->RejectTask("t", absl::StrCat("no room ", i)));
    EXPECT_EQ(change.after.state(), Task::Pending);
    EXPECT_EQ(change.after.rejection_count(), i);
    EXPECT_EQ(change.after.rejection_reason(), absl::StrCat("no room ", i));
    EXPECT_FALSE(change.after.failed());
    EXPECT_EQ(change.after.updated_at(), Nanos(clock_.Now()));
    EXPECT_THAT(Stored("t"), EqualsProto(change.after));
    ExpectChangedEvent(before, change.after);
  }
  ASSERT_OK_AND_ASSIGN(TaskChange fourth, store_->RejectTask("t", "still no room"));
  EXPECT_EQ(fourth.after.state(), Task::Completed);
  EXPECT_TRUE(fourth.after.failed());
  EXPECT_EQ(fourth.after.failure_reason(), "still no room");
  EXPECT_EQ(fourth.after.rejection_count(), 4);
  ExpectChangedEvent(fourth.before, fourth.after);
}

TEST_P(SqlStoreTasksTest, RejectTaskUsesTheConfiguredMaxRetries) {
  SqlStore::Options options;
  options.max_task_retries = 0;
  Open(std::move(options));
  Pending();
  ASSERT_OK_AND_ASSIGN(TaskChange change, store_->RejectTask("t", "nope"));
  EXPECT_EQ(change.after.state(), Task::Completed);
  EXPECT_TRUE(change.after.failed());
  EXPECT_EQ(change.after.failure_reason(), "nope");
}

TEST_P(SqlStoreTasksTest, RejectTaskOfCompletedTaskIsBadRequest) {
  Completed("t");
  const Task completed = Stored("t");
  absl::StatusOr<TaskChange> change = store_->RejectTask("t", "late");
  EXPECT_THAT(change,
              StatusIs(absl::StatusCode::kInvalidArgument, "the request received is invalid"));
  EXPECT_TRUE(HasType(change.status(), Error::InvalidRequest));
  EXPECT_THAT(Stored("t"), EqualsProto(completed));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, CompleteTaskCompletesARunningTask) {
  Running("t", "cell-1");
  const Task before = Stored("t");
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK_AND_ASSIGN(TaskChange change,
                       store_->CompleteTask("t", "cell-1", true, "exit 1", "out"));
  EXPECT_EQ(change.after.state(), Task::Completed);
  EXPECT_TRUE(change.after.failed());
  EXPECT_EQ(change.after.failure_reason(), "exit 1");
  EXPECT_EQ(change.after.result(), "out");
  EXPECT_EQ(change.after.cell_id(), "");
  EXPECT_EQ(change.after.first_completed_at(), Nanos(clock_.Now()));
  EXPECT_EQ(change.after.updated_at(), Nanos(clock_.Now()));
  EXPECT_THAT(Stored("t"), EqualsProto(change.after));
  ExpectChangedEvent(before, change.after);
}

TEST_P(SqlStoreTasksTest, CompleteTaskFromAnotherCellIsRunningOnDifferentCell) {
  Running("t", "cell-1");
  const Task running = Stored("t");
  absl::StatusOr<TaskChange> change = store_->CompleteTask("t", "cell-2", false, "", "");
  EXPECT_THAT(change,
              StatusIs(absl::StatusCode::kFailedPrecondition, "Running on cell cell-1 not cell-2"));
  EXPECT_TRUE(HasType(change.status(), Error::RunningOnDifferentCell));
  EXPECT_THAT(Stored("t"), EqualsProto(running));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, CompleteTaskOfPendingTaskIsRefused) {
  const Task pending = Pending();
  absl::StatusOr<TaskChange> change = store_->CompleteTask("t", "cell-1", false, "", "");
  EXPECT_THAT(change, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "Cannot transition from Pending to Completed"));
  EXPECT_TRUE(HasType(change.status(), Error::InvalidStateTransition));
  EXPECT_THAT(Stored("t"), EqualsProto(pending));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, ResolvingTaskOnlyFromCompleted) {
  Running("t", "cell-1");
  EXPECT_THAT(store_->ResolvingTask("t"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                   "Cannot transition from Running to Resolving"));
  EXPECT_THAT(sink_.Take(), IsEmpty());

  ASSERT_OK(store_->CompleteTask("t", "cell-1", false, "", "r"));
  sink_.Take();
  const Task completed = Stored("t");
  clock_.Advance(absl::Seconds(3));
  ASSERT_OK_AND_ASSIGN(TaskChange change, store_->ResolvingTask("t"));
  EXPECT_EQ(change.after.state(), Task::Resolving);
  EXPECT_EQ(change.after.updated_at(), Nanos(clock_.Now()));
  EXPECT_THAT(change.before, EqualsProto(completed));
  ExpectChangedEvent(completed, change.after);

  EXPECT_THAT(store_->ResolvingTask("t"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "Cannot transition from Resolving to Resolving"));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, DeleteTaskOnlyFromResolving) {
  Completed("t");
  absl::StatusOr<Task> refused = store_->DeleteTask("t");
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                "Cannot transition from Completed to Resolving"));
  EXPECT_TRUE(HasType(refused.status(), Error::InvalidStateTransition));
  EXPECT_OK(store_->TaskByGuid("t"));
  EXPECT_THAT(sink_.Take(), IsEmpty());

  ASSERT_OK(store_->ResolvingTask("t"));
  sink_.Take();
  const Task resolving = Stored("t");
  ASSERT_OK_AND_ASSIGN(Task deleted, store_->DeleteTask("t"));
  EXPECT_THAT(deleted, EqualsProto(resolving));
  EXPECT_THAT(store_->TaskByGuid("t"), StatusIs(absl::StatusCode::kNotFound));

  std::vector<BbsEvent> events = sink_.Take();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].type, "task_removed");
  EXPECT_EQ(events[0].stream, EventStream::kTasks);
  EXPECT_THAT(Decode<model::v1::TaskRemovedEvent>(events[0]).task(), EqualsProto(resolving));
}

TEST_P(SqlStoreTasksTest, DeleteTaskOfPendingTaskIsRefused) {
  Pending();
  EXPECT_THAT(store_->DeleteTask("t"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                "Cannot transition from Pending to Resolving"));
  EXPECT_OK(store_->TaskByGuid("t"));
}

TEST_P(SqlStoreTasksTest, EveryCallOnAMissingTaskIsResourceNotFound) {
  Pending("other");
  const auto expect_not_found = [](const absl::Status& status) {
    EXPECT_THAT(status,
                StatusIs(absl::StatusCode::kNotFound, "the requested resource could not be found"));
    EXPECT_TRUE(HasType(status, Error::ResourceNotFound));
  };
  expect_not_found(store_->TaskByGuid("missing").status());
  expect_not_found(store_->StartTask("missing", "cell-1").status());
  expect_not_found(store_->CancelTask("missing").status());
  expect_not_found(store_->FailTask("missing", "r").status());
  expect_not_found(store_->RejectTask("missing", "r").status());
  expect_not_found(store_->CompleteTask("missing", "cell-1", false, "", "").status());
  expect_not_found(store_->ResolvingTask("missing").status());
  expect_not_found(store_->DeleteTask("missing").status());
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, TasksFiltersByDomainAndCellAndOrdersByGuid) {
  ASSERT_OK(store_->DesireTask(Definition(), "c", "d1"));
  ASSERT_OK(store_->DesireTask(Definition(), "a", "d2"));
  ASSERT_OK(store_->DesireTask(Definition(), "b", "d1"));
  ASSERT_OK(store_->DesireTask(Definition(), "d", "d2"));
  ASSERT_OK(store_->StartTask("b", "cell-1"));
  ASSERT_OK(store_->StartTask("a", "cell-1"));
  ASSERT_OK(store_->StartTask("d", "cell-2"));

  const auto guids = [](const std::vector<Task>& tasks) {
    std::vector<std::string> out;
    for (const Task& task : tasks) out.push_back(task.task_guid());
    return out;
  };
  ASSERT_OK_AND_ASSIGN(std::vector<Task> all, store_->Tasks({}));
  EXPECT_THAT(guids(all), ElementsAre("a", "b", "c", "d"));
  ASSERT_OK_AND_ASSIGN(std::vector<Task> d1, store_->Tasks({.domain = "d1"}));
  EXPECT_THAT(guids(d1), ElementsAre("b", "c"));
  ASSERT_OK_AND_ASSIGN(std::vector<Task> cell1, store_->Tasks({.cell_id = "cell-1"}));
  EXPECT_THAT(guids(cell1), ElementsAre("a", "b"));
  ASSERT_OK_AND_ASSIGN(std::vector<Task> both,
                       store_->Tasks({.domain = "d2", .cell_id = "cell-1"}));
  EXPECT_THAT(guids(both), ElementsAre("a"));
  ASSERT_OK_AND_ASSIGN(std::vector<Task> none, store_->Tasks({.domain = "nope"}));
  EXPECT_THAT(none, IsEmpty());
  EXPECT_THAT(all[1], EqualsProto(Stored("b")));
}

TEST_P(SqlStoreTasksTest, CompletedTaskLeavesTheCellFilter) {
  Running("t", "cell-1");
  ASSERT_OK_AND_ASSIGN(std::vector<Task> on_cell, store_->Tasks({.cell_id = "cell-1"}));
  EXPECT_THAT(on_cell, SizeIs(1));
  ASSERT_OK(store_->CompleteTask("t", "cell-1", false, "", ""));
  ASSERT_OK_AND_ASSIGN(on_cell, store_->Tasks({.cell_id = "cell-1"}));
  EXPECT_THAT(on_cell, IsEmpty());
}

TEST_P(SqlStoreTasksTest, CorruptTaskRowIsDataLossNamingTheRow) {
  Pending("good");
  ASSERT_OK(database_.db->Write([](SqlTx& tx) -> absl::Status {
    const std::string garbage = "\xff\xff\xff\xff";
    const SqlParam params[] = {Blob(garbage)};
    return tx
        .Exec(
            "INSERT INTO tasks (guid, domain, state, cell_id, created_at, updated_at,"
            " first_completed_at, data) VALUES ('bad', 'd', 1, '', 0, 0, 0, ?)",
            params)
        .status();
  }));
  EXPECT_THAT(store_->TaskByGuid("bad"),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::HasSubstr("corrupt task row bad")));
  EXPECT_THAT(store_->Tasks({}),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::HasSubstr("bad")));
  EXPECT_THAT(store_->StartTask("bad", "cell-1"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_OK(store_->TaskByGuid("good"));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(SqlStoreTasksTest, EventsArriveInCommitOrder) {
  ASSERT_OK(store_->DesireTask(Definition(), "t", "d"));
  ASSERT_OK(store_->StartTask("t", "cell-1"));
  ASSERT_OK(store_->CompleteTask("t", "cell-1", false, "", ""));
  ASSERT_OK(store_->ResolvingTask("t"));
  ASSERT_OK(store_->DeleteTask("t"));
  std::vector<std::string> types;
  for (const BbsEvent& event : sink_.Take()) types.push_back(event.type);
  EXPECT_THAT(types, ElementsAre("task_created", "task_changed", "task_changed", "task_changed",
                                 "task_removed"));
}

INSTANTIATE_TEST_SUITE_P(Engines, SqlStoreTasksTest, ::testing::ValuesIn(testing::kTestEngines),
                         testing::TestEngineName);

}  // namespace
}  // namespace diego::bbs
