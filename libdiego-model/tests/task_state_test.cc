// Copyright 2026 The libdiego Authors.

#include "diego/model/task_state.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "diego/model/errors.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::Eq;
using ::testing::Optional;

const absl::Time kNow = absl::FromUnixNanos(1700000000123456789);
constexpr int64_t kCreatedAt = 1600000000000000000;
constexpr int64_t kUpdatedAt = 1650000000000000000;
constexpr int64_t kFirstCompletedAt = 1660000000000000000;

const v1::Task::State kAllStates[] = {v1::Task::Invalid, v1::Task::Pending, v1::Task::Running,
                                      v1::Task::Completed, v1::Task::Resolving};

// A stored task in `state`; Running tasks live on `cell`.
v1::Task MakeTask(v1::Task::State state, const std::string& cell = "cell-a") {
  v1::Task task;
  task.set_task_guid("task-guid");
  task.set_domain("domain");
  task.mutable_task_definition()->set_root_fs("preloaded:cflinuxfs4");
  task.mutable_task_definition()->set_completion_callback_url("https://cc/done");
  task.set_created_at(kCreatedAt);
  task.set_updated_at(kUpdatedAt);
  task.set_state(state);
  if (state == v1::Task::Running) {
    task.set_cell_id(cell);
  }
  if (state == v1::Task::Completed || state == v1::Task::Resolving) {
    task.set_first_completed_at(kFirstCompletedAt);
    task.set_failed(false);
    task.set_result("earlier result");
  }
  return task;
}

std::string Name(v1::Task::State state) { return v1::Task::State_Name(state); }

// ---------------------------------------------------------------------------
// The generic rule.
// ---------------------------------------------------------------------------

TEST(ValidateTaskTransitionTest, AllowsOnlyTheThreeForwardEdges) {
  for (v1::Task::State from : kAllStates) {
    for (v1::Task::State to : kAllStates) {
      SCOPED_TRACE(Name(from) + " -> " + Name(to));
      const bool allowed = (from == v1::Task::Pending && to == v1::Task::Running) ||
                           (from == v1::Task::Running && to == v1::Task::Completed) ||
                           (from == v1::Task::Completed && to == v1::Task::Resolving);
      absl::Status status = ValidateTaskTransition(from, to);
      if (allowed) {
        EXPECT_THAT(status, IsOk());
      } else {
        EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                                     "Cannot transition from " + Name(from) + " to " + Name(to)));
        EXPECT_THAT(BbsErrorType(status), Optional(Eq(v1::Error::InvalidStateTransition)));
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Every (state, operation) pair: allowed or Diego's exact refusal.
// ---------------------------------------------------------------------------

struct Pair {
  std::string operation;
  v1::Task::State from;
  std::function<absl::Status(const v1::Task&)> run;
  absl::Status expected;  // OK for allowed pairs
};

absl::Status Transition(v1::Task::State from, v1::Task::State to) {
  return NewTaskTransitionError(from, to);
}

std::vector<Pair> AllPairs() {
  std::vector<Pair> pairs;
  for (v1::Task::State from : kAllStates) {
    const bool pending = from == v1::Task::Pending;
    const bool running = from == v1::Task::Running;
    const bool completed = from == v1::Task::Completed;
    const bool resolving = from == v1::Task::Resolving;

    pairs.push_back({"Start on the same cell", from,
                     [](const v1::Task& t) { return StartTask(t, "cell-a", kNow).status(); },
                     pending || running ? absl::OkStatus() : Transition(from, v1::Task::Running)});
    pairs.push_back({"Start on another cell", from,
                     [](const v1::Task& t) { return StartTask(t, "cell-b", kNow).status(); },
                     pending ? absl::OkStatus() : Transition(from, v1::Task::Running)});
    pairs.push_back(
        {"Cancel", from, [](const v1::Task& t) { return CancelTask(t, kNow).status(); },
         pending || running ? absl::OkStatus() : Transition(from, v1::Task::Completed)});
    pairs.push_back(
        {"Fail", from, [](const v1::Task& t) { return FailTask(t, "boom", kNow).status(); },
         pending || running ? absl::OkStatus() : Transition(from, v1::Task::Completed)});
    pairs.push_back({"Reject with retries left", from,
                     [](const v1::Task& t) { return RejectTask(t, "full", kNow).status(); },
                     pending || running ? absl::OkStatus() : ErrBadRequest()});
    pairs.push_back(
        {"Reject with retries exhausted", from,
         [](const v1::Task& t) {
           v1::Task exhausted = t;
           exhausted.set_rejection_count(3);
           return RejectTask(exhausted, "full", kNow).status();
         },
         pending || running ? absl::OkStatus() : Transition(from, v1::Task::Completed)});
    pairs.push_back({"Complete from the running cell", from,
                     [](const v1::Task& t) {
                       return CompleteTask(t, "cell-a", false, "", "ok", kNow).status();
                     },
                     running ? absl::OkStatus() : Transition(from, v1::Task::Completed)});
    pairs.push_back({"Complete from another cell", from,
                     [](const v1::Task& t) {
                       return CompleteTask(t, "cell-b", false, "", "ok", kNow).status();
                     },
                     running ? NewRunningOnDifferentCellError("cell-b", "cell-a")
                             : Transition(from, v1::Task::Completed)});
    pairs.push_back({"Resolving", from,
                     [](const v1::Task& t) { return ResolvingTask(t, kNow).status(); },
                     completed ? absl::OkStatus() : Transition(from, v1::Task::Resolving)});
    pairs.push_back({"Delete", from, [](const v1::Task& t) { return DeleteTask(t); },
                     resolving ? absl::OkStatus() : Transition(from, v1::Task::Resolving)});
  }
  return pairs;
}

TEST(TaskStateMachineTest, EveryStateAndOperationPair) {
  std::vector<Pair> pairs = AllPairs();
  EXPECT_EQ(pairs.size(), 50u);
  for (const Pair& pair : pairs) {
    SCOPED_TRACE(pair.operation + " from " + Name(pair.from));
    absl::Status status = pair.run(MakeTask(pair.from));
    if (pair.expected.ok()) {
      EXPECT_THAT(status, IsOk());
      continue;
    }
    EXPECT_THAT(status, StatusIs(pair.expected.code(), std::string(pair.expected.message())));
    EXPECT_EQ(BbsErrorType(status), BbsErrorType(pair.expected));
  }
}

// ---------------------------------------------------------------------------
// What each allowed operation writes.
// ---------------------------------------------------------------------------

TEST(DesireTaskTest, CreatesAPendingTaskStampedNow) {
  v1::TaskDefinition definition;
  definition.set_root_fs("docker:///busybox");
  definition.set_memory_mb(256);

  v1::Task task = DesireTask(definition, "task-guid", "domain", kNow);

  EXPECT_EQ(task.state(), v1::Task::Pending);
  EXPECT_EQ(task.task_guid(), "task-guid");
  EXPECT_EQ(task.domain(), "domain");
  EXPECT_EQ(task.created_at(), absl::ToUnixNanos(kNow));
  EXPECT_EQ(task.updated_at(), absl::ToUnixNanos(kNow));
  EXPECT_EQ(task.first_completed_at(), 0);
  EXPECT_TRUE(MessageDifferencer::Equals(task.task_definition(), definition));
  EXPECT_EQ(task.cell_id(), "");
  EXPECT_FALSE(task.failed());
  EXPECT_EQ(task.rejection_count(), 0);
}

TEST(StartTaskTest, MovesAPendingTaskToRunningOnTheCell) {
  ASSERT_OK_AND_ASSIGN(StartTaskResult result,
                       StartTask(MakeTask(v1::Task::Pending), "cell-z", kNow));

  EXPECT_TRUE(result.should_start);
  EXPECT_EQ(result.task.state(), v1::Task::Running);
  EXPECT_EQ(result.task.cell_id(), "cell-z");
  EXPECT_EQ(result.task.updated_at(), absl::ToUnixNanos(kNow));
  EXPECT_EQ(result.task.created_at(), kCreatedAt);
  EXPECT_EQ(result.task.first_completed_at(), 0);
}

TEST(StartTaskTest, IsANoOpWhenAlreadyRunningOnTheSameCell) {
  v1::Task running = MakeTask(v1::Task::Running, "cell-a");

  ASSERT_OK_AND_ASSIGN(StartTaskResult result, StartTask(running, "cell-a", kNow));

  EXPECT_FALSE(result.should_start);
  EXPECT_TRUE(MessageDifferencer::Equals(result.task, running));
}

TEST(StartTaskTest, RefusesATaskRunningElsewhere) {
  EXPECT_THAT(
      StartTask(MakeTask(v1::Task::Running, "cell-a"), "cell-b", kNow),
      StatusIs(absl::StatusCode::kFailedPrecondition, "Cannot transition from Running to Running"));
}

void ExpectCompletedAt(const v1::Task& task, absl::Time now) {
  EXPECT_EQ(task.state(), v1::Task::Completed);
  EXPECT_EQ(task.updated_at(), absl::ToUnixNanos(now));
  EXPECT_EQ(task.first_completed_at(), absl::ToUnixNanos(now));
  EXPECT_EQ(task.cell_id(), "");
  EXPECT_EQ(task.created_at(), kCreatedAt);
}

TEST(CancelTaskTest, FailsPendingAndRunningTasksAsCancelled) {
  for (v1::Task::State from : {v1::Task::Pending, v1::Task::Running}) {
    SCOPED_TRACE(Name(from));
    v1::Task before = MakeTask(from);
    before.set_result("partial");

    ASSERT_OK_AND_ASSIGN(v1::Task after, CancelTask(before, kNow));

    ExpectCompletedAt(after, kNow);
    EXPECT_TRUE(after.failed());
    EXPECT_EQ(after.failure_reason(), "task was cancelled");
    EXPECT_EQ(after.result(), "");
  }
}

TEST(FailTaskTest, CompletesWithTheGivenReason) {
  ASSERT_OK_AND_ASSIGN(v1::Task after,
                       FailTask(MakeTask(v1::Task::Running), "cell disappeared", kNow));
  ExpectCompletedAt(after, kNow);
  EXPECT_TRUE(after.failed());
  EXPECT_EQ(after.failure_reason(), "cell disappeared");
}

TEST(FailTaskTest, TruncatesTheReason) {
  ASSERT_OK_AND_ASSIGN(v1::Task after,
                       FailTask(MakeTask(v1::Task::Pending), std::string(5000, 'x'), kNow));
  EXPECT_EQ(after.failure_reason(), std::string(1013, 'x') + "(truncated)");
}

TEST(RejectTaskTest, ReturnsTheTaskToPendingAndCountsTheRejection) {
  for (v1::Task::State from : {v1::Task::Pending, v1::Task::Running}) {
    SCOPED_TRACE(Name(from));
    v1::Task before = MakeTask(from);
    before.set_rejection_count(1);

    ASSERT_OK_AND_ASSIGN(RejectTaskResult result,
                         RejectTask(before, "insufficient resources", kNow));

    EXPECT_FALSE(result.failed);
    EXPECT_EQ(result.task.state(), v1::Task::Pending);
    EXPECT_EQ(result.task.rejection_count(), 2);
    EXPECT_EQ(result.task.rejection_reason(), "insufficient resources");
    EXPECT_EQ(result.task.updated_at(), absl::ToUnixNanos(kNow));
    EXPECT_EQ(result.task.first_completed_at(), 0);
    EXPECT_FALSE(result.task.failed());
    // Diego's reject does not touch cell_id.
    EXPECT_EQ(result.task.cell_id(), before.cell_id());
  }
}

TEST(RejectTaskTest, FailsTheTaskOnTheFourthRejection) {
  v1::Task task = MakeTask(v1::Task::Pending);
  for (int rejection = 1; rejection <= 3; ++rejection) {
    ASSERT_OK_AND_ASSIGN(RejectTaskResult result, RejectTask(task, "no room", kNow));
    ASSERT_FALSE(result.failed) << "rejection " << rejection;
    EXPECT_EQ(result.task.state(), v1::Task::Pending);
    task = result.task;
  }
  EXPECT_EQ(task.rejection_count(), 3);

  ASSERT_OK_AND_ASSIGN(RejectTaskResult fourth, RejectTask(task, "no room", kNow));

  EXPECT_TRUE(fourth.failed);
  ExpectCompletedAt(fourth.task, kNow);
  EXPECT_TRUE(fourth.task.failed());
  EXPECT_EQ(fourth.task.failure_reason(), "no room");
  EXPECT_EQ(fourth.task.rejection_count(), 4);
  EXPECT_EQ(fourth.task.rejection_reason(), "no room");
}

TEST(RejectTaskTest, HonoursACustomRetryLimit) {
  ASSERT_OK_AND_ASSIGN(RejectTaskResult first,
                       RejectTask(MakeTask(v1::Task::Running), "no room", kNow,
                                  /*max_task_retries=*/0));
  EXPECT_TRUE(first.failed);
  EXPECT_EQ(first.task.state(), v1::Task::Completed);
}

TEST(RejectTaskTest, TruncatesTheReason) {
  ASSERT_OK_AND_ASSIGN(RejectTaskResult result,
                       RejectTask(MakeTask(v1::Task::Pending), std::string(2048, 'r'), kNow));
  EXPECT_EQ(result.task.rejection_reason().size(), 1024u);
  EXPECT_EQ(result.task.rejection_reason(), std::string(1013, 'r') + "(truncated)");
}

TEST(RejectTaskTest, RefusesFinishedTasksAsABadRequest) {
  EXPECT_THAT(RejectTask(MakeTask(v1::Task::Completed), "x", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, "the request received is invalid"));
  EXPECT_THAT(RejectTask(MakeTask(v1::Task::Resolving), "x", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, "the request received is invalid"));
}

TEST(CompleteTaskTest, RecordsTheOutcome) {
  ASSERT_OK_AND_ASSIGN(v1::Task after,
                       CompleteTask(MakeTask(v1::Task::Running, "cell-a"), "cell-a",
                                    /*failed=*/true, "exit status 1", "the result", kNow));
  ExpectCompletedAt(after, kNow);
  EXPECT_TRUE(after.failed());
  EXPECT_EQ(after.failure_reason(), "exit status 1");
  EXPECT_EQ(after.result(), "the result");
}

TEST(CompleteTaskTest, TruncatesTheReasonButNotTheResult) {
  const std::string big(4096, 'z');
  ASSERT_OK_AND_ASSIGN(v1::Task after, CompleteTask(MakeTask(v1::Task::Running), "cell-a",
                                                    /*failed=*/true, big, big, kNow));
  EXPECT_EQ(after.failure_reason(), std::string(1013, 'z') + "(truncated)");
  EXPECT_EQ(after.result(), big);
}

TEST(CompleteTaskTest, RefusesAReportFromAnotherCell) {
  absl::Status status =
      CompleteTask(MakeTask(v1::Task::Running, "cell-a"), "cell-b", false, "", "", kNow).status();
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kFailedPrecondition, "Running on cell cell-a not cell-b"));
  EXPECT_THAT(BbsErrorType(status), Optional(Eq(v1::Error::RunningOnDifferentCell)));
}

TEST(ResolvingTaskTest, MarksACompletedTaskResolving) {
  ASSERT_OK_AND_ASSIGN(v1::Task after, ResolvingTask(MakeTask(v1::Task::Completed), kNow));
  EXPECT_EQ(after.state(), v1::Task::Resolving);
  EXPECT_EQ(after.updated_at(), absl::ToUnixNanos(kNow));
  EXPECT_EQ(after.first_completed_at(), kFirstCompletedAt);
  EXPECT_EQ(after.result(), "earlier result");
}

TEST(DeleteTaskTest, RequiresResolving) {
  EXPECT_THAT(DeleteTask(MakeTask(v1::Task::Resolving)), IsOk());
  EXPECT_THAT(DeleteTask(MakeTask(v1::Task::Completed)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "Cannot transition from Completed to Resolving"));
}

TEST(TaskLifecycleTest, RunsFromDesireToDelete) {
  v1::TaskDefinition definition;
  definition.set_root_fs("preloaded:cflinuxfs4");
  v1::Task task = DesireTask(definition, "t", "d", kNow);
  ASSERT_OK_AND_ASSIGN(StartTaskResult started, StartTask(task, "cell-1", kNow));
  ASSERT_OK_AND_ASSIGN(v1::Task completed,
                       CompleteTask(started.task, "cell-1", false, "", "42", kNow));
  ASSERT_OK_AND_ASSIGN(v1::Task resolving, ResolvingTask(completed, kNow));
  EXPECT_THAT(DeleteTask(resolving), IsOk());
  EXPECT_EQ(resolving.result(), "42");
}

// ---------------------------------------------------------------------------
// Reason truncation (shared with ActualLRPs).
// ---------------------------------------------------------------------------

TEST(TruncateBbsReasonTest, KeepsShortReasons) {
  EXPECT_EQ(TruncateBbsReason(""), "");
  EXPECT_EQ(TruncateBbsReason("short"), "short");
  EXPECT_EQ(TruncateBbsReason(std::string(1023, 'a')), std::string(1023, 'a'));
}

TEST(TruncateBbsReasonTest, CutsAtAndAboveTheLimit) {
  EXPECT_EQ(TruncateBbsReason(std::string(1024, 'a')), std::string(1013, 'a') + "(truncated)");
  EXPECT_EQ(TruncateBbsReason(std::string(1025, 'a')), std::string(1013, 'a') + "(truncated)");
  EXPECT_EQ(TruncateBbsReason(std::string(1024, 'a')).size(), kMaxBbsReasonBytes);
}

}  // namespace
}  // namespace diego::model
