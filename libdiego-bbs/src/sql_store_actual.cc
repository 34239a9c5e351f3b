// Copyright 2026 The libdiego Authors.
//
// SqlStore: the ActualLRP reads and lifecycle calls (claim, start, crash,
// fail, remove). Each mutating call is one `SqlDatabase::Write()` that re-reads
// the rows of its (process_guid, index), applies the pure transition of
// model/actual_lrp_state.h, writes with compare-and-set on the row's
// modification_tag_index and publishes the events after the commit. A call
// that changes nothing writes nothing and publishes nothing.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/bbs/store.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/errors.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "sql_store_internal.h"

namespace diego::bbs {

using model::v1::ActualLRP;

absl::StatusOr<std::vector<ActualLRP>> SqlStore::ActualLrps(const ActualLrpFilter& filter) {
  std::vector<ActualLRP> lrps;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(lrps, internal::ReadActualLrps(tx, filter));
    return absl::OkStatus();
  }));
  return lrps;
}

absl::StatusOr<std::vector<ActualLRP>> SqlStore::ActualLrpsByProcessGuids(
    absl::Span<const std::string> process_guids) {
  // One constant point query per guid (in guid order) instead of a variable
  // IN list, so the statement stays cached; together they are already in
  // (process_guid, index, presence) order.
  std::vector<std::string> guids;
  for (const std::string& guid : process_guids) {
    if (!guid.empty()) guids.push_back(guid);
  }
  std::sort(guids.begin(), guids.end());
  guids.erase(std::unique(guids.begin(), guids.end()), guids.end());
  std::vector<ActualLRP> lrps;
  if (guids.empty()) return lrps;
  DIEGO_RETURN_IF_ERROR(db_->Read([&](SqlTx& tx) -> absl::Status {
    lrps.clear();
    ActualLrpFilter filter;
    for (const std::string& guid : guids) {
      filter.process_guid = guid;
      DIEGO_ASSIGN_OR_RETURN(std::vector<ActualLRP> rows, internal::ReadActualLrps(tx, filter));
      for (ActualLRP& row : rows) lrps.push_back(std::move(row));
    }
    return absl::OkStatus();
  }));
  return lrps;
}

absl::StatusOr<ActualLrpChange> SqlStore::ClaimActualLrp(
    absl::string_view process_guid, int32_t index,
    const model::v1::ActualLRPInstanceKey& instance_key, absl::string_view trace_id) {
  ActualLrpChange result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = ActualLrpChange();
    DIEGO_ASSIGN_OR_RETURN(internal::ActualLrpIndexRows rows,
                           internal::ReadActualLrpIndexRows(tx, process_guid, index));
    const ActualLRP* mine = rows.WithInstanceKey(instance_key);
    if (mine != nullptr && mine->presence() == ActualLRP::SUSPECT) {
      // Diego ignores claims from the cell of a suspect instance.
      result.before = result.after = *mine;
      return absl::OkStatus();
    }
    if (!rows.ordinary) return model::ErrResourceNotFound();
    const ActualLRP& before = *rows.ordinary;
    DIEGO_ASSIGN_OR_RETURN(model::ActualLrpUpdate update,
                           model::ClaimActualLrp(before, instance_key, Now()));
    result.before = before;
    result.after = std::move(update.lrp);
    result.changed = update.changed;
    if (!update.changed) return absl::OkStatus();
    DIEGO_RETURN_IF_ERROR(
        internal::UpdateActualLrp(tx, result.after, before.modification_tag().index()));
    const internal::ActualLrpRowChange changes[] = {{&result.before, &result.after}};
    internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<ActualLrpChange> SqlStore::StartActualLrp(const model::StartActualLrpParams& params,
                                                         absl::string_view trace_id) {
  ActualLrpChange result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = ActualLrpChange();
    const std::string& process_guid = params.key.process_guid();
    const int32_t index = params.key.index();
    DIEGO_ASSIGN_OR_RETURN(internal::ActualLrpIndexRows rows,
                           internal::ReadActualLrpIndexRows(tx, process_guid, index));
    const ActualLRP* mine = rows.WithInstanceKey(params.instance_key);
    if (mine != nullptr && mine->presence() == ActualLRP::SUSPECT) {
      // Diego ignores starts from the cell of a suspect instance.
      result.before = result.after = *mine;
      return absl::OkStatus();
    }
    const absl::Time now = Now();
    std::vector<internal::ActualLrpRowChange> changes;
    if (!rows.ordinary) {
      result.after = model::NewRunningActualLrp(params, NewEpoch(), now);
      result.changed = true;
      DIEGO_RETURN_IF_ERROR(internal::InsertNewActualLrp(tx, result.after));
      changes.push_back({nullptr, &result.after});
    } else {
      DIEGO_ASSIGN_OR_RETURN(model::ActualLrpUpdate update,
                             model::StartActualLrp(*rows.ordinary, params, now));
      result.before = *rows.ordinary;
      result.after = std::move(update.lrp);
      result.changed = update.changed;
      if (update.changed) {
        DIEGO_RETURN_IF_ERROR(internal::UpdateActualLrp(
            tx, result.after, result.before.modification_tag().index()));
        changes.push_back({&result.before, &result.after});
      }
    }
    // Once the ordinary instance runs (changed or not), Diego drops the
    // index's evacuating and suspect instances.
    for (const std::optional<ActualLRP>* row : {&rows.evacuating, &rows.suspect}) {
      if (!row->has_value()) continue;
      DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, **row));
      changes.push_back({&**row, nullptr});
    }
    internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<CrashLrpResult> SqlStore::CrashActualLrp(
    const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
    absl::string_view reason, absl::string_view trace_id) {
  CrashLrpResult result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = CrashLrpResult();
    DIEGO_ASSIGN_OR_RETURN(internal::ActualLrpIndexRows rows,
                           internal::ReadActualLrpIndexRows(tx, key.process_guid(), key.index()));
    const ActualLRP* mine = rows.WithInstanceKey(instance_key);
    if (mine != nullptr && mine->presence() == ActualLRP::SUSPECT) {
      // A crashed suspect instance is simply gone: delete its row.
      result.before = *mine;
      DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *mine));
      const internal::ActualLrpRowChange changes[] = {{&result.before, nullptr}};
      internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
      return absl::OkStatus();
    }
    if (!rows.ordinary) return model::ErrResourceNotFound();
    DIEGO_ASSIGN_OR_RETURN(
        model::CrashActualLrpResult crash,
        model::CrashActualLrp(*rows.ordinary, instance_key, reason, Now(),
                              options_.restart_policy));
    result.before = *rows.ordinary;
    result.after = std::move(crash.lrp);
    result.restart_immediately = crash.restart_immediately;
    DIEGO_RETURN_IF_ERROR(
        internal::UpdateActualLrp(tx, result.after, result.before.modification_tag().index()));
    const internal::ActualLrpRowChange changes[] = {{&result.before, &result.after, true}};
    internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<ActualLrpChange> SqlStore::FailActualLrp(const model::v1::ActualLRPKey& key,
                                                        absl::string_view placement_error,
                                                        absl::string_view trace_id) {
  ActualLrpChange result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = ActualLrpChange();
    DIEGO_ASSIGN_OR_RETURN(
        std::optional<ActualLRP> current,
        internal::ReadActualLrp(tx, key.process_guid(), key.index(), ActualLRP::ORDINARY));
    if (!current) return model::ErrResourceNotFound();
    DIEGO_ASSIGN_OR_RETURN(ActualLRP after,
                           model::FailActualLrp(*current, placement_error, Now()));
    result.before = std::move(*current);
    result.after = std::move(after);
    result.changed = true;
    DIEGO_RETURN_IF_ERROR(
        internal::UpdateActualLrp(tx, result.after, result.before.modification_tag().index()));
    const internal::ActualLrpRowChange changes[] = {{&result.before, &result.after}};
    internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    return absl::OkStatus();
  }));
  return result;
}

absl::Status SqlStore::RemoveActualLrp(absl::string_view process_guid, int32_t index,
                                       const model::v1::ActualLRPInstanceKey* instance_key,
                                       absl::string_view trace_id) {
  return db_->Write([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(std::optional<ActualLRP> current,
                           internal::ReadActualLrp(tx, process_guid, index, ActualLRP::ORDINARY));
    if (!current) return model::ErrResourceNotFound();
    DIEGO_RETURN_IF_ERROR(model::RemoveActualLrp(*current, instance_key));
    DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *current));
    const internal::ActualLrpRowChange changes[] = {{&*current, nullptr}};
    internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    return absl::OkStatus();
  });
}

}  // namespace diego::bbs
