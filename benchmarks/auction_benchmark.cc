// Scheduling cost of the auction: `Scheduler::Schedule` with Diego's rule
// over a sweep of cluster and batch sizes, the headline (100,000 LRP
// instances over 2,000 cells in 3 zones), and the same headline through the
// plain reference scan (libdiego-auction/src/reference_scheduler.h), which
// does what Diego's Go scheduler does per item: rescan every cell and every
// LRP on it.
//
//   ./build/benchmarks/auction_benchmark --benchmark_min_time=0.05
//
// The workload is a cold start: identical-size cells (64 GiB, 256 GiB disk,
// 250 containers) already 0-19% used, zones assigned round-robin; apps of
// 1-39 instances (20 on average) asking for 256 MiB-2 GiB of memory and
// 1-4 GiB of disk, all on preloaded:cflinuxfs4. The headline fills about 75%
// of the cluster's memory and about half its disk, so every instance is
// placed. Input copies are made outside the timed region.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "diego/auction/scheduler.h"
#include "diego/auction/strategies.h"
#include "diego/auction/types.h"
#include "reference_scheduler.h"

namespace diego::auction {
namespace {

constexpr char kRootFs[] = "preloaded:cflinuxfs4";

std::vector<CellState> MakeCells(int count, int zones) {
  std::vector<CellState> cells;
  cells.reserve(count);
  for (int i = 0; i < count; ++i) {
    CellState cell;
    cell.cell_id = absl::StrCat("cell-", i);
    cell.rep_url = absl::StrCat("https://cell-", i, ".service.cf.internal:1801");
    cell.cell_index = i;
    cell.zone = absl::StrCat("z", 1 + i % zones);
    cell.rootfs_providers.SetFixedSet("preloaded", {"cflinuxfs3", "cflinuxfs4"});
    cell.rootfs_providers.SetFixedSet("preloaded+layer", {"cflinuxfs3", "cflinuxfs4"});
    cell.rootfs_providers.SetArbitrary("docker");
    cell.total_resources = {65536, 262144, 250};
    const int used_percent = (i * 7919) % 20;
    cell.available_resources = {65536 - 65536 * used_percent / 100,
                                262144 - 262144 * used_percent / 100, 250 - used_percent};
    cell.volume_drivers = {"nfs"};
    cells.push_back(std::move(cell));
  }
  return cells;
}

std::vector<LrpAuction> MakeLrps(int instances) {
  static constexpr int32_t kMemory[] = {256, 512, 1024, 2048};
  static constexpr int32_t kDisk[] = {1024, 2048, 4096};
  std::vector<LrpAuction> lrps;
  lrps.reserve(instances);
  for (int app = 0; static_cast<int>(lrps.size()) < instances; ++app) {
    LrpStartRequest request;
    request.process_guid = absl::StrCat("5c0ffee0-1d2e-4f3a-9b8c-", 100000000000 + app);
    request.domain = "cf-apps";
    request.constraint.root_fs = kRootFs;
    request.resource = {kMemory[(app * 7) % 4], kDisk[(app * 5) % 3], 1024};
    const int count = std::min(1 + (app * 13) % 39, instances - static_cast<int>(lrps.size()));
    for (int i = 0; i < count; ++i) request.indices.push_back(i);
    for (LrpAuction& auction : LrpAuctionsFromRequest(request, absl::UnixEpoch())) {
      lrps.push_back(std::move(auction));
    }
  }
  return lrps;
}

// Runs `schedule(cells, lrps)` per iteration with fresh copies made outside
// the timed region.
template <typename ScheduleFn>
void RunSchedule(benchmark::State& state, int cell_count, int instances, ScheduleFn schedule) {
  const std::vector<CellState> cells = MakeCells(cell_count, 3);
  const std::vector<LrpAuction> lrps = MakeLrps(instances);
  size_t placed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<CellState> cells_copy = cells;
    std::vector<LrpAuction> lrps_copy = lrps;
    state.ResumeTiming();
    ScheduleOutput out = schedule(std::move(cells_copy), std::move(lrps_copy));
    state.PauseTiming();
    placed = out.results.successful_lrps.size();
    benchmark::DoNotOptimize(out);
    out = ScheduleOutput();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * instances);
  state.counters["placed"] = static_cast<double>(placed);
  state.counters["cells"] = cell_count;
}

void ScheduleWithDiego(benchmark::State& state, int cell_count, int instances) {
  std::unique_ptr<PlacementStrategy> strategy = NewDiegoStrategy();
  Scheduler scheduler(strategy.get(), AuctionConfig{});
  RunSchedule(state, cell_count, instances,
              [&](std::vector<CellState> cells, std::vector<LrpAuction> lrps) {
                return scheduler.Schedule(std::move(cells), std::move(lrps), {});
              });
}

void ScheduleWithReference(benchmark::State& state, int cell_count, int instances) {
  RunSchedule(state, cell_count, instances,
              [&](std::vector<CellState> cells, std::vector<LrpAuction> lrps) {
                return auction_internal::ReferenceSchedule(cells, std::move(lrps), {},
                                                           AuctionConfig{});
              });
}

// Args: cells, LRP instances.
void BM_Schedule(benchmark::State& state) {
  ScheduleWithDiego(state, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
}
BENCHMARK(BM_Schedule)
    ->ArgsProduct({{10, 100, 1000}, {100, 1000, 10000}})
    ->ArgNames({"cells", "lrps"})
    ->Unit(benchmark::kMillisecond);

void BM_Schedule_100kInstances_2000Cells_3Zones(benchmark::State& state) {
  ScheduleWithDiego(state, 2000, 100000);
}
// At least 1 s of timed runs (about 10 iterations), whatever --benchmark_min_time says.
BENCHMARK(BM_Schedule_100kInstances_2000Cells_3Zones)->Unit(benchmark::kMillisecond)->MinTime(1.0);

// The other strategies on the headline, for comparison.
void BM_ScheduleBestFit_100kInstances_2000Cells_3Zones(benchmark::State& state) {
  std::unique_ptr<PlacementStrategy> strategy = NewBestFitStrategy();
  Scheduler scheduler(strategy.get(), AuctionConfig{});
  RunSchedule(state, 2000, 100000, [&](std::vector<CellState> cells, std::vector<LrpAuction> lrps) {
    return scheduler.Schedule(std::move(cells), std::move(lrps), {});
  });
}
BENCHMARK(BM_ScheduleBestFit_100kInstances_2000Cells_3Zones)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_SchedulePowerOfTwo_100kInstances_2000Cells_3Zones(benchmark::State& state) {
  std::unique_ptr<PlacementStrategy> strategy = NewPowerOfTwoStrategy();
  Scheduler scheduler(strategy.get(), AuctionConfig{});
  RunSchedule(state, 2000, 100000, [&](std::vector<CellState> cells, std::vector<LrpAuction> lrps) {
    return scheduler.Schedule(std::move(cells), std::move(lrps), {});
  });
}
BENCHMARK(BM_SchedulePowerOfTwo_100kInstances_2000Cells_3Zones)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The reference scan: same placements, Diego's per-item rescans.
void BM_ReferenceSchedule(benchmark::State& state) {
  ScheduleWithReference(state, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
}
BENCHMARK(BM_ReferenceSchedule)
    ->Args({1000, 10000})
    ->ArgNames({"cells", "lrps"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

void BM_ReferenceSchedule_100kInstances_2000Cells_3Zones(benchmark::State& state) {
  ScheduleWithReference(state, 2000, 100000);
}
BENCHMARK(BM_ReferenceSchedule_100kInstances_2000Cells_3Zones)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
}  // namespace diego::auction
