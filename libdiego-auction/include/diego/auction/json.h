// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: json.h
// -----------------------------------------------------------------------------
//
// JSON encoding and decoding of the auction types (types.h), byte-compatible
// with what Diego's Go components write and read with `encoding/json`:
//
//   - the rep's `GET /state` body (`CellState`) and `POST /work` request and
//     response bodies (`Work`);
//   - the auctioneer's `POST /v1/lrps` body (an array of `LrpStartRequest`)
//     and `POST /v1/tasks` body (an array of `TaskStartRequest`, which is a
//     rep `Task`).
//
// Shapes (diego-spec.md Appendix A; rep resources.go, bbs
// rootfs_providers.go, auctioneer resources.go). Keys without a Go struct tag
// keep the Go field name; embedded structs are flattened into the parent, in
// Go's field order:
//
//   Resources            {"MemoryMB":0,"DiskMB":0,"Containers":0}
//   Resource             {"MemoryMB":0,"DiskMB":0,"MaxPids":0}
//   PlacementConstraint  {"PlacementTags":[],"VolumeDrivers":[],"RootFs":""}
//   Lrp                  {"instance_guid":"","process_guid":"","index":0,
//                         "domain":"", <PlacementConstraint keys>,
//                         <Resource keys>,"state":""}
//   Task                 {"TaskGuid":"","Domain":"", <PlacementConstraint keys>,
//                         <Resource keys>,"state":"Invalid","failed":false}
//   LrpStartRequest      {"process_guid":"","domain":"","indices":[],
//                         <PlacementConstraint keys>,<Resource keys>}
//   Work                 {"LRPs":[],"Tasks":[],"cell_id":"..."}  (cell_id
//                         omitted when empty: `omitempty`)
//   CellState            {"rep_url","cell_id","cell_index","RootFSProviders",
//                         "AvailableResources","TotalResources","LRPs","Tasks",
//                         "StartingContainerCount","Zone","Evacuating",
//                         "VolumeDrivers","PlacementTags",
//                         "OptionalPlacementTags","ProxyMemoryAllocationMB"}
//   RootFSProviders      {"docker":{"type":"arbitrary"},
//                         "preloaded":{"set":{"cflinuxfs4":{}},"type":"fixed_set"}}
//
// Encoding rules:
//
//   - Output is compact, keys in Go struct order. Map keys (rootfs schemes,
//     stack names, and the `set`/`type` keys of a fixed-set provider, which Go
//     writes from a `map`) are sorted bytewise, as Go sorts them.
//   - An empty list is written as `[]` and an empty provider table as `{}`.
//     Go writes `null` for a nil slice or map; C++ cannot tell nil from empty,
//     and Go decodes both forms identically.
//   - A task's `state` is Diego's `Task_State` enum, which Go writes by name.
//     An empty `Task::state` is written as "Invalid" (the enum's zero value),
//     because a Go decoder rejects `"state":""`.
//   - Strings are escaped as Go >= 1.22 escapes them: `<`, `>`, `&`, U+2028
//     and U+2029 as `\u003c`-style escapes, `\b \f \n \r \t`, other control
//     characters as `\u00XX`, and invalid UTF-8 bytes as `\ufffd`.
//
// Decoding rules (Go `json.Unmarshal` leniency):
//
//   - Unknown keys are ignored. A key matches a field exactly or, failing
//     that, case-insensitively (ASCII), as Go does; when several keys match
//     one field the last one in the document wins.
//   - `null` anywhere means "leave the zero value" (an empty list, an empty
//     string, 0, false, an empty provider table). A `null` document decodes
//     to a default-constructed value.
//   - Integers must be JSON integers (no fraction or exponent) that fit the
//     field: 32-bit signed for every numeric field here.
//   - A task `state` must be one of "Invalid", "Pending", "Running",
//     "Completed", "Resolving" (Go's `Task_State.UnmarshalJSON`); "Invalid"
//     decodes to the empty string so encoded defaults round-trip.
//   - A rootfs provider whose `type` is neither "arbitrary" nor "fixed_set" is
//     skipped (Go stores a nil provider that can never match).
//
// Errors: every decoding failure is `kInvalidArgument` whose message names
// the JSON path of the offending value, using the keys as they appear in the
// document, `.` between object keys and `[i]` for array elements:
//
//   malformed JSON at offset 17: syntax error while parsing object ...
//   AvailableResources.MemoryMB: expected an integer, got string
//   LRPs[2].index: number 3000000000 overflows int32
//   [3].indices[0]: expected an integer, got number 1.5
//   Tasks[0].state: invalid task state "Exploded"
//
// A problem with the document root has no path prefix ("expected an object,
// got array"). No exception ever leaves these functions.
//
// Thread safety: all functions are pure and thread-safe.
//
// Example:
//
//   // Rep side of GET /state.
//   std::string body = CellStateToJson(state);
//
//   // Auctioneer side of POST /v1/lrps.
//   DIEGO_ASSIGN_OR_RETURN(std::vector<LrpStartRequest> starts,
//                          LrpStartRequestsFromJson(request_body));
//   std::erase_if(starts, [](const LrpStartRequest& s) {
//     return !IsValidLrpStartRequest(s);
//   });

#ifndef DIEGO_AUCTION_JSON_H_
#define DIEGO_AUCTION_JSON_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/auction/types.h"
#include "diego/model/rootfs.h"

namespace diego::auction {

// -----------------------------------------------------------------------------
// Encoding. Never fails.
// -----------------------------------------------------------------------------

std::string ResourcesToJson(const Resources& resources);
std::string ResourceToJson(const Resource& resource);

// The three constraint keys as a standalone object. Inside an `Lrp`, `Task`
// or `LrpStartRequest` the same keys are flattened into the parent.
std::string PlacementConstraintToJson(const PlacementConstraint& constraint);

std::string RootFsProvidersToJson(const model::RootFsProviders& providers);
std::string LrpToJson(const Lrp& lrp);
std::string TaskToJson(const Task& task);
std::string LrpStartRequestToJson(const LrpStartRequest& request);
std::string CellStateToJson(const CellState& state);
std::string WorkToJson(const Work& work);

// JSON arrays: the auctioneer's `POST /v1/lrps` and `POST /v1/tasks` bodies.
std::string LrpStartRequestsToJson(const std::vector<LrpStartRequest>& requests);
std::string TaskStartRequestsToJson(const std::vector<TaskStartRequest>& requests);

// -----------------------------------------------------------------------------
// Decoding. Each returns the decoded value, or kInvalidArgument naming the
// offset of malformed input or the path of the offending value (see the file
// comment).
// -----------------------------------------------------------------------------

[[nodiscard]] absl::StatusOr<Resources> ResourcesFromJson(absl::string_view json);
[[nodiscard]] absl::StatusOr<Resource> ResourceFromJson(absl::string_view json);
[[nodiscard]] absl::StatusOr<PlacementConstraint> PlacementConstraintFromJson(
    absl::string_view json);
[[nodiscard]] absl::StatusOr<model::RootFsProviders> RootFsProvidersFromJson(
    absl::string_view json);
[[nodiscard]] absl::StatusOr<Lrp> LrpFromJson(absl::string_view json);
[[nodiscard]] absl::StatusOr<Task> TaskFromJson(absl::string_view json);
[[nodiscard]] absl::StatusOr<LrpStartRequest> LrpStartRequestFromJson(absl::string_view json);
[[nodiscard]] absl::StatusOr<CellState> CellStateFromJson(absl::string_view json);
[[nodiscard]] absl::StatusOr<Work> WorkFromJson(absl::string_view json);

// A JSON array (or `null`, giving an empty vector) of start requests. Invalid
// requests are decoded, not dropped: filter them with the validity checks
// below, as the auctioneer's handlers do.
[[nodiscard]] absl::StatusOr<std::vector<LrpStartRequest>> LrpStartRequestsFromJson(
    absl::string_view json);
[[nodiscard]] absl::StatusOr<std::vector<TaskStartRequest>> TaskStartRequestsFromJson(
    absl::string_view json);

// -----------------------------------------------------------------------------
// The auctioneer's validity rules for start requests (auctioneer
// `LRPStartRequest.Validate` / `TaskStartRequest.Validate`). The auctioneer's
// HTTP handlers silently drop (log and skip) invalid entries and still answer
// 202; `AuctionRunner` applies the same rule to whatever it is given.
// -----------------------------------------------------------------------------

// Returns OK, or kInvalidArgument with Go's reason, checked in this order:
// "process guid is empty", "domain is empty", "indices must not be empty",
// "resources cannot be less than 0" (negative memory or disk; max pids is not
// checked), "placement constraint cannot be empty" (empty rootfs).
[[nodiscard]] absl::Status ValidateLrpStartRequest(const LrpStartRequest& request);

// Returns OK, or kInvalidArgument with Go's reason, checked in this order:
// "task guid is empty", "resources cannot be less than zero", "placement
// constraint cannot be empty". Like Diego, the domain is not checked.
[[nodiscard]] absl::Status ValidateTaskStartRequest(const TaskStartRequest& request);

// `ValidateLrpStartRequest(request).ok()`.
bool IsValidLrpStartRequest(const LrpStartRequest& request);

// `ValidateTaskStartRequest(request).ok()`.
bool IsValidTaskStartRequest(const TaskStartRequest& request);

}  // namespace diego::auction

#endif  // DIEGO_AUCTION_JSON_H_
