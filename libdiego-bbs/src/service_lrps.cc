// Copyright 2026 The libdiego Authors.
//
// BbsService: actual LRP, evacuation and desired LRP routes. Each mirrors
// Diego's handler (bbs handlers/actual_lrp_handlers.go,
// actual_lrp_lifecycle_handler.go, evacuation_handler.go,
// desired_lrp_handlers.go) and controller (controllers/
// actual_lrp_lifecycle_controller.go, evacuation_controller.go): validate,
// one store call, then the follow-ups (auctions, rep calls).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "diego/bbs/service.h"
#include "diego/model/actual_lrp_state.h"
#include "diego/model/errors.h"
#include "diego/model/validation.h"
#include "sql_store_convergence_index.h"

// Diego reads deprecated fields here (metric tags of a DesiredLRP).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::bbs {
namespace {

using model::v1::ActualLRP;
using model::v1::ActualLRPInternalRoute;
using model::v1::DesiredLRP;
using model::v1::DesiredLRPUpdate;
using model::v1::MetricTagValue;

// Diego's `models.InternalRouter` routes key.
constexpr absl::string_view kInternalRouter = "internal-router";

template <typename Response>
void SetError(Response& response, const absl::Status& status) {
  *response.mutable_error() = model::ToBbsError(status);
}

// `instances` over the service's `max_instances` (0 = no limit): Diego's
// validation message for the field.
absl::Status CheckInstanceLimit(int32_t instances, int32_t max_instances) {
  if (max_instances > 0 && instances > max_instances) {
    return model::BbsError(model::v1::Error::InvalidRequest, "Invalid field: instances");
  }
  return absl::OkStatus();
}

// Diego's `DesiredLRPUpdate.IsRoutesGroupUpdated(before.Routes, group)`: an
// update without routes changes nothing; otherwise the group changed unless
// both have it with identical bytes (note: both lacking it counts as a
// change, as in Go).
bool IsRoutesGroupUpdated(const DesiredLRPUpdate& update, const DesiredLRP& before,
                          absl::string_view group) {
  if (!update.has_routes()) {
    return false;
  }
  if (!before.has_routes()) {
    return true;
  }
  const auto& updated = update.routes().routes();
  const auto& existing = before.routes().routes();
  auto updated_it = updated.find(std::string(group));
  auto existing_it = existing.find(std::string(group));
  const bool in_update = updated_it != updated.end();
  const bool in_existing = existing_it != existing.end();
  if (in_update != in_existing) {
    return true;
  }
  if (in_update && in_existing) {
    return updated_it->second != existing_it->second;
  }
  return true;
}

// Diego's `DesiredLRPUpdate.IsMetricTagsUpdated(before.MetricTags)`. A proto
// map cannot be nil, so an empty map in the update means "no tags sent".
bool IsMetricTagsUpdated(const DesiredLRPUpdate& update, const DesiredLRP& before) {
  if (update.metric_tags().empty()) {
    return false;
  }
  if (update.metric_tags().size() != before.metric_tags().size()) {
    return true;
  }
  for (const auto& [key, existing] : before.metric_tags()) {
    auto it = update.metric_tags().find(key);
    if (it == update.metric_tags().end()) {
      return true;
    }
    if (it->second.static_() != existing.static_() || it->second.dynamic() != existing.dynamic()) {
      return true;
    }
  }
  return false;
}

}  // namespace

// -----------------------------------------------------------------------------
// Actual LRPs: reads.
// -----------------------------------------------------------------------------

model::v1::ActualLRPsResponse BbsService::ActualLrps(const model::v1::ActualLRPsRequest& request,
                                                     const RequestContext& /*ctx*/) {
  model::v1::ActualLRPsResponse response;
  ActualLrpFilter filter;
  filter.domain = request.domain();
  filter.cell_id = request.cell_id();
  filter.process_guid = request.process_guid();
  if (request.optional_index_case() == model::v1::ActualLRPsRequest::kIndex) {
    filter.index = request.index();
  }
  absl::StatusOr<std::vector<ActualLRP>> lrps = store_->ActualLrps(filter);
  if (!lrps.ok()) {
    SetError(response, lrps.status());
    return response;
  }
  for (ActualLRP& lrp : *lrps) {
    *response.add_actual_lrps() = std::move(lrp);
  }
  return response;
}

model::v1::ActualLRPsByProcessGuidsResponse BbsService::ActualLrpsByProcessGuids(
    const model::v1::ActualLRPsByProcessGuidsRequest& request, const RequestContext& /*ctx*/) {
  model::v1::ActualLRPsByProcessGuidsResponse response;
  if (absl::Status valid = model::ValidateActualLrpsByProcessGuidsRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  std::vector<std::string> guids(request.process_guids().begin(), request.process_guids().end());
  absl::StatusOr<std::vector<ActualLRP>> lrps = store_->ActualLrpsByProcessGuids(guids);
  if (!lrps.ok()) {
    SetError(response, lrps.status());
    return response;
  }
  for (ActualLRP& lrp : *lrps) {
    *response.add_actual_lrps() = std::move(lrp);
  }
  return response;
}

model::v1::ActualLRPGroupsResponse BbsService::ActualLrpGroups(
    const model::v1::ActualLRPGroupsRequest& request, const RequestContext& /*ctx*/) {
  model::v1::ActualLRPGroupsResponse response;
  ActualLrpFilter filter;
  filter.domain = request.domain();
  filter.cell_id = request.cell_id();
  absl::StatusOr<std::vector<ActualLRP>> lrps = store_->ActualLrps(filter);
  if (!lrps.ok()) {
    SetError(response, lrps.status());
    return response;
  }
  for (model::v1::ActualLRPGroup& group : model::ResolveActualLrpGroups(*lrps)) {
    *response.add_actual_lrp_groups() = std::move(group);
  }
  return response;
}

model::v1::ActualLRPGroupsResponse BbsService::ActualLrpGroupsByProcessGuid(
    const model::v1::ActualLRPGroupsByProcessGuidRequest& request, const RequestContext& /*ctx*/) {
  model::v1::ActualLRPGroupsResponse response;
  if (absl::Status valid = model::ValidateActualLrpGroupsByProcessGuidRequest(request);
      !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  ActualLrpFilter filter;
  filter.process_guid = request.process_guid();
  absl::StatusOr<std::vector<ActualLRP>> lrps = store_->ActualLrps(filter);
  if (!lrps.ok()) {
    SetError(response, lrps.status());
    return response;
  }
  for (model::v1::ActualLRPGroup& group : model::ResolveActualLrpGroups(*lrps)) {
    *response.add_actual_lrp_groups() = std::move(group);
  }
  return response;
}

model::v1::ActualLRPGroupResponse BbsService::ActualLrpGroupByProcessGuidAndIndex(
    const model::v1::ActualLRPGroupByProcessGuidAndIndexRequest& request,
    const RequestContext& /*ctx*/) {
  model::v1::ActualLRPGroupResponse response;
  if (absl::Status valid = model::ValidateActualLrpGroupByProcessGuidAndIndexRequest(request);
      !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  ActualLrpFilter filter;
  filter.process_guid = request.process_guid();
  filter.index = request.index();
  absl::StatusOr<std::vector<ActualLRP>> lrps = store_->ActualLrps(filter);
  if (!lrps.ok()) {
    SetError(response, lrps.status());
    return response;
  }
  if (lrps->empty()) {
    SetError(response, model::ErrResourceNotFound());
    return response;
  }
  absl::StatusOr<model::v1::ActualLRPGroup> group = model::ResolveActualLrpGroup(*lrps);
  if (!group.ok()) {
    SetError(response, group.status());
    return response;
  }
  *response.mutable_actual_lrp_group() = std::move(*group);
  return response;
}

// -----------------------------------------------------------------------------
// Actual LRPs: lifecycle.
// -----------------------------------------------------------------------------

model::v1::ActualLRPLifecycleResponse BbsService::ClaimActualLrp(
    const model::v1::ClaimActualLRPRequest& request, const RequestContext& ctx) {
  model::v1::ActualLRPLifecycleResponse response;
  if (absl::Status valid = model::ValidateClaimActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<ActualLrpChange> change = store_->ClaimActualLrp(
      request.process_guid(), request.index(), request.actual_lrp_instance_key(), ctx.trace_id);
  if (!change.ok()) {
    SetError(response, change.status());
  }
  return response;
}

model::v1::ActualLRPLifecycleResponse BbsService::StartActualLrp(
    const model::v1::StartActualLRPRequest& request, const RequestContext& ctx,
    bool ignore_routes_and_tags) {
  model::v1::ActualLRPLifecycleResponse response;
  if (absl::Status valid = model::ValidateStartActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  model::StartActualLrpParams params = model::StartParamsFromRequest(request);
  if (ignore_routes_and_tags) {
    // The deprecated /v1/actual_lrps/start ignores fields 4 and 5.
    params.internal_routes.clear();
    params.metric_tags.clear();
  }
  absl::StatusOr<ActualLrpChange> change = store_->StartActualLrp(params, ctx.trace_id);
  if (!change.ok()) {
    SetError(response, change.status());
  }
  return response;
}

model::v1::ActualLRPLifecycleResponse BbsService::CrashActualLrp(
    const model::v1::CrashActualLRPRequest& request, const RequestContext& ctx) {
  model::v1::ActualLRPLifecycleResponse response;
  if (absl::Status valid = model::ValidateCrashActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  const model::v1::ActualLRPKey& key = request.actual_lrp_key();
  absl::StatusOr<CrashLrpResult> result = store_->CrashActualLrp(
      key, request.actual_lrp_instance_key(), request.error_message(), ctx.trace_id);
  if (!result.ok()) {
    SetError(response, result.status());
    return response;
  }
  if (!result->restart_immediately) {
    return response;
  }
  // The restart policy restarts the instance at once: auction the index.
  Logger logger = logger_.Session("crash-actual-lrp",
                                  {{"process_guid", key.process_guid()}, {"index", key.index()}});
  absl::StatusOr<model::v1::DesiredLRPSchedulingInfo> info =
      store_->DesiredLrpSchedulingInfoByProcessGuid(key.process_guid());
  if (!info.ok()) {
    // Diego returns this error to the caller (the crash itself is stored).
    logger.Error("failed-fetching-desired-lrp", info.status());
    SetError(response, info.status());
    return response;
  }
  const int32_t indices[] = {key.index()};
  RequestLrpAuction(LrpStartRequestFromSchedulingInfo(*info, indices), logger);
  return response;
}

model::v1::ActualLRPLifecycleResponse BbsService::FailActualLrp(
    const model::v1::FailActualLRPRequest& request, const RequestContext& ctx) {
  model::v1::ActualLRPLifecycleResponse response;
  if (absl::Status valid = model::ValidateFailActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<ActualLrpChange> change =
      store_->FailActualLrp(request.actual_lrp_key(), request.error_message(), ctx.trace_id);
  // Diego's controller answers success when the instance is gone (it may have
  // been removed while the auction ran).
  if (!change.ok() &&
      !model::HasBbsErrorType(change.status(), model::v1::Error::ResourceNotFound)) {
    SetError(response, change.status());
  }
  return response;
}

model::v1::ActualLRPLifecycleResponse BbsService::RemoveActualLrp(
    const model::v1::RemoveActualLRPRequest& request, const RequestContext& ctx) {
  model::v1::ActualLRPLifecycleResponse response;
  if (absl::Status valid = model::ValidateRemoveActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  // Go's instance key is a pointer: absent means "whatever instance".
  const model::v1::ActualLRPInstanceKey* instance_key =
      request.has_actual_lrp_instance_key() ? &request.actual_lrp_instance_key() : nullptr;
  absl::Status status =
      store_->RemoveActualLrp(request.process_guid(), request.index(), instance_key, ctx.trace_id);
  if (!status.ok()) {
    SetError(response, status);
  }
  return response;
}

// Mirrors Diego's RetireActualLRP controller: up to `retire_attempts` rounds
// of: read the ORDINARY row; UNCLAIMED/CRASHED rows are deleted;
// CLAIMED/RUNNING ones are stopped through their cell's rep, or deleted when
// the cell has no presence any more. A failed delete or rep stop is retried;
// a missing row, a failed presence lookup or a failed rep client creation
// ends the call at once.
model::v1::ActualLRPLifecycleResponse BbsService::RetireActualLrp(
    const model::v1::RetireActualLRPRequest& request, const RequestContext& ctx) {
  model::v1::ActualLRPLifecycleResponse response;
  if (absl::Status valid = model::ValidateRetireActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  const model::v1::ActualLRPKey& key = request.actual_lrp_key();
  Logger logger = logger_.Session("retire-actual-lrp",
                                  {{"process_guid", key.process_guid()}, {"index", key.index()}});

  absl::Status status = absl::OkStatus();
  for (int attempt = 0; attempt < options_.retire_attempts; ++attempt) {
    ActualLrpFilter filter;
    filter.process_guid = key.process_guid();
    filter.index = key.index();
    absl::StatusOr<std::vector<ActualLRP>> lrps = store_->ActualLrps(filter);
    if (!lrps.ok()) {
      SetError(response, lrps.status());
      return response;
    }
    const ActualLRP* lrp = nullptr;
    for (const ActualLRP& candidate : *lrps) {
      if (candidate.presence() == ActualLRP::ORDINARY) {
        lrp = &candidate;
        break;
      }
    }
    if (lrp == nullptr) {
      SetError(response, model::ErrResourceNotFound());
      return response;
    }

    const std::string& state = lrp->state();
    if (state == model::kActualLrpStateUnclaimed || state == model::kActualLrpStateCrashed) {
      status = store_->RemoveActualLrp(lrp->actual_lrp_key().process_guid(),
                                       lrp->actual_lrp_key().index(),
                                       &lrp->actual_lrp_instance_key(), ctx.trace_id);
    } else if (state == model::kActualLrpStateClaimed || state == model::kActualLrpStateRunning) {
      absl::StatusOr<model::v1::CellPresence> cell =
          store_->CellById(lrp->actual_lrp_instance_key().cell_id());
      if (!cell.ok()) {
        status = cell.status();
        if (absl::IsNotFound(status)) {
          // The cell is gone, so nobody runs the instance: delete the row.
          status = store_->RemoveActualLrp(lrp->actual_lrp_key().process_guid(),
                                           lrp->actual_lrp_key().index(),
                                           &lrp->actual_lrp_instance_key(), ctx.trace_id);
        }
        if (!status.ok()) {
          SetError(response, status);
        }
        return response;
      }
      absl::StatusOr<std::shared_ptr<RepClient>> rep = reps_->ForCell(*cell);
      if (!rep.ok()) {
        SetError(response, rep.status());
        return response;
      }
      status = (*rep)->StopLrpInstance(lrp->actual_lrp_key(), lrp->actual_lrp_instance_key());
    } else {
      status = absl::OkStatus();
    }

    if (status.ok()) {
      return response;
    }
    logger.Error("retrying-failed-retire-of-actual-lrp", status, {{"attempt", attempt + 1}});
  }
  if (!status.ok()) {
    SetError(response, status);
  }
  return response;
}

// -----------------------------------------------------------------------------
// Evacuation.
// -----------------------------------------------------------------------------

model::v1::RemoveEvacuatingActualLRPResponse BbsService::RemoveEvacuatingActualLrp(
    const model::v1::RemoveEvacuatingActualLRPRequest& request, const RequestContext& ctx) {
  model::v1::RemoveEvacuatingActualLRPResponse response;
  if (absl::Status valid = model::ValidateRemoveEvacuatingActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::Status status = store_->RemoveEvacuatingActualLrp(
      request.actual_lrp_key(), request.actual_lrp_instance_key(), ctx.trace_id);
  if (!status.ok()) {
    SetError(response, status);
  }
  return response;
}

void BbsService::ApplyEvacuationResult(const EvacuationResult& result,
                                       const model::v1::ActualLRPKey& key,
                                       absl::string_view session,
                                       model::v1::EvacuationResponse& response) {
  response.set_keep_container(result.keep_container);
  if (result.auction) {
    RequestLrpAuctionForIndex(
        key.process_guid(), key.index(),
        logger_.Session(session, {{"process_guid", key.process_guid()}, {"index", key.index()}}));
  }
}

model::v1::EvacuationResponse BbsService::EvacuateClaimedActualLrp(
    const model::v1::EvacuateClaimedActualLRPRequest& request, const RequestContext& ctx) {
  model::v1::EvacuationResponse response;
  if (absl::Status valid = model::ValidateEvacuateClaimedActualLrpRequest(request); !valid.ok()) {
    // Diego answers a request it cannot use with keep_container = true.
    SetError(response, valid);
    response.set_keep_container(true);
    return response;
  }
  const model::v1::ActualLRPKey& key = request.actual_lrp_key();
  absl::StatusOr<EvacuationResult> result =
      store_->EvacuateClaimedActualLrp(key, request.actual_lrp_instance_key(), ctx.trace_id);
  if (!result.ok()) {
    // Diego's controller: an instance it cannot find is (false, NotFound);
    // a failed unclaim keeps the container so the rep retries.
    SetError(response, result.status());
    response.set_keep_container(!absl::IsNotFound(result.status()));
    return response;
  }
  ApplyEvacuationResult(*result, key, "evacuate-claimed-actual-lrp", response);
  return response;
}

model::v1::EvacuationResponse BbsService::EvacuateCrashedActualLrp(
    const model::v1::EvacuateCrashedActualLRPRequest& request, const RequestContext& ctx) {
  model::v1::EvacuationResponse response;
  if (absl::Status valid = model::ValidateEvacuateCrashedActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  const model::v1::ActualLRPKey& key = request.actual_lrp_key();
  absl::StatusOr<EvacuationResult> result = store_->EvacuateCrashedActualLrp(
      key, request.actual_lrp_instance_key(), request.error_message(), ctx.trace_id);
  if (!result.ok()) {
    SetError(response, result.status());
    return response;
  }
  ApplyEvacuationResult(*result, key, "evacuate-crashed-actual-lrp", response);
  return response;
}

model::v1::EvacuationResponse BbsService::EvacuateStoppedActualLrp(
    const model::v1::EvacuateStoppedActualLRPRequest& request, const RequestContext& ctx) {
  model::v1::EvacuationResponse response;
  if (absl::Status valid = model::ValidateEvacuateStoppedActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  const model::v1::ActualLRPKey& key = request.actual_lrp_key();
  absl::StatusOr<EvacuationResult> result =
      store_->EvacuateStoppedActualLrp(key, request.actual_lrp_instance_key(), ctx.trace_id);
  if (!result.ok()) {
    SetError(response, result.status());
    return response;
  }
  ApplyEvacuationResult(*result, key, "evacuate-stopped-actual-lrp", response);
  return response;
}

model::v1::EvacuationResponse BbsService::EvacuateRunningActualLrp(
    const model::v1::EvacuateRunningActualLRPRequest& request, const RequestContext& ctx,
    bool ignore_routes_and_tags) {
  model::v1::EvacuationResponse response;
  // Diego pre-sets keep_container: every failure keeps the container.
  response.set_keep_container(true);
  if (absl::Status valid = model::ValidateEvacuateRunningActualLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  model::StartActualLrpParams params;
  params.key = request.actual_lrp_key();
  params.instance_key = request.actual_lrp_instance_key();
  params.net_info = request.actual_lrp_net_info();
  if (!ignore_routes_and_tags) {
    // The deprecated /v1/actual_lrps/evacuate_running ignores fields 5 and 6.
    params.internal_routes.assign(request.actual_lrp_internal_routes().begin(),
                                  request.actual_lrp_internal_routes().end());
    params.metric_tags.insert(request.metric_tags().begin(), request.metric_tags().end());
  }
  // An absent Routable means routable (Diego's handler).
  params.routable =
      request.optional_routable_case() == model::v1::EvacuateRunningActualLRPRequest::kRoutable
          ? request.routable()
          : true;
  params.availability_zone = request.availability_zone();

  absl::StatusOr<EvacuationResult> result = store_->EvacuateRunningActualLrp(params, ctx.trace_id);
  if (!result.ok()) {
    SetError(response, result.status());
    return response;
  }
  ApplyEvacuationResult(*result, params.key, "evacuate-running-actual-lrp", response);
  return response;
}

// -----------------------------------------------------------------------------
// Desired LRPs.
// -----------------------------------------------------------------------------

model::v1::DesiredLRPSchedulingInfosResponse BbsService::DesiredLrpSchedulingInfos(
    const model::v1::DesiredLRPsRequest& request, const RequestContext& /*ctx*/) {
  model::v1::DesiredLRPSchedulingInfosResponse response;
  DesiredLrpFilter filter;
  filter.domain = request.domain();
  filter.process_guids.assign(request.process_guids().begin(), request.process_guids().end());
  filter.app_guids.assign(request.app_guids().begin(), request.app_guids().end());
  absl::StatusOr<std::vector<model::v1::DesiredLRPSchedulingInfo>> infos =
      store_->DesiredLrpSchedulingInfos(filter);
  if (!infos.ok()) {
    SetError(response, infos.status());
    return response;
  }
  for (model::v1::DesiredLRPSchedulingInfo& info : *infos) {
    *response.add_desired_lrp_scheduling_infos() = std::move(info);
  }
  return response;
}

model::v1::DesiredLRPSchedulingInfoByProcessGuidResponse
BbsService::DesiredLrpSchedulingInfoByProcessGuid(
    const model::v1::DesiredLRPByProcessGuidRequest& request, const RequestContext& /*ctx*/) {
  model::v1::DesiredLRPSchedulingInfoByProcessGuidResponse response;
  if (absl::Status valid = model::ValidateDesiredLrpByProcessGuidRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<model::v1::DesiredLRPSchedulingInfo> info =
      store_->DesiredLrpSchedulingInfoByProcessGuid(request.process_guid());
  if (!info.ok()) {
    SetError(response, info.status());
    return response;
  }
  *response.mutable_desired_lrp_scheduling_info() = std::move(*info);
  return response;
}

model::v1::DesiredLRPsResponse BbsService::DesiredLrpRoutingInfos(
    const model::v1::DesiredLRPsRequest& request, const RequestContext& /*ctx*/) {
  model::v1::DesiredLRPsResponse response;
  // Only process guids filter routing infos (Diego's query ignores the rest).
  DesiredLrpFilter filter;
  filter.process_guids.assign(request.process_guids().begin(), request.process_guids().end());
  absl::StatusOr<std::vector<DesiredLRP>> lrps = store_->DesiredLrpRoutingInfos(filter);
  if (!lrps.ok()) {
    SetError(response, lrps.status());
    return response;
  }
  for (DesiredLRP& lrp : *lrps) {
    *response.add_desired_lrps() = std::move(lrp);
  }
  return response;
}

model::v1::DesiredLRPsResponse BbsService::DesiredLrps(const model::v1::DesiredLRPsRequest& request,
                                                       const RequestContext& /*ctx*/,
                                                       PayloadVersion version) {
  model::v1::DesiredLRPsResponse response;
  DesiredLrpFilter filter;
  filter.domain = request.domain();
  filter.process_guids.assign(request.process_guids().begin(), request.process_guids().end());
  filter.app_guids.assign(request.app_guids().begin(), request.app_guids().end());
  absl::StatusOr<std::vector<DesiredLRP>> lrps = store_->DesiredLrps(filter);
  if (!lrps.ok()) {
    SetError(response, lrps.status());
    return response;
  }
  for (const DesiredLRP& lrp : *lrps) {
    DesiredLRP* out = response.add_desired_lrps();
    *out = DowngradeDesiredLrp(lrp, version);
    PopulateMetricsGuid(*out);
  }
  return response;
}

model::v1::DesiredLRPResponse BbsService::DesiredLrpByProcessGuid(
    const model::v1::DesiredLRPByProcessGuidRequest& request, const RequestContext& /*ctx*/,
    PayloadVersion version) {
  model::v1::DesiredLRPResponse response;
  if (absl::Status valid = model::ValidateDesiredLrpByProcessGuidRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<DesiredLRP> lrp = store_->DesiredLrpByProcessGuid(request.process_guid());
  if (!lrp.ok()) {
    SetError(response, lrp.status());
    return response;
  }
  DesiredLRP* out = response.mutable_desired_lrp();
  *out = DowngradeDesiredLrp(*lrp, version);
  PopulateMetricsGuid(*out);
  return response;
}

model::v1::DesiredLRPLifecycleResponse BbsService::DesireDesiredLrp(
    const model::v1::DesireLRPRequest& request, const RequestContext& ctx) {
  model::v1::DesiredLRPLifecycleResponse response;
  if (absl::Status valid = model::ValidateDesireLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  if (absl::Status limit =
          CheckInstanceLimit(request.desired_lrp().instances(), options_.max_instances);
      !limit.ok()) {
    SetError(response, limit);
    return response;
  }
  absl::StatusOr<DesireLrpResult> result = store_->DesireLrp(request.desired_lrp(), ctx.trace_id);
  if (!result.ok()) {
    SetError(response, result.status());
    return response;
  }
  // All created instances go to the auctioneer in one start request.
  Logger logger = logger_.Session("desire-lrp", {{"process_guid", result->lrp.process_guid()}});
  RequestLrpAuction(LrpStartRequestFromDesiredLrp(result->lrp, result->created_indices), logger);
  return response;
}

model::v1::DesiredLRPLifecycleResponse BbsService::UpdateDesiredLrp(
    const model::v1::UpdateDesiredLRPRequest& request, const RequestContext& ctx) {
  model::v1::DesiredLRPLifecycleResponse response;
  if (absl::Status valid = model::ValidateUpdateDesiredLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  if (request.update().has_instances()) {
    if (absl::Status limit =
            CheckInstanceLimit(request.update().instances(), options_.max_instances);
        !limit.ok()) {
      SetError(response, limit);
      return response;
    }
  }
  const DesiredLRPUpdate& update = request.update();
  absl::StatusOr<UpdateLrpResult> result =
      store_->UpdateDesiredLrp(request.process_guid(), update, ctx.trace_id);
  if (!result.ok()) {
    SetError(response, result.status());
    return response;
  }
  Logger logger = logger_.Session("update-desired-lrp", {{"process_guid", request.process_guid()}});

  // Scale up: one start request for the new indices.
  RequestLrpAuction(LrpStartRequestFromDesiredLrp(result->after, result->created_indices), logger);
  // Scale down: the reps stop the surplus CLAIMED/RUNNING instances.
  for (const ActualLRP& lrp : result->to_stop) {
    StopInstance(lrp, logger);
  }

  // Internal routes or metric tags changed: tell the reps of the running
  // instances (Diego's updateInstances). What is not updated is sent empty.
  const bool routes_updated = IsRoutesGroupUpdated(update, result->before, kInternalRouter);
  const bool tags_updated = IsMetricTagsUpdated(update, result->before);
  if (!routes_updated && !tags_updated) {
    return response;
  }
  std::vector<ActualLRPInternalRoute> internal_routes;
  if (routes_updated) {
    absl::StatusOr<std::vector<ActualLRPInternalRoute>> routes =
        internal::InternalRoutesFromRoutes(update.routes());
    if (!routes.ok()) {
      // Diego skips every instance when the routes do not decode.
      logger.Error("getting-internal-routes-failed", routes.status());
      return response;
    }
    internal_routes = std::move(*routes);
  }
  for (const ActualLRP& lrp : result->to_update) {
    const model::v1::ActualLRPInstanceKey& instance_key = lrp.actual_lrp_instance_key();
    absl::StatusOr<std::shared_ptr<RepClient>> rep = RepClientForCell(instance_key.cell_id());
    if (!rep.ok()) {
      logger.Error("failed-fetching-cell-presence", rep.status(),
                   {{"cell_id", instance_key.cell_id()}});
      continue;
    }
    std::map<std::string, std::string> metric_tags;
    if (tags_updated) {
      metric_tags = internal::ResolveMetricTags(update.metric_tags(), lrp.actual_lrp_key().index(),
                                                  lrp.actual_lrp_instance_key().instance_guid());
    }
    logger.Debug("updating-lrp-instance", {{"index", lrp.actual_lrp_key().index()},
                                           {"instance_guid", instance_key.instance_guid()}});
    absl::Status status =
        (*rep)->UpdateLrpInstance(lrp.actual_lrp_key(), instance_key, internal_routes, metric_tags);
    if (!status.ok()) {
      logger.Error("updating-lrp-instance", status,
                   {{"instance_guid", instance_key.instance_guid()}});
    }
  }
  return response;
}

model::v1::DesiredLRPLifecycleResponse BbsService::RemoveDesiredLrp(
    const model::v1::RemoveDesiredLRPRequest& request, const RequestContext& ctx) {
  model::v1::DesiredLRPLifecycleResponse response;
  if (absl::Status valid = model::ValidateRemoveDesiredLrpRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  absl::StatusOr<RemoveLrpResult> result =
      store_->RemoveDesiredLrp(request.process_guid(), ctx.trace_id);
  if (!result.ok()) {
    SetError(response, result.status());
    return response;
  }
  // The UNCLAIMED/CRASHED rows went with the desired LRP; the reps stop the
  // rest (Diego's stopInstancesFrom(0)).
  Logger logger = logger_.Session("remove-desired-lrp", {{"process_guid", request.process_guid()}});
  for (const ActualLRP& lrp : result->to_stop) {
    StopInstance(lrp, logger);
  }
  return response;
}

}  // namespace diego::bbs
