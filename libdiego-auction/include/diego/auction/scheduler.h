// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: scheduler.h
// -----------------------------------------------------------------------------
//
// `Scheduler` places a batch of LRP and task auctions on a snapshot of cell
// states, in memory, with no I/O: Diego's auctionrunner scheduler
// (diego-spec.md 4.2-4.4). Which compatible cell wins is decided by a
// `PlacementStrategy`: Diego's own rule ("diego": zone balancing, then the
// lowest score) is the default; others are selectable by name for
// comparison (see strategies.h).
//
// Example:
//
//   DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<PlacementStrategy> strategy,
//                          NewPlacementStrategy("diego"));
//   Scheduler scheduler(strategy.get(), AuctionConfig{});
//   ScheduleOutput out = scheduler.Schedule(cells, lrp_auctions, task_auctions);
//   for (const Work& work : out.work) { /* POST /work to work.cell_id */ }

#ifndef DIEGO_AUCTION_SCHEDULER_H_
#define DIEGO_AUCTION_SCHEDULER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/auction/types.h"

namespace diego::auction {

// Tunables of one auction (the auctioneer's BOSH properties).
struct AuctionConfig {
  // Added to a cell's score per container it is still starting. 0..1.
  double starting_container_weight = 0.25;
  // When > 0, cells are biased toward low cell indices within each zone
  // (first-fit bin packing). 0..1.
  double bin_pack_first_fit_weight = 0.0;
  // Maximum containers starting across the cluster; 0 = unlimited.
  int32_t max_inflight = 0;
};

class PlacementStrategy;  // strategies.h

// The result of scheduling one batch.
struct ScheduleOutput {
  AuctionResults results;
  // Work per winning cell, in the order cells were given; cells that won
  // nothing are absent.
  std::vector<Work> work;
};

class Scheduler {
 public:
  // `strategy` must outlive the scheduler. Thread-compatible; `Schedule` is
  // const and may run concurrently on different inputs.
  Scheduler(const PlacementStrategy* strategy, AuctionConfig config);

  // Places `lrps` and `tasks` on `cells` (a snapshot; the copy is mutated as
  // placements reserve resources). Order: LRPs with index 0, then tasks, then
  // other LRPs; within each, larger memory first (stable). Every auction ends
  // up in exactly one result list; failures carry Diego's placement error.
  ScheduleOutput Schedule(std::vector<CellState> cells, std::vector<LrpAuction> lrps,
                          std::vector<TaskAuction> tasks) const;

 private:
  const PlacementStrategy* strategy_;
  AuctionConfig config_;
};

}  // namespace diego::auction

#endif  // DIEGO_AUCTION_SCHEDULER_H_
