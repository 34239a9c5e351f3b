// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: routes.h
// -----------------------------------------------------------------------------
//
// Diego's BBS route table (`bbs-wire-reference.md` 5): every route's rata
// name, method and path, in Diego's order. The server registers from it and
// the client looks paths up by name, so the two cannot drift.

#ifndef DIEGO_BBS_ROUTES_H_
#define DIEGO_BBS_ROUTES_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace diego::bbs {

struct BbsRoute {
  absl::string_view name;    // Diego's route name, e.g. "StartActualLRP".
  absl::string_view method;  // "POST" or "GET".
  absl::string_view path;    // e.g. "/v1/actual_lrps/start.r1".
  bool deprecated;
};

inline constexpr BbsRoute kBbsRoutes[] = {
    {"Ping", "POST", "/v1/ping", false},
    {"Domains", "POST", "/v1/domains/list", false},
    {"UpsertDomain", "POST", "/v1/domains/upsert", false},
    {"ActualLRPs", "POST", "/v1/actual_lrps/list", false},
    {"ActualLRPsByProcessGuids", "POST", "/v1/actual_lrps/list_by_process_guids", false},
    {"ActualLRPGroups", "POST", "/v1/actual_lrp_groups/list", true},
    {"ActualLRPGroupsByProcessGuid", "POST", "/v1/actual_lrp_groups/list_by_process_guid", true},
    {"ActualLRPGroupsByProcessGuidAndIndex", "POST", "/v1/actual_lrp_groups/get_by_process_guid_and_index", true},
    {"ClaimActualLRP", "POST", "/v1/actual_lrps/claim", false},
    {"StartActualLRP", "POST", "/v1/actual_lrps/start.r1", false},
    {"StartActualLRP_r0", "POST", "/v1/actual_lrps/start", true},
    {"CrashActualLRP", "POST", "/v1/actual_lrps/crash", false},
    {"FailActualLRP", "POST", "/v1/actual_lrps/fail", false},
    {"RemoveActualLRP", "POST", "/v1/actual_lrps/remove", false},
    {"RetireActualLRP", "POST", "/v1/actual_lrps/retire", false},
    {"RemoveEvacuatingActualLRP", "POST", "/v1/actual_lrps/remove_evacuating", false},
    {"EvacuateClaimedActualLRP", "POST", "/v1/actual_lrps/evacuate_claimed", false},
    {"EvacuateCrashedActualLRP", "POST", "/v1/actual_lrps/evacuate_crashed", false},
    {"EvacuateStoppedActualLRP", "POST", "/v1/actual_lrps/evacuate_stopped", false},
    {"EvacuateRunningActualLRP", "POST", "/v1/actual_lrps/evacuate_running.r1", false},
    {"EvacuateRunningActualLRP_r0", "POST", "/v1/actual_lrps/evacuate_running", true},
    {"DesiredLRPSchedulingInfos", "POST", "/v1/desired_lrp_scheduling_infos/list", false},
    {"DesiredLRPSchedulingInfoByProcessGuid", "POST", "/v1/desired_lrp_scheduling_infos/get_by_process_guid", false},
    {"DesiredLRPRoutingInfos", "POST", "/v1/desired_lrp_routing_infos/list", false},
    {"DesiredLRPs", "POST", "/v1/desired_lrps/list.r3", false},
    {"DesiredLRPByProcessGuid", "POST", "/v1/desired_lrps/get_by_process_guid.r3", false},
    {"DesiredLRPs_r2", "POST", "/v1/desired_lrps/list.r2", true},
    {"DesiredLRPByProcessGuid_r2", "POST", "/v1/desired_lrps/get_by_process_guid.r2", true},
    {"DesireDesiredLRP", "POST", "/v1/desired_lrp/desire.r2", false},
    {"UpdateDesireLRP", "POST", "/v1/desired_lrp/update", false},
    {"RemoveDesiredLRP", "POST", "/v1/desired_lrp/remove", false},
    {"Tasks", "POST", "/v1/tasks/list.r3", false},
    {"TaskByGuid", "POST", "/v1/tasks/get_by_task_guid.r3", false},
    {"Tasks_r2", "POST", "/v1/tasks/list.r2", true},
    {"TaskByGuid_r2", "POST", "/v1/tasks/get_by_task_guid.r2", true},
    {"DesireTask", "POST", "/v1/tasks/desire.r2", false},
    {"StartTask", "POST", "/v1/tasks/start", false},
    {"CancelTask", "POST", "/v1/tasks/cancel", false},
    {"FailTask", "POST", "/v1/tasks/fail", true},
    {"RejectTask", "POST", "/v1/tasks/reject", false},
    {"CompleteTask", "POST", "/v1/tasks/complete", false},
    {"ResolvingTask", "POST", "/v1/tasks/resolving", false},
    {"DeleteTask", "POST", "/v1/tasks/delete", false},
    {"EventStream", "GET", "/v1/events.r1", true},
    {"TaskEventStream", "POST", "/v1/events/tasks.r1", false},
    {"LRPInstanceEventStream", "POST", "/v1/events/lrp_instances.r1", false},
    {"EventStream_r0", "GET", "/v1/events", true},
    {"TaskEventStream_r0", "POST", "/v1/events/tasks", true},
    {"LrpInstanceEventStream_r0", "POST", "/v1/events/lrp_instances", true},
    {"Cells", "POST", "/v1/cells/list.r1", false},
};

// The route named `name`, or null.
const BbsRoute* FindBbsRoute(absl::string_view name);

// Route names used by the client and server (a subset spelled out to catch
// typos at compile time).
namespace route {
inline constexpr absl::string_view kLrpInstanceEventStream = "LRPInstanceEventStream";
inline constexpr absl::string_view kTaskEventStream = "TaskEventStream";
}  // namespace route

}  // namespace diego::bbs

#endif  // DIEGO_BBS_ROUTES_H_
