// Copyright 2026 The libdiego Authors.
//
// Scheduler with Diego's strategy: every scoring term, the hard filters and
// their messages, ordering, zone balancing, the in-flight limit, reservation
// and the output shape (diego-spec.md 4.2-4.4, Appendix A).

#include "diego/auction/scheduler.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/auction/strategies.h"
#include "diego/auction/types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::auction {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kRootFs[] = "preloaded:cflinuxfs4";

CellState MakeCell(std::string id, std::string zone, Resources available,
                   Resources total = {100, 100, 100}) {
  CellState cell;
  cell.cell_id = std::move(id);
  cell.rep_url = "http://" + cell.cell_id + ":1800";
  cell.zone = std::move(zone);
  cell.rootfs_providers.SetFixedSet("preloaded", {"cflinuxfs4"});
  cell.rootfs_providers.SetArbitrary("docker");
  cell.available_resources = available;
  cell.total_resources = total;
  return cell;
}

CellState EmptyCell(std::string id, std::string zone = "z1") {
  return MakeCell(std::move(id), std::move(zone), {100, 100, 100});
}

Lrp ExistingLrp(std::string guid, int32_t index = 0) {
  Lrp lrp;
  lrp.instance_guid = absl::StrCat(guid, "-instance-", index);
  lrp.process_guid = std::move(guid);
  lrp.index = index;
  lrp.domain = "cf-apps";
  lrp.constraint.root_fs = kRootFs;
  lrp.resource = {1, 1, 0};
  lrp.state = "RUNNING";
  return lrp;
}

LrpAuction MakeLrp(std::string guid, int32_t index, int32_t memory = 1, int32_t disk = 1) {
  LrpAuction auction;
  auction.lrp.process_guid = std::move(guid);
  auction.lrp.index = index;
  auction.lrp.domain = "cf-apps";
  auction.lrp.constraint.root_fs = kRootFs;
  auction.lrp.resource = {memory, disk, 0};
  auction.record.queue_time = absl::FromUnixSeconds(1000);
  return auction;
}

TaskAuction MakeTask(std::string guid, int32_t memory = 1, int32_t disk = 1) {
  TaskAuction auction;
  auction.task.task_guid = std::move(guid);
  auction.task.domain = "cf-tasks";
  auction.task.constraint.root_fs = kRootFs;
  auction.task.resource = {memory, disk, 0};
  auction.record.queue_time = absl::FromUnixSeconds(1000);
  return auction;
}

// identifier -> winning cell id, or "!" + placement error.
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

std::vector<std::string> Identifiers(const std::vector<LrpAuction>& auctions) {
  std::vector<std::string> ids;
  for (const LrpAuction& a : auctions) ids.push_back(a.Identifier());
  return ids;
}

std::vector<std::string> Identifiers(const std::vector<TaskAuction>& auctions) {
  std::vector<std::string> ids;
  for (const TaskAuction& a : auctions) ids.push_back(a.Identifier());
  return ids;
}

class SchedulerTest : public ::testing::Test {
 protected:
  ScheduleOutput Run(std::vector<CellState> cells, std::vector<LrpAuction> lrps,
                     std::vector<TaskAuction> tasks = {}, AuctionConfig config = {}) {
    Scheduler scheduler(strategy_.get(), config);
    return scheduler.Schedule(std::move(cells), std::move(lrps), std::move(tasks));
  }

  std::unique_ptr<PlacementStrategy> strategy_ = NewDiegoStrategy();
};

// ---------------------------------------------------------------------------
// Types.

TEST(TypesTest, LrpIdentifierIsProcessGuidDotIndex) {
  LrpAuction auction = MakeLrp("web-1234", 7);
  EXPECT_EQ(auction.Identifier(), "web-1234.7");
  TaskAuction task = MakeTask("task-9");
  EXPECT_EQ(task.Identifier(), "task-9");
}

TEST(TypesTest, LrpAuctionsFromRequestExpandsIndices) {
  LrpStartRequest request;
  request.process_guid = "pg";
  request.domain = "cf-apps";
  request.indices = {0, 3};
  request.constraint.root_fs = kRootFs;
  request.constraint.placement_tags = {"a"};
  request.resource = {256, 1024, 100};
  const absl::Time now = absl::FromUnixSeconds(42);
  std::vector<LrpAuction> auctions = LrpAuctionsFromRequest(request, now);
  ASSERT_EQ(auctions.size(), 2u);
  EXPECT_EQ(auctions[0].Identifier(), "pg.0");
  EXPECT_EQ(auctions[1].Identifier(), "pg.3");
  for (const LrpAuction& a : auctions) {
    EXPECT_EQ(a.lrp.domain, "cf-apps");
    EXPECT_EQ(a.lrp.constraint, request.constraint);
    EXPECT_EQ(a.lrp.resource, request.resource);
    EXPECT_EQ(a.lrp.instance_guid, "");
    EXPECT_EQ(a.record.queue_time, now);
    EXPECT_EQ(a.record.attempts, 0);
    EXPECT_EQ(a.record.winner, "");
  }
}

TEST(TypesTest, LrpAuctionsFromRequestWithoutIndicesIsEmpty) {
  LrpStartRequest request;
  request.process_guid = "pg";
  EXPECT_THAT(LrpAuctionsFromRequest(request, absl::UnixEpoch()), IsEmpty());
}

// ---------------------------------------------------------------------------
// Scoring terms.

TEST_F(SchedulerTest, MemoryFractionSpreadsToLeastUsedCell) {
  ScheduleOutput out =
      Run({MakeCell("used", "z1", {50, 100, 100}), EmptyCell("empty")}, {MakeLrp("app", 0, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "empty")));
}

TEST_F(SchedulerTest, DiskFractionCounts) {
  ScheduleOutput out = Run({MakeCell("used", "z1", {100, 50, 100}), EmptyCell("empty")},
                           {MakeLrp("app", 0, 10, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "empty")));
}

TEST_F(SchedulerTest, ContainerFractionCounts) {
  ScheduleOutput out = Run({MakeCell("used", "z1", {100, 100, 50}), EmptyCell("empty")},
                           {MakeLrp("app", 0, 10, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "empty")));
}

TEST_F(SchedulerTest, FractionsAreOfTotalsNotOfAbsoluteFreeSpace) {
  // "big" has more free memory (500 MB) but uses a larger share of it.
  ScheduleOutput out = Run({MakeCell("big", "z1", {500, 100, 100}, {1000, 100, 100}),
                            MakeCell("small", "z1", {90, 100, 100}, {100, 100, 100})},
                           {MakeLrp("app", 0, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "small")));
}

TEST_F(SchedulerTest, StartingContainerWeightPenalisesStartingCells) {
  // busy: R = ((1-50/100) + (1-90/100) + (1-99/100)) / 3 = 0.2033
  // starting: R = 0.07, plus 2 x weight.
  CellState busy = MakeCell("busy", "z1", {60, 100, 100});
  CellState starting = EmptyCell("starting");
  starting.starting_container_count = 2;

  ScheduleOutput with_weight = Run({busy, starting}, {MakeLrp("app", 0, 10, 10)});
  EXPECT_THAT(Outcomes(with_weight), ElementsAre(Pair("app.0", "busy")));

  AuctionConfig no_weight;
  no_weight.starting_container_weight = 0.0;
  ScheduleOutput without = Run({busy, starting}, {MakeLrp("app", 0, 10, 10)}, {}, no_weight);
  EXPECT_THAT(Outcomes(without), ElementsAre(Pair("app.0", "starting")));
}

TEST_F(SchedulerTest, StartingContainerWeightAppliesToTasks) {
  CellState busy = MakeCell("busy", "z1", {60, 100, 100});
  CellState starting = EmptyCell("starting");
  starting.starting_container_count = 2;
  ScheduleOutput out = Run({busy, starting}, {}, {MakeTask("t", 10, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("t", "busy")));
}

TEST_F(SchedulerTest, SameAppInstanceCostsOneThousand) {
  CellState colocated = EmptyCell("colocated");
  colocated.lrps.push_back(ExistingLrp("app", 0));
  colocated.lrps.push_back(ExistingLrp("other", 0));
  CellState loaded = MakeCell("loaded", "z1", {10, 10, 10});
  ScheduleOutput out =
      Run({colocated, loaded}, {MakeLrp("app", 1, 5, 5), MakeLrp("third", 0, 5, 5)});
  // "app" avoids its own cell however loaded the other is; an unrelated app
  // takes the emptier cell (other apps' instances do not count).
  EXPECT_THAT(Outcomes(out),
              UnorderedElementsAre(Pair("app.1", "loaded"), Pair("third.0", "colocated")));
}

TEST_F(SchedulerTest, TasksOnCellCostOneThousandForTasksOnly) {
  CellState with_task = EmptyCell("with-task");
  with_task.tasks.push_back(MakeTask("existing").task);
  CellState loaded = MakeCell("loaded", "z1", {10, 10, 10});

  ScheduleOutput task_out = Run({with_task, loaded}, {}, {MakeTask("t", 5, 5)});
  EXPECT_THAT(Outcomes(task_out), ElementsAre(Pair("t", "loaded")));

  // LRPs ignore tasks on the cell.
  ScheduleOutput lrp_out = Run({with_task, loaded}, {MakeLrp("app", 0, 5, 5)});
  EXPECT_THAT(Outcomes(lrp_out), ElementsAre(Pair("app.0", "with-task")));
}

TEST_F(SchedulerTest, TasksIgnoreLrpLocality) {
  CellState with_lrps = EmptyCell("with-lrps");
  with_lrps.lrps.push_back(ExistingLrp("t"));  // Same name as the task: irrelevant.
  CellState loaded = MakeCell("loaded", "z1", {50, 50, 50});
  ScheduleOutput out = Run({with_lrps, loaded}, {}, {MakeTask("t", 5, 5)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("t", "with-lrps")));
}

// ---------------------------------------------------------------------------
// First-fit weight.

TEST_F(SchedulerTest, FirstFitWeightPrefersLowCellIndex) {
  CellState a = EmptyCell("a");
  a.cell_index = 2;
  CellState b = EmptyCell("b");
  b.cell_index = 0;
  CellState c = EmptyCell("c");
  c.cell_index = 1;
  AuctionConfig config;
  config.bin_pack_first_fit_weight = 0.5;
  // b (index 0) wins; the second app still prefers b: 0.25 starting penalty
  // plus ~0.02 is below c's 0.5 index term.
  ScheduleOutput out = Run({a, b, c}, {MakeLrp("one", 0), MakeLrp("two", 0)}, {}, config);
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("one.0", "b"), Pair("two.0", "b")));
}

TEST_F(SchedulerTest, FirstFitIndicesAreRenormalisedPerZone) {
  // Reported indices 9 and 1 both become 0 in their zones, so only the
  // resource score decides: z1's emptier cell wins despite its raw index.
  CellState high = EmptyCell("high", "z1");
  high.cell_index = 9;
  CellState low = MakeCell("low", "z2", {90, 100, 100});
  low.cell_index = 1;
  AuctionConfig config;
  config.bin_pack_first_fit_weight = 1.0;
  ScheduleOutput out = Run({high, low}, {MakeLrp("app", 0)}, {}, config);
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "high")));
}

TEST_F(SchedulerTest, FirstFitRenormalisationIsDenseWithinZone) {
  // Indices 100 and 500 become 0 and 1: a 1.0 gap, not 400.
  CellState first = MakeCell("first", "z1", {40, 100, 100});
  first.cell_index = 100;
  CellState second = EmptyCell("second", "z1");
  second.cell_index = 500;
  AuctionConfig config;
  config.bin_pack_first_fit_weight = 0.1;
  // first: R = ((1-39/100) + 0.01 + 0.01) / 3 = 0.21; second: 0.01 + 0.1.
  ScheduleOutput out = Run({second, first}, {MakeLrp("app", 0)}, {}, config);
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "second")));
}

TEST_F(SchedulerTest, ZeroFirstFitWeightIgnoresCellIndex) {
  CellState high = EmptyCell("high");
  high.cell_index = 100;
  CellState low = MakeCell("low", "z1", {90, 100, 100});
  low.cell_index = 0;
  ScheduleOutput out = Run({low, high}, {MakeLrp("app", 0)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "high")));
}

TEST_F(SchedulerTest, FirstFitWeightDoesNotApplyToTasks) {
  CellState high = EmptyCell("high");
  high.cell_index = 1;
  CellState low = MakeCell("low", "z1", {90, 100, 100});
  low.cell_index = 0;
  AuctionConfig config;
  config.bin_pack_first_fit_weight = 1.0;
  ScheduleOutput out = Run({low, high}, {}, {MakeTask("t")}, config);
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("t", "high")));
}

// ---------------------------------------------------------------------------
// Proxy memory.

TEST_F(SchedulerTest, LrpFitIncludesProxyMemoryButTaskFitDoesNot) {
  CellState cell = EmptyCell("cell");
  cell.proxy_memory_allocation_mb = 32;
  ScheduleOutput out = Run({cell}, {MakeLrp("app", 0, 80)}, {MakeTask("t", 80)});
  EXPECT_THAT(Outcomes(out), UnorderedElementsAre(Pair("app.0", "!insufficient resources: memory"),
                                                  Pair("t", "cell")));
}

TEST_F(SchedulerTest, ReservationSubtractsThePlainRequest) {
  CellState cell = EmptyCell("cell");
  cell.proxy_memory_allocation_mb = 32;
  // Each needs 34 + 32 free but reserves 34: 100 -> 66 -> 32.
  ScheduleOutput out = Run({cell}, {MakeLrp("a", 0, 34), MakeLrp("b", 0, 34), MakeLrp("c", 0, 34)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("a.0", "cell"), Pair("b.0", "cell"),
                                         Pair("c.0", "!insufficient resources: memory")));
}

TEST_F(SchedulerTest, ScoreUsesProxiedMemory) {
  // plain: 1 - 90/100 = 0.1. proxied: 1 - (120-10-40)/120 = 0.417
  // (without the proxy it would be 1 - 110/120 = 0.083 and win).
  CellState plain = MakeCell("plain", "z1", {100, 100, 100}, {100, 100, 100});
  CellState proxied = MakeCell("proxied", "z1", {120, 100, 100}, {120, 100, 100});
  proxied.proxy_memory_allocation_mb = 40;
  ScheduleOutput out = Run({proxied, plain}, {MakeLrp("app", 0, 10, 1)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "plain")));
}

// ---------------------------------------------------------------------------
// Hard filters and their errors.

TEST_F(SchedulerTest, RootFsFilter) {
  LrpAuction wrong_stack = MakeLrp("wrong-stack", 0);
  wrong_stack.lrp.constraint.root_fs = "preloaded:cflinuxfs3";
  LrpAuction docker = MakeLrp("docker", 0);
  docker.lrp.constraint.root_fs = "docker:///cloudfoundry/diego-docker-app#latest";
  LrpAuction unparseable = MakeLrp("unparseable", 0);
  unparseable.lrp.constraint.root_fs = "ploop";
  LrpAuction unknown_scheme = MakeLrp("unknown-scheme", 0);
  unknown_scheme.lrp.constraint.root_fs = "oci:///image";
  ScheduleOutput out = Run({EmptyCell("cell")}, {wrong_stack, docker, unparseable, unknown_scheme});
  EXPECT_THAT(Outcomes(out),
              UnorderedElementsAre(
                  Pair("wrong-stack.0", "!found no compatible cell for required rootfs"),
                  Pair("docker.0", "cell"),
                  Pair("unparseable.0", "!found no compatible cell for required rootfs"),
                  Pair("unknown-scheme.0", "!found no compatible cell for required rootfs")));
}

TEST_F(SchedulerTest, VolumeDriverFilter) {
  CellState nfs = EmptyCell("nfs");
  nfs.volume_drivers = {"smb", "nfs"};
  LrpAuction wants_nfs = MakeLrp("wants-nfs", 0);
  wants_nfs.lrp.constraint.volume_drivers = {"nfs"};
  LrpAuction wants_both = MakeLrp("wants-both", 0);
  wants_both.lrp.constraint.volume_drivers = {"nfs", "smb"};
  LrpAuction wants_ceph = MakeLrp("wants-ceph", 0);
  wants_ceph.lrp.constraint.volume_drivers = {"nfs", "ceph"};

  ScheduleOutput out = Run({nfs}, {wants_nfs, wants_both, wants_ceph});
  EXPECT_THAT(Outcomes(out),
              UnorderedElementsAre(
                  Pair("wants-nfs.0", "nfs"), Pair("wants-both.0", "nfs"),
                  Pair("wants-ceph.0", "!found no compatible cell with required volume drivers")));
}

TEST_F(SchedulerTest, PlacementTagFilterMessages) {
  CellState tagged = EmptyCell("tagged");
  tagged.placement_tags = {"gpu"};
  LrpAuction none = MakeLrp("none", 0);
  LrpAuction one = MakeLrp("one", 0);
  one.lrp.constraint.placement_tags = {"a"};
  LrpAuction two = MakeLrp("two", 0);
  two.lrp.constraint.placement_tags = {"a", "b"};
  LrpAuction three = MakeLrp("three", 0);
  three.lrp.constraint.placement_tags = {"a", "b", "c"};
  LrpAuction gpu = MakeLrp("gpu", 0);
  gpu.lrp.constraint.placement_tags = {"gpu"};

  ScheduleOutput out = Run({tagged}, {none, one, two, three, gpu});
  EXPECT_THAT(
      Outcomes(out),
      UnorderedElementsAre(
          Pair("none.0", "!found no compatible cell with no placement tags"),
          Pair("one.0", "!found no compatible cell with placement tag \"a\""),
          Pair("two.0", "!found no compatible cell with placement tags \"a\" and \"b\""),
          Pair("three.0", "!found no compatible cell with placement tags \"a\", \"b\" and \"c\""),
          Pair("gpu.0", "tagged")));
}

TEST_F(SchedulerTest, OptionalPlacementTagsAcceptWorkWithAndWithoutThem) {
  CellState cell = EmptyCell("cell");
  cell.optional_placement_tags = {"ssd"};
  LrpAuction with_tag = MakeLrp("with", 0);
  with_tag.lrp.constraint.placement_tags = {"ssd"};
  LrpAuction without = MakeLrp("without", 0);
  LrpAuction other = MakeLrp("other", 0);
  other.lrp.constraint.placement_tags = {"ssd", "gpu"};
  ScheduleOutput out = Run({cell}, {with_tag, without, other});
  EXPECT_THAT(
      Outcomes(out),
      UnorderedElementsAre(
          Pair("with.0", "cell"), Pair("without.0", "cell"),
          Pair("other.0", "!found no compatible cell with placement tags \"ssd\" and \"gpu\"")));
}

TEST_F(SchedulerTest, MostSpecificFilterErrorAcrossCellsAndZones) {
  CellState wrong_rootfs = EmptyCell("wrong-rootfs", "z1");
  wrong_rootfs.rootfs_providers = {};
  CellState no_driver = EmptyCell("no-driver", "z2");
  CellState wrong_tags = EmptyCell("wrong-tags", "z3");
  wrong_tags.volume_drivers = {"nfs"};
  wrong_tags.placement_tags = {"x"};
  LrpAuction lrp = MakeLrp("app", 0);
  lrp.lrp.constraint.volume_drivers = {"nfs"};
  TaskAuction task = MakeTask("t");
  task.task.constraint.volume_drivers = {"nfs"};

  for (const std::vector<CellState>& cells :
       {std::vector<CellState>{wrong_rootfs, no_driver, wrong_tags},
        std::vector<CellState>{wrong_tags, no_driver, wrong_rootfs}}) {
    ScheduleOutput out = Run(cells, {lrp}, {task});
    EXPECT_THAT(
        Outcomes(out),
        UnorderedElementsAre(Pair("app.0", "!found no compatible cell with no placement tags"),
                             Pair("t", "!found no compatible cell with no placement tags")));
  }
  ScheduleOutput drivers = Run({wrong_rootfs, no_driver}, {lrp});
  EXPECT_THAT(Outcomes(drivers),
              ElementsAre(Pair("app.0", "!found no compatible cell with required volume drivers")));
}

TEST_F(SchedulerTest, OnlyCompatibleCellsAreConsideredForResources) {
  CellState roomy_but_tagged = MakeCell("roomy", "z1", {1000, 1000, 100}, {1000, 1000, 100});
  roomy_but_tagged.placement_tags = {"private"};
  CellState small = MakeCell("small", "z1", {5, 100, 100});
  ScheduleOutput out = Run({roomy_but_tagged, small}, {MakeLrp("app", 0, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "!insufficient resources: memory")));
}

// ---------------------------------------------------------------------------
// Resource fit and its errors.

TEST_F(SchedulerTest, InsufficientResourcesListsProblemsCommonToAllCells) {
  ScheduleOutput both = Run({MakeCell("a", "z1", {5, 5, 10}), MakeCell("b", "z2", {5, 5, 10})},
                            {MakeLrp("app", 0, 10, 10)});
  EXPECT_THAT(Outcomes(both), ElementsAre(Pair("app.0", "!insufficient resources: disk, memory")));

  ScheduleOutput containers = Run({MakeCell("a", "z1", {100, 100, 0})}, {MakeLrp("app", 0)});
  EXPECT_THAT(Outcomes(containers),
              ElementsAre(Pair("app.0", "!insufficient resources: containers")));

  ScheduleOutput all = Run({MakeCell("a", "z1", {5, 5, 0})}, {MakeLrp("app", 0, 10, 10)});
  EXPECT_THAT(Outcomes(all),
              ElementsAre(Pair("app.0", "!insufficient resources: containers, disk, memory")));

  ScheduleOutput none_common =
      Run({MakeCell("a", "z1", {5, 100, 10}), MakeCell("b", "z1", {100, 5, 10})},
          {MakeLrp("app", 0, 10, 10)});
  EXPECT_THAT(Outcomes(none_common), ElementsAre(Pair("app.0", "!insufficient resources")));

  ScheduleOutput task = Run({MakeCell("a", "z1", {5, 100, 10})}, {}, {MakeTask("t", 10)});
  EXPECT_THAT(Outcomes(task), ElementsAre(Pair("t", "!insufficient resources: memory")));
}

TEST_F(SchedulerTest, ExactFitSucceeds) {
  ScheduleOutput out = Run({MakeCell("a", "z1", {10, 10, 1})}, {MakeLrp("app", 0, 10, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "a")));
}

TEST_F(SchedulerTest, MaxPidsIsNotChecked) {
  LrpAuction lrp = MakeLrp("app", 0);
  lrp.lrp.resource.max_pids = 1 << 30;
  TaskAuction task = MakeTask("t");
  task.task.resource.max_pids = 1 << 30;
  ScheduleOutput out = Run({EmptyCell("a")}, {lrp}, {task});
  EXPECT_THAT(Outcomes(out), UnorderedElementsAre(Pair("app.0", "a"), Pair("t", "a")));
}

TEST_F(SchedulerTest, NanScoreNeverWins) {
  // Zero totals: 1 - 0/0 is NaN, and NaN < best is false (Diego's quirk).
  CellState nan_cell = MakeCell("nan", "z1", {0, 100, 10}, {0, 100, 10});
  ScheduleOutput alone = Run({nan_cell}, {MakeLrp("app", 0, 0, 1)});
  EXPECT_THAT(Outcomes(alone),
              ElementsAre(Pair("app.0", "!insufficient resources: containers, disk, memory")));

  ScheduleOutput with_other =
      Run({nan_cell, MakeCell("loaded", "z1", {10, 10, 10})}, {MakeLrp("app", 0, 0, 1)});
  EXPECT_THAT(Outcomes(with_other), ElementsAre(Pair("app.0", "loaded")));
}

TEST_F(SchedulerTest, MinusInfinityScoreWins) {
  // 1 - 40/0 = -inf: Diego places there, so do we.
  CellState odd = MakeCell("odd", "z1", {50, 100, 10}, {0, 100, 10});
  ScheduleOutput out = Run({EmptyCell("empty"), odd}, {MakeLrp("app", 0, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "odd")));
}

// ---------------------------------------------------------------------------
// Ordering.

TEST_F(SchedulerTest, IndexZeroLrpsThenTasksThenOtherLrps) {
  CellState cell = MakeCell("cell", "z1", {100, 100, 2});
  ScheduleOutput out = Run({cell}, {MakeLrp("app", 1), MakeLrp("first", 0)}, {MakeTask("task")});
  EXPECT_THAT(Identifiers(out.results.successful_lrps), ElementsAre("first.0"));
  EXPECT_THAT(Identifiers(out.results.successful_tasks), ElementsAre("task"));
  EXPECT_THAT(Identifiers(out.results.failed_lrps), ElementsAre("app.1"));
  EXPECT_EQ(out.results.failed_lrps[0].record.placement_error,
            "insufficient resources: containers");
}

TEST_F(SchedulerTest, LowerIndexBeforeLargerMemory) {
  ScheduleOutput out = Run({MakeCell("cell", "z1", {100, 100, 100})},
                           {MakeLrp("big", 1, 95), MakeLrp("small", 0, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("big.1", "!insufficient resources: memory"),
                                         Pair("small.0", "cell")));
}

TEST_F(SchedulerTest, LargerMemoryFirstWithinIndex) {
  ScheduleOutput out = Run({MakeCell("cell", "z1", {100, 100, 100})},
                           {MakeLrp("small", 2, 30), MakeLrp("big", 2, 80)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("big.2", "cell"),
                                         Pair("small.2", "!insufficient resources: memory")));
}

TEST_F(SchedulerTest, LargerMemoryFirstForTasks) {
  ScheduleOutput out = Run({MakeCell("cell", "z1", {100, 100, 100})}, {},
                           {MakeTask("small", 30), MakeTask("big", 80)});
  EXPECT_THAT(Outcomes(out),
              ElementsAre(Pair("big", "cell"), Pair("small", "!insufficient resources: memory")));
}

TEST_F(SchedulerTest, EqualKeysKeepInputOrder) {
  CellState cell = MakeCell("cell", "z1", {100, 100, 1});
  ScheduleOutput lrps = Run({cell}, {MakeLrp("b", 0), MakeLrp("a", 0)});
  EXPECT_THAT(Identifiers(lrps.results.successful_lrps), ElementsAre("b.0"));
  ScheduleOutput tasks = Run({cell}, {}, {MakeTask("b"), MakeTask("a")});
  EXPECT_THAT(Identifiers(tasks.results.successful_tasks), ElementsAre("b"));
}

TEST_F(SchedulerTest, ResultListsKeepInputOrder) {
  // Scheduled y.0 (ok), t3, t2, t1 (ok), w.1, z.1, x.2 (ok), v.3, u.4;
  // each list keeps the input order.
  ScheduleOutput out = Run({MakeCell("a", "z1", {20, 100, 100})},
                           {MakeLrp("x", 2, 1), MakeLrp("y", 0, 15), MakeLrp("v", 3, 50),
                            MakeLrp("z", 1, 5), MakeLrp("u", 4, 60), MakeLrp("w", 1, 9)},
                           {MakeTask("t2", 30), MakeTask("t1", 1), MakeTask("t3", 40)});
  EXPECT_THAT(Identifiers(out.results.successful_lrps), ElementsAre("x.2", "y.0"));
  EXPECT_THAT(Identifiers(out.results.failed_lrps), ElementsAre("v.3", "z.1", "u.4", "w.1"));
  EXPECT_THAT(Identifiers(out.results.successful_tasks), ElementsAre("t1"));
  EXPECT_THAT(Identifiers(out.results.failed_tasks), ElementsAre("t2", "t3"));
}

// ---------------------------------------------------------------------------
// Zone balancing.

TEST_F(SchedulerTest, LrpGoesToZoneWithFewerInstances) {
  CellState empty = EmptyCell("empty", "z1");
  CellState holder = EmptyCell("holder", "z1");
  holder.lrps.push_back(ExistingLrp("app", 0));
  CellState loaded = MakeCell("loaded", "z2", {30, 30, 30});
  ScheduleOutput out = Run({empty, holder, loaded}, {MakeLrp("app", 1)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.1", "loaded")));
}

TEST_F(SchedulerTest, ZonesWithEqualCountsAreComparedTogether) {
  CellState a = MakeCell("a", "z1", {50, 100, 100});
  CellState b = MakeCell("b", "z2", {40, 100, 100});
  // z3 holds an instance, so its empty cell is not considered.
  CellState c = EmptyCell("c", "z3");
  CellState c_holder = EmptyCell("c-holder", "z3");
  c_holder.lrps.push_back(ExistingLrp("app", 0));
  ScheduleOutput out = Run({c, a, c_holder, b}, {MakeLrp("app", 1)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.1", "a")));
}

TEST_F(SchedulerTest, ZoneWithoutRoomFallsThroughToNextZone) {
  CellState full = MakeCell("full", "z2", {1, 100, 100});
  CellState holder = EmptyCell("holder", "z1");
  holder.lrps.push_back(ExistingLrp("app", 0));
  ScheduleOutput out = Run({holder, full}, {MakeLrp("app", 1, 10)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.1", "holder")));
}

TEST_F(SchedulerTest, ZoneWithoutCompatibleCellsIsSkipped) {
  CellState tagged = EmptyCell("tagged", "z2");
  tagged.placement_tags = {"private"};
  CellState holder = EmptyCell("holder", "z1");
  holder.lrps.push_back(ExistingLrp("app", 0));
  ScheduleOutput out = Run({holder, tagged}, {MakeLrp("app", 1)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.1", "holder")));
}

TEST_F(SchedulerTest, InstancesSplitEvenlyEvenWhenAZoneHasOnlyALoadedCell) {
  // spec 4.6 "AZ distribution": z2's only cell is 60% used by other apps.
  std::vector<CellState> cells = {EmptyCell("a1", "z1"), EmptyCell("a2", "z1"),
                                  EmptyCell("a3", "z1"), EmptyCell("a4", "z1"),
                                  MakeCell("b1", "z2", {40, 40, 40})};
  std::vector<LrpAuction> lrps;
  for (int i = 0; i < 6; ++i) lrps.push_back(MakeLrp("app", i, 5, 5));
  ScheduleOutput out = Run(cells, lrps);
  std::map<std::string, int> per_cell;
  for (const LrpAuction& a : out.results.successful_lrps) per_cell[a.record.winner]++;
  EXPECT_THAT(per_cell, ElementsAre(Pair("a1", 1), Pair("a2", 1), Pair("a3", 1), Pair("b1", 3)));
}

TEST_F(SchedulerTest, ScoreTieBetweenZonesGoesToFirstZoneInCellList) {
  std::vector<CellState> cells = {EmptyCell("in-zb", "zb"), EmptyCell("in-za", "za")};
  EXPECT_THAT(Outcomes(Run(cells, {MakeLrp("app", 0)})), ElementsAre(Pair("app.0", "in-zb")));
  EXPECT_THAT(Outcomes(Run(cells, {}, {MakeTask("t")})), ElementsAre(Pair("t", "in-zb")));
}

TEST_F(SchedulerTest, ScoreTieWithinZoneGoesToFirstCell) {
  ScheduleOutput out = Run({EmptyCell("first"), EmptyCell("second")}, {MakeLrp("app", 0)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "first")));
}

TEST_F(SchedulerTest, IterationIsZoneByZone) {
  // Cells interleave zones; Diego walks z1's cells (worse, best) before z2's
  // (best), so the equal-scoring z1 cell wins for both kinds of work.
  std::vector<CellState> cells = {MakeCell("z1-worse", "z1", {50, 100, 100}),
                                  EmptyCell("z2-best", "z2"), EmptyCell("z1-best", "z1")};
  ScheduleOutput lrp = Run(cells, {MakeLrp("app", 0)});
  EXPECT_THAT(Outcomes(lrp), ElementsAre(Pair("app.0", "z1-best")));
  ScheduleOutput task = Run(cells, {}, {MakeTask("t")});
  EXPECT_THAT(Outcomes(task), ElementsAre(Pair("t", "z1-best")));
}

TEST_F(SchedulerTest, TasksCompareCellsInEveryZone) {
  CellState a = MakeCell("a", "z1", {50, 100, 100});
  CellState b = EmptyCell("b", "z2");
  b.lrps.push_back(ExistingLrp("t"));
  ScheduleOutput out = Run({a, b}, {}, {MakeTask("t")});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("t", "b")));
}

// ---------------------------------------------------------------------------
// In-flight limit.

TEST_F(SchedulerTest, InflightLimitCountsStartingContainersAndPlacements) {
  CellState cell = EmptyCell("cell");
  cell.starting_container_count = 1;
  AuctionConfig config;
  config.max_inflight = 3;
  ScheduleOutput out = Run({cell}, {MakeLrp("a", 0), MakeLrp("b", 1)}, {MakeTask("t")}, config);
  EXPECT_THAT(Outcomes(out),
              UnorderedElementsAre(
                  Pair("a.0", "cell"), Pair("t", "cell"),
                  Pair("b.1", "!waiting to start instance: reached in-flight start limit")));
}

TEST_F(SchedulerTest, InflightLimitIsCheckedBeforeFilters) {
  CellState a = EmptyCell("a");
  a.starting_container_count = 2;
  CellState b = EmptyCell("b", "z2");
  b.starting_container_count = 3;
  AuctionConfig config;
  config.max_inflight = 5;
  LrpAuction incompatible = MakeLrp("x", 0);
  incompatible.lrp.constraint.root_fs = "preloaded:nope";
  ScheduleOutput out = Run({a, b}, {incompatible}, {MakeTask("t")}, config);
  EXPECT_THAT(
      Outcomes(out),
      UnorderedElementsAre(Pair("x.0", "!waiting to start instance: reached in-flight start limit"),
                           Pair("t", "!waiting to start instance: reached in-flight start limit")));
}

TEST_F(SchedulerTest, FailedPlacementsDoNotCountTowardsInflight) {
  AuctionConfig config;
  config.max_inflight = 1;
  ScheduleOutput out = Run({MakeCell("cell", "z1", {50, 100, 100})},
                           {MakeLrp("big", 0, 60), MakeLrp("small", 0, 10)}, {}, config);
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("big.0", "!insufficient resources: memory"),
                                         Pair("small.0", "cell")));
}

TEST_F(SchedulerTest, ZeroInflightLimitIsUnlimited) {
  CellState cell = EmptyCell("cell");
  cell.starting_container_count = 1000;
  ScheduleOutput out = Run({cell}, {MakeLrp("a", 0)});
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("a.0", "cell")));
}

// ---------------------------------------------------------------------------
// Reservation.

TEST_F(SchedulerTest, PlacementsReserveResourcesForLaterItems) {
  ScheduleOutput out = Run({MakeCell("cell", "z1", {100, 100, 2})},
                           {MakeLrp("a", 0, 60, 10), MakeLrp("b", 0, 50, 10),
                            MakeLrp("c", 0, 30, 10), MakeLrp("d", 0, 1, 1)});
  // a (60) fits; b (50) no longer does; c (30) does; d finds no container.
  EXPECT_THAT(Outcomes(out),
              ElementsAre(Pair("a.0", "cell"), Pair("b.0", "!insufficient resources: memory"),
                          Pair("c.0", "cell"), Pair("d.0", "!insufficient resources: containers")));
}

TEST_F(SchedulerTest, PlacementIncrementsStartingContainerCount) {
  // a: R 0.01 vs b's 0.0233; after placing on a, a scores 0.02 + 0.25.
  std::vector<CellState> cells = {EmptyCell("a"), MakeCell("b", "z1", {96, 100, 100})};
  ScheduleOutput spread = Run(cells, {MakeLrp("one", 0), MakeLrp("two", 0)});
  EXPECT_THAT(Outcomes(spread), ElementsAre(Pair("one.0", "a"), Pair("two.0", "b")));

  AuctionConfig no_weight;
  no_weight.starting_container_weight = 0.0;
  ScheduleOutput packed = Run(cells, {MakeLrp("one", 0), MakeLrp("two", 0)}, {}, no_weight);
  EXPECT_THAT(Outcomes(packed), ElementsAre(Pair("one.0", "a"), Pair("two.0", "a")));
}

TEST_F(SchedulerTest, PlacedInstancesCountForColocationAndZones) {
  std::vector<CellState> cells = {EmptyCell("a1", "z1"), EmptyCell("a2", "z1"),
                                  EmptyCell("b1", "z2"), EmptyCell("b2", "z2")};
  std::vector<LrpAuction> lrps;
  for (int i = 0; i < 4; ++i) lrps.push_back(MakeLrp("app", i));
  ScheduleOutput out = Run(cells, lrps);
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("app.0", "a1"), Pair("app.1", "b1"),
                                         Pair("app.2", "a2"), Pair("app.3", "b2")));
}

TEST_F(SchedulerTest, PlacedTasksCountForTaskLocality) {
  ScheduleOutput out = Run({EmptyCell("a"), MakeCell("b", "z1", {20, 20, 20})}, {},
                           {MakeTask("t1"), MakeTask("t2"), MakeTask("t3")});
  // a, then b (a has a task), then a (both have one; a is emptier).
  EXPECT_THAT(Outcomes(out), ElementsAre(Pair("t1", "a"), Pair("t2", "b"), Pair("t3", "a")));
}

// ---------------------------------------------------------------------------
// Output shape.

TEST_F(SchedulerTest, WorkIsGroupedPerWinningCellInCellOrder) {
  std::vector<CellState> cells = {EmptyCell("c0"), MakeCell("c1", "z1", {1, 1, 1}),
                                  EmptyCell("c2")};
  ScheduleOutput out =
      Run(cells, {MakeLrp("a", 0, 5, 5), MakeLrp("a", 1, 5, 5)}, {MakeTask("t", 5, 5)});
  ASSERT_EQ(out.work.size(), 2u);
  EXPECT_EQ(out.work[0].cell_id, "c0");
  EXPECT_EQ(out.work[1].cell_id, "c2");
  size_t lrps = 0;
  size_t tasks = 0;
  for (const Work& work : out.work) {
    lrps += work.lrps.size();
    tasks += work.tasks.size();
    for (const Lrp& lrp : work.lrps) {
      EXPECT_EQ(lrp.process_guid, "a");
      EXPECT_EQ(lrp.instance_guid, "");
    }
  }
  EXPECT_EQ(lrps, 2u);
  EXPECT_EQ(tasks, 1u);
  // a.0 -> c0, t -> c2 (c0 has a starting container), a.1 -> c2 (locality).
  EXPECT_THAT(out.work[0].lrps, ElementsAre(MakeLrp("a", 0, 5, 5).lrp));
  EXPECT_THAT(out.work[1].tasks, ElementsAre(MakeTask("t", 5, 5).task));
  EXPECT_THAT(out.work[1].lrps, ElementsAre(MakeLrp("a", 1, 5, 5).lrp));
}

TEST_F(SchedulerTest, RecordsCarryWinnerOrErrorAndKeepQueueTime) {
  LrpAuction placed = MakeLrp("placed", 0);
  placed.record.placement_error = "stale error";
  placed.record.attempts = 2;
  LrpAuction failed = MakeLrp("failed", 0, 1000);
  failed.record.winner = "stale-winner";
  ScheduleOutput out = Run({EmptyCell("cell")}, {placed, failed});
  ASSERT_EQ(out.results.successful_lrps.size(), 1u);
  ASSERT_EQ(out.results.failed_lrps.size(), 1u);
  const AuctionRecord& ok = out.results.successful_lrps[0].record;
  EXPECT_EQ(ok.winner, "cell");
  EXPECT_EQ(ok.placement_error, "");
  EXPECT_EQ(ok.attempts, 2);
  EXPECT_EQ(ok.queue_time, absl::FromUnixSeconds(1000));
  const AuctionRecord& bad = out.results.failed_lrps[0].record;
  EXPECT_EQ(bad.winner, "");
  EXPECT_EQ(bad.placement_error, "insufficient resources: memory");
}

TEST_F(SchedulerTest, NoCellsFailsEverythingWithCellCommunicationError) {
  ScheduleOutput out = Run({}, {MakeLrp("b", 1), MakeLrp("a", 0)}, {MakeTask("t")});
  EXPECT_THAT(Identifiers(out.results.failed_lrps), ElementsAre("b.1", "a.0"));
  EXPECT_THAT(Identifiers(out.results.failed_tasks), ElementsAre("t"));
  for (const LrpAuction& a : out.results.failed_lrps) {
    EXPECT_EQ(a.record.placement_error, "unable to communicate to compatible cells");
  }
  EXPECT_EQ(out.results.failed_tasks[0].record.placement_error,
            "unable to communicate to compatible cells");
  EXPECT_THAT(out.results.successful_lrps, IsEmpty());
  EXPECT_THAT(out.work, IsEmpty());
}

TEST_F(SchedulerTest, EmptyBatchProducesNothing) {
  ScheduleOutput out = Run({EmptyCell("cell")}, {});
  EXPECT_THAT(out.work, IsEmpty());
  EXPECT_THAT(Outcomes(out), IsEmpty());
}

TEST_F(SchedulerTest, SchedulingIsDeterministic) {
  std::vector<CellState> cells;
  for (int i = 0; i < 12; ++i) {
    cells.push_back(EmptyCell(absl::StrCat("cell-", i), absl::StrCat("z", i % 3)));
  }
  std::vector<LrpAuction> lrps;
  std::vector<TaskAuction> tasks;
  for (int i = 0; i < 40; ++i) {
    lrps.push_back(MakeLrp(absl::StrCat("app-", i % 7), i / 7, 1 + i % 3));
    tasks.push_back(MakeTask(absl::StrCat("task-", i), 1 + i % 2));
  }
  ScheduleOutput first = Run(cells, lrps, tasks);
  ScheduleOutput second = Run(cells, lrps, tasks);
  EXPECT_EQ(Outcomes(first), Outcomes(second));
  EXPECT_EQ(first.work, second.work);
  EXPECT_EQ(Outcomes(first).size(), 80u);
}

}  // namespace
}  // namespace diego::auction
