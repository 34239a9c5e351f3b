// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: simulation.h
// -----------------------------------------------------------------------------
//
// Diego's auction simulation (cloudfoundry/auction `simulation/`, diego-spec.md
// 4.6), in memory: simulated cells ("SimulationReps"), workload generators,
// one scheduling round through `Scheduler`, Diego's report metrics, the named
// experiments of `simulation_test.go` with their tolerances, and an SVG
// rendering of a run's per-cell distribution.
//
// Diego's simulation holds exactly one auction per experiment: every start
// request is handed to the auction runner at once, and the experiment waits
// until each has either won or failed. Failures are not re-auctioned (in a
// real deployment the BBS re-auctions them ~30 s later, which is outside the
// simulation). `RunSimulation` therefore runs one round.
//
// Everything here is deterministic given its inputs: randomness comes from a
// caller-supplied `absl::BitGenRef`, and the built-in scenarios seed their own
// generators. Only the measured `duration` depends on the `Clock`.
//
// Example:
//
//   std::vector<CellState> cells = NewSimulatedCluster({.num_cells = 10});
//   std::mt19937_64 rng(42);
//   WorkloadGenerator workload(rng);
//   DIEGO_ASSIGN_OR_RETURN(
//       SimulationRun run,
//       RunSimulation(cells, workload.UniqueApps(40, /*memory_mb=*/1), {}, {}));
//   SimulationReport report = BuildReport(run);
//   std::string svg = RenderDistributionSvg(report, "40 apps on 10 cells");
//
//   // Or every experiment of Diego's suite:
//   DIEGO_ASSIGN_OR_RETURN(std::vector<ScenarioResult> results, RunScenarios("diego"));
//   std::cout << FormatScenarioTable(results);

#ifndef DIEGO_AUCTION_SIMULATION_H_
#define DIEGO_AUCTION_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/auction/scheduler.h"
#include "diego/auction/types.h"
#include "diego/base/clock.h"

namespace diego::auction {

// -----------------------------------------------------------------------------
// Simulated cells
// -----------------------------------------------------------------------------

// Diego's simulated cell: 100 MB memory, 100 MB disk, 100 containers
// (simulation_suite_test.go `repResources`).
inline constexpr Resources kSimCellResources = {100, 100, 100};

// The stack every simulated cell offers (as `preloaded:linux`) and every
// simulated LRP requests.
inline constexpr char kSimStack[] = "linux";

// The domain of LRPs started by an auction. A simulated cell counts an LRP or
// task of this domain as a starting container (simulationrep.go), so it adds
// to `StartingContainerCount` on later rounds.
inline constexpr char kSimAuctionDomain[] = "auction";

// The domain of the LRPs an experiment pre-fills cells with; these are not
// starting containers.
inline constexpr char kSimRunningDomain[] = "domain";

// The volume driver every simulated cell reports (`defaultDrivers`).
inline constexpr char kSimVolumeDriver[] = "my-driver";

// The shape of a simulated cluster. Defaults are Diego's: 100 cells in 2
// zones.
struct ClusterSpec {
  int num_cells = 100;
  int num_zones = 2;
  Resources cell_resources = kSimCellResources;
  std::string stack = kSimStack;
};

// Returns the id of the `i`-th simulated cell (0-based): "REP-<i+1>", as in
// Diego's `cellGuid`.
std::string SimCellId(int i);

// Returns the zone of the `i`-th cell: "Z<i % num_zones>" (Diego's `zone`), so
// zones interleave: with 2 zones, REP-1, REP-3, ... are in Z0.
std::string SimZone(int i, int num_zones);

// Returns `spec.num_cells` empty cells. Cell `i` has id `SimCellId(i)`,
// `cell_index` i, zone `SimZone(i, spec.num_zones)`, total and available
// resources `spec.cell_resources`, a fixed-set `preloaded` rootfs provider
// holding `spec.stack`, and volume driver `kSimVolumeDriver`. `rep_url` is
// "sim://REP-<i+1>". A `num_zones` below 1 is treated as 1.
std::vector<CellState> NewSimulatedCluster(const ClusterSpec& spec);

// Starts `work` on `cell` as Diego's SimulationRep does and returns the part
// it could not start (with `cell_id` set to the cell's). Each LRP, then each
// task, in order, is started if the cell still has a free container and
// enough available memory and disk; starting appends it to the cell's list,
// subtracts its resources and one container, and increments
// `starting_container_count` if its domain is `kSimAuctionDomain`.
// Placement constraints are not checked (the scheduler did that).
//
// Diego's rep lets a cell go one container over capacity (it tests
// `Containers >= 0`); this one does not.
Work PerformSimulatedWork(const Work& work, CellState* cell);

// -----------------------------------------------------------------------------
// Workloads
// -----------------------------------------------------------------------------

// Returns the start request of instance `index` of `process_guid` as Diego's
// simulation builds it: domain `kSimAuctionDomain`, `memory_mb` MB memory,
// 1 MB disk, 10 max pids, rootfs `preloaded:<kSimStack>`, no tags or drivers.
LrpStartRequest SimLrpStartRequest(absl::string_view process_guid, int32_t index,
                                   int32_t memory_mb);

// Returns a running LRP for pre-filling a cell: like `SimLrpStartRequest`
// but domain `kSimRunningDomain`, state "RUNNING", and instance guid
// "<process_guid>-<index>".
Lrp SimRunningLrp(absl::string_view process_guid, int32_t index, int32_t memory_mb);

// Builds workloads with unique, readable process guids. Guids are
// "<prefix>-<n>" with `n` counting from 1 per prefix, like Diego's
// `util.NewGuid`; Diego's grayscale colour suffix is left out (the SVG
// derives a colour from the guid instead).
//
// Not thread-safe. Deterministic given the sequence of values `gen` yields.
class WorkloadGenerator {
 public:
  // `gen` must outlive the generator.
  explicit WorkloadGenerator(absl::BitGenRef gen);

  // Returns the next guid for `prefix`.
  std::string NewGuid(absl::string_view prefix);

  // `count` instances of `count` distinct apps ("BBB-<n>"), `memory_mb` each.
  // As in Diego's `generateUniqueLRPStartAuctions`, the `i`-th request is
  // for index `i`. Call `UniqueApps(1, m)` repeatedly for distinct apps at
  // index 0.
  std::vector<LrpStartRequest> UniqueApps(int count, int32_t memory_mb);

  // Instances 0..count-1 of `process_guid`, `memory_mb` each.
  std::vector<LrpStartRequest> InstancesOf(absl::string_view process_guid, int count,
                                           int32_t memory_mb);

  // `count` requests, the `i`-th for index `i` of a process guid drawn
  // uniformly from `process_guids` (Diego's
  // `generateLRPStartAuctionsWithRandomColor`). `process_guids` must not be
  // empty.
  std::vector<LrpStartRequest> RandomlyChosenApps(const std::vector<std::string>& process_guids,
                                                  int count, int32_t memory_mb);

  // Diego's large cold start mix scaled to `count` instances: 1, 2 and 4 MB
  // instances in the ratio 1800:200:50 (4 and 2 MB rounded down, the rest
  // 1 MB); of each size, half are distinct apps (`UniqueApps`) and half are
  // drawn from four coloured apps (`RandomlyChosenApps` over "purple", "red",
  // "orange", "teal" for 1 MB; "gray", "blue", "pink", "green" for 2 MB;
  // "lime", "cyan", "lightseagreen", "brown" for 4 MB); then shuffled.
  // 2050 instances give exactly Diego's 1800/200/50.
  std::vector<LrpStartRequest> LargeColdStartMix(int count);

  // `count` running LRPs of distinct apps ("AAA-<n>", index 0) for
  // pre-filling a cell (Diego's `generateUniqueLRPs`).
  std::vector<Lrp> RunningUniqueLrps(int count, int32_t memory_mb);

  // Returns an integer uniformly drawn from [lo, hi] (Diego's
  // `util.RandomIntIn`). Requires lo <= hi.
  int UniformInt(int lo, int hi);

  // Shuffles `requests` uniformly (Diego permutes the large cold start).
  void Shuffle(std::vector<LrpStartRequest>* requests);

 private:
  absl::BitGenRef gen_;
  std::map<std::string, int, std::less<>> counters_;
};

// -----------------------------------------------------------------------------
// Running one auction
// -----------------------------------------------------------------------------

struct SimulationOptions {
  // A name accepted by `NewPlacementStrategy` (strategies.h).
  std::string strategy = "diego";
  AuctionConfig config;
  // Times the round. Null means `Clock::Real()`. Not owned.
  Clock* clock = nullptr;
};

// One auction round and the cluster before and after it.
struct SimulationRun {
  std::vector<CellState> initial_cells;
  std::vector<CellState> final_cells;  // After performing the winning work.
  // Every auction appears once. An auction the scheduler placed but the cell
  // then rejected is among the failures, with an empty placement error (as
  // Diego's runner reports work a rep hands back).
  AuctionResults results;
  int num_lrp_auctions = 0;
  int num_task_auctions = 0;
  // Scheduling plus performing the work, measured with the options' clock.
  absl::Duration duration;
};

// Expands `lrps` into one auction per index and `tasks` into one auction each
// (all queued at the clock's `Now()`), schedules them in one round on
// `cells` with `options.strategy` and `options.config`, and performs each
// cell's work with `PerformSimulatedWork`.
//
// Returns kInvalidArgument (from `NewPlacementStrategy`) if the strategy name
// is unknown. Placement failures are results, not errors.
absl::StatusOr<SimulationRun> RunSimulation(std::vector<CellState> cells,
                                            const std::vector<LrpStartRequest>& lrps,
                                            const std::vector<TaskStartRequest>& tasks,
                                            const SimulationOptions& options);

// -----------------------------------------------------------------------------
// Report metrics (Diego's visualization/report.go)
// -----------------------------------------------------------------------------

// Returns Diego's distribution score of per-cell values: the population
// standard deviation divided by the mean. 0 for no values or a zero mean
// (Diego returns 0 for an all-empty initial layout).
double DistributionScore(const std::vector<double>& values);

// One cell's share of a run. Instances count LRPs and tasks; memory is the
// sum of their `memory_mb`.
struct CellDistribution {
  std::string cell_id;
  std::string zone;
  int32_t cell_index = 0;
  Resources total_resources;
  int initial_instances = 0;  // Present before the round.
  int new_instances = 0;      // Won in the round and started.
  int32_t initial_memory_mb = 0;
  int32_t new_memory_mb = 0;
};

struct SimulationReport {
  int num_auctions = 0;  // LRP and task auctions.
  int placed = 0;
  int failed = 0;
  // `DistributionScore` of memory used per cell before and after the round,
  // over every cell of the run.
  double initial_distribution_score = 0;
  double distribution_score = 0;
  std::vector<CellDistribution> cells;  // In the run's cell order.
  // New instances per zone, every zone of the run listed (sorted by zone).
  std::vector<std::pair<std::string, int>> new_instances_by_zone;
  absl::Duration duration;

  // Auctions per second of `duration`; 0 when the duration is zero.
  double AuctionsPerSecond() const;

  // Largest minus smallest entry of `new_instances_by_zone`; 0 with fewer
  // than two zones.
  int ZoneSpread() const;
};

SimulationReport BuildReport(const SimulationRun& run);

// Returns the number of successful LRP auctions won by each cell, keyed by
// cell id. Cells that won nothing are absent, as in Diego's
// `getFinalDistributions`.
std::map<std::string, int> LrpWinsByCell(const AuctionResults& results);

// -----------------------------------------------------------------------------
// Tolerances and scenarios (Diego's simulation_test.go)
// -----------------------------------------------------------------------------

struct ToleranceResult {
  bool passed = false;
  std::string reason;  // Why it failed, or a one-line summary when it passed.
};

// Diego's `assertSampleDistributionTolerances`: passes iff every value is
// within `tolerance` of the sample's mean (an empty sample passes, as in
// Diego). Each value carries a label (a cell id, a zone) used in the reason;
// `what` names the sample, e.g. "LRPs per winning cell".
ToleranceResult CheckWithinMean(const std::vector<std::pair<std::string, double>>& sample,
                                double tolerance, absl::string_view what);

// Diego's `assertDistributionTolerances`: the count of LRPs each winning cell
// received (cells that won nothing excluded) is within `tolerance` of the
// mean count.
ToleranceResult CheckEvenLrpDistribution(const SimulationRun& run, double tolerance);

// Diego's first-fit check: within each zone, taking its cells in
// `cell_index` order, the LRPs won per cell never increase; and the zones'
// totals are within `zone_tolerance` of their mean.
ToleranceResult CheckFirstFitPacking(const SimulationRun& run, double zone_tolerance);

// The starting point of one experiment.
struct ScenarioSetup {
  std::vector<CellState> cells;  // Pre-filled as the experiment requires.
  std::vector<LrpStartRequest> lrps;
  AuctionConfig config;
};

// One experiment: how to build it and how to judge it.
struct Scenario {
  // "<family>/<case>", e.g. "small-cold-starts/8-apps-on-4-cells". Unique.
  std::string name;
  // What is placed on what, and the tolerance, in one line.
  std::string description;
  // Builds the cluster, the start requests and the auction config.
  // Deterministic: seeds its own generator.
  std::function<ScenarioSetup()> setup;
  // Judges a finished run.
  std::function<ToleranceResult(const SimulationRun& run)> check;
};

// Every experiment of Diego's simulation suite (simulation_test.go), in its
// order:
//   - small-cold-starts: 8/40/200/800 distinct 1 MB apps on 4/10/20/40
//     cells; LRPs per winning cell within 1 of the mean.
//   - bin-pack-first-fit-{0.25,0.5,0.75}: first-fit weight w and starting
//     container weight 0.5, on the small cold start sizes; distinct apps
//     must fill low cell indices first (`CheckFirstFitPacking`, zones within
//     1), and instances of one app ("yellow") must still spread within 1.
//   - large-cold-starts: on 25 cells, 1800 1 MB + 200 2 MB + 50 4 MB
//     instances (half distinct apps, half drawn from 4 coloured apps per
//     size), shuffled; on 100 cells four times as many; within 10.
//   - imbalanced-deploy: 100 cells of which all but the last 5 (or 1) hold
//     50 running 1 MB LRPs; 500 (or 100) distinct 1 MB apps; within 1, so
//     the empty cells do not take everything.
//   - az-distribution: 3 cells in 2 zones, the lone Z1 cell holding 50
//     LRPs; 40 instances of "red" split evenly between the zones.
//   - watters-demo: 10/30/100 cells each pre-filled with 78..80 running LRPs;
//     80/200/400 instances of "red"; within 1.
//   - low-memory-packing: 1 cell; 80 distinct 1 MB apps and 2 instances of a
//     50 MB "red"; exactly 51 placed and 31 failed, red index 0 placed and
//     index 1 failed (boulders before pebbles, but never saturating).
// Default config unless stated: starting container weight 0.25, first-fit
// weight 0, no in-flight limit.
std::vector<Scenario> DiegoScenarios();

struct ScenarioResult {
  std::string name;
  std::string description;
  std::string strategy;
  SimulationRun run;
  SimulationReport report;
  ToleranceResult tolerance;
};

// Builds `scenario`, runs it with `strategy` (null `clock` = `Clock::Real()`)
// and judges it. Returns kInvalidArgument for an unknown strategy.
absl::StatusOr<ScenarioResult> RunScenario(const Scenario& scenario, absl::string_view strategy,
                                           Clock* clock = nullptr);

// Runs every scenario of `DiegoScenarios()` with `strategy`, in order.
// Returns kInvalidArgument for an unknown strategy.
absl::StatusOr<std::vector<ScenarioResult>> RunScenarios(absl::string_view strategy,
                                                         Clock* clock = nullptr);

// Returns a fixed-width text table, one row per result: scenario, placed,
// failed, distribution score (initial -> final), new instances per zone,
// duration and PASS/FAIL, followed by the failure reasons and a summary line
// ("37/37 scenarios passed with strategy \"diego\"").
std::string FormatScenarioTable(const std::vector<ScenarioResult>& results);

// -----------------------------------------------------------------------------
// SVG
// -----------------------------------------------------------------------------

// Renders `report` as a standalone SVG document (starting with "<svg"): one
// bar per cell, in cell order, whose height is the memory used after the
// round on a 0..capacity axis, coloured by zone; the memory that was already
// there before the round is overlaid in grey at the bottom of the bar. Each
// bar is the document's only kind of `<rect>`, so there is exactly one
// `<rect>` per cell. Also draws `title`, a subtitle with the placed/failed
// counts and distribution scores, axis labels ("memory used (MB)", "cells by
// index") and a zone legend. `title` is XML-escaped.
std::string RenderDistributionSvg(const SimulationReport& report, absl::string_view title);

// -----------------------------------------------------------------------------
// One-shot placement (`diego-auction-sim place`)
// -----------------------------------------------------------------------------

// A placement problem:
//   {"cells": [CellState...], "lrps": [LRPStartRequest...],
//    "tasks": [TaskStartRequest...],
//    "config": {"starting_container_weight": 0.25,
//               "bin_pack_first_fit_weight": 0.0, "max_inflight": 0}}
// in the rep's and auctioneer's JSON shapes (json.h). Only "cells" is
// required; missing config keys keep `AuctionConfig`'s defaults.
struct PlacementInput {
  std::vector<CellState> cells;
  std::vector<LrpStartRequest> lrps;
  std::vector<TaskStartRequest> tasks;
  AuctionConfig config;
};

// Parses `json_text` as a `PlacementInput`. Returns kInvalidArgument when the
// text is not JSON, is not an object, has a key other than the four above,
// lacks "cells", has a non-array list, an element the json.h decoder
// rejects, or a config value of the wrong type or outside its range
// (weights 0..1, max_inflight >= 0). The message starts with the JSON path of
// the offending value, e.g. "$.lrps[2]: ..." or
// "$.config.starting_container_weight: must be a number in [0, 1]".
absl::StatusOr<PlacementInput> ParsePlacementInput(absl::string_view json_text);

// The fate of one LRP instance or task: a winning cell, or an error.
struct LrpPlacement {
  std::string process_guid;
  int32_t index = 0;
  std::string cell_id;  // Empty if not placed.
  std::string error;    // Diego's placement error; empty if placed.
};

struct TaskPlacement {
  std::string task_guid;
  std::string cell_id;
  std::string error;
};

struct PlacementOutput {
  std::vector<LrpPlacement> lrps;    // Input order: request by request, index by index.
  std::vector<TaskPlacement> tasks;  // Input order.
};

// Schedules `input` in one round with `strategy` (no work is performed) and
// reports every instance and task in input order. Returns kInvalidArgument
// for an unknown strategy.
absl::StatusOr<PlacementOutput> Place(const PlacementInput& input, absl::string_view strategy);

// Encodes `output` as
//   {"lrps":[{"process_guid","index","cell_id"|"error"}],
//    "tasks":[{"task_guid","cell_id"|"error"}]}
// pretty-printed with two-space indentation. A failure with an empty error
// prints "error": "" rather than a cell.
std::string PlacementOutputToJson(const PlacementOutput& output);

}  // namespace diego::auction

#endif  // DIEGO_AUCTION_SIMULATION_H_
