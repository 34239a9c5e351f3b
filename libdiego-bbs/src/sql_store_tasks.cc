// Copyright 2026 The libdiego Authors.
//
// SqlStore: TaskStore, and the task row helpers of sql_store_internal.h
// ([tasks], shared with task convergence). Every mutation is one
// `SqlDatabase::Write()` that reads the row, applies the pure state-machine
// function of `model/task_state.h`, and writes the result back with a
// compare-and-set on the stored bytes, so a concurrent writer in another
// process can never be overwritten silently (`SqlConflictError()` makes
// `Write()` rerun the function).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/errors.h"
#include "diego/model/task_state.h"
#include "sql_store_internal.h"

namespace diego::bbs {
using model::v1::Task;

namespace internal {

absl::StatusOr<bool> InsertTask(SqlTx& tx, const Task& task) {
  std::string data;
  task.SerializeToString(&data);
  const SqlParam params[] = {Text(task.task_guid()),
                             Text(task.domain()),
                             Int(task.state()),
                             Text(task.cell_id()),
                             Int(task.created_at()),
                             Int(task.updated_at()),
                             Int(task.first_completed_at()),
                             Blob(data)};
  DIEGO_ASSIGN_OR_RETURN(
      int64_t changed,
      tx.Exec("INSERT INTO tasks (guid, domain, state, cell_id, created_at, updated_at,"
              " first_completed_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
              " ON CONFLICT (guid) DO NOTHING",
              params));
  return changed > 0;
}

absl::StatusOr<std::optional<StoredTask>> ReadTask(SqlTx& tx, absl::string_view guid) {
  std::optional<StoredTask> stored;
  const SqlParam params[] = {Text(guid)};
  DIEGO_RETURN_IF_ERROR(
      tx.Query("SELECT data FROM tasks WHERE guid = ?", params, [&](const SqlRow& row) {
        StoredTask t;
        t.data = std::string(row.Blob(0));
        DIEGO_RETURN_IF_ERROR(ParseStored(t.data, t.task, "task", guid));
        stored = std::move(t);
        return absl::OkStatus();
      }));
  return stored;
}

absl::Status UpdateTask(SqlTx& tx, const StoredTask& before, const Task& after) {
  std::string data;
  after.SerializeToString(&data);
  const SqlParam params[] = {Int(after.state()),
                             Text(after.cell_id()),
                             Int(after.updated_at()),
                             Int(after.first_completed_at()),
                             Blob(data),
                             Text(before.task.task_guid()),
                             Int(before.task.updated_at()),
                             Blob(before.data)};
  DIEGO_ASSIGN_OR_RETURN(
      int64_t changed,
      tx.Exec("UPDATE tasks SET state = ?, cell_id = ?, updated_at = ?, first_completed_at = ?,"
              " data = ? WHERE guid = ? AND updated_at = ? AND data = ?",
              params));
  if (changed == 0) return SqlConflictError();
  return absl::OkStatus();
}

absl::Status DeleteTaskIfUnchanged(SqlTx& tx, absl::string_view guid, absl::string_view data) {
  const SqlParam params[] = {Text(guid), Blob(data)};
  DIEGO_ASSIGN_OR_RETURN(int64_t changed,
                         tx.Exec("DELETE FROM tasks WHERE guid = ? AND data = ?", params));
  if (changed == 0) return SqlConflictError();
  return absl::OkStatus();
}

}  // namespace internal

using internal::ReadTask;
using internal::StoredTask;
using internal::UpdateTask;

absl::StatusOr<std::vector<Task>> SqlStore::Tasks(const TaskFilter& filter) {
  std::string sql = "SELECT guid, data FROM tasks";
  std::vector<SqlParam> params;
  std::vector<std::string> wheres;
  if (!filter.domain.empty()) {
    wheres.push_back("domain = ?");
    params.push_back(Text(filter.domain));
  }
  if (!filter.cell_id.empty()) {
    wheres.push_back("cell_id = ?");
    params.push_back(Text(filter.cell_id));
  }
  for (size_t i = 0; i < wheres.size(); ++i) {
    absl::StrAppend(&sql, i == 0 ? " WHERE " : " AND ", wheres[i]);
  }
  absl::StrAppend(&sql, " ORDER BY guid");

  std::vector<Task> tasks;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    tasks.clear();
    return tx.Query(sql, params, [&](const SqlRow& row) {
      Task task;
      DIEGO_RETURN_IF_ERROR(internal::ParseStored(row.Blob(1), task, "task", row.Text(0)));
      tasks.push_back(std::move(task));
      return absl::OkStatus();
    });
  }));
  return tasks;
}

absl::StatusOr<Task> SqlStore::TaskByGuid(absl::string_view task_guid) {
  std::optional<StoredTask> stored;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(stored, ReadTask(tx, task_guid));
    return absl::OkStatus();
  }));
  if (!stored.has_value()) return model::ErrResourceNotFound();
  return std::move(stored->task);
}

absl::StatusOr<Task> SqlStore::DesireTask(const model::v1::TaskDefinition& definition,
                                          absl::string_view task_guid, absl::string_view domain) {
  Task task;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    task = model::DesireTask(definition, task_guid, domain, Now());
    DIEGO_ASSIGN_OR_RETURN(const bool inserted, internal::InsertTask(tx, task));
    if (!inserted) return model::ErrResourceExists();
    internal::PublishAfterCommit(tx, events_, {TaskCreatedEvent(task)});
    return absl::OkStatus();
  }));
  return task;
}

namespace {

// The shape shared by every read-modify-write of one task: `transition` maps
// the stored task to the one to store (or Diego's error); an unchanged task
// is not written and publishes nothing.
absl::StatusOr<TaskChange> ChangeTask(
    SqlDatabase* db, EventSink* events, absl::string_view task_guid,
    const std::function<absl::StatusOr<Task>(const Task&)>& transition) {
  TaskChange change;
  DIEGO_RETURN_IF_ERROR(db->Write([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(std::optional<StoredTask> stored, ReadTask(tx, task_guid));
    if (!stored.has_value()) return model::ErrResourceNotFound();
    DIEGO_ASSIGN_OR_RETURN(Task after, transition(stored->task));
    change.before = stored->task;
    change.after = std::move(after);
    DIEGO_RETURN_IF_ERROR(UpdateTask(tx, *stored, change.after));
    internal::PublishAfterCommit(tx, events, {TaskChangedEvent(change.before, change.after)});
    return absl::OkStatus();
  }));
  return change;
}

}  // namespace

absl::StatusOr<model::StartTaskResult> SqlStore::StartTask(absl::string_view task_guid,
                                                           absl::string_view cell_id) {
  model::StartTaskResult result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(std::optional<StoredTask> stored, ReadTask(tx, task_guid));
    if (!stored.has_value()) return model::ErrResourceNotFound();
    DIEGO_ASSIGN_OR_RETURN(result, model::StartTask(stored->task, cell_id, Now()));
    // Already running on this cell: Diego answers should_start=false and
    // writes nothing.
    if (!result.should_start) return absl::OkStatus();
    DIEGO_RETURN_IF_ERROR(UpdateTask(tx, *stored, result.task));
    internal::PublishAfterCommit(tx, events_, {TaskChangedEvent(stored->task, result.task)});
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<TaskChange> SqlStore::CancelTask(absl::string_view task_guid) {
  return ChangeTask(db_, events_, task_guid,
                    [&](const Task& task) { return model::CancelTask(task, Now()); });
}

absl::StatusOr<TaskChange> SqlStore::FailTask(absl::string_view task_guid,
                                              absl::string_view failure_reason) {
  return ChangeTask(db_, events_, task_guid,
                    [&](const Task& task) { return model::FailTask(task, failure_reason, Now()); });
}

absl::StatusOr<TaskChange> SqlStore::RejectTask(absl::string_view task_guid,
                                                absl::string_view rejection_reason) {
  return ChangeTask(db_, events_, task_guid, [&](const Task& task) -> absl::StatusOr<Task> {
    DIEGO_ASSIGN_OR_RETURN(
        model::RejectTaskResult rejected,
        model::RejectTask(task, rejection_reason, Now(), options_.max_task_retries));
    return std::move(rejected.task);
  });
}

absl::StatusOr<TaskChange> SqlStore::CompleteTask(absl::string_view task_guid,
                                                  absl::string_view cell_id, bool failed,
                                                  absl::string_view failure_reason,
                                                  absl::string_view result) {
  return ChangeTask(db_, events_, task_guid, [&](const Task& task) {
    return model::CompleteTask(task, cell_id, failed, failure_reason, result, Now());
  });
}

absl::StatusOr<TaskChange> SqlStore::ResolvingTask(absl::string_view task_guid) {
  return ChangeTask(db_, events_, task_guid,
                    [&](const Task& task) { return model::ResolvingTask(task, Now()); });
}

absl::StatusOr<Task> SqlStore::DeleteTask(absl::string_view task_guid) {
  Task deleted;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(std::optional<StoredTask> stored, ReadTask(tx, task_guid));
    if (!stored.has_value()) return model::ErrResourceNotFound();
    DIEGO_RETURN_IF_ERROR(model::DeleteTask(stored->task));
    DIEGO_RETURN_IF_ERROR(internal::DeleteTaskIfUnchanged(tx, task_guid, stored->data));
    deleted = std::move(stored->task);
    internal::PublishAfterCommit(tx, events_, {TaskRemovedEvent(deleted)});
    return absl::OkStatus();
  }));
  return deleted;
}

}  // namespace diego::bbs
