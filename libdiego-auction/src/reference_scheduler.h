// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: reference_scheduler.h
// -----------------------------------------------------------------------------
//
// A deliberately plain implementation of Diego's scheduling rule, used as an
// oracle by tests/reference_test.cc and as the baseline of
// benchmarks/auction_benchmark.cc. It follows auction auctionrunner
// scheduler.go, cell.go, zone_builder.go, zone_sorter.go and rep
// resources.go step by step: for every item it recounts the app's instances
// by scanning every LRP on every cell, filters every cell, scores every cell
// of the visited zones and appends the placed LRP or task to the cell's
// state. Nothing is cached; it is slow on purpose (O(items x LRPs)).
//
// Where Go leaves an order to map iteration or an unstable sort, this picks
// the order `Scheduler` documents: zones in order of first appearance in the
// cell list, stable sorts everywhere.
//
// Private to libdiego-auction (not installed).

#ifndef DIEGO_AUCTION_REFERENCE_SCHEDULER_H_
#define DIEGO_AUCTION_REFERENCE_SCHEDULER_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "diego/auction/scheduler.h"
#include "diego/auction/types.h"
#include "diego/model/placement.h"
#include "diego/model/rootfs.h"

namespace diego::auction_internal {

// Same contract as `auction::Scheduler::Schedule` with the "diego" strategy.
inline auction::ScheduleOutput ReferenceSchedule(const std::vector<auction::CellState>& input_cells,
                                                 std::vector<auction::LrpAuction> lrps,
                                                 std::vector<auction::TaskAuction> tasks,
                                                 const auction::AuctionConfig& config) {
  using auction::CellState;
  using auction::Lrp;
  using auction::LrpAuction;
  using auction::PlacementConstraint;
  using auction::Resource;
  using auction::Task;
  using auction::TaskAuction;
  using auction::Work;

  auction::ScheduleOutput out;

  if (input_cells.empty()) {
    for (LrpAuction& a : lrps) {
      a.record.winner = "";
      a.record.placement_error = "unable to communicate to compatible cells";
      out.results.failed_lrps.push_back(a);
    }
    for (TaskAuction& a : tasks) {
      a.record.winner = "";
      a.record.placement_error = "unable to communicate to compatible cells";
      out.results.failed_tasks.push_back(a);
    }
    return out;
  }

  // cell.go `Cell`: the state (mutated by reservations), the index used by
  // the first-fit term, and the work to commit.
  struct Cell {
    CellState state;
    int index = 0;
    int input_index = 0;
    Work work;
  };
  std::vector<Cell> all_cells(input_cells.size());
  for (size_t i = 0; i < input_cells.size(); ++i) {
    all_cells[i].state = input_cells[i];
    all_cells[i].index = input_cells[i].cell_index;
    all_cells[i].input_index = static_cast<int>(i);
  }

  // zone_builder.go: group by zone (first appearance order here).
  struct Zone {
    std::string name;
    std::vector<Cell*> cells;
  };
  std::vector<Zone> zones;
  for (Cell& cell : all_cells) {
    Zone* zone = nullptr;
    for (Zone& z : zones) {
      if (z.name == cell.state.zone) zone = &z;
    }
    if (zone == nullptr) {
      zones.push_back(Zone{cell.state.zone, {}});
      zone = &zones.back();
    }
    zone->cells.push_back(&cell);
  }
  // zone_builder.go `normaliseCellIndices`.
  if (config.bin_pack_first_fit_weight > 0.0) {
    for (Zone& zone : zones) {
      std::stable_sort(zone.cells.begin(), zone.cells.end(), [](const Cell* a, const Cell* b) {
        return a->state.cell_index < b->state.cell_index;
      });
      for (size_t i = 0; i < zone.cells.size(); ++i) zone.cells[i]->index = static_cast<int>(i);
    }
  }

  // rep resources.go `ResourceMatch`: the set of problems, empty if it fits.
  auto resource_problems = [](const CellState& state, const Resource& res) {
    std::set<std::string> problems;
    if (state.available_resources.disk_mb < res.disk_mb) problems.insert("disk");
    if (state.available_resources.memory_mb < res.memory_mb) problems.insert("memory");
    if (state.available_resources.containers < 1) problems.insert("containers");
    return problems;
  };
  auto insufficient = [](const std::set<std::string>& problems) {
    if (problems.empty()) return std::string("insufficient resources");
    return "insufficient resources: " + absl::StrJoin(problems, ", ");
  };
  // rep resources.go `CellState.ComputeScore`.
  auto compute_score = [&](const CellState& state, const Resource& res) {
    int64_t memory = int64_t{state.available_resources.memory_mb} - res.memory_mb;
    int64_t disk = int64_t{state.available_resources.disk_mb} - res.disk_mb;
    int64_t containers = int64_t{state.available_resources.containers} - 1;
    double fraction_memory = 1.0 - double(memory) / double(state.total_resources.memory_mb);
    double fraction_disk = 1.0 - double(disk) / double(state.total_resources.disk_mb);
    double fraction_containers =
        1.0 - double(containers) / double(state.total_resources.containers);
    double resource_score = (fraction_memory + fraction_disk + fraction_containers) / 3.0;
    double starting_score =
        double(state.starting_container_count) * config.starting_container_weight;
    return resource_score + starting_score;
  };
  // scheduler.go `filterCells` over one zone: the compatible cells, and the
  // most specific mismatch seen if there are none.
  auto filter_cells = [](const std::vector<Cell*>& cells, const PlacementConstraint& pc,
                         std::optional<model::PlacementMismatch>* error) {
    std::vector<Cell*> compatible;
    *error = model::PlacementMismatch::kRootFs;
    for (Cell* cell : cells) {
      if (cell->state.rootfs_providers.Match(absl::string_view(pc.root_fs))) {
        if (*error == model::PlacementMismatch::kRootFs) {
          *error = model::PlacementMismatch::kVolumeDrivers;
        }
        if (model::MatchVolumeDrivers(pc.volume_drivers, cell->state.volume_drivers)) {
          if (*error == model::PlacementMismatch::kVolumeDrivers) {
            *error = model::PlacementMismatch::kPlacementTags;
          }
          if (model::MatchPlacementTags(pc.placement_tags, cell->state.placement_tags,
                                        cell->state.optional_placement_tags)) {
            *error = std::nullopt;
            compatible.push_back(cell);
          }
        }
      }
    }
    return compatible;
  };

  int64_t inflight = 0;
  for (const Cell& cell : all_cells) inflight += cell.state.starting_container_count;
  auto exceeded = [&] { return config.max_inflight > 0 && inflight >= config.max_inflight; };

  // Scheduling order, as input indices (sortable_auctions.go).
  std::vector<size_t> lrp_order;
  for (size_t i = 0; i < lrps.size(); ++i) lrp_order.push_back(i);
  std::stable_sort(lrp_order.begin(), lrp_order.end(), [&](size_t a, size_t b) {
    if (lrps[a].lrp.index == lrps[b].lrp.index) {
      return lrps[a].lrp.resource.memory_mb > lrps[b].lrp.resource.memory_mb;
    }
    return lrps[a].lrp.index < lrps[b].lrp.index;
  });
  std::vector<size_t> task_order;
  for (size_t i = 0; i < tasks.size(); ++i) task_order.push_back(i);
  std::stable_sort(task_order.begin(), task_order.end(), [&](size_t a, size_t b) {
    return tasks[a].task.resource.memory_mb > tasks[b].task.resource.memory_mb;
  });
  size_t split = lrp_order.size();
  for (size_t i = 0; i < lrp_order.size(); ++i) {
    if (lrps[lrp_order[i]].lrp.index > 0) {
      split = i;
      break;
    }
  }
  // Whether each auction (by input index) was placed.
  std::vector<bool> lrp_placed(lrps.size(), false);
  std::vector<bool> task_placed(tasks.size(), false);

  // scheduler.go `scheduleLRPAuction`.
  auto schedule_lrp = [&](LrpAuction& auction) -> Cell* {
    const Lrp& lrp = auction.lrp;
    struct LrpByZone {
      std::vector<Cell*> cells;
      int instances;
    };
    // accumulateZonesByInstances + filterZones.
    std::vector<LrpByZone> filtered;
    std::optional<model::PlacementMismatch> zone_error;
    bool any_error = false;
    for (Zone& zone : zones) {
      int instances = 0;
      for (Cell* cell : zone.cells) {
        for (const Lrp& existing : cell->state.lrps) {
          if (existing.process_guid == lrp.process_guid) instances++;
        }
      }
      std::optional<model::PlacementMismatch> error;
      std::vector<Cell*> cells = filter_cells(zone.cells, lrp.constraint, &error);
      if (cells.empty()) {
        zone_error = any_error ? model::MoreSpecific(*zone_error, *error) : *error;
        any_error = true;
        continue;
      }
      filtered.push_back(LrpByZone{cells, instances});
    }
    if (filtered.empty()) {
      auction.record.placement_error =
          model::PlacementMismatchMessage(*zone_error, lrp.constraint.placement_tags);
      return nullptr;
    }
    std::stable_sort(filtered.begin(), filtered.end(), [](const LrpByZone& a, const LrpByZone& b) {
      return a.instances < b.instances;
    });

    Cell* winner = nullptr;
    double winner_score = 1e20;
    std::set<std::string> problems = {"disk", "memory", "containers"};
    for (size_t z = 0; z < filtered.size(); ++z) {
      for (Cell* cell : filtered[z].cells) {
        // cell.go `ScoreForLRP`.
        Resource proxied = lrp.resource;
        proxied.memory_mb = lrp.resource.memory_mb + cell->state.proxy_memory_allocation_mb;
        std::set<std::string> cell_problems = resource_problems(cell->state, proxied);
        if (!cell_problems.empty()) {
          std::set<std::string> kept;
          for (const std::string& p : problems) {
            if (cell_problems.count(p) > 0) kept.insert(p);
          }
          problems = kept;
          continue;
        }
        int same_app = 0;
        for (const Lrp& existing : cell->state.lrps) {
          if (existing.process_guid == lrp.process_guid) same_app++;
        }
        int locality_score = 1000 * same_app;
        double resource_score = compute_score(cell->state, proxied);
        double index_score = double(cell->index) * config.bin_pack_first_fit_weight;
        double score = resource_score + double(locality_score) + index_score;
        if (score < winner_score) {
          winner_score = score;
          winner = cell;
        }
      }
      if (z + 1 < filtered.size() && filtered[z].instances == filtered[z + 1].instances) continue;
      if (winner != nullptr) break;
    }
    if (winner == nullptr) {
      auction.record.placement_error = insufficient(problems);
      return nullptr;
    }
    // cell.go `ReserveLRP` + resources.go `AddLRP`.
    std::set<std::string> reserve_problems = resource_problems(winner->state, lrp.resource);
    if (!reserve_problems.empty()) {
      auction.record.placement_error = insufficient(reserve_problems);
      return nullptr;
    }
    winner->state.available_resources.memory_mb -= lrp.resource.memory_mb;
    winner->state.available_resources.disk_mb -= lrp.resource.disk_mb;
    winner->state.available_resources.containers -= 1;
    winner->state.starting_container_count += 1;
    winner->state.lrps.push_back(lrp);
    winner->work.lrps.push_back(lrp);
    return winner;
  };

  // scheduler.go `scheduleTaskAuction`.
  auto schedule_task = [&](TaskAuction& auction) -> Cell* {
    const Task& task = auction.task;
    std::vector<std::vector<Cell*>> filtered;
    std::optional<model::PlacementMismatch> zone_error;
    bool any_error = false;
    for (Zone& zone : zones) {
      std::optional<model::PlacementMismatch> error;
      std::vector<Cell*> cells = filter_cells(zone.cells, task.constraint, &error);
      if (cells.empty()) {
        zone_error = any_error ? model::MoreSpecific(*zone_error, *error) : *error;
        any_error = true;
        continue;
      }
      filtered.push_back(cells);
    }
    if (filtered.empty()) {
      auction.record.placement_error =
          model::PlacementMismatchMessage(*zone_error, task.constraint.placement_tags);
      return nullptr;
    }
    Cell* winner = nullptr;
    double winner_score = 1e20;
    std::set<std::string> problems = {"disk", "memory", "containers"};
    for (const std::vector<Cell*>& zone : filtered) {
      for (Cell* cell : zone) {
        // cell.go `ScoreForTask`.
        std::set<std::string> cell_problems = resource_problems(cell->state, task.resource);
        if (!cell_problems.empty()) {
          std::set<std::string> kept;
          for (const std::string& p : problems) {
            if (cell_problems.count(p) > 0) kept.insert(p);
          }
          problems = kept;
          continue;
        }
        int locality_score = 1000 * static_cast<int>(cell->state.tasks.size());
        double resource_score = compute_score(cell->state, task.resource);
        double score = resource_score + double(locality_score);
        if (score < winner_score) {
          winner_score = score;
          winner = cell;
        }
      }
    }
    if (winner == nullptr) {
      auction.record.placement_error = insufficient(problems);
      return nullptr;
    }
    std::set<std::string> reserve_problems = resource_problems(winner->state, task.resource);
    if (!reserve_problems.empty()) {
      auction.record.placement_error = insufficient(reserve_problems);
      return nullptr;
    }
    winner->state.available_resources.memory_mb -= task.resource.memory_mb;
    winner->state.available_resources.disk_mb -= task.resource.disk_mb;
    winner->state.available_resources.containers -= 1;
    winner->state.starting_container_count += 1;
    winner->state.tasks.push_back(task);
    winner->work.tasks.push_back(task);
    return winner;
  };

  auto auction_lrps = [&](size_t begin, size_t end) {
    for (size_t k = begin; k < end; ++k) {
      LrpAuction& auction = lrps[lrp_order[k]];
      auction.record.winner = "";
      auction.record.placement_error = "";
      if (exceeded()) {
        auction.record.placement_error = "waiting to start instance: reached in-flight start limit";
        continue;
      }
      Cell* winner = schedule_lrp(auction);
      if (winner != nullptr) {
        auction.record.winner = winner->state.cell_id;
        lrp_placed[lrp_order[k]] = true;
        inflight++;
      }
    }
  };

  auction_lrps(0, split);
  for (size_t i : task_order) {
    TaskAuction& auction = tasks[i];
    auction.record.winner = "";
    auction.record.placement_error = "";
    if (exceeded()) {
      auction.record.placement_error = "waiting to start instance: reached in-flight start limit";
      continue;
    }
    Cell* winner = schedule_task(auction);
    if (winner != nullptr) {
      auction.record.winner = winner->state.cell_id;
      task_placed[i] = true;
      inflight++;
    }
  }
  auction_lrps(split, lrp_order.size());

  // Result lists keep the input order.
  for (size_t i = 0; i < lrps.size(); ++i) {
    (lrp_placed[i] ? out.results.successful_lrps : out.results.failed_lrps).push_back(lrps[i]);
  }
  for (size_t i = 0; i < tasks.size(); ++i) {
    (task_placed[i] ? out.results.successful_tasks : out.results.failed_tasks).push_back(tasks[i]);
  }

  for (Cell& cell : all_cells) {
    if (!cell.work.lrps.empty() || !cell.work.tasks.empty()) {
      cell.work.cell_id = cell.state.cell_id;
      out.work.push_back(cell.work);
    }
  }
  return out;
}

}  // namespace diego::auction_internal

#endif  // DIEGO_AUCTION_REFERENCE_SCHEDULER_H_
