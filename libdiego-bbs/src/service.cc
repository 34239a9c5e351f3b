// Copyright 2026 The libdiego Authors.
//
// BbsService: constructor, ping / domains / cells, and the follow-ups shared
// by the LRP and task routes (auction requests, rep calls, completion
// callbacks). The routes themselves are in service_lrps.cc and
// service_tasks.cc.

#include "diego/bbs/service.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "diego/model/errors.h"
#include "diego/model/validation.h"

namespace diego::bbs {
namespace {

using model::v1::CellsResponse;
using model::v1::DomainsResponse;
using model::v1::PingResponse;
using model::v1::UpsertDomainRequest;
using model::v1::UpsertDomainResponse;

template <typename Response>
void SetError(Response& response, const absl::Status& status) {
  *response.mutable_error() = model::ToBbsError(status);
}

}  // namespace

BbsService::BbsService(BbsStore* store, AuctioneerClient* auctioneer, RepClientFactory* reps,
                       TaskCompletionHandler* completions, Logger logger, Options options)
    : store_(store),
      auctioneer_(auctioneer),
      reps_(reps),
      completions_(completions),
      logger_(std::move(logger)),
      options_(options) {}

// -----------------------------------------------------------------------------
// Ping / domains / cells.
// -----------------------------------------------------------------------------

PingResponse BbsService::Ping(const RequestContext& /*ctx*/) {
  PingResponse response;
  response.set_available(true);
  return response;
}

DomainsResponse BbsService::Domains(const RequestContext& /*ctx*/) {
  DomainsResponse response;
  absl::StatusOr<std::vector<std::string>> domains = store_->FreshDomains();
  if (!domains.ok()) {
    logger_.Session("domains").Error("failed-to-fetch-domains", domains.status());
    SetError(response, domains.status());
    return response;
  }
  for (std::string& domain : *domains) {
    response.add_domains(std::move(domain));
  }
  return response;
}

UpsertDomainResponse BbsService::UpsertDomain(const UpsertDomainRequest& request,
                                              const RequestContext& /*ctx*/) {
  UpsertDomainResponse response;
  if (absl::Status valid = model::ValidateUpsertDomainRequest(request); !valid.ok()) {
    SetError(response, valid);
    return response;
  }
  // ttl is in seconds; zero means the domain never expires.
  absl::Status status = store_->UpsertDomain(request.domain(), absl::Seconds(request.ttl()));
  if (!status.ok()) {
    logger_.Session("upsert-domain", {{"domain", request.domain()}})
        .Error("failed-to-upsert-domain", status);
    SetError(response, status);
  }
  return response;
}

CellsResponse BbsService::Cells(const RequestContext& /*ctx*/) {
  CellsResponse response;
  absl::StatusOr<std::vector<model::v1::CellPresence>> cells = store_->Cells();
  if (!cells.ok()) {
    logger_.Session("cells").Error("failed-to-fetch-cells", cells.status());
    SetError(response, cells.status());
    return response;
  }
  for (model::v1::CellPresence& cell : *cells) {
    *response.add_cells() = std::move(cell);
  }
  return response;
}

// -----------------------------------------------------------------------------
// Shared follow-ups.
// -----------------------------------------------------------------------------

void BbsService::RequestLrpAuction(const auction::LrpStartRequest& request, const Logger& logger) {
  // The auctioneer refuses a start request without indices ("indices must
  // not be empty"), so there is nothing to send.
  if (request.indices.empty()) {
    return;
  }
  std::vector<int64_t> indices(request.indices.begin(), request.indices.end());
  logger.Info("start-lrp-auction-request",
              {{"app_guid", request.process_guid}, {"indices", indices}});
  absl::Status status = auctioneer_->RequestLrpAuctions({request});
  if (!status.ok()) {
    // Convergence re-auctions unclaimed instances, so the request is not
    // retried here (Diego logs and moves on).
    logger.Error("failed-to-request-auction", status, {{"app_guid", request.process_guid}});
    return;
  }
  logger.Info("finished-lrp-auction-request",
              {{"app_guid", request.process_guid}, {"indices", indices}});
}

void BbsService::RequestLrpAuctionForIndex(absl::string_view process_guid, int32_t index,
                                           const Logger& logger) {
  absl::StatusOr<model::v1::DesiredLRPSchedulingInfo> info =
      store_->DesiredLrpSchedulingInfoByProcessGuid(process_guid);
  if (!info.ok()) {
    logger.Error("failed-fetching-desired-lrp-scheduling-info", info.status(),
                 {{"process_guid", process_guid}});
    return;
  }
  const int32_t indices[] = {index};
  RequestLrpAuction(LrpStartRequestFromSchedulingInfo(*info, indices), logger);
}

void BbsService::RequestTaskAuction(const model::v1::Task& task, const Logger& logger) {
  auction::TaskStartRequest request = TaskStartRequestFromTask(task);
  absl::Status status = auctioneer_->RequestTaskAuctions({request});
  if (!status.ok()) {
    // The task is stored; convergence kicks pending tasks, so the error is
    // dropped (Diego: "the auction request error can be dropped").
    logger.Error("failed-requesting-task-auction", status, {{"task_guid", task.task_guid()}});
    return;
  }
  logger.Debug("succeeded-requesting-task-auction", {{"task_guid", task.task_guid()}});
}

absl::StatusOr<std::shared_ptr<RepClient>> BbsService::RepClientForCell(absl::string_view cell_id) {
  absl::StatusOr<model::v1::CellPresence> cell = store_->CellById(cell_id);
  if (!cell.ok()) {
    return cell.status();
  }
  return reps_->ForCell(*cell);
}

void BbsService::StopInstance(const model::v1::ActualLRP& lrp, const Logger& logger) {
  const model::v1::ActualLRPKey& key = lrp.actual_lrp_key();
  const model::v1::ActualLRPInstanceKey& instance_key = lrp.actual_lrp_instance_key();
  LogData data = {{"process_guid", key.process_guid()},
                  {"index", key.index()},
                  {"instance_guid", instance_key.instance_guid()},
                  {"cell_id", instance_key.cell_id()}};
  absl::StatusOr<std::shared_ptr<RepClient>> rep = RepClientForCell(instance_key.cell_id());
  if (!rep.ok()) {
    logger.Error("failed-fetching-cell-presence", rep.status(), data);
    return;
  }
  logger.Debug("stopping-lrp-instance", data);
  absl::Status status = (*rep)->StopLrpInstance(key, instance_key);
  if (!status.ok()) {
    logger.Error("failed-stopping-lrp-instance", status, data);
  }
}

void BbsService::SubmitCompletedTask(const model::v1::Task& task, const Logger& logger) {
  if (completions_ == nullptr || task.task_definition().completion_callback_url().empty()) {
    return;
  }
  logger.Info("task-client-completing-task", {{"task_guid", task.task_guid()}});
  completions_->TaskCompleted(task);
}

}  // namespace diego::bbs
