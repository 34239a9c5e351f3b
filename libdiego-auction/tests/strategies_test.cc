// Copyright 2026 The libdiego Authors.
//
// Placement strategies: name lookup, each strategy's rule against a fake
// PlacementContext, and each strategy driving the real Scheduler (including
// what the scheduler exposes to a strategy).

#include "diego/auction/strategies.h"

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "diego/auction/scheduler.h"
#include "diego/auction/types.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::auction {
namespace {

using ::diego::fakes::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------
// Name lookup.

TEST(PlacementStrategyNamesTest, ListsAllWithDefaultFirst) {
  EXPECT_THAT(PlacementStrategyNames(), ElementsAre("diego", "best-fit", "power-of-two"));
}

TEST(NewPlacementStrategyTest, KnowsEveryListedName) {
  for (const std::string& name : PlacementStrategyNames()) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<PlacementStrategy> strategy, NewPlacementStrategy(name));
    ASSERT_NE(strategy, nullptr);
    EXPECT_EQ(strategy->name(), name);
  }
  EXPECT_EQ(NewDiegoStrategy()->name(), kDiegoStrategyName);
  EXPECT_EQ(NewBestFitStrategy()->name(), kBestFitStrategyName);
  EXPECT_EQ(NewPowerOfTwoStrategy(1)->name(), kPowerOfTwoStrategyName);
}

TEST(NewPlacementStrategyTest, RejectsUnknownNamesListingValidOnes) {
  for (absl::string_view name : {"round-robin", "Diego", "", "best_fit"}) {
    EXPECT_THAT(NewPlacementStrategy(name),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(absl::StrCat("\"", name, "\"")),
                               HasSubstr("diego, best-fit, power-of-two"))));
  }
  EXPECT_THAT(NewPlacementStrategy("round-robin").status().message(),
              "unknown placement strategy \"round-robin\"; valid strategies: diego, best-fit, "
              "power-of-two");
}

// ---------------------------------------------------------------------------
// Strategies against a fake context.

CandidateCell Candidate(int32_t cell, double score, int32_t remaining_memory = 50) {
  CandidateCell c;
  c.cell = cell;
  c.score = score;
  c.remaining.memory_mb = remaining_memory;
  return c;
}

struct FakeZone {
  int32_t instances = 0;
  std::vector<CandidateCell> candidates;
};

class FakeContext final : public PlacementContext {
 public:
  explicit FakeContext(std::vector<FakeZone> zones, std::string identity = "app")
      : zones_(std::move(zones)) {
    lrp_.process_guid = std::move(identity);
    int32_t position = 0;
    for (size_t z = 0; z < zones_.size(); ++z) {
      for (CandidateCell& c : zones_[z].candidates) {
        c.zone = static_cast<int32_t>(z);
        c.position = position++;
      }
    }
  }

  const Lrp* lrp() const override { return &lrp_; }
  const Task* task() const override { return nullptr; }
  int32_t zone_count() const override { return static_cast<int32_t>(zones_.size()); }
  absl::string_view zone_name(int32_t zone) const override { return "zone"; }
  int32_t ZoneInstances(int32_t zone) const override { return zones_[zone].instances; }
  void ForEachCandidate(int32_t zone,
                        absl::FunctionRef<void(const CandidateCell&)> fn) const override {
    for (const CandidateCell& c : zones_[zone].candidates) fn(c);
  }
  std::optional<CandidateCell> LowestScoreCandidate(int32_t zone) const override {
    std::optional<CandidateCell> best;
    for (const CandidateCell& c : zones_[zone].candidates) {
      if (c.score < std::numeric_limits<double>::infinity() &&
          (!best.has_value() || c.score < best->score)) {
        best = c;
      }
    }
    return best;
  }

 private:
  std::vector<FakeZone> zones_;
  Lrp lrp_;
};

TEST(DiegoStrategyTest, PrefersZoneWithFewestInstances) {
  FakeContext context({{2, {Candidate(0, 0.1)}}, {0, {Candidate(1, 0.9)}}});
  EXPECT_EQ(NewDiegoStrategy()->ChooseCell(context), 1);
}

TEST(DiegoStrategyTest, ComparesTieGroupAsOne) {
  FakeContext context({{1, {Candidate(0, 0.5), Candidate(1, 0.4)}},
                       {1, {Candidate(2, 0.3)}},
                       {3, {Candidate(3, 0.0)}}});
  EXPECT_EQ(NewDiegoStrategy()->ChooseCell(context), 2);
}

TEST(DiegoStrategyTest, EqualScoresGoToEarlierZoneAndCell) {
  FakeContext context(
      {{0, {Candidate(0, 0.7), Candidate(1, 0.3), Candidate(2, 0.3)}}, {0, {Candidate(3, 0.3)}}});
  EXPECT_EQ(NewDiegoStrategy()->ChooseCell(context), 1);
}

TEST(DiegoStrategyTest, FallsThroughGroupsWithoutEligibleCandidates) {
  FakeContext context({{0, {}},
                       {0, {Candidate(0, kNan), Candidate(1, kDiegoInitialBestScore)}},
                       {4, {Candidate(2, 1001.0)}},
                       {5, {Candidate(3, 0.0)}}});
  EXPECT_EQ(NewDiegoStrategy()->ChooseCell(context), 2);
}

TEST(DiegoStrategyTest, NoEligibleCandidateMeansNoWinner) {
  FakeContext context({{0, {Candidate(0, kNan)}}, {1, {Candidate(1, 2e20)}}, {2, {}}});
  EXPECT_EQ(NewDiegoStrategy()->ChooseCell(context), std::nullopt);
  EXPECT_EQ(NewBestFitStrategy()->ChooseCell(context), std::nullopt);
  EXPECT_EQ(NewPowerOfTwoStrategy()->ChooseCell(context), std::nullopt);
}

TEST(BestFitStrategyTest, LeastRemainingMemoryWinsAcrossAllZones) {
  FakeContext context(
      {{0, {Candidate(0, 0.1, 80), Candidate(1, 0.2, 40)}}, {5, {Candidate(2, 1000.9, 10)}}});
  EXPECT_EQ(NewBestFitStrategy()->ChooseCell(context), 2);
  EXPECT_EQ(NewDiegoStrategy()->ChooseCell(context), 0);
}

TEST(BestFitStrategyTest, TiesGoToLowerScoreThenEarlierCell) {
  FakeContext by_score({{0, {Candidate(0, 0.5, 10), Candidate(1, 0.2, 10)}}});
  EXPECT_EQ(NewBestFitStrategy()->ChooseCell(by_score), 1);
  FakeContext by_order(
      {{0, {Candidate(0, 0.9, 30), Candidate(1, 0.2, 10)}}, {0, {Candidate(2, 0.2, 10)}}});
  EXPECT_EQ(NewBestFitStrategy()->ChooseCell(by_order), 1);
}

TEST(BestFitStrategyTest, SkipsIneligibleCandidates) {
  FakeContext context({{0, {Candidate(0, kNan, 0), Candidate(1, 0.5, 60)}}});
  EXPECT_EQ(NewBestFitStrategy()->ChooseCell(context), 1);
}

TEST(PowerOfTwoStrategyTest, SingleCandidateIsChosen) {
  FakeContext context({{0, {Candidate(7, 0.9)}}});
  EXPECT_EQ(NewPowerOfTwoStrategy()->ChooseCell(context), 7);
}

TEST(PowerOfTwoStrategyTest, DrawsOnlyFromDiegosZoneGroup) {
  std::unique_ptr<PlacementStrategy> strategy = NewPowerOfTwoStrategy();
  for (int i = 0; i < 100; ++i) {
    FakeContext context({{3, {Candidate(0, 0.0), Candidate(1, 0.0)}},
                         {1, {Candidate(2, kNan), Candidate(3, 0.5), Candidate(4, 0.6)}},
                         {1, {Candidate(5, 0.7)}}},
                        absl::StrCat("app-", i));
    std::optional<int32_t> cell = strategy->ChooseCell(context);
    ASSERT_TRUE(cell.has_value());
    EXPECT_THAT(*cell, ::testing::AnyOf(3, 4, 5));
  }
}

TEST(PowerOfTwoStrategyTest, KeepsTheBetterOfTwoDraws) {
  // With two candidates, the worse one wins only when both draws hit it
  // (1 in 4); the seed is fixed, so the count is too.
  std::unique_ptr<PlacementStrategy> strategy = NewPowerOfTwoStrategy();
  int better = 0;
  for (int i = 0; i < 400; ++i) {
    FakeContext context({{0, {Candidate(0, 0.9), Candidate(1, 0.1)}}}, absl::StrCat("app-", i));
    if (strategy->ChooseCell(context) == 1) ++better;
  }
  EXPECT_GT(better, 260);
  EXPECT_LT(better, 340);
}

TEST(PowerOfTwoStrategyTest, ReproducibleForASeedAndVariesAcrossSeeds) {
  std::vector<FakeZone> zones = {{0, {}}};
  for (int32_t c = 0; c < 50; ++c) zones[0].candidates.push_back(Candidate(c, 0.01 * (c % 7)));
  std::unique_ptr<PlacementStrategy> a = NewPowerOfTwoStrategy(1);
  std::unique_ptr<PlacementStrategy> a_again = NewPowerOfTwoStrategy(1);
  std::unique_ptr<PlacementStrategy> b = NewPowerOfTwoStrategy(2);
  int differ = 0;
  for (int i = 0; i < 100; ++i) {
    FakeContext context(zones, absl::StrCat("app-", i));
    const std::optional<int32_t> first = a->ChooseCell(context);
    EXPECT_EQ(first, a->ChooseCell(context));
    EXPECT_EQ(first, a_again->ChooseCell(context));
    if (first != b->ChooseCell(context)) ++differ;
  }
  EXPECT_GT(differ, 50);
}

// ---------------------------------------------------------------------------
// Strategies driving the scheduler.

CellState MakeCell(std::string id, std::string zone, int32_t memory, int32_t total = 100) {
  CellState cell;
  cell.cell_id = std::move(id);
  cell.zone = std::move(zone);
  cell.rootfs_providers.SetFixedSet("preloaded", {"cflinuxfs4"});
  cell.available_resources = {memory, 100, 100};
  cell.total_resources = {total, 100, 100};
  return cell;
}

LrpAuction MakeLrp(std::string guid, int32_t index, int32_t memory) {
  LrpAuction auction;
  auction.lrp.process_guid = std::move(guid);
  auction.lrp.index = index;
  auction.lrp.constraint.root_fs = "preloaded:cflinuxfs4";
  auction.lrp.resource = {memory, 1, 0};
  return auction;
}

TaskAuction MakeTask(std::string guid, int32_t memory) {
  TaskAuction auction;
  auction.task.task_guid = std::move(guid);
  auction.task.constraint.root_fs = "preloaded:cflinuxfs4";
  auction.task.resource = {memory, 1, 0};
  return auction;
}

std::map<std::string, std::string> Outcomes(const ScheduleOutput& out) {
  std::map<std::string, std::string> outcomes;
  for (const LrpAuction& a : out.results.successful_lrps)
    outcomes[a.Identifier()] = a.record.winner;
  for (const LrpAuction& a : out.results.failed_lrps) {
    outcomes[a.Identifier()] = "!" + a.record.placement_error;
  }
  for (const TaskAuction& a : out.results.successful_tasks) {
    outcomes[a.Identifier()] = a.record.winner;
  }
  for (const TaskAuction& a : out.results.failed_tasks) {
    outcomes[a.Identifier()] = "!" + a.record.placement_error;
  }
  return outcomes;
}

TEST(BestFitSchedulingTest, PacksIntoTheFullestCellThatFits) {
  std::unique_ptr<PlacementStrategy> best_fit = NewBestFitStrategy();
  Scheduler scheduler(best_fit.get(), AuctionConfig{});
  std::vector<CellState> cells = {MakeCell("roomy", "z1", 80), MakeCell("tight", "z1", 30),
                                  MakeCell("too-small", "z1", 10)};
  EXPECT_THAT(Outcomes(scheduler.Schedule(cells, {MakeLrp("app", 0, 20)}, {})),
              ElementsAre(Pair("app.0", "tight")));

  std::unique_ptr<PlacementStrategy> diego = NewDiegoStrategy();
  Scheduler spread(diego.get(), AuctionConfig{});
  EXPECT_THAT(Outcomes(spread.Schedule(cells, {MakeLrp("app", 0, 20)}, {})),
              ElementsAre(Pair("app.0", "roomy")));
}

TEST(BestFitSchedulingTest, FillsOneCellBeforeTheNext) {
  std::unique_ptr<PlacementStrategy> best_fit = NewBestFitStrategy();
  Scheduler scheduler(best_fit.get(), AuctionConfig{});
  std::vector<LrpAuction> lrps;
  for (int i = 0; i < 4; ++i) lrps.push_back(MakeLrp(absl::StrCat("app-", i), 0, 30));
  ScheduleOutput out =
      scheduler.Schedule({MakeCell("c0", "z1", 100), MakeCell("c1", "z2", 100)}, lrps, {});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app-0.0", "c0"), Pair("app-1.0", "c0"),
                                         Pair("app-2.0", "c0"), Pair("app-3.0", "c1")));
}

TEST(BestFitSchedulingTest, RemainingMemoryIncludesProxy) {
  std::unique_ptr<PlacementStrategy> best_fit = NewBestFitStrategy();
  Scheduler scheduler(best_fit.get(), AuctionConfig{});
  CellState proxied = MakeCell("proxied", "z1", 60);
  proxied.proxy_memory_allocation_mb = 32;        // 60 - 20 - 32 = 8 left.
  CellState plain = MakeCell("plain", "z1", 30);  // 10 left.
  EXPECT_THAT(Outcomes(scheduler.Schedule({plain, proxied}, {MakeLrp("app", 0, 20)}, {})),
              ElementsAre(Pair("app.0", "proxied")));
  EXPECT_THAT(Outcomes(scheduler.Schedule({plain, proxied}, {}, {MakeTask("t", 20)})),
              ElementsAre(Pair("t", "plain")));
}

TEST(PowerOfTwoSchedulingTest, ReproducibleAndKeepsZonesBalanced) {
  std::vector<CellState> cells;
  for (int i = 0; i < 20; ++i) {
    cells.push_back(MakeCell(absl::StrCat("c", i), i % 2 == 0 ? "z1" : "z2", 100 - i));
  }
  std::vector<LrpAuction> lrps;
  for (int app = 0; app < 5; ++app) {
    for (int i = 0; i < 6; ++i) lrps.push_back(MakeLrp(absl::StrCat("app-", app), i, 1));
  }
  std::unique_ptr<PlacementStrategy> one = NewPowerOfTwoStrategy(11);
  std::unique_ptr<PlacementStrategy> same = NewPowerOfTwoStrategy(11);
  std::unique_ptr<PlacementStrategy> other = NewPowerOfTwoStrategy(12);
  const ScheduleOutput first = Scheduler(one.get(), AuctionConfig{}).Schedule(cells, lrps, {});
  const ScheduleOutput again = Scheduler(one.get(), AuctionConfig{}).Schedule(cells, lrps, {});
  const ScheduleOutput twin = Scheduler(same.get(), AuctionConfig{}).Schedule(cells, lrps, {});
  const ScheduleOutput different =
      Scheduler(other.get(), AuctionConfig{}).Schedule(cells, lrps, {});
  EXPECT_EQ(Outcomes(first), Outcomes(again));
  EXPECT_EQ(Outcomes(first), Outcomes(twin));
  EXPECT_EQ(first.work, twin.work);
  EXPECT_NE(Outcomes(first), Outcomes(different));
  ASSERT_EQ(first.results.successful_lrps.size(), 30u);
  // Zone balance per app survives the random draws: 3 + 3.
  std::map<std::string, int> z1_per_app;
  for (const LrpAuction& a : first.results.successful_lrps) {
    const int cell = std::stoi(a.record.winner.substr(1));
    if (cell % 2 == 0) z1_per_app[a.lrp.process_guid]++;
  }
  for (int app = 0; app < 5; ++app) EXPECT_EQ(z1_per_app[absl::StrCat("app-", app)], 3);
}

// Records what the scheduler shows a strategy, then defers to Diego.
class RecordingStrategy final : public PlacementStrategy {
 public:
  absl::string_view name() const override { return "recording"; }
  std::optional<int32_t> ChooseCell(const PlacementContext& context) const override {
    is_lrp = context.lrp() != nullptr;
    is_task = context.task() != nullptr;
    zones.clear();
    instances.clear();
    candidates.clear();
    for (int32_t z = 0; z < context.zone_count(); ++z) {
      zones.emplace_back(context.zone_name(z));
      instances.push_back(context.ZoneInstances(z));
      context.ForEachCandidate(z, [&](const CandidateCell& c) { candidates.push_back(c); });
    }
    return NewDiegoStrategy()->ChooseCell(context);
  }
  mutable bool is_lrp = false;
  mutable bool is_task = false;
  mutable std::vector<std::string> zones;
  mutable std::vector<int32_t> instances;
  mutable std::vector<CandidateCell> candidates;
};

TEST(PlacementContextTest, ExposesDiegosScoringInputs) {
  CellState busy = MakeCell("busy", "zb", 70, 200);
  busy.available_resources = {70, 60, 9};
  busy.total_resources = {200, 80, 12};
  busy.starting_container_count = 3;
  busy.proxy_memory_allocation_mb = 5;
  busy.cell_index = 7;
  Lrp existing;
  existing.process_guid = "app";
  busy.lrps = {existing, existing};
  CellState tagged = MakeCell("tagged", "za", 100);
  tagged.placement_tags = {"private"};
  CellState empty = MakeCell("empty", "za", 100);
  empty.cell_index = 3;

  RecordingStrategy recording;
  AuctionConfig config;
  config.starting_container_weight = 0.5;
  config.bin_pack_first_fit_weight = 0.125;
  Scheduler scheduler(&recording, config);
  ScheduleOutput out = scheduler.Schedule({busy, tagged, empty}, {MakeLrp("app", 2, 10)}, {});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.2", "empty")));

  EXPECT_TRUE(recording.is_lrp);
  EXPECT_FALSE(recording.is_task);
  EXPECT_THAT(recording.zones, ElementsAre("zb", "za"));
  EXPECT_THAT(recording.instances, ElementsAre(2, 0));
  ASSERT_EQ(recording.candidates.size(), 2u);  // "tagged" is filtered out.
  const CandidateCell& c = recording.candidates[0];
  EXPECT_EQ(c.cell, 0);
  EXPECT_EQ(c.zone, 0);
  EXPECT_EQ(c.position, 0);
  EXPECT_EQ(c.available, (Resources{70, 60, 9}));
  EXPECT_EQ(c.total, (Resources{200, 80, 12}));
  EXPECT_EQ(c.remaining, (Resources{55, 59, 8}));  // 70 - 10 - 5 proxy.
  EXPECT_EQ(c.starting_container_count, 3);
  EXPECT_EQ(c.colocated, 2);
  EXPECT_EQ(c.first_fit_index, 0);  // Only cell of its zone: renormalised.
  const double expected = ((1.0 - 55.0 / 200.0) + (1.0 - 59.0 / 80.0) + (1.0 - 8.0 / 12.0)) / 3.0 +
                          3.0 * 0.5 + 2000.0 + 0.0 * 0.125;
  EXPECT_EQ(c.score, expected);
  const CandidateCell& e = recording.candidates[1];
  EXPECT_EQ(e.cell, 2);
  EXPECT_EQ(e.zone, 1);
  EXPECT_EQ(e.position, 2);         // za: tagged (1), empty (2).
  EXPECT_EQ(e.first_fit_index, 1);  // Sorted by cell_index: tagged (0), empty (3).
  EXPECT_EQ(e.colocated, 0);
  EXPECT_EQ(e.score, ((1.0 - 90.0 / 100.0) + (1.0 - 99.0 / 100.0) + (1.0 - 99.0 / 100.0)) / 3.0 +
                         0.0 + 0.0 + 1.0 * 0.125);
}

TEST(PlacementContextTest, TasksSeeTaskCountsAndNoInstances) {
  CellState cell = MakeCell("cell", "z1", 100);
  cell.tasks = {MakeTask("a", 1).task, MakeTask("b", 1).task};
  cell.lrps = {MakeLrp("t", 0, 1).lrp};
  cell.cell_index = 9;
  RecordingStrategy recording;
  Scheduler scheduler(&recording, AuctionConfig{});
  scheduler.Schedule({cell}, {}, {MakeTask("t", 10)});
  EXPECT_TRUE(recording.is_task);
  EXPECT_FALSE(recording.is_lrp);
  EXPECT_THAT(recording.instances, ElementsAre(0));
  ASSERT_EQ(recording.candidates.size(), 1u);
  EXPECT_EQ(recording.candidates[0].colocated, 2);
  EXPECT_EQ(recording.candidates[0].first_fit_index, 9);
  EXPECT_EQ(recording.candidates[0].remaining, (Resources{90, 99, 99}));
  EXPECT_EQ(
      recording.candidates[0].score,
      ((1.0 - 90.0 / 100.0) + (1.0 - 99.0 / 100.0) + (1.0 - 99.0 / 100.0)) / 3.0 + 0.0 + 2000.0);
}

class RefusingStrategy final : public PlacementStrategy {
 public:
  absl::string_view name() const override { return "refusing"; }
  std::optional<int32_t> ChooseCell(const PlacementContext&) const override { return std::nullopt; }
};

TEST(CustomStrategyTest, NoChoiceReportsDiegosInsufficientResourcesError) {
  RefusingStrategy refusing;
  Scheduler scheduler(&refusing, AuctionConfig{});
  ScheduleOutput out = scheduler.Schedule({MakeCell("a", "z1", 100), MakeCell("b", "z1", 5)},
                                          {MakeLrp("app", 0, 10)}, {MakeTask("t", 10)});
  // As in Diego, only cells that do not fit narrow the problem list; "a"
  // fits, so the list is what "b" lacks.
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "!insufficient resources: memory"),
                                         Pair("t", "!insufficient resources: memory")));
}

class ChoosesNonCandidate final : public PlacementStrategy {
 public:
  absl::string_view name() const override { return "broken"; }
  std::optional<int32_t> ChooseCell(const PlacementContext&) const override { return 1; }
};

TEST(CustomStrategyDeathTest, ChoosingANonCandidateIsAProgrammingError) {
  ChoosesNonCandidate broken;
  Scheduler scheduler(&broken, AuctionConfig{});
  EXPECT_DEATH(scheduler.Schedule({MakeCell("a", "z1", 100), MakeCell("b", "z1", 5)},
                                  {MakeLrp("app", 0, 10)}, {}),
               "non-candidate");
}

}  // namespace
}  // namespace diego::auction
