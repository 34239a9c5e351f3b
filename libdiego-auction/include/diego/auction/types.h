// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: types.h
// -----------------------------------------------------------------------------
//
// The auction's vocabulary, in the shapes of Diego's rep and auctioneer JSON
// APIs (diego-spec.md 4.1, 5.1 and Appendix A): a cell's state as its rep
// reports it (`GET /state`), the work the auctioneer sends a cell
// (`POST /work`), and the LRP / Task start requests the BBS sends the
// auctioneer (`POST /v1/lrps`, `POST /v1/tasks`). JSON encoding of these types
// lives in json.h.
//
// Plain value types: copyable, no invariants beyond the field comments.

#ifndef DIEGO_AUCTION_TYPES_H_
#define DIEGO_AUCTION_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "diego/model/rootfs.h"

namespace diego::auction {

// A cell's capacity or free capacity. JSON: {"MemoryMB","DiskMB","Containers"}.
struct Resources {
  int32_t memory_mb = 0;
  int32_t disk_mb = 0;
  int32_t containers = 0;
  friend bool operator==(const Resources&, const Resources&) = default;
};

// What one LRP instance or task asks for. JSON: {"MemoryMB","DiskMB","MaxPids"}.
// `max_pids` is carried but never checked by the auction (Diego does not).
struct Resource {
  int32_t memory_mb = 0;
  int32_t disk_mb = 0;
  int32_t max_pids = 0;
  friend bool operator==(const Resource&, const Resource&) = default;
};

// Hard constraints on where work may run. JSON (flattened into the parent):
// {"PlacementTags","VolumeDrivers","RootFs"}.
struct PlacementConstraint {
  std::vector<std::string> placement_tags;
  std::vector<std::string> volume_drivers;
  std::string root_fs;  // A rootfs URL, e.g. "preloaded:cflinuxfs4".
  friend bool operator==(const PlacementConstraint&, const PlacementConstraint&) = default;
};

// One LRP instance, in a cell's state or in work sent to a cell. JSON:
// {"instance_guid","process_guid","index","domain", PlacementConstraint keys,
//  Resource keys, "state"}.
struct Lrp {
  std::string instance_guid;
  std::string process_guid;
  int32_t index = 0;
  std::string domain;
  PlacementConstraint constraint;
  Resource resource;
  std::string state;  // "CLAIMED", "RUNNING", ... in a cell's state; empty in work.
  friend bool operator==(const Lrp&, const Lrp&) = default;
};

// One task, in a cell's state, in work, and as the auctioneer's task start
// request. JSON: {"TaskGuid","Domain", PlacementConstraint keys, Resource
// keys, "state","failed"}.
struct Task {
  std::string task_guid;
  std::string domain;
  PlacementConstraint constraint;
  Resource resource;
  std::string state;  // Rep task state ("Running", "Completed"); may be empty.
  bool failed = false;
  friend bool operator==(const Task&, const Task&) = default;
};

using TaskStartRequest = Task;

// The BBS's request to start instances `indices` of one LRP. JSON:
// {"process_guid","domain","indices", PlacementConstraint keys, Resource keys}.
struct LrpStartRequest {
  std::string process_guid;
  std::string domain;
  std::vector<int32_t> indices;
  PlacementConstraint constraint;
  Resource resource;
  friend bool operator==(const LrpStartRequest&, const LrpStartRequest&) = default;
};

// A cell's state as its rep reports it on `GET /state` (diego-spec.md 5.1).
struct CellState {
  std::string rep_url;
  std::string cell_id;
  int32_t cell_index = 0;
  // JSON "RootFSProviders": {scheme: {"type":"arbitrary"} |
  //                                  {"type":"fixed_set","set":{stack:{}}}}.
  model::RootFsProviders rootfs_providers;
  Resources available_resources;  // JSON "AvailableResources".
  Resources total_resources;      // JSON "TotalResources".
  std::vector<Lrp> lrps;          // JSON "LRPs".
  std::vector<Task> tasks;        // JSON "Tasks".
  int32_t starting_container_count = 0;  // JSON "StartingContainerCount".
  std::string zone;                      // JSON "Zone".
  bool evacuating = false;               // JSON "Evacuating".
  std::vector<std::string> volume_drivers;           // JSON "VolumeDrivers".
  std::vector<std::string> placement_tags;           // JSON "PlacementTags".
  std::vector<std::string> optional_placement_tags;  // JSON "OptionalPlacementTags".
  int32_t proxy_memory_allocation_mb = 0;            // JSON "ProxyMemoryAllocationMB".
};

// Work for one cell (`POST /work` body, and the body the rep returns listing
// what it could not start). JSON: {"LRPs","Tasks","cell_id"} (`cell_id`
// omitted when empty).
struct Work {
  std::vector<Lrp> lrps;
  std::vector<Task> tasks;
  std::string cell_id;
  friend bool operator==(const Work&, const Work&) = default;
};

// Bookkeeping of one auction (Diego's `auctiontypes.AuctionRecord`).
struct AuctionRecord {
  std::string winner;           // Winning cell id; empty until placed.
  int32_t attempts = 0;         // Rounds this auction has been through.
  absl::Time queue_time;        // When the start request arrived.
  absl::Duration wait_duration;  // Queue time to placement (or failure).
  std::string placement_error;  // Why it could not be placed; empty if placed.
};

// One LRP instance to place: `lrp.instance_guid` is empty until placed (the
// rep assigns instance guids).
struct LrpAuction {
  Lrp lrp;
  AuctionRecord record;
  // Diego's identity for batching/deduplication: "<process_guid>.<index>".
  std::string Identifier() const;
};

// One task to place.
struct TaskAuction {
  Task task;
  AuctionRecord record;
  // Diego's identity for batching/deduplication: the task guid.
  std::string Identifier() const { return task.task_guid; }
};

// The outcome of placing a batch. Each auction appears in exactly one list,
// with `record.winner` set on successes and `record.placement_error` on
// failures.
struct AuctionResults {
  std::vector<LrpAuction> successful_lrps;
  std::vector<LrpAuction> failed_lrps;
  std::vector<TaskAuction> successful_tasks;
  std::vector<TaskAuction> failed_tasks;
};

// Expands a start request into one auction per index, queued at `now`.
std::vector<LrpAuction> LrpAuctionsFromRequest(const LrpStartRequest& request, absl::Time now);

}  // namespace diego::auction

#endif  // DIEGO_AUCTION_TYPES_H_
