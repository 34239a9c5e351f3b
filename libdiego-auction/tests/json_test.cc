#include "diego/auction/json.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "diego/auction/types.h"
#include "diego/model/rootfs.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::auction {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

PlacementConstraint Constraint() {
  return PlacementConstraint{.placement_tags = {"red"},
                             .volume_drivers = {"nfs"},
                             .root_fs = "preloaded:cflinuxfs4"};
}

Lrp SampleLrp() {
  return Lrp{.instance_guid = "ig-1",
             .process_guid = "web",
             .index = 2,
             .domain = "cf-apps",
             .constraint = Constraint(),
             .resource = {.memory_mb = 256, .disk_mb = 1024, .max_pids = 100},
             .state = "RUNNING"};
}

constexpr char kLrpJson[] =
    R"({"instance_guid":"ig-1","process_guid":"web","index":2,"domain":"cf-apps",)"
    R"("PlacementTags":["red"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4",)"
    R"("MemoryMB":256,"DiskMB":1024,"MaxPids":100,"state":"RUNNING"})";

Task SampleTask() {
  return Task{.task_guid = "task-1",
              .domain = "cf-tasks",
              .constraint = Constraint(),
              .resource = {.memory_mb = 128, .disk_mb = 512, .max_pids = 0},
              .state = "Running",
              .failed = false};
}

constexpr char kTaskJson[] =
    R"({"TaskGuid":"task-1","Domain":"cf-tasks",)"
    R"("PlacementTags":["red"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4",)"
    R"("MemoryMB":128,"DiskMB":512,"MaxPids":0,"state":"Running","failed":false})";

CellState SampleCellState() {
  CellState state;
  state.rep_url = "http://cell-z1-0.cell.service.cf.internal:1800";
  state.cell_id = "cell-z1-0";
  state.cell_index = 3;
  state.rootfs_providers.SetFixedSet("preloaded", {"cflinuxfs4"});
  state.rootfs_providers.SetFixedSet("preloaded+layer", {"cflinuxfs4"});
  state.rootfs_providers.SetArbitrary("docker");
  state.available_resources = {.memory_mb = 1024, .disk_mb = 2048, .containers = 98};
  state.total_resources = {.memory_mb = 2048, .disk_mb = 4096, .containers = 100};
  state.lrps = {SampleLrp()};
  state.tasks = {SampleTask()};
  state.starting_container_count = 1;
  state.zone = "z1";
  state.evacuating = false;
  state.volume_drivers = {"nfs"};
  state.placement_tags = {"red"};
  state.optional_placement_tags = {"blue"};
  state.proxy_memory_allocation_mb = 32;
  return state;
}

const std::string kCellStateJson = std::string(
    R"({"rep_url":"http://cell-z1-0.cell.service.cf.internal:1800","cell_id":"cell-z1-0",)"
    R"("cell_index":3,"RootFSProviders":{"docker":{"type":"arbitrary"},)"
    R"("preloaded":{"set":{"cflinuxfs4":{}},"type":"fixed_set"},)"
    R"("preloaded+layer":{"set":{"cflinuxfs4":{}},"type":"fixed_set"}},)"
    R"("AvailableResources":{"MemoryMB":1024,"DiskMB":2048,"Containers":98},)"
    R"("TotalResources":{"MemoryMB":2048,"DiskMB":4096,"Containers":100},)"
    R"("LRPs":[)") + kLrpJson + R"(],"Tasks":[)" + kTaskJson +
    R"(],"StartingContainerCount":1,"Zone":"z1","Evacuating":false,)"
    R"("VolumeDrivers":["nfs"],"PlacementTags":["red"],"OptionalPlacementTags":["blue"],)"
    R"("ProxyMemoryAllocationMB":32})";

// --- Encoding: golden strings in Go's key order ---------------------------

TEST(JsonTest, EncodesResourcesWithGoFieldNames) {
  EXPECT_EQ(ResourcesToJson({.memory_mb = 1024, .disk_mb = 2048, .containers = 100}),
            R"({"MemoryMB":1024,"DiskMB":2048,"Containers":100})");
  EXPECT_EQ(ResourceToJson({.memory_mb = 64, .disk_mb = 128, .max_pids = 1024}),
            R"({"MemoryMB":64,"DiskMB":128,"MaxPids":1024})");
}

TEST(JsonTest, EncodesPlacementConstraintWithEmptyListsAsArrays) {
  EXPECT_EQ(PlacementConstraintToJson(Constraint()),
            R"({"PlacementTags":["red"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4"})");
  EXPECT_EQ(PlacementConstraintToJson({}),
            R"({"PlacementTags":[],"VolumeDrivers":[],"RootFs":""})");
}

TEST(JsonTest, EncodesLrpWithFlattenedKeyConstraintAndResource) {
  EXPECT_EQ(LrpToJson(SampleLrp()), kLrpJson);
}

TEST(JsonTest, EncodesTask) { EXPECT_EQ(TaskToJson(SampleTask()), kTaskJson); }

TEST(JsonTest, EncodesAnEmptyTaskStateAsInvalid) {
  EXPECT_EQ(TaskToJson(Task{.task_guid = "t"}),
            R"({"TaskGuid":"t","Domain":"","PlacementTags":[],"VolumeDrivers":[],"RootFs":"",)"
            R"("MemoryMB":0,"DiskMB":0,"MaxPids":0,"state":"Invalid","failed":false})");
}

TEST(JsonTest, EncodesCellStateInAppendixAShape) {
  EXPECT_EQ(CellStateToJson(SampleCellState()), kCellStateJson);
}

TEST(JsonTest, EncodesEmptyCellState) {
  EXPECT_EQ(CellStateToJson(CellState{}),
            R"({"rep_url":"","cell_id":"","cell_index":0,"RootFSProviders":{},)"
            R"("AvailableResources":{"MemoryMB":0,"DiskMB":0,"Containers":0},)"
            R"("TotalResources":{"MemoryMB":0,"DiskMB":0,"Containers":0},"LRPs":[],"Tasks":[],)"
            R"("StartingContainerCount":0,"Zone":"","Evacuating":false,"VolumeDrivers":[],)"
            R"("PlacementTags":[],"OptionalPlacementTags":[],"ProxyMemoryAllocationMB":0})");
}

TEST(JsonTest, EncodesRootFsProvidersSortedWithSetBeforeType) {
  model::RootFsProviders providers;
  providers.SetFixedSet("preloaded", {"windows", "cflinuxfs4"});
  providers.SetArbitrary("docker");
  providers.SetFixedSet("preloaded+layer", {});
  EXPECT_EQ(RootFsProvidersToJson(providers),
            R"({"docker":{"type":"arbitrary"},)"
            R"("preloaded":{"set":{"cflinuxfs4":{},"windows":{}},"type":"fixed_set"},)"
            R"("preloaded+layer":{"set":{},"type":"fixed_set"}})");
}

TEST(JsonTest, EncodesWorkOmittingAnEmptyCellId) {
  EXPECT_EQ(WorkToJson(Work{}), R"({"LRPs":[],"Tasks":[]})");
  Work work{.lrps = {SampleLrp()}, .tasks = {SampleTask()}, .cell_id = "cell-z1-0"};
  EXPECT_EQ(WorkToJson(work), std::string(R"({"LRPs":[)") + kLrpJson + R"(],"Tasks":[)" +
                                  kTaskJson + R"(],"cell_id":"cell-z1-0"})");
}

TEST(JsonTest, EncodesLrpStartRequestsAsAuctioneerBody) {
  LrpStartRequest request{.process_guid = "web",
                          .domain = "cf-apps",
                          .indices = {0, 1},
                          .constraint = Constraint(),
                          .resource = {.memory_mb = 256, .disk_mb = 1024, .max_pids = 0}};
  const std::string one =
      R"({"process_guid":"web","domain":"cf-apps","indices":[0,1],)"
      R"("PlacementTags":["red"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4",)"
      R"("MemoryMB":256,"DiskMB":1024,"MaxPids":0})";
  EXPECT_EQ(LrpStartRequestToJson(request), one);
  EXPECT_EQ(LrpStartRequestsToJson({request, request}), "[" + one + "," + one + "]");
  EXPECT_EQ(LrpStartRequestsToJson({}), "[]");
}

TEST(JsonTest, EncodesTaskStartRequestsAsRepTasks) {
  EXPECT_EQ(TaskStartRequestsToJson({SampleTask()}), std::string("[") + kTaskJson + "]");
}

TEST(JsonTest, EscapesStringsLikeGo) {
  Lrp lrp;
  lrp.process_guid = "a<b>&\"\\\n\t\b\f\x01 \xe2\x80\xa8\xe2\x80\xa9 \xff é";
  const std::string json = LrpToJson(lrp);
  EXPECT_THAT(json, HasSubstr(R"("process_guid":"a\u003cb\u003e\u0026\"\\\n\t\b\f\u0001 )"
                              R"(\u2028\u2029 \ufffd é")"));
  ASSERT_OK_AND_ASSIGN(Lrp decoded, LrpFromJson(json));
  EXPECT_EQ(decoded.process_guid, "a<b>&\"\\\n\t\b\f\x01 \xe2\x80\xa8\xe2\x80\xa9 \xef\xbf\xbd é");
}

// --- Decoding ---------------------------------------------------------------

TEST(JsonTest, DecodesEveryGoldenBackToTheSameValue) {
  ASSERT_OK_AND_ASSIGN(Resources resources,
                       ResourcesFromJson(R"({"MemoryMB":1,"DiskMB":2,"Containers":3})"));
  EXPECT_EQ(resources, (Resources{.memory_mb = 1, .disk_mb = 2, .containers = 3}));
  ASSERT_OK_AND_ASSIGN(Resource resource, ResourceFromJson(R"({"MemoryMB":1,"DiskMB":2,"MaxPids":3})"));
  EXPECT_EQ(resource, (Resource{.memory_mb = 1, .disk_mb = 2, .max_pids = 3}));
  ASSERT_OK_AND_ASSIGN(PlacementConstraint constraint,
                       PlacementConstraintFromJson(PlacementConstraintToJson(Constraint())));
  EXPECT_EQ(constraint, Constraint());
  ASSERT_OK_AND_ASSIGN(Lrp lrp, LrpFromJson(kLrpJson));
  EXPECT_EQ(lrp, SampleLrp());
  ASSERT_OK_AND_ASSIGN(Task task, TaskFromJson(kTaskJson));
  EXPECT_EQ(task, SampleTask());
  Work work{.lrps = {SampleLrp()}, .tasks = {SampleTask()}, .cell_id = "c"};
  ASSERT_OK_AND_ASSIGN(Work decoded_work, WorkFromJson(WorkToJson(work)));
  EXPECT_EQ(decoded_work, work);

  ASSERT_OK_AND_ASSIGN(CellState state, CellStateFromJson(kCellStateJson));
  EXPECT_EQ(CellStateToJson(state), kCellStateJson);
  const CellState expected = SampleCellState();
  EXPECT_EQ(state.rootfs_providers, expected.rootfs_providers);
  EXPECT_EQ(state.lrps, expected.lrps);
  EXPECT_EQ(state.tasks, expected.tasks);
  EXPECT_EQ(state.available_resources, expected.available_resources);
}

TEST(JsonTest, DecodesTheAppendixAExampleWithTypeBeforeSet) {
  const char* json = R"({"rep_url": "http://10.0.0.1:1800", "cell_id": "cell-1", "cell_index": 0,
    "RootFSProviders": {"preloaded": {"type": "fixed_set", "set": {"cflinuxfs4": {}}},
                        "preloaded+layer": {"type": "fixed_set", "set": {"cflinuxfs4": {}}},
                        "docker": {"type": "arbitrary"}},
    "AvailableResources": {"MemoryMB": 100, "DiskMB": 200, "Containers": 3},
    "TotalResources": {"MemoryMB": 100, "DiskMB": 200, "Containers": 3},
    "LRPs": [], "Tasks": [], "StartingContainerCount": 0, "Zone": "z1",
    "Evacuating": false, "VolumeDrivers": [], "PlacementTags": [], "OptionalPlacementTags": [],
    "ProxyMemoryAllocationMB": 0})";
  ASSERT_OK_AND_ASSIGN(CellState state, CellStateFromJson(json));
  EXPECT_EQ(state.cell_id, "cell-1");
  EXPECT_EQ(state.zone, "z1");
  EXPECT_TRUE(state.rootfs_providers.Match("preloaded:cflinuxfs4"));
  EXPECT_TRUE(state.rootfs_providers.Match("preloaded+layer:cflinuxfs4?layer=x"));
  EXPECT_TRUE(state.rootfs_providers.Match("docker:///cloudfoundry/grace"));
  EXPECT_FALSE(state.rootfs_providers.Match("preloaded:windows"));
  EXPECT_EQ(state.rootfs_providers.TypeOf("docker"), model::RootFsProviderType::kArbitrary);
  EXPECT_THAT(state.rootfs_providers.FixedSet("preloaded"), ElementsAre("cflinuxfs4"));
}

TEST(JsonTest, IgnoresUnknownKeysAndTreatsNullAsZero) {
  ASSERT_OK_AND_ASSIGN(
      CellState state,
      CellStateFromJson(R"({"cell_id":"c","Unknown":{"deep":[1,2,3]},"LRPs":null,"Tasks":null,)"
                        R"("RootFSProviders":null,"AvailableResources":null,"Zone":null,)"
                        R"("Evacuating":null,"cell_index":null,"VolumeDrivers":null})"));
  EXPECT_EQ(state.cell_id, "c");
  EXPECT_TRUE(state.lrps.empty());
  EXPECT_TRUE(state.rootfs_providers.empty());
  EXPECT_EQ(state.zone, "");
  EXPECT_FALSE(state.evacuating);

  EXPECT_THAT(CellStateFromJson("null"), IsOk());
  EXPECT_THAT(WorkFromJson(R"({"LRPs":[null],"Tasks":null})"), IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<LrpStartRequest> none, LrpStartRequestsFromJson("null"));
  EXPECT_TRUE(none.empty());
}

TEST(JsonTest, MatchesKeysCaseInsensitivelyLikeGoAndLastKeyWins) {
  ASSERT_OK_AND_ASSIGN(Resources r,
                       ResourcesFromJson(R"({"memorymb":5,"DISKMB":6,"Containers":1,"containers":2})"));
  EXPECT_EQ(r, (Resources{.memory_mb = 5, .disk_mb = 6, .containers = 2}));
  ASSERT_OK_AND_ASSIGN(Task task, TaskFromJson(R"({"taskguid":"t","rootfs":"docker:///x"})"));
  EXPECT_EQ(task.task_guid, "t");
  EXPECT_EQ(task.constraint.root_fs, "docker:///x");
}

TEST(JsonTest, DecodesInvalidTaskStateAsEmptyAndAcceptsOtherNames) {
  ASSERT_OK_AND_ASSIGN(Task invalid, TaskFromJson(R"({"state":"Invalid"})"));
  EXPECT_EQ(invalid.state, "");
  for (const char* name : {"Pending", "Running", "Completed", "Resolving"}) {
    ASSERT_OK_AND_ASSIGN(Task task, TaskFromJson(absl::StrCat(R"({"state":")", name, R"("})")));
    EXPECT_EQ(task.state, name);
  }
}

TEST(JsonTest, SkipsRootFsProvidersOfUnknownType) {
  ASSERT_OK_AND_ASSIGN(
      model::RootFsProviders providers,
      RootFsProvidersFromJson(R"({"weird":{"type":"magic"},"nil":null,)"
                              R"("preloaded":{"type":"fixed_set","set":null},"docker":{"type":"arbitrary"}})"));
  EXPECT_THAT(providers.Schemes(), ElementsAre("docker", "preloaded"));
  EXPECT_TRUE(providers.FixedSet("preloaded").empty());
}

TEST(JsonTest, DecodesStartRequestArrays) {
  ASSERT_OK_AND_ASSIGN(
      std::vector<LrpStartRequest> lrps,
      LrpStartRequestsFromJson(
          R"([{"process_guid":"web","domain":"d","indices":[0,3],"RootFs":"preloaded:s",)"
          R"("MemoryMB":64,"DiskMB":32,"MaxPids":5,"PlacementTags":["a"]}])"));
  ASSERT_EQ(lrps.size(), 1u);
  EXPECT_EQ(lrps[0], (LrpStartRequest{.process_guid = "web",
                                      .domain = "d",
                                      .indices = {0, 3},
                                      .constraint = {.placement_tags = {"a"}, .root_fs = "preloaded:s"},
                                      .resource = {.memory_mb = 64, .disk_mb = 32, .max_pids = 5}}));
  ASSERT_OK_AND_ASSIGN(std::vector<TaskStartRequest> tasks,
                       TaskStartRequestsFromJson(std::string("[") + kTaskJson + "]"));
  EXPECT_THAT(tasks, ElementsAre(SampleTask()));
}

// --- Decoding errors name the JSON path -------------------------------------

TEST(JsonTest, ErrorsNameTheJsonPath) {
  EXPECT_THAT(CellStateFromJson(R"({"AvailableResources":{"MemoryMB":"lots"}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "AvailableResources.MemoryMB: expected an integer, got string"));
  EXPECT_THAT(WorkFromJson(R"({"LRPs":[{},{},{"index":3000000000}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "LRPs[2].index: number 3000000000 overflows int32"));
  EXPECT_THAT(WorkFromJson(R"({"LRPs":[{"index":-3000000000}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "LRPs[0].index: number -3000000000 overflows int32"));
  EXPECT_THAT(LrpStartRequestsFromJson(R"([{},{"indices":[1.5]}])"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "[1].indices[0]: expected an integer, got number 1.5"));
  EXPECT_THAT(CellStateFromJson(R"({"Tasks":[{"state":"Exploded"}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       R"(Tasks[0].state: invalid task state "Exploded")"));
  EXPECT_THAT(CellStateFromJson(R"({"Evacuating":"yes"})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "Evacuating: expected a boolean, got string"));
  EXPECT_THAT(CellStateFromJson(R"({"PlacementTags":["a",7]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "PlacementTags[1]: expected a string, got number 7"));
  EXPECT_THAT(CellStateFromJson(R"({"RootFSProviders":{"preloaded":{"type":"fixed_set","set":{"s":1}}}})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "RootFSProviders.preloaded.set.s: expected an object, got number 1"));
  EXPECT_THAT(CellStateFromJson(R"({"LRPs":{}})"),
              StatusIs(absl::StatusCode::kInvalidArgument, "LRPs: expected an array, got object"));
  EXPECT_THAT(CellStateFromJson("[]"),
              StatusIs(absl::StatusCode::kInvalidArgument, "expected an object, got array"));
  EXPECT_THAT(LrpStartRequestsFromJson("{}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "expected an array, got object"));
}

TEST(JsonTest, MalformedJsonNamesTheOffset) {
  EXPECT_THAT(CellStateFromJson(R"({"cell_id":"c",)"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("malformed JSON at offset ")));
  EXPECT_THAT(WorkFromJson(""),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("malformed JSON at offset 0")));
  EXPECT_THAT(WorkFromJson("{} x"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("malformed JSON at offset 3")));
}

// --- The auctioneer's silent-drop rule ---------------------------------------

TEST(ValidityTest, LrpStartRequestRules) {
  const LrpStartRequest valid{.process_guid = "web",
                              .domain = "d",
                              .indices = {0},
                              .constraint = {.root_fs = "preloaded:s"}};
  EXPECT_TRUE(IsValidLrpStartRequest(valid));

  LrpStartRequest r = valid;
  r.process_guid.clear();
  EXPECT_THAT(ValidateLrpStartRequest(r),
              StatusIs(absl::StatusCode::kInvalidArgument, "process guid is empty"));
  r = valid;
  r.domain.clear();
  EXPECT_THAT(ValidateLrpStartRequest(r), StatusIs(absl::StatusCode::kInvalidArgument, "domain is empty"));
  r = valid;
  r.indices.clear();
  EXPECT_FALSE(IsValidLrpStartRequest(r));
  r = valid;
  r.resource.memory_mb = -1;
  EXPECT_FALSE(IsValidLrpStartRequest(r));
  r = valid;
  r.resource.disk_mb = -1;
  EXPECT_FALSE(IsValidLrpStartRequest(r));
  r = valid;
  r.resource.max_pids = -1;  // Not checked, as in Diego.
  EXPECT_TRUE(IsValidLrpStartRequest(r));
  r = valid;
  r.constraint.root_fs.clear();
  EXPECT_THAT(ValidateLrpStartRequest(r),
              StatusIs(absl::StatusCode::kInvalidArgument, "placement constraint cannot be empty"));
}

TEST(ValidityTest, TaskStartRequestRules) {
  const TaskStartRequest valid{.task_guid = "t", .constraint = {.root_fs = "docker:///x"}};
  EXPECT_TRUE(IsValidTaskStartRequest(valid));  // An empty domain is allowed, as in Diego.

  TaskStartRequest t = valid;
  t.task_guid.clear();
  EXPECT_THAT(ValidateTaskStartRequest(t),
              StatusIs(absl::StatusCode::kInvalidArgument, "task guid is empty"));
  t = valid;
  t.resource.memory_mb = -5;
  EXPECT_FALSE(IsValidTaskStartRequest(t));
  t = valid;
  t.constraint.root_fs.clear();
  EXPECT_FALSE(IsValidTaskStartRequest(t));
}

}  // namespace
}  // namespace diego::auction
