// Copyright 2026 The libdiego Authors.

#include "diego/model/task_state.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "diego/model/errors.h"

namespace diego::model {
namespace {

int64_t Nanos(absl::Time now) { return absl::ToUnixNanos(now); }

// Mirrors sqldb completeTask: every way into Completed writes the same fields.
void Complete(v1::Task* task, bool failed, absl::string_view failure_reason,
              absl::string_view result, absl::Time now) {
  task->set_state(v1::Task::Completed);
  task->set_updated_at(Nanos(now));
  task->set_first_completed_at(Nanos(now));
  task->set_failed(failed);
  task->set_failure_reason(TruncateBbsReason(failure_reason));
  task->set_result(std::string(result));
  task->clear_cell_id();
}

// Cancel and Fail validate "-> Completed" but also accept a Pending task.
absl::Status ValidateFailable(const v1::Task& task) {
  absl::Status status = ValidateTaskTransition(task.state(), v1::Task::Completed);
  if (!status.ok() && task.state() != v1::Task::Pending) {
    return status;
  }
  return absl::OkStatus();
}

}  // namespace

std::string TruncateBbsReason(absl::string_view reason) {
  // The newest bbs truncateString: `len(s) < max` keeps it, so a reason of
  // exactly 1024 bytes is cut as well.
  if (reason.size() < kMaxBbsReasonBytes) {
    return std::string(reason);
  }
  return absl::StrCat(reason.substr(0, kMaxBbsReasonBytes - kTruncatedMarker.size()),
                      kTruncatedMarker);
}

absl::Status ValidateTaskTransition(v1::Task::State from, v1::Task::State to) {
  bool valid = false;
  switch (to) {
    case v1::Task::Running:
      valid = from == v1::Task::Pending;
      break;
    case v1::Task::Completed:
      valid = from == v1::Task::Running;
      break;
    case v1::Task::Resolving:
      valid = from == v1::Task::Completed;
      break;
    default:
      break;
  }
  if (!valid) {
    return NewTaskTransitionError(from, to);
  }
  return absl::OkStatus();
}

// Mirrors sqldb DesireTask's INSERT.
v1::Task DesireTask(const v1::TaskDefinition& definition, absl::string_view task_guid,
                    absl::string_view domain, absl::Time now) {
  v1::Task task;
  *task.mutable_task_definition() = definition;
  task.set_task_guid(std::string(task_guid));
  task.set_domain(std::string(domain));
  task.set_created_at(Nanos(now));
  task.set_updated_at(Nanos(now));
  task.set_first_completed_at(0);
  task.set_state(v1::Task::Pending);
  return task;
}

// Mirrors sqldb StartTask: the same-cell check runs before the transition
// check, which is why a repeated start succeeds without starting anything.
absl::StatusOr<StartTaskResult> StartTask(const v1::Task& task, absl::string_view cell_id,
                                          absl::Time now) {
  StartTaskResult result{task, false};
  if (task.state() == v1::Task::Running && task.cell_id() == cell_id) {
    // A rep retrying its start: nothing to do, and it must not run it twice.
    return result;
  }
  if (absl::Status status = ValidateTaskTransition(task.state(), v1::Task::Running); !status.ok()) {
    return status;
  }
  result.task.set_state(v1::Task::Running);
  result.task.set_updated_at(Nanos(now));
  result.task.set_cell_id(std::string(cell_id));
  result.should_start = true;
  return result;
}

absl::StatusOr<v1::Task> CancelTask(const v1::Task& task, absl::Time now) {
  return FailTask(task, kTaskCancelledReason, now);
}

absl::StatusOr<v1::Task> FailTask(const v1::Task& task, absl::string_view failure_reason,
                                  absl::Time now) {
  if (absl::Status status = ValidateFailable(task); !status.ok()) {
    return status;
  }
  v1::Task after = task;
  Complete(&after, /*failed=*/true, failure_reason, /*result=*/"", now);
  return after;
}

absl::StatusOr<RejectTaskResult> RejectTask(const v1::Task& task, absl::string_view reason,
                                            absl::Time now, int32_t max_task_retries) {
  // The task controller reads the count before rejecting and, once it has
  // reached max retries, calls FailTask whatever RejectTask returned.
  const bool retries_exhausted = task.rejection_count() >= max_task_retries;
  if (task.state() != v1::Task::Pending && task.state() != v1::Task::Running) {
    if (retries_exhausted) {
      if (absl::Status status = ValidateFailable(task); !status.ok()) {
        return status;
      }
    }
    return ErrBadRequest();
  }
  RejectTaskResult result{task, false};
  result.task.set_rejection_count(task.rejection_count() + 1);
  result.task.set_rejection_reason(TruncateBbsReason(reason));
  result.task.set_state(v1::Task::Pending);
  result.task.set_updated_at(Nanos(now));
  if (retries_exhausted) {
    absl::StatusOr<v1::Task> failed = FailTask(result.task, reason, now);
    if (!failed.ok()) {
      return failed.status();
    }
    result.task = *std::move(failed);
    result.failed = true;
  }
  return result;
}

// Mirrors sqldb CompleteTask: the cell check only applies to Running tasks;
// any other state falls through to the generic transition error.
absl::StatusOr<v1::Task> CompleteTask(const v1::Task& task, absl::string_view cell_id, bool failed,
                                      absl::string_view failure_reason, absl::string_view result,
                                      absl::Time now) {
  if (task.state() == v1::Task::Running && task.cell_id() != cell_id) {
    return NewRunningOnDifferentCellError(cell_id, task.cell_id());
  }
  if (absl::Status status = ValidateTaskTransition(task.state(), v1::Task::Completed);
      !status.ok()) {
    return status;
  }
  v1::Task after = task;
  Complete(&after, failed, failure_reason, result, now);
  return after;
}

absl::StatusOr<v1::Task> ResolvingTask(const v1::Task& task, absl::Time now) {
  if (absl::Status status = ValidateTaskTransition(task.state(), v1::Task::Resolving);
      !status.ok()) {
    return status;
  }
  v1::Task after = task;
  after.set_state(v1::Task::Resolving);
  after.set_updated_at(Nanos(now));
  return after;
}

// Mirrors sqldb DeleteTask, which reports "to Resolving" as the transition it
// expected to have happened.
absl::Status DeleteTask(const v1::Task& task) {
  if (task.state() != v1::Task::Resolving) {
    return NewTaskTransitionError(task.state(), v1::Task::Resolving);
  }
  return absl::OkStatus();
}

}  // namespace diego::model
