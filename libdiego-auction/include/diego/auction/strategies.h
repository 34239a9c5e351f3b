// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: strategies.h
// -----------------------------------------------------------------------------
//
// `PlacementStrategy` is the seam through which `Scheduler` (scheduler.h)
// decides which cell wins one work item (an LRP instance or a task). The
// scheduler does everything that is not a choice: it orders the batch,
// applies the hard filters (rootfs, volume drivers, placement tags), checks
// resource fit, reports Diego's errors, enforces the in-flight limit and
// reserves the winner's resources. The strategy only picks one of the
// *candidates*: the cells that passed every hard filter and have room for the
// item. It sees them through a `PlacementContext`, which the scheduler
// implements for the item being placed.
//
// Three strategies are provided, selectable by name:
//
//   "diego"         Diego's own rule (auction auctionrunner/scheduler.go),
//                   reproduced exactly; the default. LRPs: zones are taken in
//                   ascending order of the instances of the LRP's
//                   process_guid they already hold; zones with equal counts
//                   form a tie group that is compared as one; the first group
//                   holding any eligible candidate supplies the winner. Tasks:
//                   every candidate in every zone is compared. The winner is
//                   the candidate with the lowest score (Appendix A); the
//                   first one in iteration order wins ties.
//   "best-fit"      Bin packing: among all eligible candidates (zones are
//                   ignored), the one with the least memory remaining after
//                   the placement; ties go to the lower Diego score, then to
//                   the first in iteration order.
//   "power-of-two"  Power of two choices: draws two candidates uniformly (with
//                   replacement) from the pool "diego" would choose from (the
//                   first zone tie group with an eligible candidate for LRPs,
//                   every zone for tasks) and keeps the one with the lower
//                   Diego score (the earlier in iteration order on ties). The
//                   draws come from a generator seeded with the strategy's
//                   seed and the item's identity (`<process_guid>.<index>` or
//                   the task guid), so a run is reproducible and independent
//                   of thread scheduling.
//
// "Eligible" means a candidate whose Diego score is below
// `kDiegoInitialBestScore` (so not NaN): Diego starts its scan from that
// score and keeps strictly lower ones, so no strategy places work where Diego
// never could.
//
// Example:
//
//   DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<PlacementStrategy> strategy,
//                          NewPlacementStrategy(flags.strategy));
//   Scheduler scheduler(strategy.get(), config);

#ifndef DIEGO_AUCTION_STRATEGIES_H_
#define DIEGO_AUCTION_STRATEGIES_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/auction/types.h"

namespace diego::auction {

// Diego's initial best score (`winnerScore := 1e20`): only candidates scoring
// strictly below it can win.
inline constexpr double kDiegoInitialBestScore = 1e20;

// Diego's `LocalityOffset`: added to the score per same-app instance (LRPs)
// or per task (tasks) already on the cell.
inline constexpr int32_t kLocalityOffset = 1000;

// Names accepted by `NewPlacementStrategy()`.
inline constexpr absl::string_view kDiegoStrategyName = "diego";
inline constexpr absl::string_view kBestFitStrategyName = "best-fit";
inline constexpr absl::string_view kPowerOfTwoStrategyName = "power-of-two";

// The default seed of the "power-of-two" strategy.
inline constexpr uint64_t kDefaultPowerOfTwoSeed = 0x5eed'd1e6'0a0c'7105ULL;

// What the scheduler knows about one candidate cell for the item being
// placed: the inputs of Diego's score and the score itself. All resources
// reflect the reservations made earlier in the same batch.
struct CandidateCell {
  // Index of the cell in the `cells` given to `Scheduler::Schedule`.
  int32_t cell = 0;
  // Index of the cell's zone in the `PlacementContext`.
  int32_t zone = 0;
  // Place of the cell in Diego's iteration order: zones in order of first
  // appearance in the cell list, and within a zone the cells in input order
  // (or, when `bin_pack_first_fit_weight > 0`, by `cell_index`, as Diego
  // sorts them). Lower positions are visited first and win score ties.
  int32_t position = 0;
  // The cell's free and total resources before this placement.
  Resources available;
  Resources total;
  // `available` minus the request (for LRPs the memory includes the cell's
  // `proxy_memory_allocation_mb`), with one container less: the resources
  // Diego scores.
  Resources remaining;
  // Containers the cell is still starting (reservations included).
  int32_t starting_container_count = 0;
  // LRPs: instances of the item's process_guid on the cell. Tasks: all tasks
  // on the cell.
  int32_t colocated = 0;
  // The cell index in the first-fit term: renormalised 0..n-1 within the
  // zone when `bin_pack_first_fit_weight > 0`, else the reported index.
  int32_t first_fit_index = 0;
  // Diego's score, computed in Diego's order (diego-spec.md Appendix A):
  //   R = ((1 - rem.mem/tot.mem) + (1 - rem.disk/tot.disk)
  //        + (1 - rem.containers/tot.containers)) / 3
  //   score = R + starting_container_count * starting_container_weight
  //           + 1000 * colocated
  //           + first_fit_index * bin_pack_first_fit_weight   (LRPs only)
  // May be NaN or infinite for cells reporting zero totals.
  double score = 0.0;
};

// The scheduler's view of one work item and its candidates, handed to
// `PlacementStrategy::ChooseCell()`. Implemented by the scheduler; valid only
// during that call. Thread-compatible.
class PlacementContext {
 public:
  virtual ~PlacementContext() = default;

  // The item being placed: exactly one of these is non-null.
  virtual const Lrp* lrp() const = 0;
  virtual const Task* task() const = 0;

  // Zones, in order of first appearance in the cell list. Every zone with a
  // cell is listed, including zones without candidates.
  virtual int32_t zone_count() const = 0;
  virtual absl::string_view zone_name(int32_t zone) const = 0;

  // LRPs: instances of the item's process_guid already in `zone`, counting
  // this batch's placements. Tasks: always 0.
  virtual int32_t ZoneInstances(int32_t zone) const = 0;

  // Calls `fn` for every candidate in `zone`, in iteration order. Linear in
  // the zone's cells.
  virtual void ForEachCandidate(int32_t zone,
                                absl::FunctionRef<void(const CandidateCell&)> fn) const = 0;

  // Returns the candidate in `zone` with the lowest `score` below +infinity
  // (NaN never counts), the first in iteration order on ties; `std::nullopt`
  // if there is none. Gives the answer of a scan over `ForEachCandidate()`
  // in roughly logarithmic time (the scheduler keeps per-request-shape
  // indexes), which is what makes "diego" fast.
  virtual std::optional<CandidateCell> LowestScoreCandidate(int32_t zone) const = 0;
};

// Chooses the winning cell for one work item. Implementations must be
// deterministic for a given context and safe to call concurrently (the
// scheduler's `Schedule` is const and may run on several threads).
class PlacementStrategy {
 public:
  virtual ~PlacementStrategy() = default;

  // The name `NewPlacementStrategy()` knows the strategy by.
  virtual absl::string_view name() const = 0;

  // Returns the `CandidateCell::cell` of the winner, which must be one of
  // `context`'s candidates, or `std::nullopt` to place the item nowhere (the
  // scheduler then reports Diego's `insufficient resources` error).
  virtual std::optional<int32_t> ChooseCell(const PlacementContext& context) const = 0;
};

// Diego's rule; see the file comment.
std::unique_ptr<PlacementStrategy> NewDiegoStrategy();

// Bin packing by remaining memory; see the file comment.
std::unique_ptr<PlacementStrategy> NewBestFitStrategy();

// Power of two choices with draws derived from `seed`; see the file comment.
std::unique_ptr<PlacementStrategy> NewPowerOfTwoStrategy(uint64_t seed = kDefaultPowerOfTwoSeed);

// Returns the strategy called `name` (exact, case-sensitive match against
// `PlacementStrategyNames()`), with default parameters. Returns
// `kInvalidArgument` naming `name` and listing the valid names otherwise.
[[nodiscard]] absl::StatusOr<std::unique_ptr<PlacementStrategy>> NewPlacementStrategy(
    absl::string_view name);

// The valid strategy names, default ("diego") first.
std::vector<std::string> PlacementStrategyNames();

}  // namespace diego::auction

#endif  // DIEGO_AUCTION_STRATEGIES_H_
