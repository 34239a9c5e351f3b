// Copyright 2026 The libdiego Authors.

#include "diego/auction/simulation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/auction/json.h"
#include "diego/auction/scheduler.h"
#include "diego/auction/strategies.h"
#include "diego/auction/types.h"
#include "diego/base/clock.h"
#include "diego/base/status_macros.h"
#include "diego/model/rootfs.h"
#include "nlohmann/json.hpp"

namespace diego::auction {
namespace {

// Memory (MB) held by the LRPs and tasks in a cell's lists.
int32_t MemoryInUse(const CellState& cell) {
  int32_t memory = 0;
  for (const Lrp& lrp : cell.lrps) memory += lrp.resource.memory_mb;
  for (const Task& task : cell.tasks) memory += task.resource.memory_mb;
  return memory;
}

int InstancesInUse(const CellState& cell) {
  return static_cast<int>(cell.lrps.size() + cell.tasks.size());
}

// True if `cell` can take one more container of `resource` (the check of
// Diego's SimulationRep.Perform, without its off-by-one on containers).
bool HasRoom(const CellState& cell, const Resource& resource) {
  return cell.available_resources.containers >= 1 &&
         cell.available_resources.memory_mb >= resource.memory_mb &&
         cell.available_resources.disk_mb >= resource.disk_mb;
}

void Reserve(const Resource& resource, absl::string_view domain, CellState* cell) {
  cell->available_resources.containers -= 1;
  cell->available_resources.memory_mb -= resource.memory_mb;
  cell->available_resources.disk_mb -= resource.disk_mb;
  if (domain == kSimAuctionDomain) ++cell->starting_container_count;
}

// A stable 64-bit FNV-1a hash, used to seed each scenario from its name so
// scenarios do not share random streams and stay deterministic.
uint64_t Fnv1a(absl::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

// Index of each cell id in `cells`.
std::map<std::string, size_t, std::less<>> CellPositions(const std::vector<CellState>& cells) {
  std::map<std::string, size_t, std::less<>> positions;
  for (size_t i = 0; i < cells.size(); ++i) positions.emplace(cells[i].cell_id, i);
  return positions;
}

// -----------------------------------------------------------------------------
// Scenario building blocks.
// -----------------------------------------------------------------------------

// Places `lrps` on `cell` as Diego's JustBeforeEach does (`Perform` of the
// initial distribution).
void Prefill(std::vector<Lrp> lrps, CellState* cell) {
  Work work;
  work.lrps = std::move(lrps);
  PerformSimulatedWork(work, cell);
}

std::string FormatWeight(double w) { return absl::StrFormat("%.2f", w); }

ScenarioSetup ColdStartSetup(absl::string_view name, int num_cells, int num_apps) {
  std::mt19937_64 rng(Fnv1a(name));
  WorkloadGenerator workload(rng);
  ScenarioSetup setup;
  setup.cells = NewSimulatedCluster({.num_cells = num_cells});
  setup.lrps = workload.UniqueApps(num_apps, 1);
  return setup;
}

void AddSmallColdStarts(std::vector<Scenario>* scenarios) {
  constexpr int kApps[] = {8, 40, 200, 800};
  constexpr int kCells[] = {4, 10, 20, 40};
  for (int i = 0; i < 4; ++i) {
    const int apps = kApps[i];
    const int cells = kCells[i];
    std::string name = absl::StrFormat("small-cold-starts/%d-apps-on-%d-cells", apps, cells);
    scenarios->push_back(Scenario{
        .name = name,
        .description = absl::StrFormat(
            "%d distinct 1 MB apps on %d empty cells; LRPs per winning cell within 1 of the mean",
            apps, cells),
        .setup = [name, apps, cells] { return ColdStartSetup(name, cells, apps); },
        .check = [](const SimulationRun& run) { return CheckEvenLrpDistribution(run, 1); },
    });
  }
}

void AddBinPackFirstFit(std::vector<Scenario>* scenarios) {
  constexpr int kApps[] = {8, 40, 200, 800};
  constexpr int kCells[] = {4, 10, 20, 40};
  constexpr double kWeights[] = {0.25, 0.5, 0.75};
  // Diego's bin-pack experiments also raise the starting container weight.
  constexpr double kStartingContainerWeight = 0.5;
  for (double weight : kWeights) {
    AuctionConfig config;
    config.bin_pack_first_fit_weight = weight;
    config.starting_container_weight = kStartingContainerWeight;
    for (int i = 0; i < 4; ++i) {
      const int apps = kApps[i];
      const int cells = kCells[i];
      const std::string prefix = absl::StrFormat("bin-pack-first-fit-%s/%d-apps-on-%d-cells",
                                                 FormatWeight(weight), apps, cells);
      std::string packed = absl::StrCat(prefix, "/favors-low-index");
      scenarios->push_back(Scenario{
          .name = packed,
          .description = absl::StrFormat(
              "%d distinct 1 MB apps on %d cells, first-fit weight %s, starting weight 0.5; "
              "load never increases with cell index within a zone, zones within 1",
              apps, cells, FormatWeight(weight)),
          .setup =
              [packed, apps, cells, config] {
                ScenarioSetup setup = ColdStartSetup(packed, cells, apps);
                setup.config = config;
                return setup;
              },
          .check = [](const SimulationRun& run) { return CheckFirstFitPacking(run, 1); },
      });
      std::string spread = absl::StrCat(prefix, "/one-app-spreads-evenly");
      scenarios->push_back(Scenario{
          .name = spread,
          .description =
              absl::StrFormat("%d instances of \"yellow\" (1 MB) on %d cells, first-fit weight %s; "
                              "LRPs per winning cell within 1 of the mean",
                              apps, cells, FormatWeight(weight)),
          .setup =
              [spread, apps, cells, config] {
                std::mt19937_64 rng(Fnv1a(spread));
                WorkloadGenerator workload(rng);
                ScenarioSetup setup;
                setup.cells = NewSimulatedCluster({.num_cells = cells});
                setup.lrps = workload.InstancesOf("yellow", apps, 1);
                setup.config = config;
                return setup;
              },
          .check = [](const SimulationRun& run) { return CheckEvenLrpDistribution(run, 1); },
      });
    }
  }
}

void AddLargeColdStarts(std::vector<Scenario>* scenarios) {
  for (int scale : {1, 4}) {
    const int cells = 25 * scale;
    const int one_mb = 1800 * scale;
    const int two_mb = 200 * scale;
    const int four_mb = 50 * scale;
    std::string name = absl::StrFormat("large-cold-starts/%d-cells", cells);
    scenarios->push_back(Scenario{
        .name = name,
        .description = absl::StrFormat(
            "%d x 1 MB, %d x 2 MB and %d x 4 MB instances (half distinct apps, half drawn from "
            "4 coloured apps per size), shuffled, on %d cells; within 10 of the mean",
            one_mb, two_mb, four_mb, cells),
        .setup =
            [name, cells, total = one_mb + two_mb + four_mb] {
              std::mt19937_64 rng(Fnv1a(name));
              WorkloadGenerator workload(rng);
              ScenarioSetup setup;
              setup.cells = NewSimulatedCluster({.num_cells = cells});
              setup.lrps = workload.LargeColdStartMix(total);
              return setup;
            },
        .check = [](const SimulationRun& run) { return CheckEvenLrpDistribution(run, 10); },
    });
  }
}

void AddImbalancedDeploy(std::vector<Scenario>* scenarios) {
  constexpr int kCells = 100;
  constexpr int kEmpty[] = {5, 1};
  constexpr int kApps[] = {500, 100};
  for (int i = 0; i < 2; ++i) {
    const int empty = kEmpty[i];
    const int apps = kApps[i];
    std::string name =
        absl::StrFormat("imbalanced-deploy/%d-empty-of-%d-cells-%d-apps", empty, kCells, apps);
    scenarios->push_back(Scenario{
        .name = name,
        .description = absl::StrFormat(
            "%d cells, all but the last %d holding 50 running 1 MB LRPs; %d distinct 1 MB apps; "
            "within 1 of the mean (the empty cells must not take everything)",
            kCells, empty, apps),
        .setup =
            [name, empty, apps] {
              std::mt19937_64 rng(Fnv1a(name));
              WorkloadGenerator workload(rng);
              ScenarioSetup setup;
              setup.cells = NewSimulatedCluster({.num_cells = kCells});
              for (int j = 0; j < kCells - empty; ++j) {
                Prefill(workload.RunningUniqueLrps(50, 1), &setup.cells[j]);
              }
              setup.lrps = workload.UniqueApps(apps, 1);
              return setup;
            },
        .check = [](const SimulationRun& run) { return CheckEvenLrpDistribution(run, 1); },
    });
  }
}

// Diego's "AZ distribution": the lone Z1 cell is loaded, yet it must take
// half of the new app's instances.
ToleranceResult CheckZonesEqual(const SimulationRun& run) {
  const SimulationReport report = BuildReport(run);
  std::vector<std::string> parts;
  int min = 0;
  int max = 0;
  for (size_t i = 0; i < report.new_instances_by_zone.size(); ++i) {
    const auto& [zone, count] = report.new_instances_by_zone[i];
    parts.push_back(absl::StrCat(zone, "=", count));
    min = i == 0 ? count : std::min(min, count);
    max = i == 0 ? count : std::max(max, count);
  }
  const std::string zones = absl::StrJoin(parts, " ");
  if (min != max) {
    return {false, absl::StrCat("new instances per zone differ: ", zones)};
  }
  return {true, absl::StrCat("new instances per zone equal: ", zones)};
}

void AddAzDistribution(std::vector<Scenario>* scenarios) {
  std::string name = "az-distribution/lone-loaded-cell-in-z1";
  scenarios->push_back(Scenario{
      .name = name,
      .description = "3 cells in 2 zones, the lone Z1 cell (REP-2) holding 50 running 1 MB LRPs; "
                     "40 instances of \"red\" split evenly between the zones",
      .setup =
          [name] {
            std::mt19937_64 rng(Fnv1a(name));
            WorkloadGenerator workload(rng);
            ScenarioSetup setup;
            setup.cells = NewSimulatedCluster({.num_cells = 3});
            Prefill(workload.RunningUniqueLrps(50, 1), &setup.cells[1]);
            setup.lrps = workload.InstancesOf("red", 40, 1);
            return setup;
          },
      .check = CheckZonesEqual,
  });
}

void AddWattersDemo(std::vector<Scenario>* scenarios) {
  constexpr int kCells[] = {10, 30, 100};
  constexpr int kApps[] = {80, 200, 400};
  for (int i = 0; i < 3; ++i) {
    const int cells = kCells[i];
    const int apps = kApps[i];
    std::string name = absl::StrFormat("watters-demo/%d-instances-on-%d-cells", apps, cells);
    scenarios->push_back(Scenario{
        .name = name,
        .description = absl::StrFormat(
            "%d cells each holding 78..80 running 1 MB LRPs; %d instances of \"red\" (1 MB); "
            "within 1 of the mean",
            cells, apps),
        .setup =
            [name, cells, apps] {
              std::mt19937_64 rng(Fnv1a(name));
              WorkloadGenerator workload(rng);
              ScenarioSetup setup;
              setup.cells = NewSimulatedCluster({.num_cells = cells});
              for (CellState& cell : setup.cells) {
                Prefill(workload.RunningUniqueLrps(workload.UniformInt(78, 80), 1), &cell);
              }
              setup.lrps = workload.InstancesOf("red", apps, 1);
              return setup;
            },
        .check = [](const SimulationRun& run) { return CheckEvenLrpDistribution(run, 1); },
    });
  }
}

ToleranceResult CheckLowMemoryPacking(const SimulationRun& run) {
  const AuctionResults& results = run.results;
  const int placed = static_cast<int>(results.successful_lrps.size());
  const int failed = static_cast<int>(results.failed_lrps.size());
  auto contains = [](const std::vector<LrpAuction>& auctions, int32_t index) {
    return std::any_of(auctions.begin(), auctions.end(), [index](const LrpAuction& a) {
      return a.lrp.process_guid == "red" && a.lrp.index == index;
    });
  };
  std::vector<std::string> problems;
  if (placed != 51) problems.push_back(absl::StrCat("placed ", placed, ", want 51"));
  if (failed != 31) problems.push_back(absl::StrCat("failed ", failed, ", want 31"));
  if (!contains(results.successful_lrps, 0)) problems.push_back("red-0 was not placed");
  if (!contains(results.failed_lrps, 1)) problems.push_back("red-1 did not fail");
  if (!problems.empty()) return {false, absl::StrJoin(problems, "; ")};
  return {true, "51 placed, 31 failed; red-0 won, red-1 lost"};
}

void AddLowMemoryPacking(std::vector<Scenario>* scenarios) {
  std::string name = "low-memory-packing/80-pebbles-2-boulders-on-1-cell";
  scenarios->push_back(Scenario{
      .name = name,
      .description = "1 cell; 80 distinct 1 MB apps and 2 instances of a 50 MB \"red\"; 51 placed, "
                     "31 failed, red-0 placed (boulders first), red-1 failed",
      .setup =
          [name] {
            std::mt19937_64 rng(Fnv1a(name));
            WorkloadGenerator workload(rng);
            ScenarioSetup setup;
            setup.cells = NewSimulatedCluster({.num_cells = 1});
            // Separate calls, so every pebble is index 0 of its own app.
            for (int i = 0; i < 80; ++i) {
              std::vector<LrpStartRequest> one = workload.UniqueApps(1, 1);
              setup.lrps.insert(setup.lrps.end(), one.begin(), one.end());
            }
            std::vector<LrpStartRequest> red = workload.InstancesOf("red", 2, 50);
            setup.lrps.insert(setup.lrps.end(), red.begin(), red.end());
            return setup;
          },
      .check = CheckLowMemoryPacking,
  });
}

// -----------------------------------------------------------------------------
// SVG helpers.
// -----------------------------------------------------------------------------

std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

constexpr const char* kZoneColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                       "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"};
constexpr size_t kNumZoneColors = sizeof(kZoneColors) / sizeof(kZoneColors[0]);

// -----------------------------------------------------------------------------
// JSON input helpers.
// -----------------------------------------------------------------------------

absl::Status PathError(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

// Prefixes a json.h decoding error with the element's path. json.h reports
// "<path>: <problem>" with a path relative to the decoded element (e.g.
// "AvailableResources.MemoryMB: expected an integer"), or just "<problem>"
// for the element itself; the two are joined into one path.
absl::Status InElement(absl::string_view element_path, absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon != absl::string_view::npos && colon > 0 &&
      message.substr(0, colon).find(' ') == absl::string_view::npos) {
    const absl::string_view inner = message.substr(0, colon);
    return PathError(absl::StrCat(element_path, inner.front() == '[' ? "" : ".", inner),
                     message.substr(colon + 2));
  }
  return PathError(element_path, message);
}

template <typename T, typename Decode>
absl::StatusOr<std::vector<T>> DecodeArray(const nlohmann::json& doc, absl::string_view key,
                                           Decode decode) {
  std::vector<T> out;
  const std::string path = absl::StrCat("$.", key);
  auto it = doc.find(std::string(key));
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array()) return PathError(path, "must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string element_path = absl::StrCat(path, "[", i, "]");
    const nlohmann::json& element = (*it)[i];
    if (!element.is_object()) return PathError(element_path, "must be an object");
    absl::StatusOr<T> decoded = decode(element.dump());
    if (!decoded.ok()) return InElement(element_path, decoded.status().message());
    out.push_back(*std::move(decoded));
  }
  return out;
}

absl::StatusOr<double> ParseWeight(const nlohmann::json& value, absl::string_view path) {
  if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1) {
    return PathError(path, "must be a number in [0, 1]");
  }
  return value.get<double>();
}

absl::StatusOr<AuctionConfig> ParseConfig(const nlohmann::json& doc) {
  AuctionConfig config;
  auto it = doc.find("config");
  if (it == doc.end() || it->is_null()) return config;
  if (!it->is_object()) return PathError("$.config", "must be an object");
  for (const auto& [key, value] : it->items()) {
    const std::string path = absl::StrCat("$.config.", key);
    if (key == "starting_container_weight") {
      DIEGO_ASSIGN_OR_RETURN(config.starting_container_weight, ParseWeight(value, path));
    } else if (key == "bin_pack_first_fit_weight") {
      DIEGO_ASSIGN_OR_RETURN(config.bin_pack_first_fit_weight, ParseWeight(value, path));
    } else if (key == "max_inflight") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
          value.get<int64_t>() > INT32_MAX) {
        return PathError(path, "must be a non-negative integer");
      }
      config.max_inflight = static_cast<int32_t>(value.get<int64_t>());
    } else {
      return PathError(path,
                       "unknown key (expected starting_container_weight, "
                       "bin_pack_first_fit_weight or max_inflight)");
    }
  }
  return config;
}

}  // namespace

// -----------------------------------------------------------------------------
// Simulated cells.
// -----------------------------------------------------------------------------

std::string SimCellId(int i) { return absl::StrCat("REP-", i + 1); }

std::string SimZone(int i, int num_zones) { return absl::StrCat("Z", i % std::max(1, num_zones)); }

std::vector<CellState> NewSimulatedCluster(const ClusterSpec& spec) {
  std::vector<CellState> cells;
  cells.reserve(std::max(0, spec.num_cells));
  for (int i = 0; i < spec.num_cells; ++i) {
    CellState cell;
    cell.cell_id = SimCellId(i);
    cell.rep_url = absl::StrCat("sim://", cell.cell_id);
    cell.cell_index = i;
    cell.zone = SimZone(i, spec.num_zones);
    cell.rootfs_providers.SetFixedSet(model::kPreloadedRootFsScheme, {spec.stack});
    cell.total_resources = spec.cell_resources;
    cell.available_resources = spec.cell_resources;
    cell.volume_drivers = {kSimVolumeDriver};
    cells.push_back(std::move(cell));
  }
  return cells;
}

Work PerformSimulatedWork(const Work& work, CellState* cell) {
  Work failed;
  failed.cell_id = cell->cell_id;
  for (const Lrp& lrp : work.lrps) {
    if (!HasRoom(*cell, lrp.resource)) {
      failed.lrps.push_back(lrp);
      continue;
    }
    Reserve(lrp.resource, lrp.domain, cell);
    cell->lrps.push_back(lrp);
  }
  for (const Task& task : work.tasks) {
    if (!HasRoom(*cell, task.resource)) {
      failed.tasks.push_back(task);
      continue;
    }
    Reserve(task.resource, task.domain, cell);
    cell->tasks.push_back(task);
  }
  return failed;
}

// -----------------------------------------------------------------------------
// Workloads.
// -----------------------------------------------------------------------------

LrpStartRequest SimLrpStartRequest(absl::string_view process_guid, int32_t index,
                                   int32_t memory_mb) {
  LrpStartRequest request;
  request.process_guid = std::string(process_guid);
  request.domain = kSimAuctionDomain;
  request.indices = {index};
  request.constraint.root_fs = model::PreloadedRootFs(kSimStack);
  request.resource = Resource{.memory_mb = memory_mb, .disk_mb = 1, .max_pids = 10};
  return request;
}

Lrp SimRunningLrp(absl::string_view process_guid, int32_t index, int32_t memory_mb) {
  Lrp lrp;
  lrp.instance_guid = absl::StrCat(process_guid, "-", index);
  lrp.process_guid = std::string(process_guid);
  lrp.index = index;
  lrp.domain = kSimRunningDomain;
  lrp.constraint.root_fs = model::PreloadedRootFs(kSimStack);
  lrp.resource = Resource{.memory_mb = memory_mb, .disk_mb = 1, .max_pids = 10};
  lrp.state = "RUNNING";
  return lrp;
}

WorkloadGenerator::WorkloadGenerator(absl::BitGenRef gen) : gen_(gen) {}

std::string WorkloadGenerator::NewGuid(absl::string_view prefix) {
  auto it = counters_.find(prefix);
  if (it == counters_.end()) it = counters_.emplace(std::string(prefix), 0).first;
  return absl::StrCat(prefix, "-", ++it->second);
}

std::vector<LrpStartRequest> WorkloadGenerator::UniqueApps(int count, int32_t memory_mb) {
  std::vector<LrpStartRequest> requests;
  for (int i = 0; i < count; ++i) {
    requests.push_back(SimLrpStartRequest(NewGuid("BBB"), i, memory_mb));
  }
  return requests;
}

std::vector<LrpStartRequest> WorkloadGenerator::InstancesOf(absl::string_view process_guid,
                                                            int count, int32_t memory_mb) {
  std::vector<LrpStartRequest> requests;
  for (int i = 0; i < count; ++i) {
    requests.push_back(SimLrpStartRequest(process_guid, i, memory_mb));
  }
  return requests;
}

std::vector<LrpStartRequest> WorkloadGenerator::RandomlyChosenApps(
    const std::vector<std::string>& process_guids, int count, int32_t memory_mb) {
  std::vector<LrpStartRequest> requests;
  if (process_guids.empty()) return requests;
  for (int i = 0; i < count; ++i) {
    const int pick = UniformInt(0, static_cast<int>(process_guids.size()) - 1);
    requests.push_back(SimLrpStartRequest(process_guids[pick], i, memory_mb));
  }
  return requests;
}

std::vector<LrpStartRequest> WorkloadGenerator::LargeColdStartMix(int count) {
  static const std::vector<std::string> kColors = {"purple", "red",  "orange",        "teal",
                                                   "gray",   "blue", "pink",          "green",
                                                   "lime",   "cyan", "lightseagreen", "brown"};
  auto colors = [](int from) {
    return std::vector<std::string>(kColors.begin() + from, kColors.begin() + from + 4);
  };
  count = std::max(0, count);
  const int four_mb = static_cast<int>(int64_t{count} * 50 / 2050);
  const int two_mb = static_cast<int>(int64_t{count} * 200 / 2050);
  const int one_mb = count - two_mb - four_mb;
  std::vector<LrpStartRequest> requests;
  auto append = [&requests](std::vector<LrpStartRequest> more) {
    requests.insert(requests.end(), more.begin(), more.end());
  };
  // Diego's generation order: for each size, distinct apps then coloured.
  append(UniqueApps(one_mb / 2, 1));
  append(RandomlyChosenApps(colors(0), one_mb - one_mb / 2, 1));
  append(UniqueApps(two_mb / 2, 2));
  append(RandomlyChosenApps(colors(4), two_mb - two_mb / 2, 2));
  append(UniqueApps(four_mb / 2, 4));
  append(RandomlyChosenApps(colors(8), four_mb - four_mb / 2, 4));
  Shuffle(&requests);
  return requests;
}

std::vector<Lrp> WorkloadGenerator::RunningUniqueLrps(int count, int32_t memory_mb) {
  std::vector<Lrp> lrps;
  for (int i = 0; i < count; ++i) lrps.push_back(SimRunningLrp(NewGuid("AAA"), 0, memory_mb));
  return lrps;
}

int WorkloadGenerator::UniformInt(int lo, int hi) {
  return absl::Uniform(absl::IntervalClosedClosed, gen_, lo, hi);
}

void WorkloadGenerator::Shuffle(std::vector<LrpStartRequest>* requests) {
  // Fisher-Yates with our own draws, so the order does not depend on the
  // standard library's std::shuffle.
  for (size_t i = requests->size(); i > 1; --i) {
    const size_t j = absl::Uniform<size_t>(gen_, 0, i);
    std::swap((*requests)[i - 1], (*requests)[j]);
  }
}

// -----------------------------------------------------------------------------
// Running.
// -----------------------------------------------------------------------------

absl::StatusOr<SimulationRun> RunSimulation(std::vector<CellState> cells,
                                            const std::vector<LrpStartRequest>& lrps,
                                            const std::vector<TaskStartRequest>& tasks,
                                            const SimulationOptions& options) {
  Clock* clock = options.clock != nullptr ? options.clock : Clock::Real();
  DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<PlacementStrategy> strategy,
                         NewPlacementStrategy(options.strategy));

  SimulationRun run;
  run.initial_cells = cells;
  const absl::Time start = clock->Now();

  std::vector<LrpAuction> lrp_auctions;
  for (const LrpStartRequest& request : lrps) {
    std::vector<LrpAuction> expanded = LrpAuctionsFromRequest(request, start);
    lrp_auctions.insert(lrp_auctions.end(), std::make_move_iterator(expanded.begin()),
                        std::make_move_iterator(expanded.end()));
  }
  std::vector<TaskAuction> task_auctions;
  for (const TaskStartRequest& task : tasks) {
    TaskAuction auction;
    auction.task = task;
    auction.record.queue_time = start;
    task_auctions.push_back(std::move(auction));
  }
  run.num_lrp_auctions = static_cast<int>(lrp_auctions.size());
  run.num_task_auctions = static_cast<int>(task_auctions.size());

  const Scheduler scheduler(strategy.get(), options.config);
  ScheduleOutput output =
      scheduler.Schedule(cells, std::move(lrp_auctions), std::move(task_auctions));

  // Perform each winning cell's work, as the runner's commit step does, and
  // remember what the cells handed back.
  const auto positions = CellPositions(cells);
  std::set<std::pair<std::string, std::string>> rejected_lrps;   // (cell, identifier)
  std::set<std::pair<std::string, std::string>> rejected_tasks;  // (cell, task guid)
  for (const Work& work : output.work) {
    auto it = positions.find(work.cell_id);
    if (it == positions.end()) continue;
    const Work failed = PerformSimulatedWork(work, &cells[it->second]);
    for (const Lrp& lrp : failed.lrps) {
      rejected_lrps.emplace(work.cell_id, absl::StrCat(lrp.process_guid, ".", lrp.index));
    }
    for (const Task& task : failed.tasks) rejected_tasks.emplace(work.cell_id, task.task_guid);
  }

  // Work a cell rejected becomes a failure with an empty placement error
  // (auctionrunner: the rep's returned work is marked failed as is).
  AuctionResults& results = output.results;
  if (!rejected_lrps.empty()) {
    std::vector<LrpAuction> kept;
    for (LrpAuction& auction : results.successful_lrps) {
      if (rejected_lrps.count({auction.record.winner, auction.Identifier()}) > 0) {
        auction.record.winner.clear();
        auction.record.placement_error.clear();
        results.failed_lrps.push_back(std::move(auction));
      } else {
        kept.push_back(std::move(auction));
      }
    }
    results.successful_lrps = std::move(kept);
  }
  if (!rejected_tasks.empty()) {
    std::vector<TaskAuction> kept;
    for (TaskAuction& auction : results.successful_tasks) {
      if (rejected_tasks.count({auction.record.winner, auction.Identifier()}) > 0) {
        auction.record.winner.clear();
        auction.record.placement_error.clear();
        results.failed_tasks.push_back(std::move(auction));
      } else {
        kept.push_back(std::move(auction));
      }
    }
    results.successful_tasks = std::move(kept);
  }

  run.results = std::move(results);
  run.final_cells = std::move(cells);
  run.duration = clock->Now() - start;
  return run;
}

// -----------------------------------------------------------------------------
// Metrics.
// -----------------------------------------------------------------------------

double DistributionScore(const std::vector<double>& values) {
  if (values.empty()) return 0;
  double sum = 0;
  for (double v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  if (mean == 0) return 0;
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / static_cast<double>(values.size())) / mean;
}

double SimulationReport::AuctionsPerSecond() const {
  const double seconds = absl::ToDoubleSeconds(duration);
  return seconds > 0 ? num_auctions / seconds : 0;
}

int SimulationReport::ZoneSpread() const {
  if (new_instances_by_zone.size() < 2) return 0;
  int min = new_instances_by_zone.front().second;
  int max = min;
  for (const auto& [zone, count] : new_instances_by_zone) {
    min = std::min(min, count);
    max = std::max(max, count);
  }
  return max - min;
}

SimulationReport BuildReport(const SimulationRun& run) {
  SimulationReport report;
  const AuctionResults& results = run.results;
  report.num_auctions = run.num_lrp_auctions + run.num_task_auctions;
  report.placed =
      static_cast<int>(results.successful_lrps.size() + results.successful_tasks.size());
  report.failed = static_cast<int>(results.failed_lrps.size() + results.failed_tasks.size());
  report.duration = run.duration;

  // Cells come from the final state; the initial state has the same cells in
  // the same order unless the caller built the run by hand.
  const std::vector<CellState>& cells =
      run.final_cells.empty() ? run.initial_cells : run.final_cells;
  const auto initial_positions = CellPositions(run.initial_cells);
  std::map<std::string, CellDistribution*, std::less<>> by_id;
  report.cells.reserve(cells.size());
  for (const CellState& cell : cells) {
    CellDistribution d;
    d.cell_id = cell.cell_id;
    d.zone = cell.zone;
    d.cell_index = cell.cell_index;
    d.total_resources = cell.total_resources;
    if (auto it = initial_positions.find(cell.cell_id); it != initial_positions.end()) {
      const CellState& initial = run.initial_cells[it->second];
      d.initial_instances = InstancesInUse(initial);
      d.initial_memory_mb = MemoryInUse(initial);
    }
    report.cells.push_back(std::move(d));
  }
  for (CellDistribution& d : report.cells) by_id.emplace(d.cell_id, &d);
  for (const LrpAuction& auction : results.successful_lrps) {
    if (auto it = by_id.find(auction.record.winner); it != by_id.end()) {
      ++it->second->new_instances;
      it->second->new_memory_mb += auction.lrp.resource.memory_mb;
    }
  }
  for (const TaskAuction& auction : results.successful_tasks) {
    if (auto it = by_id.find(auction.record.winner); it != by_id.end()) {
      ++it->second->new_instances;
      it->second->new_memory_mb += auction.task.resource.memory_mb;
    }
  }

  std::vector<double> initial_memory;
  std::vector<double> final_memory;
  std::map<std::string, int> zones;
  for (const CellDistribution& d : report.cells) {
    initial_memory.push_back(d.initial_memory_mb);
    final_memory.push_back(d.initial_memory_mb + d.new_memory_mb);
    zones[d.zone] += d.new_instances;
  }
  report.initial_distribution_score = DistributionScore(initial_memory);
  report.distribution_score = DistributionScore(final_memory);
  report.new_instances_by_zone.assign(zones.begin(), zones.end());
  return report;
}

std::map<std::string, int> LrpWinsByCell(const AuctionResults& results) {
  std::map<std::string, int> wins;
  for (const LrpAuction& auction : results.successful_lrps) ++wins[auction.record.winner];
  return wins;
}

// -----------------------------------------------------------------------------
// Tolerances.
// -----------------------------------------------------------------------------

ToleranceResult CheckWithinMean(const std::vector<std::pair<std::string, double>>& sample,
                                double tolerance, absl::string_view what) {
  if (sample.empty()) return {true, absl::StrCat(what, ": empty sample")};
  double sum = 0;
  for (const auto& [label, value] : sample) sum += value;
  const double mean = sum / static_cast<double>(sample.size());
  const std::pair<std::string, double>* worst = &sample.front();
  for (const auto& entry : sample) {
    if (std::abs(entry.second - mean) > std::abs(worst->second - mean)) worst = &entry;
  }
  const double deviance = std::abs(worst->second - mean);
  // A small epsilon absorbs rounding in the mean (e.g. 100/99).
  if (deviance > tolerance + 1e-9) {
    return {false, absl::StrFormat("%s: %s has %g, %.2f from the mean %.2f (tolerance %g)", what,
                                   worst->first, worst->second, deviance, mean, tolerance)};
  }
  return {true, absl::StrFormat("%s: %d values, mean %.2f, max deviation %.2f (tolerance %g)", what,
                                sample.size(), mean, deviance, tolerance)};
}

ToleranceResult CheckEvenLrpDistribution(const SimulationRun& run, double tolerance) {
  const std::map<std::string, int> wins = LrpWinsByCell(run.results);
  std::vector<std::pair<std::string, double>> sample;
  // In cell order, so reasons name cells as a person would scan them.
  std::set<std::string> seen;
  for (const CellState& cell : run.final_cells) {
    if (auto it = wins.find(cell.cell_id); it != wins.end()) {
      sample.emplace_back(cell.cell_id, it->second);
      seen.insert(cell.cell_id);
    }
  }
  for (const auto& [cell_id, count] : wins) {
    if (seen.count(cell_id) == 0) sample.emplace_back(cell_id, count);
  }
  return CheckWithinMean(sample, tolerance, "LRPs per winning cell");
}

ToleranceResult CheckFirstFitPacking(const SimulationRun& run, double zone_tolerance) {
  const std::map<std::string, int> wins = LrpWinsByCell(run.results);
  std::map<std::string, std::vector<const CellState*>> zones;
  for (const CellState& cell : run.final_cells) zones[cell.zone].push_back(&cell);
  std::vector<std::pair<std::string, double>> zone_totals;
  for (auto& [zone, cells] : zones) {
    std::stable_sort(cells.begin(), cells.end(), [](const CellState* a, const CellState* b) {
      return a->cell_index < b->cell_index;
    });
    auto won = [&wins](const CellState* cell) {
      auto it = wins.find(cell->cell_id);
      return it == wins.end() ? 0 : it->second;
    };
    int total = 0;
    for (size_t i = 0; i < cells.size(); ++i) {
      total += won(cells[i]);
      if (i + 1 < cells.size() && won(cells[i]) < won(cells[i + 1])) {
        return {false, absl::StrFormat("zone %s: %s won %d but the later %s won %d", zone,
                                       cells[i]->cell_id, won(cells[i]), cells[i + 1]->cell_id,
                                       won(cells[i + 1]))};
      }
    }
    zone_totals.emplace_back(zone, total);
  }
  ToleranceResult balance = CheckWithinMean(zone_totals, zone_tolerance, "LRPs per zone");
  if (!balance.passed) return balance;
  return {true, absl::StrCat("non-increasing by cell index in every zone; ", balance.reason)};
}

// -----------------------------------------------------------------------------
// Scenarios.
// -----------------------------------------------------------------------------

std::vector<Scenario> DiegoScenarios() {
  std::vector<Scenario> scenarios;
  AddSmallColdStarts(&scenarios);
  AddBinPackFirstFit(&scenarios);
  AddLargeColdStarts(&scenarios);
  AddImbalancedDeploy(&scenarios);
  AddAzDistribution(&scenarios);
  AddWattersDemo(&scenarios);
  AddLowMemoryPacking(&scenarios);
  return scenarios;
}

absl::StatusOr<ScenarioResult> RunScenario(const Scenario& scenario, absl::string_view strategy,
                                           Clock* clock) {
  ScenarioSetup setup = scenario.setup();
  SimulationOptions options;
  options.strategy = std::string(strategy);
  options.config = setup.config;
  options.clock = clock;
  DIEGO_ASSIGN_OR_RETURN(SimulationRun run,
                         RunSimulation(std::move(setup.cells), setup.lrps, {}, options));
  ScenarioResult result;
  result.name = scenario.name;
  result.description = scenario.description;
  result.strategy = std::string(strategy);
  result.report = BuildReport(run);
  result.tolerance = scenario.check(run);
  result.run = std::move(run);
  return result;
}

absl::StatusOr<std::vector<ScenarioResult>> RunScenarios(absl::string_view strategy, Clock* clock) {
  std::vector<ScenarioResult> results;
  for (const Scenario& scenario : DiegoScenarios()) {
    DIEGO_ASSIGN_OR_RETURN(ScenarioResult result, RunScenario(scenario, strategy, clock));
    results.push_back(std::move(result));
  }
  return results;
}

std::string FormatScenarioTable(const std::vector<ScenarioResult>& results) {
  size_t name_width = 8;
  for (const ScenarioResult& r : results) name_width = std::max(name_width, r.name.size());
  const int w = static_cast<int>(name_width);
  std::string out =
      absl::StrFormat("%-*s %7s %7s  %-15s  %-18s %10s  %s\n", w, "SCENARIO", "PLACED", "FAILED",
                      "DIST INIT->END", "NEW PER ZONE", "TIME", "RESULT");
  int passed = 0;
  std::vector<std::string> reasons;
  for (const ScenarioResult& r : results) {
    std::vector<std::string> zones;
    for (const auto& [zone, count] : r.report.new_instances_by_zone) {
      zones.push_back(absl::StrCat(zone, "=", count));
    }
    out += absl::StrFormat("%-*s %7d %7d  %-15s  %-18s %10s  %s\n", w, r.name, r.report.placed,
                           r.report.failed,
                           absl::StrFormat("%.3f->%.3f", r.report.initial_distribution_score,
                                           r.report.distribution_score),
                           absl::StrJoin(zones, " "),
                           absl::StrFormat("%.1fms", absl::ToDoubleMilliseconds(r.report.duration)),
                           r.tolerance.passed ? "PASS" : "FAIL");
    if (r.tolerance.passed) {
      ++passed;
    } else {
      reasons.push_back(absl::StrCat("  ", r.name, ": ", r.tolerance.reason));
    }
  }
  if (!reasons.empty()) out += absl::StrCat("failures:\n", absl::StrJoin(reasons, "\n"), "\n");
  const std::string strategy = results.empty() ? "" : results.front().strategy;
  out += absl::StrFormat("%d/%d scenarios passed with strategy \"%s\"\n", passed, results.size(),
                         strategy);
  return out;
}

// -----------------------------------------------------------------------------
// SVG.
// -----------------------------------------------------------------------------

std::string RenderDistributionSvg(const SimulationReport& report, absl::string_view title) {
  const int n = static_cast<int>(report.cells.size());
  const double pitch = n == 0 ? 20 : std::clamp(900.0 / n, 3.0, 28.0);
  const double bar_width = std::max(2.0, pitch * 0.8);
  const double left = 70, right = 150, top = 64, plot_height = 300, bottom = 56;
  const double plot_width = std::max(200.0, pitch * n);
  const std::string subtitle = absl::StrFormat(
      "%d auctions: %d placed, %d failed; distribution %.3f -> %.3f; %s", report.num_auctions,
      report.placed, report.failed, report.initial_distribution_score, report.distribution_score,
      absl::FormatDuration(report.duration));
  // Wide enough for the plot and for the (left-aligned) title and subtitle,
  // at roughly 9 and 6.5 px per character.
  const double width =
      std::max({left + plot_width + right, 20 + 9.0 * title.size(), 20 + 6.5 * subtitle.size()});
  const double height = top + plot_height + bottom;

  double capacity = 1;
  for (const CellDistribution& c : report.cells) {
    capacity = std::max<double>(capacity, c.total_resources.memory_mb);
    capacity = std::max<double>(capacity, c.initial_memory_mb + c.new_memory_mb);
  }
  auto y_of = [&](double mb) { return top + plot_height - plot_height * mb / capacity; };

  std::map<std::string, const char*> zone_color;
  for (const auto& [zone, count] : report.new_instances_by_zone) {
    zone_color.emplace(zone, kZoneColors[zone_color.size() % kNumZoneColors]);
  }
  for (const CellDistribution& c : report.cells) {
    if (zone_color.count(c.zone) == 0) {
      zone_color.emplace(c.zone, kZoneColors[zone_color.size() % kNumZoneColors]);
    }
  }

  const std::string escaped_title = XmlEscape(title);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, sans-serif\" "
      "style=\"background:#ffffff\">\n",
      width, height, width, height);
  absl::StrAppend(&svg, "<title>", escaped_title, "</title>\n");
  absl::StrAppendFormat(&svg,
                        "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s"
                        "</text>\n",
                        escaped_title);
  absl::StrAppendFormat(&svg, "<text x=\"10\" y=\"44\" font-size=\"12\" fill=\"#333\">%s</text>\n",
                        XmlEscape(subtitle));

  // Grid, ticks, axes and labels.
  for (int q = 0; q <= 4; ++q) {
    const double mb = capacity * q / 4;
    const double y = y_of(mb);
    absl::StrAppendFormat(
        &svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y,
        left + plot_width, y);
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"10\">%g"
                          "</text>\n",
                          left - 6, y + 3, mb);
  }
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                        left, top, left, top + plot_height);
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                        left, top + plot_height, left + plot_width, top + plot_height);
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                        "transform=\"rotate(-90 %.1f %.1f)\">memory used (MB)</text>\n",
                        left - 44, top + plot_height / 2, left - 44, top + plot_height / 2);
  absl::StrAppendFormat(
      &svg,
      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">cells by index "
      "(%s)</text>\n",
      left + plot_width / 2, top + plot_height + 40,
      n == 0 ? std::string("none")
             : XmlEscape(absl::StrCat(report.cells.front().cell_id, " to ",
                                      report.cells.back().cell_id)));

  // One bar per cell: the whole bar in the zone's colour, the part that was
  // already there before the round overlaid in grey.
  for (int i = 0; i < n; ++i) {
    const CellDistribution& c = report.cells[i];
    const double x = left + pitch * i + (pitch - bar_width) / 2;
    const double used = c.initial_memory_mb + c.new_memory_mb;
    const double y = y_of(used);
    const double h = top + plot_height - y;
    absl::StrAppendFormat(
        &svg,
        "<rect class=\"cell\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
        "fill=\"%s\"><title>%s (%s): %d MB before + %d MB new (%d + %d instances) of %d MB"
        "</title></rect>\n",
        x, y, bar_width, h, zone_color[c.zone], XmlEscape(c.cell_id), XmlEscape(c.zone),
        c.initial_memory_mb, c.new_memory_mb, c.initial_instances, c.new_instances,
        c.total_resources.memory_mb);
    if (c.initial_memory_mb > 0) {
      const double iy = y_of(c.initial_memory_mb);
      absl::StrAppendFormat(&svg,
                            "<path d=\"M%.1f %.1fh%.1fv%.1fh%.1fz\" fill=\"#555\" "
                            "fill-opacity=\"0.55\"/>\n",
                            x, iy, bar_width, top + plot_height - iy, -bar_width);
    }
    if (n <= 24) {
      absl::StrAppendFormat(&svg,
                            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"9\">"
                            "%s</text>\n",
                            x + bar_width / 2, top + plot_height + 14, XmlEscape(c.cell_id));
    }
  }

  // Legend: zones, and the grey "before" overlay.
  double ly = top + 10;
  const double lx = left + plot_width + 20;
  for (const auto& [zone, color] : zone_color) {
    int count = 0;
    for (const auto& [z, k] : report.new_instances_by_zone) {
      if (z == zone) count = k;
    }
    absl::StrAppendFormat(&svg,
                          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s: %d new</text>\n",
                          lx, ly, color, lx + 12, ly + 4, XmlEscape(zone), count);
    ly += 18;
  }
  absl::StrAppendFormat(&svg,
                        "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"#555\" "
                        "fill-opacity=\"0.55\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">"
                        "before the round</text>\n",
                        lx, ly, lx + 12, ly + 4);
  svg += "</svg>\n";
  return svg;
}

// -----------------------------------------------------------------------------
// One-shot placement.
// -----------------------------------------------------------------------------

absl::StatusOr<PlacementInput> ParsePlacementInput(absl::string_view json_text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text.begin(), json_text.end());
  } catch (const nlohmann::json::exception& e) {
    return PathError("$", absl::StrCat("invalid JSON: ", e.what()));
  }
  if (!doc.is_object()) return PathError("$", "must be an object");
  for (const auto& [key, value] : doc.items()) {
    if (key != "cells" && key != "lrps" && key != "tasks" && key != "config") {
      return PathError(absl::StrCat("$.", key),
                       "unknown key (expected cells, lrps, tasks or config)");
    }
  }
  if (!doc.contains("cells")) return PathError("$.cells", "missing (an array of cell states)");

  PlacementInput input;
  DIEGO_ASSIGN_OR_RETURN(
      input.cells, DecodeArray<CellState>(
                       doc, "cells", [](const std::string& s) { return CellStateFromJson(s); }));
  DIEGO_ASSIGN_OR_RETURN(input.lrps,
                         DecodeArray<LrpStartRequest>(doc, "lrps", [](const std::string& s) {
                           return LrpStartRequestFromJson(s);
                         }));
  DIEGO_ASSIGN_OR_RETURN(input.tasks,
                         DecodeArray<TaskStartRequest>(
                             doc, "tasks", [](const std::string& s) { return TaskFromJson(s); }));
  DIEGO_ASSIGN_OR_RETURN(input.config, ParseConfig(doc));
  return input;
}

absl::StatusOr<PlacementOutput> Place(const PlacementInput& input, absl::string_view strategy) {
  DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<PlacementStrategy> placement,
                         NewPlacementStrategy(strategy));
  std::vector<LrpAuction> lrps;
  for (const LrpStartRequest& request : input.lrps) {
    std::vector<LrpAuction> expanded = LrpAuctionsFromRequest(request, absl::UnixEpoch());
    lrps.insert(lrps.end(), expanded.begin(), expanded.end());
  }
  std::vector<TaskAuction> tasks;
  for (const TaskStartRequest& task : input.tasks) {
    TaskAuction auction;
    auction.task = task;
    tasks.push_back(std::move(auction));
  }
  const Scheduler scheduler(placement.get(), input.config);
  const ScheduleOutput scheduled =
      scheduler.Schedule(input.cells, std::move(lrps), std::move(tasks));

  // Outcomes keyed by auction identity; queues keep duplicates in input
  // order.
  std::map<std::string, std::deque<const AuctionRecord*>> lrp_outcomes;
  for (const auto* list : {&scheduled.results.successful_lrps, &scheduled.results.failed_lrps}) {
    for (const LrpAuction& auction : *list) {
      lrp_outcomes[auction.Identifier()].push_back(&auction.record);
    }
  }
  std::map<std::string, std::deque<const AuctionRecord*>> task_outcomes;
  for (const auto* list : {&scheduled.results.successful_tasks, &scheduled.results.failed_tasks}) {
    for (const TaskAuction& auction : *list) {
      task_outcomes[auction.Identifier()].push_back(&auction.record);
    }
  }

  PlacementOutput output;
  for (const LrpStartRequest& request : input.lrps) {
    for (int32_t index : request.indices) {
      LrpPlacement placement_out;
      placement_out.process_guid = request.process_guid;
      placement_out.index = index;
      auto& queue = lrp_outcomes[absl::StrCat(request.process_guid, ".", index)];
      if (queue.empty()) {
        placement_out.error = "not scheduled";
      } else {
        placement_out.cell_id = queue.front()->winner;
        placement_out.error = queue.front()->placement_error;
        queue.pop_front();
      }
      output.lrps.push_back(std::move(placement_out));
    }
  }
  for (const TaskStartRequest& task : input.tasks) {
    TaskPlacement placement_out;
    placement_out.task_guid = task.task_guid;
    auto& queue = task_outcomes[task.task_guid];
    if (queue.empty()) {
      placement_out.error = "not scheduled";
    } else {
      placement_out.cell_id = queue.front()->winner;
      placement_out.error = queue.front()->placement_error;
      queue.pop_front();
    }
    output.tasks.push_back(std::move(placement_out));
  }
  return output;
}

std::string PlacementOutputToJson(const PlacementOutput& output) {
  nlohmann::ordered_json doc;
  doc["lrps"] = nlohmann::ordered_json::array();
  for (const LrpPlacement& p : output.lrps) {
    nlohmann::ordered_json entry;
    entry["process_guid"] = p.process_guid;
    entry["index"] = p.index;
    if (!p.cell_id.empty()) {
      entry["cell_id"] = p.cell_id;
    } else {
      entry["error"] = p.error;
    }
    doc["lrps"].push_back(std::move(entry));
  }
  doc["tasks"] = nlohmann::ordered_json::array();
  for (const TaskPlacement& p : output.tasks) {
    nlohmann::ordered_json entry;
    entry["task_guid"] = p.task_guid;
    if (!p.cell_id.empty()) {
      entry["cell_id"] = p.cell_id;
    } else {
      entry["error"] = p.error;
    }
    doc["tasks"].push_back(std::move(entry));
  }
  return doc.dump(2);
}

}  // namespace diego::auction
