// Copyright 2026 The libdiego Authors.
//
// SqlStore: evacuation (diego-spec.md 5.4; Diego's bbs
// controllers/evacuation_controller.go and db/sqldb/evacuation_db.go). Each
// call is one `SqlDatabase::Write()`: it reads every row of the
// (process_guid, index), decides as Diego's controller does, writes with
// compare-and-set and publishes the instance events of what it changed.
//
// Events are published only for committed changes, which differs from Diego
// in two corners: where Diego's event calculator records a removal for a row
// it did not delete, this store emits nothing; and when the evacuation dance
// overwrites another instance's EVACUATING row (Diego emits nothing for that
// instance), this store reports it removed.
//
// keep_container on errors is the caller's: Diego answers false for
// EvacuateClaimed's ErrResourceNotFound (no row with that instance key) and
// true for its other errors, true for every EvacuateRunning error, and false
// for EvacuateStopped/EvacuateCrashed.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/base/status_macros.h"
#include "diego/bbs/events.h"
#include "diego/bbs/sql.h"
#include "diego/bbs/sql_store.h"
#include "diego/bbs/store.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/errors.h"
#include "diego/model/modification_tag.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "sql_store_internal.h"

namespace diego::bbs {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using model::v1::ActualLRP;
using internal::ActualLrpIndexRows;
using internal::ActualLrpRowChange;

bool IsState(const ActualLRP& lrp, absl::string_view state) { return lrp.state() == state; }

// The rows Diego's removeEvacuatingOrSuspect works on: deletes the row of
// the reported instance when it is EVACUATING or SUSPECT and returns true;
// returns false (nothing done) when it is the ORDINARY row. No row with that
// instance key: `ErrResourceNotFound()`.
absl::StatusOr<bool> RemoveEvacuatingOrSuspect(SqlTx& tx, const ActualLRP* target,
                                               std::vector<ActualLrpRowChange>& changes) {
  if (target == nullptr) return model::ErrResourceNotFound();
  if (target->presence() == ActualLRP::ORDINARY) return false;
  DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *target));
  changes.push_back({target, nullptr});
  return true;
}

// Diego's removeEvacuating for the reported instance: deletes the index's
// EVACUATING row if it is that instance; anything else is left alone.
absl::Status RemoveEvacuatingInstance(SqlTx& tx, const ActualLrpIndexRows& rows,
                                      const model::v1::ActualLRPInstanceKey& instance_key,
                                      std::vector<ActualLrpRowChange>& changes) {
  if (!rows.evacuating ||
      !model::InstanceKeysEqual(rows.evacuating->actual_lrp_instance_key(), instance_key)) {
    return absl::OkStatus();
  }
  DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *rows.evacuating));
  changes.push_back({&*rows.evacuating, nullptr});
  return absl::OkStatus();
}

// The params that recreate `lrp` as a RUNNING instance (its own key, instance
// key, net info, routes, tags, routable and zone).
model::StartActualLrpParams ParamsOf(const ActualLRP& lrp) {
  model::StartActualLrpParams params;
  params.key = lrp.actual_lrp_key();
  params.instance_key = lrp.actual_lrp_instance_key();
  params.net_info = lrp.actual_lrp_net_info();
  params.internal_routes.assign(lrp.actual_lrp_internal_routes().begin(),
                                lrp.actual_lrp_internal_routes().end());
  params.metric_tags.insert(lrp.metric_tags().begin(), lrp.metric_tags().end());
  params.routable = lrp.routable();
  params.availability_zone = lrp.availability_zone();
  return params;
}

// What Diego's desired_lrps lookup for evacuation returns.
struct DesiredStrategy {
  model::v1::DesiredLRP::UpdateStrategy strategy = model::v1::DesiredLRP::ROLLING;
  int64_t instances = 0;
};

absl::StatusOr<std::optional<DesiredStrategy>> ReadDesiredStrategy(SqlTx& tx,
                                                                   absl::string_view guid) {
  std::optional<DesiredStrategy> result;
  const SqlParam params[] = {Text(guid)};
  DIEGO_RETURN_IF_ERROR(tx.Query(
      "SELECT update_strategy, instances FROM desired_lrps WHERE process_guid = ?", params,
      [&](const SqlRow& row) {
        DesiredStrategy& desired = result.emplace();
        desired.strategy = row.Int(0) == model::v1::DesiredLRP::RECREATE
                               ? model::v1::DesiredLRP::RECREATE
                               : model::v1::DesiredLRP::ROLLING;
        desired.instances = row.Int(1);
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<int64_t> CountOrdinaryRunning(SqlTx& tx, absl::string_view guid) {
  int64_t count = 0;
  const SqlParam params[] = {Text(guid), Int(ActualLRP::ORDINARY),
                             Text(model::kActualLrpStateRunning)};
  DIEGO_RETURN_IF_ERROR(tx.Query(
      "SELECT COUNT(*) FROM actual_lrps"
      " WHERE process_guid = ? AND presence = ? AND state = ?",
      params, [&](const SqlRow& row) {
        count = row.Int(0);
        return absl::OkStatus();
      }));
  return count;
}

}  // namespace

absl::StatusOr<EvacuationResult> SqlStore::EvacuateClaimedActualLrp(
    const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
    absl::string_view trace_id) {
  EvacuationResult result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = EvacuationResult();
    DIEGO_ASSIGN_OR_RETURN(ActualLrpIndexRows rows,
                           internal::ReadActualLrpIndexRows(tx, key.process_guid(), key.index()));
    const ActualLRP* target = rows.WithInstanceKey(instance_key);
    std::vector<ActualLrpRowChange> changes;
    DIEGO_ASSIGN_OR_RETURN(bool removed, RemoveEvacuatingOrSuspect(tx, target, changes));
    ActualLRP after;
    if (!removed) {
      // The ordinary instance: give it up and auction the index again.
      DIEGO_ASSIGN_OR_RETURN(after, model::UnclaimActualLrp(*target, /*stale=*/false, Now()));
      DIEGO_RETURN_IF_ERROR(
          internal::UpdateActualLrp(tx, after, target->modification_tag().index()));
      changes.push_back({target, &after});
      result.auction = true;
    }
    internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<EvacuationResult> SqlStore::EvacuateRunningActualLrp(
    const model::StartActualLrpParams& params, absl::string_view trace_id) {
  EvacuationResult result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = EvacuationResult();
    const std::string& process_guid = params.key.process_guid();
    const int32_t index = params.key.index();
    DIEGO_ASSIGN_OR_RETURN(ActualLrpIndexRows rows,
                           internal::ReadActualLrpIndexRows(tx, process_guid, index));
    if (rows.empty()) return absl::OkStatus();  // keep=false

    const ActualLRP* target = rows.WithInstanceKey(params.instance_key);
    const ActualLRP* ordinary = rows.ordinary ? &*rows.ordinary : nullptr;
    const absl::Time now = Now();
    std::vector<ActualLrpRowChange> changes;
    // Rows built below; `changes` points into them until the events are built.
    ActualLRP inserted, updated;
    auto publish = [&] {
      internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    };

    // No ordinary row: the desired LRP is gone (its removal deleted it). A
    // replacement that is already RUNNING or CRASHED: this one is done.
    if (ordinary == nullptr ||
        (ordinary != target && (IsState(*ordinary, model::kActualLrpStateRunning) ||
                                IsState(*ordinary, model::kActualLrpStateCrashed)))) {
      DIEGO_RETURN_IF_ERROR(RemoveEvacuatingInstance(tx, rows, params.instance_key, changes));
      publish();
      return absl::OkStatus();  // keep=false
    }

    DIEGO_ASSIGN_OR_RETURN(std::optional<DesiredStrategy> desired,
                           ReadDesiredStrategy(tx, process_guid));
    if (!desired) {
      DIEGO_RETURN_IF_ERROR(RemoveEvacuatingInstance(tx, rows, params.instance_key, changes));
      publish();
      return absl::OkStatus();  // keep=false
    }

    if (desired->strategy == model::v1::DesiredLRP::RECREATE) {
      // Never an evacuating row; at most one instance down at a time.
      if (target == nullptr) return absl::OkStatus();  // keep=false
      if (target->presence() == ActualLRP::EVACUATING) {
        DIEGO_RETURN_IF_ERROR(RemoveEvacuatingInstance(tx, rows, params.instance_key, changes));
        publish();
        return absl::OkStatus();  // keep=false
      }
      if (target->presence() == ActualLRP::SUSPECT) {
        DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *target));
        changes.push_back({target, nullptr});
        publish();
        return absl::OkStatus();  // keep=false
      }
      if (IsState(*target, model::kActualLrpStateRunning) ||
          IsState(*target, model::kActualLrpStateClaimed)) {
        if (tx.engine() == SqlEngine::kPostgres) {
          // Diego locks the desired LRP row while it counts, so two BBS
          // processes cannot both take an instance down.
          const SqlParam lock_params[] = {Text(process_guid)};
          DIEGO_RETURN_IF_ERROR(
              tx.Query("SELECT process_guid FROM desired_lrps WHERE process_guid = ? FOR UPDATE",
                       lock_params, [](const SqlRow&) { return absl::OkStatus(); }));
        }
        DIEGO_ASSIGN_OR_RETURN(int64_t running, CountOrdinaryRunning(tx, process_guid));
        if (running < desired->instances) {
          result.keep_container = true;  // Not all running yet: retry later.
          return absl::OkStatus();
        }
        absl::StatusOr<ActualLRP> unclaimed =
            model::UnclaimActualLrp(*target, /*stale=*/false, now);
        if (!unclaimed.ok()) {
          if (model::HasBbsErrorType(unclaimed.status(),
                                     model::v1::Error::ActualLRPCannotBeUnclaimed)) {
            result.keep_container = true;
            return absl::OkStatus();
          }
          return unclaimed.status();
        }
        updated = *std::move(unclaimed);
        DIEGO_RETURN_IF_ERROR(
            internal::UpdateActualLrp(tx, updated, target->modification_tag().index()));
        changes.push_back({target, &updated});
        publish();
        result.auction = true;
        return absl::OkStatus();  // keep=false: the old container goes first.
      }
      return absl::OkStatus();  // keep=false
    }

    // ROLLING.
    if (target == nullptr || target->presence() == ActualLRP::EVACUATING) {
      if (rows.evacuating && target != &*rows.evacuating) {
        // Another instance of this index is already evacuating; this one is
        // not needed.
        return absl::OkStatus();  // keep=false
      }
      result.keep_container = true;
      if (!rows.evacuating) {
        inserted = model::NewRunningActualLrp(params, NewEpoch(), now);
        inserted.set_presence(ActualLRP::EVACUATING);
        DIEGO_RETURN_IF_ERROR(internal::InsertNewActualLrp(tx, inserted));
        changes.push_back({nullptr, &inserted});
        publish();
        return absl::OkStatus();
      }
      const ActualLRP& evacuating = *rows.evacuating;
      if (model::ActualLrpKeysEqual(evacuating.actual_lrp_key(), params.key) &&
          MessageDifferencer::Equals(evacuating.actual_lrp_net_info(), params.net_info)) {
        return absl::OkStatus();  // Already recorded; keep waiting.
      }
      // Diego's update of the evacuating row: new key, net info, routes,
      // tags and zone (state and routable kept), tag+1, since=now. Diego
      // reports it as created.
      updated = evacuating;
      *updated.mutable_actual_lrp_key() = params.key;
      *updated.mutable_actual_lrp_instance_key() = params.instance_key;
      *updated.mutable_actual_lrp_net_info() = params.net_info;
      updated.clear_actual_lrp_internal_routes();
      for (const model::v1::ActualLRPInternalRoute& route : params.internal_routes) {
        *updated.add_actual_lrp_internal_routes() = route;
      }
      updated.mutable_metric_tags()->clear();
      updated.mutable_metric_tags()->insert(params.metric_tags.begin(), params.metric_tags.end());
      updated.set_availability_zone(params.availability_zone);
      updated.set_since(absl::ToUnixNanos(now));
      model::Increment(updated.mutable_modification_tag());
      DIEGO_RETURN_IF_ERROR(
          internal::UpdateActualLrp(tx, updated, evacuating.modification_tag().index()));
      changes.push_back({nullptr, &updated});
      publish();
      return absl::OkStatus();
    }

    if (!IsState(*target, model::kActualLrpStateRunning) &&
        !IsState(*target, model::kActualLrpStateClaimed)) {
      return absl::OkStatus();  // keep=false
    }

    // The evacuation dance: copy the instance to an EVACUATING row (RUNNING,
    // same instance key and net info, still routable), then unclaim the
    // ordinary row and auction it; the rep keeps the container until the
    // replacement runs.
    result.keep_container = true;
    const ActualLRP copy = [&] {
      ActualLRP lrp = model::NewRunningActualLrp(ParamsOf(*target), "", now);
      lrp.set_presence(ActualLRP::EVACUATING);
      return lrp;
    }();
    if (!rows.evacuating) {
      inserted = copy;
      inserted.mutable_modification_tag()->set_epoch(NewEpoch());
      DIEGO_RETURN_IF_ERROR(internal::InsertNewActualLrp(tx, inserted));
      changes.push_back({target, &inserted});
    } else {
      const ActualLRP& evacuating = *rows.evacuating;
      if (model::ActualLrpKeysEqual(evacuating.actual_lrp_key(), target->actual_lrp_key()) &&
          model::InstanceKeysEqual(evacuating.actual_lrp_instance_key(),
                                   target->actual_lrp_instance_key()) &&
          MessageDifferencer::Equals(evacuating.actual_lrp_net_info(),
                                     target->actual_lrp_net_info())) {
        return model::ErrResourceExists();
      }
      // Diego overwrites the other instance's evacuating row with this one;
      // that instance is reported removed (Diego reports nothing for it).
      inserted = evacuating;
      *inserted.mutable_actual_lrp_key() = copy.actual_lrp_key();
      *inserted.mutable_actual_lrp_instance_key() = copy.actual_lrp_instance_key();
      *inserted.mutable_actual_lrp_net_info() = copy.actual_lrp_net_info();
      *inserted.mutable_actual_lrp_internal_routes() = copy.actual_lrp_internal_routes();
      *inserted.mutable_metric_tags() = copy.metric_tags();
      inserted.set_availability_zone(copy.availability_zone());
      inserted.set_since(copy.since());
      model::Increment(inserted.mutable_modification_tag());
      DIEGO_RETURN_IF_ERROR(
          internal::UpdateActualLrp(tx, inserted, evacuating.modification_tag().index()));
      changes.push_back({&evacuating, nullptr});
      changes.push_back({target, &inserted});
    }
    if (target->presence() == ActualLRP::SUSPECT) {
      // Its removal is the change to the evacuating copy recorded above.
      DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *target));
      publish();
      return absl::OkStatus();
    }
    DIEGO_ASSIGN_OR_RETURN(updated, model::UnclaimActualLrp(*target, /*stale=*/false, now));
    DIEGO_RETURN_IF_ERROR(
        internal::UpdateActualLrp(tx, updated, target->modification_tag().index()));
    // Diego reports the unclaimed ordinary row as created: the instance that
    // was there already moved to the evacuating row.
    changes.push_back({nullptr, &updated});
    result.auction = true;
    publish();
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<EvacuationResult> SqlStore::EvacuateStoppedActualLrp(
    const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
    absl::string_view trace_id) {
  EvacuationResult result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = EvacuationResult();
    DIEGO_ASSIGN_OR_RETURN(ActualLrpIndexRows rows,
                           internal::ReadActualLrpIndexRows(tx, key.process_guid(), key.index()));
    const ActualLRP* target = rows.WithInstanceKey(instance_key);
    std::vector<ActualLrpRowChange> changes;
    DIEGO_ASSIGN_OR_RETURN(bool removed, RemoveEvacuatingOrSuspect(tx, target, changes));
    if (!removed) {
      DIEGO_RETURN_IF_ERROR(model::RemoveActualLrp(*target, &instance_key));
      DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *target));
      changes.push_back({target, nullptr});
    }
    internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<EvacuationResult> SqlStore::EvacuateCrashedActualLrp(
    const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
    absl::string_view reason, absl::string_view trace_id) {
  EvacuationResult result;
  DIEGO_RETURN_IF_ERROR(db_->Write([&](SqlTx& tx) -> absl::Status {
    result = EvacuationResult();
    DIEGO_ASSIGN_OR_RETURN(ActualLrpIndexRows rows,
                           internal::ReadActualLrpIndexRows(tx, key.process_guid(), key.index()));
    const ActualLRP* target = rows.WithInstanceKey(instance_key);
    std::vector<ActualLrpRowChange> changes;
    DIEGO_ASSIGN_OR_RETURN(bool removed, RemoveEvacuatingOrSuspect(tx, target, changes));
    ActualLRP after;
    if (!removed) {
      // The normal crash path, but no auction from here: convergence restarts
      // the instance (stale unclaimed / crashed rules).
      DIEGO_ASSIGN_OR_RETURN(model::CrashActualLrpResult crash,
                             model::CrashActualLrp(*target, instance_key, reason, Now(),
                                                   options_.restart_policy));
      after = std::move(crash.lrp);
      DIEGO_RETURN_IF_ERROR(
          internal::UpdateActualLrp(tx, after, target->modification_tag().index()));
      // Diego's event calculator: a crash event only when the row stays
      // CRASHED (an immediate restart reads as removed + created).
      changes.push_back({target, &after, IsState(after, model::kActualLrpStateCrashed)});
    }
    internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    return absl::OkStatus();
  }));
  return result;
}

absl::Status SqlStore::RemoveEvacuatingActualLrp(
    const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
    absl::string_view trace_id) {
  return db_->Write([&](SqlTx& tx) -> absl::Status {
    DIEGO_ASSIGN_OR_RETURN(
        std::optional<ActualLRP> evacuating,
        internal::ReadActualLrp(tx, key.process_guid(), key.index(), ActualLRP::EVACUATING));
    if (!evacuating) return absl::OkStatus();
    if (!model::InstanceKeysEqual(evacuating->actual_lrp_instance_key(), instance_key)) {
      return model::ErrActualLrpCannotBeRemoved();
    }
    DIEGO_RETURN_IF_ERROR(internal::DeleteActualLrpIfUnchanged(tx, *evacuating));
    const ActualLrpRowChange changes[] = {{&*evacuating, nullptr}};
    internal::PublishAfterCommit(tx, events_, internal::ActualLrpEvents(changes, trace_id));
    return absl::OkStatus();
  });
}

}  // namespace diego::bbs
