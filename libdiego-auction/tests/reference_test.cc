// Copyright 2026 The libdiego Authors.
//
// The fast scheduler against a plain oracle. reference_scheduler.h is a
// line-by-line rendering of Diego's scheduler (rescanning every cell and every
// LRP for every item); here it is checked on a few hand-made cases, then the
// fast `Scheduler` with the "diego" strategy must agree with it exactly —
// winners, errors, result order and work — on thousands of seeded random
// clusters and batches.

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "diego/auction/scheduler.h"
#include "diego/auction/strategies.h"
#include "diego/auction/types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reference_scheduler.h"

namespace diego::auction {
namespace {

using ::diego::auction_internal::ReferenceSchedule;
using ::testing::ElementsAre;

// One line per result and per work item, in output order.
std::vector<std::string> Describe(const ScheduleOutput& out) {
  std::vector<std::string> lines;
  for (const LrpAuction& a : out.results.successful_lrps) {
    lines.push_back(absl::StrCat("lrp ok ", a.Identifier(), " -> ", a.record.winner));
  }
  for (const LrpAuction& a : out.results.failed_lrps) {
    lines.push_back(absl::StrCat("lrp failed ", a.Identifier(), ": ", a.record.placement_error,
                                 a.record.winner.empty() ? "" : " (winner set!)"));
  }
  for (const TaskAuction& a : out.results.successful_tasks) {
    lines.push_back(absl::StrCat("task ok ", a.Identifier(), " -> ", a.record.winner));
  }
  for (const TaskAuction& a : out.results.failed_tasks) {
    lines.push_back(absl::StrCat("task failed ", a.Identifier(), ": ", a.record.placement_error,
                                 a.record.winner.empty() ? "" : " (winner set!)"));
  }
  for (const Work& w : out.work) {
    std::vector<std::string> items;
    for (const Lrp& l : w.lrps) items.push_back(absl::StrCat(l.process_guid, ".", l.index));
    for (const Task& t : w.tasks) items.push_back(t.task_guid);
    lines.push_back(absl::StrCat("work ", w.cell_id, ": ", absl::StrJoin(items, " ")));
  }
  return lines;
}

// ---------------------------------------------------------------------------
// Random clusters.

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& values) {
    return values[Uniform(0, static_cast<int>(values.size()) - 1)];
  }
  std::vector<std::string> Subset(const std::vector<std::string>& pool, double p) {
    std::vector<std::string> out;
    for (const std::string& s : pool) {
      if (Chance(p)) out.push_back(s);
    }
    if (out.size() > 1 && Chance(0.3)) std::swap(out.front(), out.back());
    return out;
  }

  PlacementConstraint Constraint() {
    PlacementConstraint c;
    static const std::vector<std::string> kRootFses = {
        "preloaded:cflinuxfs4",
        "preloaded:cflinuxfs4",
        "preloaded:cflinuxfs4",
        "preloaded:cflinuxfs3",
        "docker:///cloudfoundry/grace#latest",
        "preloaded+layer:cflinuxfs4?layer=https://x/y.tgz&layer_path=/l&layer_digest=abc",
        "preloaded:windows",
        "ploop"};
    c.root_fs = Chance(0.75) ? "preloaded:cflinuxfs4" : Pick(kRootFses);
    if (Chance(0.15)) c.volume_drivers = Subset({"nfs", "smb"}, 0.5);
    if (Chance(0.15)) c.placement_tags = Subset({"a", "b", "ssd"}, 0.4);
    return c;
  }

  Resource Request() {
    static const std::vector<int32_t> kSizes = {0, 1, 1, 2, 4, 8, 8, 16, 32, 64, 120};
    Resource r;
    r.memory_mb = Pick(kSizes);
    r.disk_mb = Pick(kSizes);
    r.max_pids = Uniform(0, 2048);
    return r;
  }

  CellState Cell(int i, const std::vector<std::string>& zones, int apps) {
    CellState c;
    c.cell_id = absl::StrCat("cell-", i);
    c.rep_url = absl::StrCat("http://cell-", i);
    c.cell_index = Uniform(0, 20);
    c.zone = Pick(zones);
    std::vector<std::string> stacks = Subset({"cflinuxfs3", "cflinuxfs4"}, 0.85);
    if (Chance(0.9)) c.rootfs_providers.SetFixedSet("preloaded", stacks);
    if (Chance(0.5)) c.rootfs_providers.SetFixedSet("preloaded+layer", stacks);
    if (Chance(0.6)) c.rootfs_providers.SetArbitrary("docker");
    static const std::vector<int32_t> kTotals = {16, 64, 100, 128, 256, 1000};
    c.total_resources = {Pick(kTotals), Pick(kTotals), Uniform(1, 24)};
    if (Chance(0.03)) c.total_resources.memory_mb = 0;
    if (Chance(0.03)) c.total_resources.containers = 0;
    c.available_resources = {Uniform(0, c.total_resources.memory_mb),
                             Uniform(0, c.total_resources.disk_mb),
                             Uniform(0, std::max(1, c.total_resources.containers))};
    if (Chance(0.3)) c.available_resources = c.total_resources;
    if (Chance(0.03)) c.available_resources.memory_mb = c.total_resources.memory_mb + 40;
    c.starting_container_count = Chance(0.5) ? 0 : Uniform(0, 6);
    // A negative proxy allocation is nonsense, but makes Diego's reservation
    // re-check (without the proxy) fail, which must be reported the same way.
    c.proxy_memory_allocation_mb = Chance(0.6) ? 0 : Pick(std::vector<int32_t>{5, 32, 32, -20});
    if (Chance(0.3)) c.volume_drivers = Subset({"nfs", "smb"}, 0.6);
    if (Chance(0.15)) c.placement_tags = Subset({"a", "b"}, 0.5);
    if (Chance(0.2)) c.optional_placement_tags = Subset({"ssd", "b"}, 0.6);
    if (Chance(0.35)) {
      // A pristine standard cell: these tie with each other exactly.
      c.total_resources = {128, 128, 10};
      c.available_resources = c.total_resources;
      c.starting_container_count = 0;
      return c;
    }
    const int lrps = Uniform(0, 8);
    for (int k = 0; k < lrps; ++k) {
      Lrp lrp;
      lrp.process_guid = absl::StrCat("app-", Uniform(0, apps - 1));
      lrp.index = Uniform(0, 5);
      lrp.instance_guid = absl::StrCat(c.cell_id, "-", k);
      lrp.domain = "cf-apps";
      lrp.resource = Request();
      lrp.state = "RUNNING";
      c.lrps.push_back(lrp);
    }
    const int tasks = Chance(0.5) ? 0 : Uniform(0, 3);
    for (int k = 0; k < tasks; ++k) {
      Task task;
      task.task_guid = absl::StrCat(c.cell_id, "-task-", k);
      task.state = "Running";
      c.tasks.push_back(task);
    }
    return c;
  }

  struct Case {
    std::vector<CellState> cells;
    std::vector<LrpAuction> lrps;
    std::vector<TaskAuction> tasks;
    AuctionConfig config;
  };

  Case Make(int max_cells, int max_items) {
    Case c;
    static const std::vector<std::string> kZones = {"z1", "z2", "z3", "", "z4"};
    std::vector<std::string> zones(kZones.begin(), kZones.begin() + Uniform(1, 5));
    const int apps = Uniform(1, 12);
    const int cells = Chance(0.03) ? 0 : Uniform(1, max_cells);
    for (int i = 0; i < cells; ++i) c.cells.push_back(Cell(i, zones, apps));
    // LRP start requests: several indices of one app share a constraint and
    // resource, as the BBS sends them.
    const int requests = Uniform(0, max_items / 3 + 1);
    for (int r = 0; r < requests; ++r) {
      LrpStartRequest request;
      request.process_guid = absl::StrCat("app-", Uniform(0, apps - 1));
      request.domain = "cf-apps";
      request.constraint = Constraint();
      request.resource = Request();
      const int first = Chance(0.5) ? 0 : Uniform(0, 6);
      const int count = Uniform(1, 5);
      for (int i = 0; i < count; ++i) request.indices.push_back(first + i);
      for (LrpAuction& a : LrpAuctionsFromRequest(request, absl::UnixEpoch())) {
        c.lrps.push_back(std::move(a));
      }
    }
    const int tasks = Uniform(0, max_items / 3 + 1);
    for (int t = 0; t < tasks; ++t) {
      TaskAuction a;
      a.task.task_guid = absl::StrCat("task-", t);
      a.task.domain = "cf-tasks";
      a.task.constraint = Constraint();
      a.task.resource = Request();
      c.tasks.push_back(std::move(a));
    }
    // Out-of-range weights too: the scheduler must still agree with Diego's
    // arithmetic.
    c.config.starting_container_weight =
        Pick(std::vector<double>{0.0, 0.25, 0.25, 0.5, 1.0, 0.25, 0.25, -0.5});
    c.config.bin_pack_first_fit_weight =
        Pick(std::vector<double>{0.0, 0.0, 0.0, 0.1, 0.25, 0.5, 1.0});
    c.config.max_inflight = Chance(0.75) ? 0 : Uniform(1, 40);
    return c;
  }

 private:
  std::mt19937 rng_;
};

ScheduleOutput RunFast(const Generator::Case& c, const PlacementStrategy& strategy) {
  Scheduler scheduler(&strategy, c.config);
  return scheduler.Schedule(c.cells, c.lrps, c.tasks);
}

// ---------------------------------------------------------------------------
// The oracle on hand-made cases.

CellState SimpleCell(std::string id, std::string zone, Resources available) {
  CellState c;
  c.cell_id = std::move(id);
  c.zone = std::move(zone);
  c.rootfs_providers.SetFixedSet("preloaded", {"cflinuxfs4"});
  c.available_resources = available;
  c.total_resources = {100, 100, 100};
  return c;
}

LrpAuction SimpleLrp(std::string guid, int32_t index, int32_t memory) {
  LrpAuction a;
  a.lrp.process_guid = std::move(guid);
  a.lrp.index = index;
  a.lrp.constraint.root_fs = "preloaded:cflinuxfs4";
  a.lrp.resource = {memory, 1, 0};
  return a;
}

TEST(ReferenceSchedulerTest, SpreadsAcrossZonesAndCells) {
  std::vector<CellState> cells = {SimpleCell("a", "z1", {100, 100, 100}),
                                  SimpleCell("b", "z2", {100, 100, 100}),
                                  SimpleCell("c", "z1", {100, 100, 100})};
  std::vector<LrpAuction> lrps;
  for (int i = 0; i < 3; ++i) lrps.push_back(SimpleLrp("app", i, 10));
  ScheduleOutput out = ReferenceSchedule(cells, lrps, {}, AuctionConfig{});
  EXPECT_THAT(Describe(out),
              ElementsAre("lrp ok app.0 -> a", "lrp ok app.1 -> b", "lrp ok app.2 -> c",
                          "work a: app.0", "work b: app.1", "work c: app.2"));
}

TEST(ReferenceSchedulerTest, ReportsErrors) {
  std::vector<CellState> cells = {SimpleCell("a", "z1", {5, 100, 100})};
  LrpAuction wrong = SimpleLrp("wrong", 0, 1);
  wrong.lrp.constraint.root_fs = "docker:///x";
  TaskAuction task;
  task.task.task_guid = "t";
  task.task.constraint.root_fs = "preloaded:cflinuxfs4";
  task.task.resource = {10, 1, 0};
  ScheduleOutput out = ReferenceSchedule(cells, {wrong}, {task}, AuctionConfig{});
  EXPECT_THAT(Describe(out),
              ElementsAre("lrp failed wrong.0: found no compatible cell for required rootfs",
                          "task failed t: insufficient resources: memory"));
  ScheduleOutput none = ReferenceSchedule({}, {wrong}, {}, AuctionConfig{});
  EXPECT_THAT(Describe(none),
              ElementsAre("lrp failed wrong.0: unable to communicate to compatible cells"));
}

TEST(ReferenceSchedulerTest, InflightLimit) {
  std::vector<CellState> cells = {SimpleCell("a", "z1", {100, 100, 100})};
  cells[0].starting_container_count = 1;
  AuctionConfig config;
  config.max_inflight = 2;
  ScheduleOutput out =
      ReferenceSchedule(cells, {SimpleLrp("x", 0, 1), SimpleLrp("y", 0, 1)}, {}, config);
  EXPECT_THAT(Describe(out),
              ElementsAre("lrp ok x.0 -> a",
                          "lrp failed y.0: waiting to start instance: reached in-flight start "
                          "limit",
                          "work a: x.0"));
}

// ---------------------------------------------------------------------------
// Fast scheduler == oracle.

TEST(ReferenceComparisonTest, RandomSmallClusters) {
  std::unique_ptr<PlacementStrategy> diego = NewDiegoStrategy();
  Generator gen(20260101);
  int placed = 0;
  int failed = 0;
  for (int i = 0; i < 3000; ++i) {
    const Generator::Case c = gen.Make(/*max_cells=*/12, /*max_items=*/40);
    const ScheduleOutput fast = RunFast(c, *diego);
    const ScheduleOutput reference = ReferenceSchedule(c.cells, c.lrps, c.tasks, c.config);
    ASSERT_EQ(Describe(fast), Describe(reference)) << "case " << i;
    ASSERT_EQ(fast.work, reference.work) << "case " << i;
    placed += static_cast<int>(fast.results.successful_lrps.size() +
                               fast.results.successful_tasks.size());
    failed += static_cast<int>(fast.results.failed_lrps.size() + fast.results.failed_tasks.size());
  }
  // The generator must exercise both outcomes substantially.
  EXPECT_GT(placed, 5000);
  EXPECT_GT(failed, 5000);
}

TEST(ReferenceComparisonTest, RandomLargerClusters) {
  // More cells than tree leaves fit in a cache line, many request shapes (so
  // score-class trees are evicted and rebuilt) and long batches.
  std::unique_ptr<PlacementStrategy> diego = NewDiegoStrategy();
  Generator gen(777);
  for (int i = 0; i < 60; ++i) {
    const Generator::Case c = gen.Make(/*max_cells=*/150, /*max_items=*/600);
    const ScheduleOutput fast = RunFast(c, *diego);
    const ScheduleOutput reference = ReferenceSchedule(c.cells, c.lrps, c.tasks, c.config);
    ASSERT_EQ(Describe(fast), Describe(reference)) << "case " << i;
    ASSERT_EQ(fast.work, reference.work) << "case " << i;
  }
}

TEST(ReferenceComparisonTest, ManyInstancesOfFewAppsOnUniformCells) {
  // Uniform cells produce exact score ties everywhere: tie-breaking must
  // match (first zone, first cell), and locality dominates.
  std::unique_ptr<PlacementStrategy> diego = NewDiegoStrategy();
  for (double first_fit : {0.0, 0.25}) {
    std::vector<CellState> cells;
    for (int i = 0; i < 30; ++i) {
      cells.push_back(SimpleCell(absl::StrCat("c", i), absl::StrCat("z", i % 3), {100, 100, 100}));
      cells.back().cell_index = 29 - i;
    }
    std::vector<LrpAuction> lrps;
    for (int app = 0; app < 4; ++app) {
      for (int i = 0; i < 70; ++i) lrps.push_back(SimpleLrp(absl::StrCat("app-", app), i, 1 + app));
    }
    AuctionConfig config;
    config.bin_pack_first_fit_weight = first_fit;
    Scheduler scheduler(diego.get(), config);
    const ScheduleOutput fast = scheduler.Schedule(cells, lrps, {});
    const ScheduleOutput reference = ReferenceSchedule(cells, lrps, {}, config);
    EXPECT_EQ(Describe(fast), Describe(reference));
  }
}

// A strategy that checks, for every item, that the scheduler's indexed
// `LowestScoreCandidate` equals a plain scan of `ForEachCandidate`, then
// defers to Diego's rule.
class CheckingStrategy final : public PlacementStrategy {
 public:
  absl::string_view name() const override { return "checking"; }
  std::optional<int32_t> ChooseCell(const PlacementContext& context) const override {
    for (int32_t zone = 0; zone < context.zone_count(); ++zone) {
      std::optional<CandidateCell> scanned;
      context.ForEachCandidate(zone, [&](const CandidateCell& c) {
        EXPECT_EQ(c.zone, zone);
        if (c.score < std::numeric_limits<double>::infinity() &&
            (!scanned.has_value() || c.score < scanned->score)) {
          scanned = c;
        }
      });
      std::optional<CandidateCell> indexed = context.LowestScoreCandidate(zone);
      ++checks_;
      EXPECT_EQ(indexed.has_value(), scanned.has_value());
      if (indexed.has_value() && scanned.has_value()) {
        EXPECT_EQ(indexed->cell, scanned->cell);
        EXPECT_EQ(indexed->position, scanned->position);
        EXPECT_EQ(indexed->score, scanned->score);
        EXPECT_EQ(indexed->colocated, scanned->colocated);
        EXPECT_EQ(indexed->remaining, scanned->remaining);
        EXPECT_EQ(indexed->available, scanned->available);
        EXPECT_EQ(indexed->starting_container_count, scanned->starting_container_count);
        EXPECT_EQ(indexed->first_fit_index, scanned->first_fit_index);
      }
    }
    return diego_->ChooseCell(context);
  }
  int checks() const { return checks_; }

 private:
  std::unique_ptr<PlacementStrategy> diego_ = NewDiegoStrategy();
  mutable int checks_ = 0;
};

TEST(ReferenceComparisonTest, IndexedLowestScoreMatchesScan) {
  CheckingStrategy checking;
  Generator gen(4242);
  for (int i = 0; i < 300 && !::testing::Test::HasFailure(); ++i) {
    const Generator::Case c = gen.Make(/*max_cells=*/40, /*max_items=*/120);
    const ScheduleOutput out = RunFast(c, checking);
    const ScheduleOutput reference = ReferenceSchedule(c.cells, c.lrps, c.tasks, c.config);
    ASSERT_EQ(Describe(out), Describe(reference)) << "case " << i;
  }
  EXPECT_GT(checking.checks(), 10000);
}

}  // namespace
}  // namespace diego::auction
