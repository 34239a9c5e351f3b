// Copyright 2026 The libdiego Authors.
//
// SqlStore::ConvergeTasks (convergence.h; Diego's bbs
// db/sqldb/task_convergence.go and the task controller's ConvergeTasks).
// The plan reads guids by index ranges (state and time; the Running tasks'
// cells one index seek per cell); only the tasks a rule changes, and the
// Pending / kickable Completed ones it hands back, are decoded. See
// sql_store_convergence_shared.h for how changes are made.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/convergence.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/model/task_state.h"
#include "diego/model/v1/task.pb.h"
#include "sql_store_convergence_shared.h"
#include "sql_store_internal.h"

namespace diego::bbs {
namespace {

using internal::CollectStrings;
using internal::CountInt;
using internal::MissingCells;
using model::v1::Task;

constexpr absl::string_view kExpiredPendingReason = "not started within time limit";
constexpr absl::string_view kCellDisappearedReason = "cell disappeared before completion";

// Task cell ids by state (index tasks_state is (state, cell_id)); '' counts
// as a cell (a Running task without one is on no present cell, as in Diego).
constexpr absl::string_view kTaskCellsSql =
    "WITH RECURSIVE c(id) AS ("
    " SELECT MIN(cell_id) FROM tasks WHERE state = ?"
    " UNION ALL"
    " SELECT (SELECT MIN(cell_id) FROM tasks WHERE state = ? AND cell_id > c.id)"
    " FROM c WHERE c.id IS NOT NULL)"
    " SELECT id FROM c WHERE id IS NOT NULL";

// The task counts by state. The small states are index ranges; Running, the
// bulk, is the rest of the row count (which SQLite counts page by page).
absl::Status ReadTaskCounts(SqlTx& tx, TaskConvergenceResult* result) {
  int64_t total = 0;
  DIEGO_RETURN_IF_ERROR(CountInt(tx, "SELECT COUNT(*) FROM tasks", {}, &total));
  int64_t other = 0;
  const SqlParam other_params[] = {Int(Task::Pending), Int(Task::Resolving)};
  DIEGO_RETURN_IF_ERROR(CountInt(tx, "SELECT COUNT(*) FROM tasks WHERE state < ? OR state > ?",
                                 other_params, &other));
  const struct {
    Task::State state;
    int64_t* out;
  } ranges[] = {{Task::Pending, &result->pending},
                {Task::Completed, &result->completed},
                {Task::Resolving, &result->resolving}};
  for (const auto& [state, out] : ranges) {
    const SqlParam params[] = {Int(state)};
    DIEGO_RETURN_IF_ERROR(CountInt(tx, "SELECT COUNT(*) FROM tasks WHERE state = ?", params, out));
  }
  result->running = total - other - result->pending - result->completed - result->resolving;
  return absl::OkStatus();
}

// One planned task change, re-checked inside its write.
enum class TaskRule { kExpirePending, kFailVanishedCell, kDemoteResolving, kDeleteCompleted };

struct TaskPassState {
  absl::Mutex mu;
  std::map<std::string, Task> to_complete ABSL_GUARDED_BY(mu);
  int64_t kicked ABSL_GUARDED_BY(mu) = 0;
  int64_t pruned ABSL_GUARDED_BY(mu) = 0;
};

// Completes `task` failed with `reason` the way Diego's convergence does:
// result cleared, first_completed_at = updated_at = now, cell id kept.
Task FailedByConvergence(const Task& task, absl::string_view reason, absl::Time now) {
  Task after = task;
  after.set_state(Task::Completed);
  after.set_failed(true);
  after.set_failure_reason(model::TruncateBbsReason(reason));
  after.set_result("");
  after.set_first_completed_at(absl::ToUnixNanos(now));
  after.set_updated_at(absl::ToUnixNanos(now));
  return after;
}

// Deletes a task row whose blob does not parse (Diego's fetchTasks).
absl::Status DeleteCorruptTask(SqlDatabase* db, absl::string_view guid, TaskPassState* state) {
  bool deleted = false;
  absl::Status status = db->Write([&](SqlTx& tx) -> absl::Status {
    deleted = false;
    std::string data;
    bool corrupt = false;
    const SqlParam params[] = {Text(guid)};
    DIEGO_RETURN_IF_ERROR(
        tx.Query("SELECT data FROM tasks WHERE guid = ?", params, [&](const SqlRow& row) {
          data = std::string(row.Blob(0));
          Task task;
          corrupt = !task.ParseFromString(data);
          return absl::OkStatus();
        }));
    if (!corrupt) return absl::OkStatus();
    DIEGO_RETURN_IF_ERROR(internal::DeleteTaskIfUnchanged(tx, guid, data));
    deleted = true;
    return absl::OkStatus();
  });
  if (deleted && status.ok()) {
    absl::MutexLock lock(&state->mu);
    ++state->pruned;
  }
  return status;
}

// Applies `rule` to task `guid` if it still holds.
void ApplyTaskRule(SqlDatabase* db, EventSink* events, absl::string_view guid, TaskRule rule,
                   const CellSet& cells, absl::Time now, int64_t cutoff, TaskPassState* state) {
  std::optional<Task> completed;
  bool counted = false;
  bool corrupt = false;
  const absl::Status status = db->Write([&](SqlTx& tx) -> absl::Status {
    completed.reset();
    counted = false;
    absl::StatusOr<std::optional<internal::StoredTask>> read = internal::ReadTask(tx, guid);
    if (absl::IsDataLoss(read.status())) {
      corrupt = true;
      return absl::OkStatus();
    }
    DIEGO_RETURN_IF_ERROR(read.status());
    if (!read->has_value()) return absl::OkStatus();
    const internal::StoredTask& stored = **read;
    const Task& task = stored.task;
    std::optional<Task> after;
    switch (rule) {
      case TaskRule::kExpirePending:
        if (task.state() != Task::Pending || task.created_at() >= cutoff) return absl::OkStatus();
        after = FailedByConvergence(task, kExpiredPendingReason, now);
        break;
      case TaskRule::kFailVanishedCell:
        if (task.state() != Task::Running || cells.contains(task.cell_id())) {
          return absl::OkStatus();
        }
        after = FailedByConvergence(task, kCellDisappearedReason, now);
        break;
      case TaskRule::kDemoteResolving:
        if (task.state() != Task::Resolving || task.updated_at() >= cutoff) {
          return absl::OkStatus();
        }
        // Diego changes the state only (updated_at kept), so rule 6 of this
        // pass resubmits the callback.
        after = task;
        after->set_state(Task::Completed);
        break;
      case TaskRule::kDeleteCompleted: {
        if (task.state() != Task::Completed || task.first_completed_at() >= cutoff) {
          return absl::OkStatus();
        }
        DIEGO_RETURN_IF_ERROR(internal::DeleteTaskIfUnchanged(tx, guid, stored.data));
        internal::PublishAfterCommit(tx, events, {TaskRemovedEvent(task)});
        counted = true;
        return absl::OkStatus();
      }
    }
    DIEGO_RETURN_IF_ERROR(internal::UpdateTask(tx, stored, *after));
    internal::PublishAfterCommit(tx, events, {TaskChangedEvent(task, *after)});
    counted = rule != TaskRule::kDemoteResolving;
    if (rule != TaskRule::kDemoteResolving &&
        !after->task_definition().completion_callback_url().empty()) {
      completed = std::move(after);
    }
    return absl::OkStatus();
  });
  if (corrupt) {
    (void)DeleteCorruptTask(db, guid, state);
    return;
  }
  if (!status.ok() || !counted) return;
  absl::MutexLock lock(&state->mu);
  if (rule == TaskRule::kDeleteCompleted) {
    ++state->pruned;
  } else {
    ++state->kicked;
  }
  if (completed.has_value()) state->to_complete[completed->task_guid()] = *std::move(completed);
}

}  // namespace

// -----------------------------------------------------------------------------
// ConvergeTasks.
// -----------------------------------------------------------------------------

absl::StatusOr<TaskConvergenceResult> SqlStore::ConvergeTasks(const CellSet& cells,
                                                              const ConvergenceOptions& options) {
  const absl::Time now = Now();
  const int64_t pending_cutoff = absl::ToUnixNanos(now - options.expire_pending_task_duration);
  const int64_t kick_cutoff = absl::ToUnixNanos(now - options.kick_task_duration);
  const int64_t completed_cutoff = absl::ToUnixNanos(now - options.expire_completed_task_duration);

  // Plan (rules 1, 3, 4, 5) from one snapshot.
  std::map<std::string, std::vector<std::pair<TaskRule, int64_t>>> plan;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    plan.clear();
    auto add = [&](absl::string_view sql, absl::Span<const SqlParam> params, TaskRule rule,
                   int64_t cutoff) -> absl::Status {
      std::vector<std::string> guids;
      DIEGO_RETURN_IF_ERROR(CollectStrings(tx, sql, params, &guids));
      for (std::string& guid : guids) plan[std::move(guid)].emplace_back(rule, cutoff);
      return absl::OkStatus();
    };
    const SqlParam expired[] = {Int(Task::Pending), Int(pending_cutoff)};
    DIEGO_RETURN_IF_ERROR(add("SELECT guid FROM tasks WHERE state = ? AND created_at < ?", expired,
                              TaskRule::kExpirePending, pending_cutoff));
    const SqlParam running[] = {Int(Task::Running), Int(Task::Running)};
    DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> missing,
                           MissingCells(tx, kTaskCellsSql, running, cells));
    for (const std::string& cell : missing) {
      const SqlParam params[] = {Int(Task::Running), Text(cell)};
      DIEGO_RETURN_IF_ERROR(add("SELECT guid FROM tasks WHERE state = ? AND cell_id = ?", params,
                                TaskRule::kFailVanishedCell, 0));
    }
    const SqlParam resolving[] = {Int(Task::Resolving), Int(kick_cutoff)};
    DIEGO_RETURN_IF_ERROR(add("SELECT guid FROM tasks WHERE state = ? AND updated_at < ?",
                              resolving, TaskRule::kDemoteResolving, kick_cutoff));
    // Rule 5 also deletes what rule 4 demotes in this pass, as Diego's
    // sequential statements do.
    const SqlParam expired_completed[] = {Int(Task::Completed), Int(Task::Resolving),
                                          Int(kick_cutoff), Int(completed_cutoff)};
    return add(
        "SELECT guid FROM tasks WHERE (state = ? OR (state = ? AND updated_at < ?))"
        " AND first_completed_at < ?",
        expired_completed, TaskRule::kDeleteCompleted, completed_cutoff);
  }));

  TaskPassState state;
  std::vector<std::function<void()>> groups;
  groups.reserve(plan.size());
  for (const auto& [guid, rules] : plan) {
    groups.push_back([&, &guid = guid, &rules = rules] {
      for (const auto& [rule, cutoff] : rules) {
        ApplyTaskRule(db_, events_, guid, rule, cells, now, cutoff, &state);
      }
    });
  }
  internal::RunConvergenceGroups(groups);

  // Rules 2 and 6 and the counts, after the changes.
  TaskConvergenceResult result;
  std::vector<std::string> corrupt;
  std::vector<Task> kicked_completed;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    result = TaskConvergenceResult();
    corrupt.clear();
    kicked_completed.clear();
    const SqlParam pending[] = {Int(Task::Pending), Int(pending_cutoff)};
    DIEGO_RETURN_IF_ERROR(
        tx.Query("SELECT guid, data FROM tasks WHERE state = ? AND created_at >= ? ORDER BY guid",
                 pending, [&](const SqlRow& row) {
                   Task task;
                   const absl::string_view blob = row.Blob(1);
                   if (!task.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
                     corrupt.emplace_back(row.Text(0));
                   } else {
                     result.tasks_to_auction.push_back(std::move(task));
                   }
                   return absl::OkStatus();
                 }));
    const SqlParam completed[] = {Int(Task::Completed), Int(kick_cutoff)};
    DIEGO_RETURN_IF_ERROR(
        tx.Query("SELECT guid, data FROM tasks WHERE state = ? AND updated_at < ?", completed,
                 [&](const SqlRow& row) {
                   Task task;
                   const absl::string_view blob = row.Blob(1);
                   if (!task.ParseFromArray(blob.data(), static_cast<int>(blob.size()))) {
                     corrupt.emplace_back(row.Text(0));
                   } else if (!task.task_definition().completion_callback_url().empty()) {
                     kicked_completed.push_back(std::move(task));
                   }
                   return absl::OkStatus();
                 }));
    return ReadTaskCounts(tx, &result);
  }));
  std::vector<std::function<void()>> deletes;
  for (const std::string& guid : corrupt) {
    deletes.push_back([&, &guid = guid] { (void)DeleteCorruptTask(db_, guid, &state); });
  }
  internal::RunConvergenceGroups(deletes);

  absl::MutexLock lock(&state.mu);
  for (Task& task : kicked_completed) {
    std::string guid = task.task_guid();
    state.to_complete.emplace(std::move(guid), std::move(task));
  }
  for (auto& [guid, task] : state.to_complete) result.tasks_to_complete.push_back(std::move(task));
  result.kicked = state.kicked + static_cast<int64_t>(result.tasks_to_auction.size()) +
                  static_cast<int64_t>(kicked_completed.size());
  result.pruned = state.pruned;
  if (!corrupt.empty()) {
    // The corrupt rows were in the counts.
    DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) { return ReadTaskCounts(tx, &result); }));
  }
  return result;
}

}  // namespace diego::bbs
