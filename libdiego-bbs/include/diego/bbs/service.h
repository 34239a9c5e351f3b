// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: service.h
// -----------------------------------------------------------------------------
//
// `BbsService`: the BBS API as plain C++ — one method per route of
// `bbs-wire-reference.md` 5, taking the decoded request message and returning
// the response message with Diego's `Error` envelope filled on failure
// (`model::ToBbsError`). The HTTP server (server.h) only decodes, calls, and
// encodes; everything Diego's handlers and controllers decide lives here:
//
//   * validation (`model::Validate*`) before any write: every failing field
//     listed, `InvalidRequest`;
//   * the store call (one transaction, events published by the store);
//   * the follow-ups Diego's controllers make after a commit: auction requests
//     for created/unclaimed/restarted instances and pending tasks (failures
//     are logged and ignored: convergence retries), rep StopLRPInstance /
//     CancelTask / UpdateLRPInstance (best effort, errors swallowed), the
//     retire logic (cell gone => delete row; else rep stop; up to 5
//     attempts), and handing completed tasks with a callback URL to the
//     `TaskCompletionHandler` (issue 7 adds the worker pool).
//   * response shaping: r2 / r0 payload downgrades, `PopulateMetricsGuid`,
//     routing-info projection, legacy ActualLRPGroups.
//
// Thread-safety: thread-safe; calls may run concurrently.

#ifndef DIEGO_BBS_SERVICE_H_
#define DIEGO_BBS_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/auction/types.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/bbs/outbound.h"
#include "diego/bbs/store.h"
#include "diego/model/v1/actual_lrp_requests.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/desired_lrp_requests.pb.h"
#include "diego/model/v1/domain.pb.h"
#include "diego/model/v1/evacuation.pb.h"
#include "diego/model/v1/ping.pb.h"
#include "diego/model/v1/task_requests.pb.h"

namespace diego::bbs {

// Per-request data from the transport.
struct RequestContext {
  // X-Vcap-Request-Id; copied into the trace_id of LRP events.
  std::string trace_id;
};

// Receives tasks that reached Completed and have a completion_callback_url.
// The default does nothing (tasks then wait for a client to resolve them);
// issue 7's callback worker pool implements it.
class TaskCompletionHandler {
 public:
  virtual ~TaskCompletionHandler() = default;
  virtual void TaskCompleted(const model::v1::Task& task) = 0;
};

// Payload revisions of read routes (`bbs-wire-reference.md` 1).
enum class PayloadVersion { kV0, kV2, kV3 };

// Converts a current (V3) DesiredLRP for an older route: V2 turns SHARED image
// layers into cached dependencies and EXCLUSIVE ones into download actions
// (in parallel, before setup) and clears image_layers; V0 additionally fills
// the deprecated second-based timeouts and folds cached dependencies into
// setup. V3: unchanged.
model::v1::DesiredLRP DowngradeDesiredLrp(const model::v1::DesiredLRP& lrp, PayloadVersion to);
// Tasks: V2 (and V0) convert image layers as above; V3 unchanged.
model::v1::Task DowngradeTask(const model::v1::Task& task, PayloadVersion to);
// Diego's `PopulateMetricsGuid` for reads of DesiredLRP.
void PopulateMetricsGuid(model::v1::DesiredLRP& lrp);

class BbsService {
 public:
  struct Options {
    // Restart policy and retries live in the store; these are the service's.
    int retire_attempts = 5;  // Diego's retire retry count.
    // Upper bound on a desired LRP's `instances` (not in Diego, which only
    // refuses negative counts): DesireDesiredLRP / UpdateDesireLRP above it
    // are InvalidRequest "Invalid field: instances", rather than creating
    // that many actual-LRP rows (and events) in one write transaction that
    // holds the single writer. 0 = no limit.
    int32_t max_instances = 100000;
  };

  // Every pointer must outlive the service. `completions` may be null.
  BbsService(BbsStore* store, AuctioneerClient* auctioneer, RepClientFactory* reps,
             TaskCompletionHandler* completions, Logger logger, Options options);
  BbsService(BbsStore* store, AuctioneerClient* auctioneer, RepClientFactory* reps,
             Logger logger)
      : BbsService(store, auctioneer, reps, nullptr, std::move(logger), Options()) {}

  // Ping / domains / cells.
  model::v1::PingResponse Ping(const RequestContext& ctx);
  model::v1::DomainsResponse Domains(const RequestContext& ctx);
  model::v1::UpsertDomainResponse UpsertDomain(const model::v1::UpsertDomainRequest& request,
                                               const RequestContext& ctx);
  model::v1::CellsResponse Cells(const RequestContext& ctx);

  // Actual LRPs: reads.
  model::v1::ActualLRPsResponse ActualLrps(const model::v1::ActualLRPsRequest& request,
                                           const RequestContext& ctx);
  model::v1::ActualLRPsByProcessGuidsResponse ActualLrpsByProcessGuids(
      const model::v1::ActualLRPsByProcessGuidsRequest& request, const RequestContext& ctx);
  model::v1::ActualLRPGroupsResponse ActualLrpGroups(
      const model::v1::ActualLRPGroupsRequest& request, const RequestContext& ctx);
  model::v1::ActualLRPGroupsResponse ActualLrpGroupsByProcessGuid(
      const model::v1::ActualLRPGroupsByProcessGuidRequest& request, const RequestContext& ctx);
  model::v1::ActualLRPGroupResponse ActualLrpGroupByProcessGuidAndIndex(
      const model::v1::ActualLRPGroupByProcessGuidAndIndexRequest& request,
      const RequestContext& ctx);

  // Actual LRPs: lifecycle. `ignore_routes_and_tags` is the deprecated
  // `/v1/actual_lrps/start` (fields 4 and 5 ignored).
  model::v1::ActualLRPLifecycleResponse ClaimActualLrp(
      const model::v1::ClaimActualLRPRequest& request, const RequestContext& ctx);
  model::v1::ActualLRPLifecycleResponse StartActualLrp(
      const model::v1::StartActualLRPRequest& request, const RequestContext& ctx,
      bool ignore_routes_and_tags = false);
  model::v1::ActualLRPLifecycleResponse CrashActualLrp(
      const model::v1::CrashActualLRPRequest& request, const RequestContext& ctx);
  model::v1::ActualLRPLifecycleResponse FailActualLrp(
      const model::v1::FailActualLRPRequest& request, const RequestContext& ctx);
  model::v1::ActualLRPLifecycleResponse RemoveActualLrp(
      const model::v1::RemoveActualLRPRequest& request, const RequestContext& ctx);
  model::v1::ActualLRPLifecycleResponse RetireActualLrp(
      const model::v1::RetireActualLRPRequest& request, const RequestContext& ctx);

  // Evacuation. `ignore_routes_and_tags`: deprecated `evacuate_running`.
  model::v1::RemoveEvacuatingActualLRPResponse RemoveEvacuatingActualLrp(
      const model::v1::RemoveEvacuatingActualLRPRequest& request, const RequestContext& ctx);
  model::v1::EvacuationResponse EvacuateClaimedActualLrp(
      const model::v1::EvacuateClaimedActualLRPRequest& request, const RequestContext& ctx);
  model::v1::EvacuationResponse EvacuateCrashedActualLrp(
      const model::v1::EvacuateCrashedActualLRPRequest& request, const RequestContext& ctx);
  model::v1::EvacuationResponse EvacuateStoppedActualLrp(
      const model::v1::EvacuateStoppedActualLRPRequest& request, const RequestContext& ctx);
  model::v1::EvacuationResponse EvacuateRunningActualLrp(
      const model::v1::EvacuateRunningActualLRPRequest& request, const RequestContext& ctx,
      bool ignore_routes_and_tags = false);

  // Desired LRPs.
  model::v1::DesiredLRPSchedulingInfosResponse DesiredLrpSchedulingInfos(
      const model::v1::DesiredLRPsRequest& request, const RequestContext& ctx);
  model::v1::DesiredLRPSchedulingInfoByProcessGuidResponse DesiredLrpSchedulingInfoByProcessGuid(
      const model::v1::DesiredLRPByProcessGuidRequest& request, const RequestContext& ctx);
  model::v1::DesiredLRPsResponse DesiredLrpRoutingInfos(
      const model::v1::DesiredLRPsRequest& request, const RequestContext& ctx);
  model::v1::DesiredLRPsResponse DesiredLrps(const model::v1::DesiredLRPsRequest& request,
                                             const RequestContext& ctx,
                                             PayloadVersion version = PayloadVersion::kV3);
  model::v1::DesiredLRPResponse DesiredLrpByProcessGuid(
      const model::v1::DesiredLRPByProcessGuidRequest& request, const RequestContext& ctx,
      PayloadVersion version = PayloadVersion::kV3);
  model::v1::DesiredLRPLifecycleResponse DesireDesiredLrp(
      const model::v1::DesireLRPRequest& request, const RequestContext& ctx);
  model::v1::DesiredLRPLifecycleResponse UpdateDesiredLrp(
      const model::v1::UpdateDesiredLRPRequest& request, const RequestContext& ctx);
  model::v1::DesiredLRPLifecycleResponse RemoveDesiredLrp(
      const model::v1::RemoveDesiredLRPRequest& request, const RequestContext& ctx);

  // Tasks.
  model::v1::TasksResponse Tasks(const model::v1::TasksRequest& request,
                                 const RequestContext& ctx,
                                 PayloadVersion version = PayloadVersion::kV3);
  model::v1::TaskResponse TaskByGuid(const model::v1::TaskByGuidRequest& request,
                                     const RequestContext& ctx,
                                     PayloadVersion version = PayloadVersion::kV3);
  model::v1::TaskLifecycleResponse DesireTask(const model::v1::DesireTaskRequest& request,
                                              const RequestContext& ctx);
  model::v1::StartTaskResponse StartTask(const model::v1::StartTaskRequest& request,
                                         const RequestContext& ctx);
  model::v1::TaskLifecycleResponse CancelTask(const model::v1::TaskGuidRequest& request,
                                              const RequestContext& ctx);
  model::v1::TaskLifecycleResponse FailTask(const model::v1::FailTaskRequest& request,
                                            const RequestContext& ctx);
  model::v1::TaskLifecycleResponse RejectTask(const model::v1::RejectTaskRequest& request,
                                              const RequestContext& ctx);
  model::v1::TaskLifecycleResponse CompleteTask(const model::v1::CompleteTaskRequest& request,
                                                const RequestContext& ctx);
  model::v1::TaskLifecycleResponse ResolvingTask(const model::v1::TaskGuidRequest& request,
                                                 const RequestContext& ctx);
  model::v1::TaskLifecycleResponse DeleteTask(const model::v1::TaskGuidRequest& request,
                                              const RequestContext& ctx);

 private:
  // Follow-ups shared by the route files (service.cc). The void ones are best
  // effort: failures are logged on `logger`, never returned.

  // Sends one LRP start request; skipped when it has no indices.
  void RequestLrpAuction(const auction::LrpStartRequest& request, const Logger& logger);
  // Looks up the scheduling info of `process_guid` and auctions `index`.
  // Copies `result.keep_container` into `response` and auctions `key`'s index
  // when the store unclaimed it; `session` names the log session.
  void ApplyEvacuationResult(const EvacuationResult& result, const model::v1::ActualLRPKey& key,
                             absl::string_view session, model::v1::EvacuationResponse& response);
  void RequestLrpAuctionForIndex(absl::string_view process_guid, int32_t index,
                                 const Logger& logger);
  // Sends the task's start request.
  void RequestTaskAuction(const model::v1::Task& task, const Logger& logger);
  // The rep client of `cell_id`, via the cell's presence. Errors: the
  // store's (`ErrResourceNotFound()` when the cell is gone) or the factory's.
  absl::StatusOr<std::shared_ptr<RepClient>> RepClientForCell(absl::string_view cell_id);
  // Asks the rep of `lrp`'s cell to stop it.
  void StopInstance(const model::v1::ActualLRP& lrp, const Logger& logger);
  // Hands `task` to `completions_` when it has a completion callback URL.
  void SubmitCompletedTask(const model::v1::Task& task, const Logger& logger);

  BbsStore* const store_;
  AuctioneerClient* const auctioneer_;
  RepClientFactory* const reps_;
  TaskCompletionHandler* const completions_;
  Logger logger_;
  const Options options_;
};

}  // namespace diego::bbs

#endif  // DIEGO_BBS_SERVICE_H_
