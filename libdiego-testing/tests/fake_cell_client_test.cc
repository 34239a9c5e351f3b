#include "diego/testing/fake_cell_client.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "diego/auction/types.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::fakes {
namespace {

using ::diego::auction::CellState;
using ::diego::auction::Lrp;
using ::diego::auction::Resources;
using ::diego::auction::Task;
using ::diego::auction::Work;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

Lrp MakeLrp(const std::string& process_guid, int32_t index, int32_t memory_mb,
            int32_t disk_mb = 1, const std::string& root_fs = "preloaded:cflinuxfs4") {
  return Lrp{.process_guid = process_guid,
             .index = index,
             .domain = "d",
             .constraint = {.root_fs = root_fs},
             .resource = {.memory_mb = memory_mb, .disk_mb = disk_mb}};
}

Task MakeTask(const std::string& guid, int32_t memory_mb, int32_t disk_mb = 1) {
  return Task{.task_guid = guid,
              .domain = "d",
              .constraint = {.root_fs = "docker:///busybox"},
              .resource = {.memory_mb = memory_mb, .disk_mb = disk_mb}};
}

CellState Cell(Resources total) { return FakeCellClient::NewCellState("cell-1", "z1", total); }

std::vector<int32_t> Memories(const std::vector<Lrp>& lrps) {
  std::vector<int32_t> out;
  for (const Lrp& lrp : lrps) {
    out.push_back(lrp.resource.memory_mb);
  }
  return out;
}

TEST(FakeCellClientTest, NewCellStateIsAnEmptyHealthyCell) {
  const CellState state = FakeCellClient::NewCellState(
      "cell-z2-3", "z2", {.memory_mb = 100, .disk_mb = 200, .containers = 10}, "cflinuxfs3", 3);
  EXPECT_EQ(state.cell_id, "cell-z2-3");
  EXPECT_EQ(state.zone, "z2");
  EXPECT_EQ(state.cell_index, 3);
  EXPECT_EQ(state.available_resources, state.total_resources);
  EXPECT_FALSE(state.evacuating);
  EXPECT_TRUE(state.rootfs_providers.Match("preloaded:cflinuxfs3"));
  EXPECT_TRUE(state.rootfs_providers.Match("preloaded+layer:cflinuxfs3?layer=x"));
  EXPECT_TRUE(state.rootfs_providers.Match("docker:///busybox"));
  EXPECT_FALSE(state.rootfs_providers.Match("preloaded:cflinuxfs4"));
}

TEST(FakeCellClientTest, StateReturnsTheHeldState) {
  FakeCellClient cell(Cell({.memory_mb = 100, .disk_mb = 100, .containers = 10}));
  ASSERT_OK_AND_ASSIGN(CellState state, cell.State());
  EXPECT_EQ(state.cell_id, "cell-1");
  EXPECT_EQ(cell.StateCallCount(), 1);
}

TEST(FakeCellClientTest, PerformRefusesWorkForAnotherCell) {
  FakeCellClient cell(Cell({.memory_mb = 100, .disk_mb = 100, .containers = 10}));
  EXPECT_THAT(cell.Perform(Work{.lrps = {MakeLrp("web", 0, 10)}, .cell_id = "cell-2"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "workload cell ID does not match this cell"));
  EXPECT_THAT(cell.state().lrps, IsEmpty());
  // An empty cell id is accepted, as by the rep.
  ASSERT_OK_AND_ASSIGN(Work failed, cell.Perform(Work{.lrps = {MakeLrp("web", 0, 10)}}));
  EXPECT_THAT(failed.lrps, IsEmpty());
}

TEST(FakeCellClientTest, AdmitsLargestLrpsFirstWhileMemoryPlusProxyFits) {
  CellState state = Cell({.memory_mb = 100, .disk_mb = 100, .containers = 10});
  state.proxy_memory_allocation_mb = 10;
  FakeCellClient cell(state);

  // Sorted 50, 40, 30; with 10MB proxy each: 60 fits (40 left), 50 does
  // not, 40 fits (0 left).
  ASSERT_OK_AND_ASSIGN(Work failed,
                       cell.Perform(Work{.lrps = {MakeLrp("web", 0, 30), MakeLrp("web", 1, 50),
                                                  MakeLrp("web", 2, 40)},
                                         .cell_id = "cell-1"}));

  EXPECT_THAT(Memories(failed.lrps), ElementsAre(40));
  EXPECT_EQ(failed.cell_id, "");
  const CellState after = cell.state();
  EXPECT_THAT(Memories(after.lrps), ElementsAre(50, 30));
  // The reservation is the plain request: 100 - 50 - 30.
  EXPECT_EQ(after.available_resources,
            (Resources{.memory_mb = 20, .disk_mb = 98, .containers = 8}));
  EXPECT_EQ(after.starting_container_count, 2);
  for (const Lrp& lrp : after.lrps) {
    EXPECT_EQ(lrp.state, "CLAIMED");
    EXPECT_THAT(lrp.instance_guid,
                MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  }
  EXPECT_NE(after.lrps[0].instance_guid, after.lrps[1].instance_guid);
}

TEST(FakeCellClientTest, RefusesWhatDiskOrContainersCannotHold) {
  FakeCellClient cell(Cell({.memory_mb = 1000, .disk_mb = 100, .containers = 2}));
  ASSERT_OK_AND_ASSIGN(
      Work failed,
      cell.Perform(Work{.lrps = {MakeLrp("web", 0, 10, /*disk_mb=*/150), MakeLrp("web", 1, 10, 50)},
                        .tasks = {MakeTask("t1", 10, 10), MakeTask("t2", 10, 10)}}));
  EXPECT_THAT(Memories(failed.lrps), ElementsAre(10));
  EXPECT_EQ(failed.lrps[0].index, 0);  // Too much disk.
  ASSERT_THAT(failed.tasks, SizeIs(1));
  EXPECT_EQ(failed.tasks[0].task_guid, "t2");  // No container left.
  const CellState after = cell.state();
  ASSERT_THAT(after.tasks, SizeIs(1));
  EXPECT_EQ(after.tasks[0].state, "Running");
  EXPECT_EQ(after.available_resources, (Resources{.memory_mb = 980, .disk_mb = 40, .containers = 0}));
}

TEST(FakeCellClientTest, RefusesUnknownPreloadedStacksOnly) {
  FakeCellClient cell(Cell({.memory_mb = 1000, .disk_mb = 1000, .containers = 10}));
  ASSERT_OK_AND_ASSIGN(
      Work failed,
      cell.Perform(Work{.lrps = {MakeLrp("a", 0, 10, 1, "preloaded:windows2016"),
                                 MakeLrp("b", 0, 10, 1, "docker:///cloudfoundry/grace"),
                                 MakeLrp("c", 0, 10, 1, "preloaded:cflinuxfs4")}}));
  ASSERT_THAT(failed.lrps, SizeIs(1));
  EXPECT_EQ(failed.lrps[0].process_guid, "a");
  EXPECT_THAT(cell.state().lrps, SizeIs(2));
}

TEST(FakeCellClientTest, EvacuatingCellReturnsAllWorkAsFailed) {
  FakeCellClient cell(Cell({.memory_mb = 1000, .disk_mb = 1000, .containers = 10}));
  cell.SetEvacuating(true);
  const Work work{.lrps = {MakeLrp("web", 0, 10), MakeLrp("web", 1, 20)},
                  .tasks = {MakeTask("t", 10)},
                  .cell_id = "cell-1"};
  ASSERT_OK_AND_ASSIGN(Work failed, cell.Perform(work));
  EXPECT_EQ(failed.lrps, work.lrps);
  EXPECT_EQ(failed.tasks, work.tasks);
  EXPECT_THAT(cell.state().lrps, IsEmpty());
  EXPECT_EQ(cell.state().starting_container_count, 0);
}

TEST(FakeCellClientTest, InstanceGuidsAreReproducible) {
  FakeCellClient a(Cell({.memory_mb = 100, .disk_mb = 100, .containers = 10}));
  FakeCellClient b(Cell({.memory_mb = 100, .disk_mb = 100, .containers = 10}));
  ASSERT_OK(a.Perform(Work{.lrps = {MakeLrp("web", 0, 10)}}).status());
  ASSERT_OK(b.Perform(Work{.lrps = {MakeLrp("web", 0, 10)}}).status());
  EXPECT_EQ(a.state().lrps[0].instance_guid, b.state().lrps[0].instance_guid);
}

TEST(FakeCellClientTest, InjectedErrorsFailTheNextCallsOrUntilCleared) {
  FakeCellClient cell(Cell({.memory_mb = 100, .disk_mb = 100, .containers = 10}));
  cell.SetStateError(absl::UnavailableError("down"), 2);
  EXPECT_THAT(cell.State(), StatusIs(absl::StatusCode::kUnavailable, "down"));
  EXPECT_THAT(cell.State(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_OK(cell.State());
  EXPECT_EQ(cell.StateCallCount(), 3);

  cell.SetPerformError(absl::InternalError("boom"));
  EXPECT_THAT(cell.Perform(Work{.lrps = {MakeLrp("web", 0, 10)}}),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(cell.Perform(Work{}), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(cell.state().lrps, IsEmpty());
  EXPECT_THAT(cell.PerformedWork(), IsEmpty());
  cell.SetPerformError(absl::OkStatus());
  EXPECT_OK(cell.Perform(Work{.lrps = {MakeLrp("web", 0, 10)}}));
  EXPECT_EQ(cell.PerformCallCount(), 3);
  EXPECT_THAT(cell.PerformedWork(), SizeIs(1));
}

TEST(FakeCellClientTest, DelayedStateWaitsForTheClock) {
  FakeClock clock;
  FakeCellClient cell(Cell({.memory_mb = 100, .disk_mb = 100, .containers = 10}));
  cell.SetStateDelay(&clock, absl::Seconds(5));
  absl::StatusOr<CellState> state;
  std::thread caller([&] { state = cell.State(); });
  clock.BlockUntilSleepers(1);
  EXPECT_EQ(cell.StateCallCount(), 0);  // Still sleeping.
  clock.Advance(absl::Seconds(5));
  caller.join();
  EXPECT_OK(state);
}

TEST(FakeCellClientTest, StartAllContainersAndReset) {
  FakeCellClient cell(Cell({.memory_mb = 100, .disk_mb = 100, .containers = 10}));
  ASSERT_OK(cell.Perform(Work{.lrps = {MakeLrp("web", 0, 10)}, .tasks = {MakeTask("t", 5)}})
                .status());
  cell.StartAllContainers();
  EXPECT_EQ(cell.state().starting_container_count, 0);
  EXPECT_EQ(cell.state().lrps[0].state, "RUNNING");
  EXPECT_EQ(cell.state().available_resources.memory_mb, 85);

  cell.SetStateError(absl::UnavailableError("down"));
  cell.Reset();
  const CellState after = cell.state();
  EXPECT_THAT(after.lrps, IsEmpty());
  EXPECT_THAT(after.tasks, IsEmpty());
  EXPECT_EQ(after.available_resources, after.total_resources);
  EXPECT_EQ(cell.PerformCallCount(), 0);
  EXPECT_OK(cell.State());
}

}  // namespace
}  // namespace diego::fakes
