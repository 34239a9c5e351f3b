// Copyright 2026 The libdiego Authors.
//
// BbsService: task routes. Each mirrors Diego's handler
// (bbs handlers/task_handlers.go) and task controller
// (controllers/task_controller.go): validate, one store call, then the
// follow-ups (task auction, rep cancel, completion callback).

#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "diego/bbs/service.h"
#include "diego/model/errors.h"
#include "diego/model/validation.h"

namespace diego::bbs {
namespace {

using model::v1::Task;

template <typename Response>
void SetError(Response& response, const absl::Status& status) {
  *response.mutable_error() = model::ToBbsError(status);
}

}  // namespace

model::v1::TasksResponse BbsService::Tasks(const model::v1::TasksRequest& request,
                                           const RequestContext& /*ctx*/, PayloadVersion version) {
  model::v1::TasksResponse response;
  TaskFilter filter;
  filter.domain = request.domain();
  filter.cell_id = request.cell_id();
  absl::StatusOr<std::vector<Task>> tasks = store_->Tasks(filter);
  if (!tasks.ok()) {
    SetError(response, tasks.status());
    return response;
  }
  for (const Task& task : *tasks) {
    *response.add_tasks() = DowngradeTask(task, version);
  }
  return response;
}

model::v1::TaskResponse BbsService::TaskByGuid(const model::v1::TaskByGuidRequest& request,
                                               const RequestContext& /*ctx*/,
                                               PayloadVersion version) {
  model::v1::TaskResponse response;
  if (absl::Status valid = model::ValidateTaskByGuidRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<Task> task = store_->TaskByGuid(request.task_guid());
  if (!task.ok()) {
    SetError(response, task.status());
    return response;
  }
  *response.mutable_task() = DowngradeTask(*task, version);
  return response;
}

model::v1::TaskLifecycleResponse BbsService::DesireTask(const model::v1::DesireTaskRequest& request,
                                                        const RequestContext& /*ctx*/) {
  model::v1::TaskLifecycleResponse response;
  if (absl::Status valid = model::ValidateDesireTaskRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<Task> task =
      store_->DesireTask(request.task_definition(), request.task_guid(), request.domain());
  if (!task.ok()) {
    SetError(response, task.status());
    return response;
  }
  RequestTaskAuction(*task, logger_.Session("desire-task", {{"task_guid", request.task_guid()}}));
  return response;
}

model::v1::StartTaskResponse BbsService::StartTask(const model::v1::StartTaskRequest& request,
                                                   const RequestContext& /*ctx*/) {
  model::v1::StartTaskResponse response;
  if (absl::Status valid = model::ValidateStartTaskRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<model::StartTaskResult> result =
      store_->StartTask(request.task_guid(), request.cell_id());
  if (!result.ok()) {
    SetError(response, result.status());
    return response;
  }
  response.set_should_start(result->should_start);
  return response;
}

// Diego's CancelTask controller: the completion callback (if any), then the
// rep of the cell the task was running on is asked to cancel it. A cell
// without presence or a failed rep call is only logged (the rep converges);
// a rep client that cannot be made is returned, as Diego does.
model::v1::TaskLifecycleResponse BbsService::CancelTask(const model::v1::TaskGuidRequest& request,
                                                        const RequestContext& /*ctx*/) {
  model::v1::TaskLifecycleResponse response;
  if (absl::Status valid = model::ValidateTaskGuidRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<TaskChange> change = store_->CancelTask(request.task_guid());
  if (!change.ok()) {
    SetError(response, change.status());
    return response;
  }
  Logger logger = logger_.Session("cancel-task", {{"task_guid", request.task_guid()}});
  SubmitCompletedTask(change->after, logger);

  const std::string& cell_id = change->before.cell_id();
  if (cell_id.empty()) {
    return response;
  }
  absl::StatusOr<model::v1::CellPresence> cell = store_->CellById(cell_id);
  if (!cell.ok()) {
    logger.Error("failed-fetching-cell-presence", cell.status(), {{"cell_id", cell_id}});
    return response;
  }
  absl::StatusOr<std::shared_ptr<RepClient>> rep = reps_->ForCell(*cell);
  if (!rep.ok()) {
    logger.Error("create-rep-client-failed", rep.status(), {{"cell_id", cell_id}});
    SetError(response, rep.status());
    return response;
  }
  absl::Status status = (*rep)->CancelTask(request.task_guid());
  if (!status.ok()) {
    logger.Error("failed-rep-cancel-task", status, {{"cell_id", cell_id}});
  }
  return response;
}

model::v1::TaskLifecycleResponse BbsService::FailTask(const model::v1::FailTaskRequest& request,
                                                      const RequestContext& /*ctx*/) {
  model::v1::TaskLifecycleResponse response;
  if (absl::Status valid = model::ValidateFailTaskRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<TaskChange> change =
      store_->FailTask(request.task_guid(), request.failure_reason());
  if (!change.ok()) {
    SetError(response, change.status());
    return response;
  }
  SubmitCompletedTask(change->after,
                      logger_.Session("fail-task", {{"task_guid", request.task_guid()}}));
  return response;
}

// A rejected task goes back to Pending and is auctioned again; the rejection
// that exhausts the retries completes it failed instead, which hands it to
// the completion callback like any other completion.
model::v1::TaskLifecycleResponse BbsService::RejectTask(const model::v1::RejectTaskRequest& request,
                                                        const RequestContext& /*ctx*/) {
  model::v1::TaskLifecycleResponse response;
  if (absl::Status valid = model::ValidateRejectTaskRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<TaskChange> change =
      store_->RejectTask(request.task_guid(), request.rejection_reason());
  if (!change.ok()) {
    SetError(response, change.status());
    return response;
  }
  Logger logger = logger_.Session("reject-task", {{"task_guid", request.task_guid()}});
  if (change->after.state() == Task::Pending) {
    RequestTaskAuction(change->after, logger);
  } else if (change->after.state() == Task::Completed) {
    SubmitCompletedTask(change->after, logger);
  }
  return response;
}

model::v1::TaskLifecycleResponse BbsService::CompleteTask(
    const model::v1::CompleteTaskRequest& request, const RequestContext& /*ctx*/) {
  model::v1::TaskLifecycleResponse response;
  if (absl::Status valid = model::ValidateCompleteTaskRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<TaskChange> change =
      store_->CompleteTask(request.task_guid(), request.cell_id(), request.failed(),
                           request.failure_reason(), request.result());
  if (!change.ok()) {
    SetError(response, change.status());
    return response;
  }
  SubmitCompletedTask(change->after,
                      logger_.Session("complete-task", {{"task_guid", request.task_guid()}}));
  return response;
}

model::v1::TaskLifecycleResponse BbsService::ResolvingTask(
    const model::v1::TaskGuidRequest& request, const RequestContext& /*ctx*/) {
  model::v1::TaskLifecycleResponse response;
  if (absl::Status valid = model::ValidateTaskGuidRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<TaskChange> change = store_->ResolvingTask(request.task_guid());
  if (!change.ok()) {
    SetError(response, change.status());
  }
  return response;
}

model::v1::TaskLifecycleResponse BbsService::DeleteTask(const model::v1::TaskGuidRequest& request,
                                                        const RequestContext& /*ctx*/) {
  model::v1::TaskLifecycleResponse response;
  if (absl::Status valid = model::ValidateTaskGuidRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<Task> deleted = store_->DeleteTask(request.task_guid());
  if (!deleted.ok()) {
    SetError(response, deleted.status());
  }
  return response;
}

}  // namespace diego::bbs
