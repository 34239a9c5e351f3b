// Copyright 2026 The libdiego Authors.

#include "diego/auction/simulation.h"

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/auction/types.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::auction {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::AllOf;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::StartsWith;

// -----------------------------------------------------------------------------
// Diego's experiments, one test each, with the "diego" strategy.
// -----------------------------------------------------------------------------

// Every scenario name, in `DiegoScenarios()` order; each has a test below.
const std::vector<std::string>& ExpectedScenarioNames() {
  static const auto* names = new std::vector<std::string>{
      "small-cold-starts/8-apps-on-4-cells",
      "small-cold-starts/40-apps-on-10-cells",
      "small-cold-starts/200-apps-on-20-cells",
      "small-cold-starts/800-apps-on-40-cells",
      "bin-pack-first-fit-0.25/8-apps-on-4-cells/favors-low-index",
      "bin-pack-first-fit-0.25/8-apps-on-4-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.25/40-apps-on-10-cells/favors-low-index",
      "bin-pack-first-fit-0.25/40-apps-on-10-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.25/200-apps-on-20-cells/favors-low-index",
      "bin-pack-first-fit-0.25/200-apps-on-20-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.25/800-apps-on-40-cells/favors-low-index",
      "bin-pack-first-fit-0.25/800-apps-on-40-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.50/8-apps-on-4-cells/favors-low-index",
      "bin-pack-first-fit-0.50/8-apps-on-4-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.50/40-apps-on-10-cells/favors-low-index",
      "bin-pack-first-fit-0.50/40-apps-on-10-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.50/200-apps-on-20-cells/favors-low-index",
      "bin-pack-first-fit-0.50/200-apps-on-20-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.50/800-apps-on-40-cells/favors-low-index",
      "bin-pack-first-fit-0.50/800-apps-on-40-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.75/8-apps-on-4-cells/favors-low-index",
      "bin-pack-first-fit-0.75/8-apps-on-4-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.75/40-apps-on-10-cells/favors-low-index",
      "bin-pack-first-fit-0.75/40-apps-on-10-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.75/200-apps-on-20-cells/favors-low-index",
      "bin-pack-first-fit-0.75/200-apps-on-20-cells/one-app-spreads-evenly",
      "bin-pack-first-fit-0.75/800-apps-on-40-cells/favors-low-index",
      "bin-pack-first-fit-0.75/800-apps-on-40-cells/one-app-spreads-evenly",
      "large-cold-starts/25-cells",
      "large-cold-starts/100-cells",
      "imbalanced-deploy/5-empty-of-100-cells-500-apps",
      "imbalanced-deploy/1-empty-of-100-cells-100-apps",
      "az-distribution/lone-loaded-cell-in-z1",
      "watters-demo/80-instances-on-10-cells",
      "watters-demo/200-instances-on-30-cells",
      "watters-demo/400-instances-on-100-cells",
      "low-memory-packing/80-pebbles-2-boulders-on-1-cell",
  };
  return *names;
}

// Runs the scenario called `name` with the "diego" strategy on a fake clock.
ScenarioResult RunNamed(const std::string& name) {
  for (const Scenario& scenario : DiegoScenarios()) {
    if (scenario.name != name) continue;
    FakeClock clock;
    absl::StatusOr<ScenarioResult> result = RunScenario(scenario, "diego", &clock);
    EXPECT_THAT(result.status(), IsOk());
    if (result.ok()) return *std::move(result);
    return {};
  }
  ADD_FAILURE() << "no scenario named " << name;
  return {};
}

void ExpectScenarioPasses(const std::string& name) {
  const ScenarioResult result = RunNamed(name);
  EXPECT_TRUE(result.tolerance.passed) << name << ": " << result.tolerance.reason;
}

TEST(DiegoScenariosTest, ListsEveryExperimentOnceInDiegosOrder) {
  std::vector<std::string> names;
  for (const Scenario& scenario : DiegoScenarios()) {
    names.push_back(scenario.name);
    EXPECT_FALSE(scenario.description.empty()) << scenario.name;
  }
  EXPECT_THAT(names, ElementsAreArray(ExpectedScenarioNames()));
}

TEST(SmallColdStartsTest, EightAppsOnFourCells) {
  ExpectScenarioPasses("small-cold-starts/8-apps-on-4-cells");
}
TEST(SmallColdStartsTest, FortyAppsOnTenCells) {
  ExpectScenarioPasses("small-cold-starts/40-apps-on-10-cells");
}
TEST(SmallColdStartsTest, TwoHundredAppsOnTwentyCells) {
  ExpectScenarioPasses("small-cold-starts/200-apps-on-20-cells");
}
TEST(SmallColdStartsTest, EightHundredAppsOnFortyCells) {
  ExpectScenarioPasses("small-cold-starts/800-apps-on-40-cells");
}

TEST(BinPackFirstFitTest, Weight025EightAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.25/8-apps-on-4-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight025EightAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.25/8-apps-on-4-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight025FortyAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.25/40-apps-on-10-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight025FortyAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.25/40-apps-on-10-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight025TwoHundredAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.25/200-apps-on-20-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight025TwoHundredAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.25/200-apps-on-20-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight025EightHundredAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.25/800-apps-on-40-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight025EightHundredAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.25/800-apps-on-40-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight050EightAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.50/8-apps-on-4-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight050EightAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.50/8-apps-on-4-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight050FortyAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.50/40-apps-on-10-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight050FortyAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.50/40-apps-on-10-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight050TwoHundredAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.50/200-apps-on-20-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight050TwoHundredAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.50/200-apps-on-20-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight050EightHundredAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.50/800-apps-on-40-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight050EightHundredAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.50/800-apps-on-40-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight075EightAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.75/8-apps-on-4-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight075EightAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.75/8-apps-on-4-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight075FortyAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.75/40-apps-on-10-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight075FortyAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.75/40-apps-on-10-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight075TwoHundredAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.75/200-apps-on-20-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight075TwoHundredAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.75/200-apps-on-20-cells/one-app-spreads-evenly");
}
TEST(BinPackFirstFitTest, Weight075EightHundredAppsFavorsLowIndex) {
  ExpectScenarioPasses("bin-pack-first-fit-0.75/800-apps-on-40-cells/favors-low-index");
}
TEST(BinPackFirstFitTest, Weight075EightHundredAppsOneAppSpreads) {
  ExpectScenarioPasses("bin-pack-first-fit-0.75/800-apps-on-40-cells/one-app-spreads-evenly");
}

TEST(LargeColdStartsTest, TwentyFiveCells) { ExpectScenarioPasses("large-cold-starts/25-cells"); }
TEST(LargeColdStartsTest, HundredCells) { ExpectScenarioPasses("large-cold-starts/100-cells"); }

TEST(ImbalancedDeployTest, FiveEmptyCellsOfHundred) {
  ExpectScenarioPasses("imbalanced-deploy/5-empty-of-100-cells-500-apps");
}
TEST(ImbalancedDeployTest, OneEmptyCellOfHundred) {
  ExpectScenarioPasses("imbalanced-deploy/1-empty-of-100-cells-100-apps");
}

TEST(AzDistributionTest, LoneLoadedCellInZoneTakesHalf) {
  const ScenarioResult result = RunNamed("az-distribution/lone-loaded-cell-in-z1");
  EXPECT_TRUE(result.tolerance.passed) << result.tolerance.reason;
  EXPECT_THAT(result.report.new_instances_by_zone, ElementsAre(Pair("Z0", 20), Pair("Z1", 20)));
}

TEST(WattersDemoTest, EightyInstancesOnTenCells) {
  ExpectScenarioPasses("watters-demo/80-instances-on-10-cells");
}
TEST(WattersDemoTest, TwoHundredInstancesOnThirtyCells) {
  ExpectScenarioPasses("watters-demo/200-instances-on-30-cells");
}
TEST(WattersDemoTest, FourHundredInstancesOnHundredCells) {
  ExpectScenarioPasses("watters-demo/400-instances-on-100-cells");
}

TEST(LowMemoryPackingTest, BouldersBeforePebblesButNeverSaturating) {
  const ScenarioResult result = RunNamed("low-memory-packing/80-pebbles-2-boulders-on-1-cell");
  EXPECT_TRUE(result.tolerance.passed) << result.tolerance.reason;
  EXPECT_EQ(result.report.placed, 51);
  EXPECT_EQ(result.report.failed, 31);
  ASSERT_THAT(result.run.final_cells, SizeIs(1));
  EXPECT_EQ(result.run.final_cells[0].available_resources.memory_mb, 0);
}

// -----------------------------------------------------------------------------
// Scenario setups follow Diego's experiments and are deterministic.
// -----------------------------------------------------------------------------

const Scenario* FindScenario(const std::vector<Scenario>& scenarios, const std::string& name) {
  for (const Scenario& s : scenarios) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST(DiegoScenariosTest, SetupsAreDeterministic) {
  const std::vector<Scenario> scenarios = DiegoScenarios();
  for (const char* name : {"large-cold-starts/25-cells", "watters-demo/80-instances-on-10-cells"}) {
    const Scenario* scenario = FindScenario(scenarios, name);
    ASSERT_NE(scenario, nullptr) << name;
    const ScenarioSetup a = scenario->setup();
    const ScenarioSetup b = scenario->setup();
    EXPECT_EQ(a.lrps, b.lrps) << name;
    ASSERT_EQ(a.cells.size(), b.cells.size());
    for (size_t i = 0; i < a.cells.size(); ++i) EXPECT_EQ(a.cells[i].lrps, b.cells[i].lrps);

    FakeClock clock;
    absl::StatusOr<ScenarioResult> first = RunScenario(*scenario, "diego", &clock);
    absl::StatusOr<ScenarioResult> second = RunScenario(*scenario, "diego", &clock);
    ASSERT_THAT(first.status(), IsOk());
    ASSERT_THAT(second.status(), IsOk());
    EXPECT_EQ(LrpWinsByCell(first->run.results), LrpWinsByCell(second->run.results)) << name;
  }
}

TEST(DiegoScenariosTest, LargeColdStartHasDiegosMix) {
  const std::vector<Scenario> scenarios = DiegoScenarios();
  const Scenario* scenario = FindScenario(scenarios, "large-cold-starts/25-cells");
  ASSERT_NE(scenario, nullptr);
  const ScenarioSetup setup = scenario->setup();
  EXPECT_THAT(setup.cells, SizeIs(25));
  int by_size[5] = {0, 0, 0, 0, 0};
  for (const LrpStartRequest& r : setup.lrps) {
    ASSERT_THAT(r.indices, SizeIs(1));
    ASSERT_GE(r.resource.memory_mb, 1);
    ASSERT_LE(r.resource.memory_mb, 4);
    ++by_size[r.resource.memory_mb];
  }
  EXPECT_EQ(by_size[1], 1800);
  EXPECT_EQ(by_size[2], 200);
  EXPECT_EQ(by_size[4], 50);
}

TEST(DiegoScenariosTest, WattersDemoPrefillsSeventyEightToEighty) {
  const std::vector<Scenario> scenarios = DiegoScenarios();
  const Scenario* scenario = FindScenario(scenarios, "watters-demo/400-instances-on-100-cells");
  ASSERT_NE(scenario, nullptr);
  const ScenarioSetup setup = scenario->setup();
  ASSERT_THAT(setup.cells, SizeIs(100));
  for (const CellState& cell : setup.cells) {
    EXPECT_GE(cell.lrps.size(), 78u) << cell.cell_id;
    EXPECT_LE(cell.lrps.size(), 80u) << cell.cell_id;
    EXPECT_EQ(cell.starting_container_count, 0) << cell.cell_id;
  }
  EXPECT_THAT(setup.lrps, SizeIs(400));
  EXPECT_THAT(setup.lrps, Each(Field(&LrpStartRequest::process_guid, "red")));
}

TEST(DiegoScenariosTest, ImbalancedDeployLeavesTheLastCellsEmpty) {
  const std::vector<Scenario> scenarios = DiegoScenarios();
  const Scenario* scenario =
      FindScenario(scenarios, "imbalanced-deploy/5-empty-of-100-cells-500-apps");
  ASSERT_NE(scenario, nullptr);
  const ScenarioSetup setup = scenario->setup();
  ASSERT_THAT(setup.cells, SizeIs(100));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(setup.cells[i].lrps.size(), i < 95 ? 50u : 0u) << setup.cells[i].cell_id;
  }
}

TEST(DiegoScenariosTest, BinPackScenariosRaiseTheStartingWeight) {
  const std::vector<Scenario> scenarios = DiegoScenarios();
  const Scenario* scenario =
      FindScenario(scenarios, "bin-pack-first-fit-0.75/8-apps-on-4-cells/favors-low-index");
  ASSERT_NE(scenario, nullptr);
  const ScenarioSetup setup = scenario->setup();
  EXPECT_DOUBLE_EQ(setup.config.bin_pack_first_fit_weight, 0.75);
  EXPECT_DOUBLE_EQ(setup.config.starting_container_weight, 0.5);
  const Scenario* cold = FindScenario(scenarios, "small-cold-starts/8-apps-on-4-cells");
  ASSERT_NE(cold, nullptr);
  EXPECT_DOUBLE_EQ(cold->setup().config.starting_container_weight, 0.25);
  EXPECT_DOUBLE_EQ(cold->setup().config.bin_pack_first_fit_weight, 0.0);
}

TEST(RunScenariosTest, RejectsAnUnknownStrategy) {
  FakeClock clock;
  EXPECT_THAT(RunScenarios("no-such-strategy", &clock).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RunScenariosTest, OtherStrategiesRunEveryScenario) {
  FakeClock clock;
  absl::StatusOr<std::vector<ScenarioResult>> results = RunScenarios("best-fit", &clock);
  ASSERT_THAT(results.status(), IsOk());
  EXPECT_THAT(*results, SizeIs(ExpectedScenarioNames().size()));
  const std::string table = FormatScenarioTable(*results);
  EXPECT_THAT(table, HasSubstr("scenarios passed with strategy \"best-fit\""));
}

TEST(FormatScenarioTableTest, HasOneRowPerScenarioAndFailureReasons) {
  ScenarioResult pass;
  pass.name = "family/passing";
  pass.strategy = "diego";
  pass.report.placed = 8;
  pass.report.new_instances_by_zone = {{"Z0", 4}, {"Z1", 4}};
  pass.tolerance = {true, "fine"};
  ScenarioResult fail = pass;
  fail.name = "family/failing";
  fail.tolerance = {false, "REP-3 has 9"};
  const std::string table = FormatScenarioTable({pass, fail});
  EXPECT_THAT(table, StartsWith("SCENARIO"));
  EXPECT_THAT(table, HasSubstr("family/passing"));
  EXPECT_THAT(table, HasSubstr("Z0=4 Z1=4"));
  EXPECT_THAT(table, HasSubstr("PASS"));
  EXPECT_THAT(table, HasSubstr("FAIL"));
  EXPECT_THAT(table, HasSubstr("family/failing: REP-3 has 9"));
  EXPECT_THAT(table, HasSubstr("1/2 scenarios passed with strategy \"diego\""));
}

// -----------------------------------------------------------------------------
// Simulated cells and workloads.
// -----------------------------------------------------------------------------

TEST(NewSimulatedClusterTest, BuildsDiegosDefaultCells) {
  const std::vector<CellState> cells = NewSimulatedCluster({.num_cells = 3});
  ASSERT_THAT(cells, SizeIs(3));
  EXPECT_EQ(cells[0].cell_id, "REP-1");
  EXPECT_EQ(cells[2].cell_id, "REP-3");
  EXPECT_EQ(cells[0].zone, "Z0");
  EXPECT_EQ(cells[1].zone, "Z1");
  EXPECT_EQ(cells[2].zone, "Z0");
  EXPECT_EQ(cells[1].cell_index, 1);
  const Resources expected{100, 100, 100};
  EXPECT_EQ(cells[1].total_resources, expected);
  EXPECT_EQ(cells[1].available_resources, expected);
  EXPECT_TRUE(cells[1].rootfs_providers.Match("preloaded:linux"));
  EXPECT_FALSE(cells[1].rootfs_providers.Match("preloaded:windows"));
  EXPECT_THAT(cells[1].volume_drivers, ElementsAre("my-driver"));
}

TEST(PerformSimulatedWorkTest, ReservesAndCountsOnlyAuctionedWorkAsStarting) {
  CellState cell = NewSimulatedCluster({.num_cells = 1})[0];
  Work work;
  work.lrps.push_back(SimRunningLrp("old", 0, 10));
  LrpStartRequest request = SimLrpStartRequest("new", 3, 20);
  Lrp started;
  started.process_guid = request.process_guid;
  started.index = 3;
  started.domain = request.domain;
  started.resource = request.resource;
  work.lrps.push_back(started);
  Task task;
  task.task_guid = "t";
  task.domain = kSimAuctionDomain;
  task.resource = {.memory_mb = 5, .disk_mb = 2};
  work.tasks.push_back(task);

  const Work failed = PerformSimulatedWork(work, &cell);
  EXPECT_TRUE(failed.lrps.empty());
  EXPECT_TRUE(failed.tasks.empty());
  EXPECT_EQ(failed.cell_id, "REP-1");
  EXPECT_EQ(cell.available_resources, (Resources{65, 96, 97}));
  EXPECT_EQ(cell.starting_container_count, 2);  // "new" and the task.
  EXPECT_THAT(cell.lrps, SizeIs(2));
  EXPECT_THAT(cell.tasks, SizeIs(1));
}

TEST(PerformSimulatedWorkTest, HandsBackWhatDoesNotFit) {
  CellState cell = NewSimulatedCluster(
      {.num_cells = 1, .cell_resources = {.memory_mb = 10, .disk_mb = 10, .containers = 2}})[0];
  Work work;
  work.lrps = {SimRunningLrp("a", 0, 8), SimRunningLrp("b", 0, 8), SimRunningLrp("c", 0, 1),
               SimRunningLrp("d", 0, 1)};
  const Work failed = PerformSimulatedWork(work, &cell);
  ASSERT_THAT(failed.lrps, SizeIs(2));
  EXPECT_EQ(failed.lrps[0].process_guid, "b");  // Memory.
  EXPECT_EQ(failed.lrps[1].process_guid, "d");  // Containers.
  EXPECT_EQ(cell.available_resources, (Resources{1, 8, 0}));
}

TEST(WorkloadGeneratorTest, NamesAppsLikeDiego) {
  std::mt19937_64 rng(7);
  WorkloadGenerator workload(rng);
  const std::vector<LrpStartRequest> unique = workload.UniqueApps(3, 2);
  ASSERT_THAT(unique, SizeIs(3));
  EXPECT_EQ(unique[0].process_guid, "BBB-1");
  EXPECT_EQ(unique[2].process_guid, "BBB-3");
  EXPECT_THAT(unique[2].indices, ElementsAre(2));
  EXPECT_EQ(unique[0].resource.memory_mb, 2);
  EXPECT_EQ(unique[0].resource.disk_mb, 1);
  EXPECT_EQ(unique[0].domain, "auction");
  EXPECT_EQ(unique[0].constraint.root_fs, "preloaded:linux");
  EXPECT_EQ(workload.UniqueApps(1, 1)[0].process_guid, "BBB-4");
  EXPECT_EQ(workload.RunningUniqueLrps(1, 1)[0].process_guid, "AAA-1");

  const std::vector<LrpStartRequest> red = workload.InstancesOf("red", 2, 50);
  EXPECT_THAT(red, ElementsAre(AllOf(Field(&LrpStartRequest::process_guid, "red"),
                                     Field(&LrpStartRequest::indices, ElementsAre(0))),
                               Field(&LrpStartRequest::indices, ElementsAre(1))));
}

TEST(WorkloadGeneratorTest, RandomChoicesStayInRangeAndRepeatWithTheSeed) {
  std::mt19937_64 rng_a(11);
  std::mt19937_64 rng_b(11);
  WorkloadGenerator a(rng_a);
  WorkloadGenerator b(rng_b);
  const std::vector<std::string> colors = {"purple", "red"};
  const std::vector<LrpStartRequest> picks = a.RandomlyChosenApps(colors, 50, 1);
  EXPECT_EQ(picks, b.RandomlyChosenApps(colors, 50, 1));
  for (const LrpStartRequest& r : picks) {
    EXPECT_TRUE(r.process_guid == "purple" || r.process_guid == "red") << r.process_guid;
  }
  for (int i = 0; i < 100; ++i) {
    const int n = a.UniformInt(78, 80);
    EXPECT_GE(n, 78);
    EXPECT_LE(n, 80);
  }
}

TEST(WorkloadGeneratorTest, LargeColdStartMixScalesDiegosRatio) {
  std::mt19937_64 rng(3);
  WorkloadGenerator workload(rng);
  const std::vector<LrpStartRequest> mix = workload.LargeColdStartMix(8200);
  int by_size[5] = {0, 0, 0, 0, 0};
  for (const LrpStartRequest& r : mix) ++by_size[r.resource.memory_mb];
  EXPECT_EQ(by_size[1], 7200);
  EXPECT_EQ(by_size[2], 800);
  EXPECT_EQ(by_size[4], 200);
  EXPECT_THAT(workload.LargeColdStartMix(7), SizeIs(7));
}

// -----------------------------------------------------------------------------
// Running one round.
// -----------------------------------------------------------------------------

TEST(RunSimulationTest, PlacesAndPerformsTheWork) {
  FakeClock clock;
  std::mt19937_64 rng(1);
  WorkloadGenerator workload(rng);
  SimulationOptions options;
  options.clock = &clock;
  absl::StatusOr<SimulationRun> run =
      RunSimulation(NewSimulatedCluster({.num_cells = 2}), workload.UniqueApps(4, 10), {}, options);
  ASSERT_THAT(run.status(), IsOk());
  EXPECT_EQ(run->num_lrp_auctions, 4);
  EXPECT_THAT(run->results.successful_lrps, SizeIs(4));
  EXPECT_THAT(run->results.failed_lrps, SizeIs(0));
  EXPECT_EQ(run->duration, absl::ZeroDuration());
  ASSERT_THAT(run->final_cells, SizeIs(2));
  EXPECT_THAT(run->initial_cells[0].lrps, SizeIs(0));
  EXPECT_EQ(run->final_cells[0].lrps.size() + run->final_cells[1].lrps.size(), 4u);
  EXPECT_EQ(
      run->final_cells[0].starting_container_count + run->final_cells[1].starting_container_count,
      4);
  EXPECT_EQ(LrpWinsByCell(run->results), (std::map<std::string, int>{{"REP-1", 2}, {"REP-2", 2}}));
}

TEST(RunSimulationTest, RejectsAnUnknownStrategy) {
  SimulationOptions options;
  options.strategy = "nope";
  EXPECT_THAT(RunSimulation(NewSimulatedCluster({.num_cells = 1}), {}, {}, options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// -----------------------------------------------------------------------------
// Metrics on hand-built layouts.
// -----------------------------------------------------------------------------

TEST(DistributionScoreTest, IsPopulationStddevOverMean) {
  EXPECT_DOUBLE_EQ(DistributionScore({}), 0.0);
  EXPECT_DOUBLE_EQ(DistributionScore({0, 0, 0}), 0.0);
  EXPECT_DOUBLE_EQ(DistributionScore({10, 10, 10}), 0.0);
  EXPECT_DOUBLE_EQ(DistributionScore({0, 20}), 1.0);                   // Mean 10, stddev 10.
  EXPECT_DOUBLE_EQ(DistributionScore({2, 4, 4, 4, 5, 5, 7, 9}), 0.4);  // Mean 5, stddev 2.
  EXPECT_DOUBLE_EQ(DistributionScore({100, 0, 0, 0}), std::sqrt(3.0));
}

// Two cells: REP-1 (Z0) held 10 MB, REP-2 (Z1) held 30 MB; the round put
// 20 MB on REP-1 and a 5 MB task on REP-2 and failed one LRP.
SimulationRun HandBuiltRun() {
  SimulationRun run;
  run.initial_cells = NewSimulatedCluster({.num_cells = 2});
  PerformSimulatedWork(Work{.lrps = {SimRunningLrp("a", 0, 10)}}, &run.initial_cells[0]);
  PerformSimulatedWork(Work{.lrps = {SimRunningLrp("b", 0, 10), SimRunningLrp("c", 0, 20)}},
                       &run.initial_cells[1]);
  run.final_cells = run.initial_cells;
  LrpAuction won;
  won.lrp = SimRunningLrp("d", 0, 20);
  won.record.winner = "REP-1";
  LrpAuction lost;
  lost.lrp = SimRunningLrp("e", 0, 500);
  lost.record.placement_error = "insufficient resources: memory";
  TaskAuction task;
  task.task.task_guid = "t";
  task.task.resource.memory_mb = 5;
  task.record.winner = "REP-2";
  run.results.successful_lrps = {won};
  run.results.failed_lrps = {lost};
  run.results.successful_tasks = {task};
  run.num_lrp_auctions = 2;
  run.num_task_auctions = 1;
  run.duration = absl::Seconds(2);
  return run;
}

TEST(BuildReportTest, ComputesDiegosMetrics) {
  const SimulationReport report = BuildReport(HandBuiltRun());
  EXPECT_EQ(report.num_auctions, 3);
  EXPECT_EQ(report.placed, 2);
  EXPECT_EQ(report.failed, 1);
  // Before: {10, 30}: mean 20, stddev 10. After: {30, 35}: mean 32.5, stddev 2.5.
  EXPECT_DOUBLE_EQ(report.initial_distribution_score, 0.5);
  EXPECT_DOUBLE_EQ(report.distribution_score, 2.5 / 32.5);
  ASSERT_THAT(report.cells, SizeIs(2));
  EXPECT_EQ(report.cells[0].cell_id, "REP-1");
  EXPECT_EQ(report.cells[0].initial_instances, 1);
  EXPECT_EQ(report.cells[0].new_instances, 1);
  EXPECT_EQ(report.cells[0].initial_memory_mb, 10);
  EXPECT_EQ(report.cells[0].new_memory_mb, 20);
  EXPECT_EQ(report.cells[1].initial_instances, 2);
  EXPECT_EQ(report.cells[1].new_memory_mb, 5);
  EXPECT_THAT(report.new_instances_by_zone, ElementsAre(Pair("Z0", 1), Pair("Z1", 1)));
  EXPECT_EQ(report.ZoneSpread(), 0);
  EXPECT_DOUBLE_EQ(report.AuctionsPerSecond(), 1.5);
}

TEST(BuildReportTest, ListsZonesThatGotNothing) {
  SimulationRun run = HandBuiltRun();
  run.results.successful_tasks.clear();
  const SimulationReport report = BuildReport(run);
  EXPECT_THAT(report.new_instances_by_zone, ElementsAre(Pair("Z0", 1), Pair("Z1", 0)));
  EXPECT_EQ(report.ZoneSpread(), 1);
  SimulationReport instant = report;
  instant.duration = absl::ZeroDuration();
  EXPECT_EQ(instant.AuctionsPerSecond(), 0);
}

TEST(CheckWithinMeanTest, PassesWithinAndFailsBeyondTheTolerance) {
  EXPECT_TRUE(CheckWithinMean({{"a", 4}, {"b", 4}, {"c", 5}}, 1, "x").passed);
  EXPECT_TRUE(CheckWithinMean({}, 1, "x").passed);
  // 98 cells with 1 and one with 2: mean 100/99, and 2 is 0.99 away.
  std::vector<std::pair<std::string, double>> almost(98, {"cell", 1});
  almost.emplace_back("busy", 2);
  EXPECT_TRUE(CheckWithinMean(almost, 1, "x").passed);

  const ToleranceResult result = CheckWithinMean({{"REP-1", 1}, {"REP-2", 5}}, 1, "LRPs");
  EXPECT_FALSE(result.passed);
  EXPECT_THAT(result.reason, HasSubstr("LRPs"));
  EXPECT_THAT(result.reason, HasSubstr("REP-1"));
  EXPECT_THAT(result.reason, HasSubstr("2.00 from the mean 3.00"));
}

TEST(CheckEvenLrpDistributionTest, IgnoresCellsThatWonNothing) {
  SimulationRun run;
  run.final_cells = NewSimulatedCluster({.num_cells = 3});
  for (const char* winner : {"REP-1", "REP-1", "REP-2", "REP-2"}) {
    LrpAuction auction;
    auction.record.winner = winner;
    run.results.successful_lrps.push_back(auction);
  }
  EXPECT_TRUE(CheckEvenLrpDistribution(run, 0).passed);  // REP-3 (0) is not counted.
  LrpAuction extra;
  extra.record.winner = "REP-3";
  run.results.successful_lrps.push_back(extra);
  const ToleranceResult uneven = CheckEvenLrpDistribution(run, 0.5);
  EXPECT_FALSE(uneven.passed);
  EXPECT_THAT(uneven.reason, HasSubstr("REP-3"));
}

SimulationRun RunWithWins(int num_cells, const std::vector<std::string>& winners) {
  SimulationRun run;
  run.final_cells = NewSimulatedCluster({.num_cells = num_cells});
  for (const std::string& winner : winners) {
    LrpAuction auction;
    auction.record.winner = winner;
    run.results.successful_lrps.push_back(auction);
  }
  return run;
}

TEST(CheckFirstFitPackingTest, WantsLoadNonIncreasingByIndexWithinEachZone) {
  // Z0 = REP-1, REP-3; Z1 = REP-2, REP-4.
  EXPECT_TRUE(CheckFirstFitPacking(
                  RunWithWins(4, {"REP-1", "REP-1", "REP-3", "REP-2", "REP-2", "REP-4"}), 1)
                  .passed);
  const ToleranceResult backwards =
      CheckFirstFitPacking(RunWithWins(4, {"REP-3", "REP-2", "REP-4"}), 1);
  EXPECT_FALSE(backwards.passed);
  EXPECT_THAT(backwards.reason, HasSubstr("zone Z0: REP-1 won 0 but the later REP-3 won 1"));
  const ToleranceResult lopsided =
      CheckFirstFitPacking(RunWithWins(4, {"REP-1", "REP-1", "REP-1", "REP-1", "REP-2"}), 1);
  EXPECT_FALSE(lopsided.passed);
  EXPECT_THAT(lopsided.reason, HasSubstr("LRPs per zone"));
}

// -----------------------------------------------------------------------------
// SVG.
// -----------------------------------------------------------------------------

int CountOccurrences(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

// A small well-formedness check: every element opened is closed in order
// (self-closing tags count as both), and nothing follows the root.
bool TagsBalance(const std::string& xml, std::string* problem) {
  std::vector<std::string> open;
  size_t pos = 0;
  bool root_closed = false;
  while ((pos = xml.find('<', pos)) != std::string::npos) {
    if (root_closed) {
      *problem = "content after the root element";
      return false;
    }
    const size_t end = xml.find('>', pos);
    if (end == std::string::npos) {
      *problem = "unterminated tag";
      return false;
    }
    const std::string tag = xml.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (tag.empty()) {
      *problem = "empty tag";
      return false;
    }
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) {
        *problem = absl::StrCat("unexpected </", name, ">");
        return false;
      }
      open.pop_back();
      if (open.empty()) root_closed = true;
      continue;
    }
    if (tag.back() == '/') continue;
    open.push_back(tag.substr(0, tag.find_first_of(" \n\t")));
  }
  if (!open.empty()) {
    *problem = absl::StrCat("unclosed <", open.back(), ">");
    return false;
  }
  return true;
}

TEST(RenderDistributionSvgTest, DrawsOneBarPerCellWithTitleAndAxes) {
  const SimulationReport report = BuildReport(HandBuiltRun());
  const std::string svg = RenderDistributionSvg(report, "two cells & <friends>");
  EXPECT_THAT(svg, StartsWith("<svg"));
  EXPECT_EQ(CountOccurrences(svg, "<rect"), 2);
  EXPECT_THAT(svg, HasSubstr("two cells &amp; &lt;friends&gt;"));
  EXPECT_THAT(svg, HasSubstr("memory used (MB)"));
  EXPECT_THAT(svg, HasSubstr("cells by index"));
  EXPECT_THAT(svg, HasSubstr("REP-1 (Z0): 10 MB before + 20 MB new"));
  std::string problem;
  EXPECT_TRUE(TagsBalance(svg, &problem)) << problem;
  EXPECT_EQ(CountOccurrences(svg, "</svg>"), 1);
}

TEST(RenderDistributionSvgTest, ScalesToAScenario) {
  const ScenarioResult result = RunNamed("watters-demo/400-instances-on-100-cells");
  const std::string svg = RenderDistributionSvg(result.report, "watters");
  EXPECT_THAT(svg, StartsWith("<svg"));
  EXPECT_EQ(CountOccurrences(svg, "<rect"), 100);
  EXPECT_THAT(svg, HasSubstr("watters"));
  std::string problem;
  EXPECT_TRUE(TagsBalance(svg, &problem)) << problem;
}

TEST(RenderDistributionSvgTest, HandlesAnEmptyReport) {
  const std::string svg = RenderDistributionSvg(SimulationReport{}, "nothing");
  EXPECT_THAT(svg, StartsWith("<svg"));
  EXPECT_EQ(CountOccurrences(svg, "<rect"), 0);
  std::string problem;
  EXPECT_TRUE(TagsBalance(svg, &problem)) << problem;
}

// -----------------------------------------------------------------------------
// One-shot placement.
// -----------------------------------------------------------------------------

std::string ReadExample() {
  std::ifstream in(std::string(DIEGO_SOURCE_DIR) + "/examples/auction_place.json");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ParsePlacementInputTest, ReadsTheShippedExample) {
  absl::StatusOr<PlacementInput> input = ParsePlacementInput(ReadExample());
  ASSERT_THAT(input.status(), IsOk());
  ASSERT_THAT(input->cells, SizeIs(3));
  EXPECT_EQ(input->cells[1].cell_id, "cell-z1-1");
  EXPECT_THAT(input->cells[1].lrps, SizeIs(1));
  EXPECT_THAT(input->lrps, SizeIs(4));
  EXPECT_THAT(input->lrps[0].indices, ElementsAre(1, 2));
  EXPECT_THAT(input->tasks, SizeIs(2));
  EXPECT_DOUBLE_EQ(input->config.starting_container_weight, 0.25);
}

TEST(ParsePlacementInputTest, DefaultsEverythingButCells) {
  absl::StatusOr<PlacementInput> input = ParsePlacementInput(R"({"cells": []})");
  ASSERT_THAT(input.status(), IsOk());
  EXPECT_TRUE(input->lrps.empty());
  EXPECT_TRUE(input->tasks.empty());
  EXPECT_DOUBLE_EQ(input->config.starting_container_weight, 0.25);
  EXPECT_EQ(input->config.max_inflight, 0);
}

TEST(ParsePlacementInputTest, NamesTheJsonPathOfBadInput) {
  using ::absl::StatusCode;
  EXPECT_THAT(ParsePlacementInput("{\"cells\": ["),
              StatusIs(StatusCode::kInvalidArgument, StartsWith("$: invalid JSON")));
  EXPECT_THAT(ParsePlacementInput("[]"),
              StatusIs(StatusCode::kInvalidArgument, "$: must be an object"));
  EXPECT_THAT(ParsePlacementInput("{}"),
              StatusIs(StatusCode::kInvalidArgument, StartsWith("$.cells: missing")));
  EXPECT_THAT(ParsePlacementInput(R"({"cells": [], "lrp": []})"),
              StatusIs(StatusCode::kInvalidArgument, StartsWith("$.lrp: unknown key")));
  EXPECT_THAT(ParsePlacementInput(R"({"cells": {}})"),
              StatusIs(StatusCode::kInvalidArgument, "$.cells: must be an array"));
  EXPECT_THAT(ParsePlacementInput(R"({"cells": [{}, 3]})"),
              StatusIs(StatusCode::kInvalidArgument, "$.cells[1]: must be an object"));
  EXPECT_THAT(
      ParsePlacementInput(R"({"cells": [{}, {"AvailableResources": {"MemoryMB": "lots"}}]})"),
      StatusIs(StatusCode::kInvalidArgument,
               StartsWith("$.cells[1].AvailableResources.MemoryMB: ")));
  EXPECT_THAT(ParsePlacementInput(R"({"cells": [], "lrps": [{"indices": [1.5]}]})"),
              StatusIs(StatusCode::kInvalidArgument, StartsWith("$.lrps[0].indices[0]: ")));
  EXPECT_THAT(ParsePlacementInput(R"({"cells": [], "tasks": [{"state": "Exploded"}]})"),
              StatusIs(StatusCode::kInvalidArgument, StartsWith("$.tasks[0].state: ")));
  EXPECT_THAT(ParsePlacementInput(R"({"cells": [], "config": {"starting_container_weight": 2}})"),
              StatusIs(StatusCode::kInvalidArgument,
                       "$.config.starting_container_weight: must be a number in [0, 1]"));
  EXPECT_THAT(ParsePlacementInput(R"({"cells": [], "config": {"max_inflight": -1}})"),
              StatusIs(StatusCode::kInvalidArgument,
                       "$.config.max_inflight: must be a non-negative integer"));
  EXPECT_THAT(ParsePlacementInput(R"({"cells": [], "config": {"maxinflight": 1}})"),
              StatusIs(StatusCode::kInvalidArgument, StartsWith("$.config.maxinflight: unknown")));
}

TEST(PlaceTest, ReportsEveryInstanceAndTaskInInputOrder) {
  absl::StatusOr<PlacementInput> input = ParsePlacementInput(ReadExample());
  ASSERT_THAT(input.status(), IsOk());
  absl::StatusOr<PlacementOutput> output = Place(*input, "diego");
  ASSERT_THAT(output.status(), IsOk());
  auto lrp = [](const char* guid, int32_t index, const char* cell, const char* error) {
    return AllOf(Field(&LrpPlacement::process_guid, guid), Field(&LrpPlacement::index, index),
                 Field(&LrpPlacement::cell_id, cell), Field(&LrpPlacement::error, error));
  };
  // web has an instance in z1, so index 1 goes to z2; then the zones tie and
  // index 2 goes to the empty z1 cell. Tasks are placed before index > 0.
  EXPECT_THAT(
      output->lrps,
      ElementsAre(lrp("web", 1, "cell-z2-0", ""), lrp("web", 2, "cell-z1-0", ""),
                  lrp("worker", 0, "cell-z1-0", ""),
                  lrp("huge", 0, "", "insufficient resources: memory"),
                  lrp("windows-app", 0, "", "found no compatible cell for required rootfs")));
  ASSERT_THAT(output->tasks, SizeIs(2));
  EXPECT_EQ(output->tasks[0].task_guid, "migrate-db");
  EXPECT_EQ(output->tasks[0].cell_id, "cell-z1-1");
  EXPECT_EQ(output->tasks[1].task_guid, "render-video");
  EXPECT_EQ(output->tasks[1].error, "insufficient resources: memory");

  EXPECT_THAT(Place(*input, "nope").status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PlacementOutputToJsonTest, WritesCellOrError) {
  PlacementOutput output;
  output.lrps.push_back({.process_guid = "web", .index = 1, .cell_id = "c1"});
  output.lrps.push_back({.process_guid = "web", .index = 2, .error = "insufficient resources"});
  output.tasks.push_back({.task_guid = "t", .cell_id = "c2"});
  EXPECT_EQ(PlacementOutputToJson(output),
            "{\n"
            "  \"lrps\": [\n"
            "    {\n"
            "      \"process_guid\": \"web\",\n"
            "      \"index\": 1,\n"
            "      \"cell_id\": \"c1\"\n"
            "    },\n"
            "    {\n"
            "      \"process_guid\": \"web\",\n"
            "      \"index\": 2,\n"
            "      \"error\": \"insufficient resources\"\n"
            "    }\n"
            "  ],\n"
            "  \"tasks\": [\n"
            "    {\n"
            "      \"task_guid\": \"t\",\n"
            "      \"cell_id\": \"c2\"\n"
            "    }\n"
            "  ]\n"
            "}");
  EXPECT_EQ(PlacementOutputToJson({}), "{\n  \"lrps\": [],\n  \"tasks\": []\n}");
}

}  // namespace
}  // namespace diego::auction
