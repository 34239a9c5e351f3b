// Copyright 2026 The libdiego Authors.
//
// Wire compatibility with Diego's gogo-generated Go models. Every expected
// byte string is written out by hand from Diego's field numbers (tag byte =
// number << 3 | wire type), so a renumbered field, a lost `[packed = false]`
// or a missing nullable=false fix-up fails here.

#include "diego/model/wire.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "diego/model/errors.h"
#include "diego/model/models.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::HasSubstr;

// "0a 02" -> the bytes 0x0a 0x02.
std::string Wire(absl::string_view hex) {
  std::string compact = absl::StrJoin(absl::StrSplit(hex, ' ', absl::SkipEmpty()), "");
  return absl::HexStringToBytes(compact);
}

// The bytes as "0a 02 ..." so failures are readable.
std::string Hex(absl::string_view bytes) {
  std::vector<std::string> parts;
  for (const char c : bytes) parts.push_back(absl::BytesToHexString(absl::string_view(&c, 1)));
  return absl::StrJoin(parts, " ");
}

template <typename T>
T MustParse(const std::string& bytes) {
  T message;
  absl::Status status = ParseFromWire(bytes, &message);
  EXPECT_THAT(status, IsOk());
  return message;
}

constexpr char kRouteJson[] = R"([{"hostnames":["a.example.com"],"port":8080}])";

// --- ActualLRP -------------------------------------------------------------

std::string RunningActualLrpBytes() {
  return Wire("0a 09 0a 02") + "pg" + Wire("10 02 1a 01") + "d" +  // 1 actual_lrp_key
         Wire("12 07 0a 02") + "ig" + Wire("12 01") + "c" +        // 2 actual_lrp_instance_key
         Wire("1a 00") +                                           // 3 net_info, always written
         Wire("32 07") + "RUNNING" +                               // 6 state
         Wire("40 e8 07") +                                        // 8 since = 1000
         Wire("4a 00") +                                           // 9 modification_tag, always
         Wire("50 01") +                                           // 10 presence = EVACUATING
         Wire("68 01");                                            // 13 routable = true
}

TEST(WireTest, DecodesActualLrpFromDiegoFieldNumbers) {
  auto lrp = MustParse<v1::ActualLRP>(RunningActualLrpBytes());
  EXPECT_EQ(lrp.actual_lrp_key().process_guid(), "pg");
  EXPECT_EQ(lrp.actual_lrp_key().index(), 2);
  EXPECT_EQ(lrp.actual_lrp_key().domain(), "d");
  EXPECT_EQ(lrp.actual_lrp_instance_key().instance_guid(), "ig");
  EXPECT_EQ(lrp.actual_lrp_instance_key().cell_id(), "c");
  EXPECT_EQ(lrp.state(), "RUNNING");
  EXPECT_EQ(lrp.since(), 1000);
  EXPECT_EQ(lrp.presence(), v1::ActualLRP::EVACUATING);
  ASSERT_EQ(lrp.optional_routable_case(), v1::ActualLRP::kRoutable);
  EXPECT_TRUE(lrp.routable());
}

TEST(WireTest, EncodesActualLrpLikeGogo) {
  v1::ActualLRP lrp;
  lrp.mutable_actual_lrp_key()->set_process_guid("pg");
  lrp.mutable_actual_lrp_key()->set_index(2);
  lrp.mutable_actual_lrp_key()->set_domain("d");
  lrp.mutable_actual_lrp_instance_key()->set_instance_guid("ig");
  lrp.mutable_actual_lrp_instance_key()->set_cell_id("c");
  lrp.set_state("RUNNING");
  lrp.set_since(1000);
  lrp.set_presence(v1::ActualLRP::EVACUATING);
  lrp.set_routable(true);
  // net_info and modification_tag are unset here; gogo writes them anyway.
  EXPECT_EQ(Hex(SerializeForWire(lrp)), Hex(RunningActualLrpBytes()));
}

TEST(WireTest, AllDefaultActualLrpMatchesGogo) {
  v1::ActualLRP lrp;
  EXPECT_EQ(Hex(lrp.SerializeAsString()), "");  // Plain proto3 writes nothing.
  EXPECT_EQ(Hex(SerializeForWire(lrp)), "0a 00 12 00 1a 00 4a 00");
  EXPECT_FALSE(lrp.has_actual_lrp_key());  // The argument is not modified.
  SetNonNullableFields(&lrp);
  EXPECT_EQ(Hex(lrp.SerializeAsString()), "0a 00 12 00 1a 00 4a 00");
}

TEST(WireTest, RoutableOneofHasExplicitPresence) {
  auto absent = MustParse<v1::ActualLRP>("");
  EXPECT_EQ(absent.optional_routable_case(), v1::ActualLRP::OPTIONAL_ROUTABLE_NOT_SET);
  // Parsing makes the non-nullable sub-messages present, like Go's values.
  EXPECT_TRUE(absent.has_actual_lrp_key());
  EXPECT_TRUE(absent.has_modification_tag());

  auto present_false = MustParse<v1::ActualLRP>(Wire("68 00"));
  EXPECT_EQ(present_false.optional_routable_case(), v1::ActualLRP::kRoutable);
  EXPECT_FALSE(present_false.routable());

  v1::ActualLRP lrp;
  lrp.set_routable(false);
  EXPECT_EQ(Hex(SerializeForWire(lrp)), "0a 00 12 00 1a 00 4a 00 68 00");
}

TEST(WireTest, FixesUpNonNullablesInsideRepeatedAndNestedMessages) {
  v1::ActualLRPsResponse response;
  response.add_actual_lrps();
  EXPECT_EQ(Hex(SerializeForWire(response)), "12 08 0a 00 12 00 1a 00 4a 00");

  v1::ActualLRPGroup group;
  group.mutable_instance();
  SetNonNullableFields(&group);
  EXPECT_TRUE(group.instance().has_actual_lrp_net_info());
  EXPECT_FALSE(group.has_evacuating());  // Nullable and unset: stays unset.
  EXPECT_EQ(Hex(group.SerializeAsString()), "0a 08 0a 00 12 00 1a 00 4a 00");

  v1::ActualLRPInstanceChangedEvent event;
  event.mutable_after();
  EXPECT_EQ(Hex(SerializeForWire(event)), "0a 00 12 00 22 04 1a 00 4a 00");
}

// --- DesiredLRP --------------------------------------------------------------

// The worked example of section 3 of the BBS wire reference.
std::string WorkedDesiredLrpBytes() {
  return Wire("0a 02") + "pg" +                     // 1 process_guid
         Wire("70 90 3f 70 ae 11") +                // 14 ports 8080, 2222 unpacked
         Wire("7a 3c 0a 3a 0a 09") + "cf-router" +  // 15 routes: entry, key
         Wire("12 2d") + kRouteJson;                // raw JSON value
}

TEST(WireTest, DesiredLrpWorkedExampleDecodes) {
  auto lrp = MustParse<v1::DesiredLRP>(WorkedDesiredLrpBytes());
  EXPECT_EQ(lrp.process_guid(), "pg");
  EXPECT_THAT(lrp.ports(), ::testing::ElementsAre(8080, 2222));
  ASSERT_TRUE(lrp.has_routes());
  ASSERT_EQ(lrp.routes().routes().count("cf-router"), 1u);
  EXPECT_EQ(lrp.routes().routes().at("cf-router"), kRouteJson);
}

TEST(WireTest, DesiredLrpWorkedExampleEncodesByteForByte) {
  v1::DesiredLRP lrp;
  lrp.set_process_guid("pg");
  lrp.add_ports(8080);
  lrp.add_ports(2222);
  (*lrp.mutable_routes()->mutable_routes())["cf-router"] = kRouteJson;
  EXPECT_EQ(Hex(SerializeForWire(lrp)), Hex(WorkedDesiredLrpBytes()));
}

TEST(WireTest, PackedPortsAreAcceptedAndWrittenUnpacked) {
  // 14 << 3 | 2 = 0x72: the packed form another encoder might send.
  auto lrp = MustParse<v1::DesiredLRP>(Wire("72 04 90 3f ae 11"));
  EXPECT_THAT(lrp.ports(), ::testing::ElementsAre(8080, 2222));
  EXPECT_EQ(Hex(SerializeForWire(lrp)), "70 90 3f 70 ae 11");

  auto rule = MustParse<v1::SecurityGroupRule>(Wire("1a 04 90 3f ae 11"));
  EXPECT_THAT(rule.ports(), ::testing::ElementsAre(8080, 2222));
}

TEST(WireTest, SecurityGroupRulePortsAreUnpacked) {
  v1::SecurityGroupRule rule;
  rule.add_ports(8080);
  rule.add_ports(2222);
  EXPECT_EQ(Hex(SerializeForWire(rule)), "18 90 3f 18 ae 11");
  auto parsed = MustParse<v1::SecurityGroupRule>(Wire("18 90 3f 18 ae 11"));
  EXPECT_THAT(parsed.ports(), ::testing::ElementsAre(8080, 2222));
}

TEST(WireTest, DesiredLrpRunInfoPortsAreUnpacked) {
  v1::DesiredLRPRunInfo run_info;
  run_info.add_ports(8080);
  // desired_lrp_key (1) is non-nullable; ports (9) use tag 0x48 per element.
  EXPECT_EQ(Hex(SerializeForWire(run_info)), "0a 00 48 90 3f");
}

TEST(WireTest, AllDefaultSchedulingInfoMatchesGogo) {
  v1::DesiredLRPSchedulingInfo info;
  EXPECT_EQ(Hex(info.SerializeAsString()), "");
  SetNonNullableFields(&info);
  EXPECT_EQ(Hex(info.SerializeAsString()), "0a 00 22 00 2a 00 32 00");
  EXPECT_EQ(Hex(SerializeForWire(v1::DesiredLRPSchedulingInfo())), "0a 00 22 00 2a 00 32 00");
}

TEST(WireTest, SchedulingInfoFieldsDecodeFromDiegoNumbers) {
  const std::string bytes = Wire("0a 04 0a 02") + "pg" +  // 1 desired_lrp_key.process_guid
                            Wire("18 05") +               // 3 instances
                            Wire("22 03 08 80 04") +      // 4 resource.memory_mb = 512
                            Wire("2a 00 32 00") +         // 5 routes, 6 modification_tag
                            Wire("42 01") + "t";          // 8 PlacementTags
  auto info = MustParse<v1::DesiredLRPSchedulingInfo>(bytes);
  EXPECT_EQ(info.desired_lrp_key().process_guid(), "pg");
  EXPECT_EQ(info.instances(), 5);
  EXPECT_EQ(info.desired_lrp_resource().memory_mb(), 512);
  EXPECT_THAT(info.placementtags(), ::testing::ElementsAre("t"));
  EXPECT_EQ(Hex(SerializeForWire(info)), Hex(bytes));
}

TEST(WireTest, DesiredLrpUpdateKeepsPresence) {
  // Field 2 present but empty: "replace the routes with none".
  auto clear_routes = MustParse<v1::DesiredLRPUpdate>(Wire("12 00"));
  EXPECT_TRUE(clear_routes.has_routes());
  EXPECT_EQ(clear_routes.routes().routes_size(), 0);
  EXPECT_EQ(clear_routes.optional_instances_case(),
            v1::DesiredLRPUpdate::OPTIONAL_INSTANCES_NOT_SET);

  auto no_change = MustParse<v1::DesiredLRPUpdate>("");
  EXPECT_FALSE(no_change.has_routes());

  // instances (1) = 0 is a real change, distinct from "absent".
  auto zero = MustParse<v1::DesiredLRPUpdate>(Wire("08 00 1a 00"));
  EXPECT_EQ(zero.optional_instances_case(), v1::DesiredLRPUpdate::kInstances);
  EXPECT_EQ(zero.instances(), 0);
  EXPECT_EQ(zero.optional_annotation_case(), v1::DesiredLRPUpdate::kAnnotation);
  EXPECT_EQ(zero.annotation(), "");

  v1::DesiredLRPUpdate update;
  update.mutable_routes();
  update.set_instances(0);
  EXPECT_EQ(Hex(SerializeForWire(update)), "08 00 12 00");
}

// --- Task --------------------------------------------------------------------

TEST(WireTest, TaskWithDefinitionAndState) {
  const std::string bytes = Wire("0a 10 0a 0b") + "docker:///x" +  // 1 task_definition.rootfs
                            Wire("28 80 02") +                     //   .memory_mb = 256
                            Wire("12 02") + "tg" +                 // 2 task_guid
                            Wire("38 02");                         // 7 state = Running
  auto task = MustParse<v1::Task>(bytes);
  ASSERT_TRUE(task.has_task_definition());
  EXPECT_EQ(task.task_definition().root_fs(), "docker:///x");
  EXPECT_EQ(task.task_definition().memory_mb(), 256);
  EXPECT_EQ(task.task_guid(), "tg");
  EXPECT_EQ(task.state(), v1::Task::Running);

  v1::Task built;
  built.mutable_task_definition()->set_root_fs("docker:///x");
  built.mutable_task_definition()->set_memory_mb(256);
  built.set_task_guid("tg");
  built.set_state(v1::Task::Running);
  EXPECT_EQ(Hex(SerializeForWire(built)), Hex(bytes));

  // task_definition is nullable (embedded pointer): absent stays absent.
  EXPECT_FALSE(MustParse<v1::Task>(Wire("38 01")).has_task_definition());
}

// --- Requests and errors -----------------------------------------------------

TEST(WireTest, ErrorMessage) {
  const std::string bytes = Wire("08 07 12 03") + "bad";
  auto error = MustParse<v1::Error>(bytes);
  EXPECT_EQ(error.type(), v1::Error::InvalidJSON);
  EXPECT_EQ(error.message(), "bad");
  EXPECT_EQ(Hex(SerializeForWire(error)), Hex(bytes));

  auto response = MustParse<v1::ActualLRPLifecycleResponse>(Wire("0a 02 08 0d"));
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().type(), v1::Error::ResourceNotFound);
}

TEST(WireTest, StartActualLrpRequestRoutable) {
  const std::string bytes = Wire("0a 04 0a 02") + "pg" +  // 1 actual_lrp_key
                            Wire("30 00");                // 6 Routable = false, present
  auto request = MustParse<v1::StartActualLRPRequest>(bytes);
  EXPECT_EQ(request.actual_lrp_key().process_guid(), "pg");
  ASSERT_EQ(request.optional_routable_case(), v1::StartActualLRPRequest::kRoutable);
  EXPECT_FALSE(request.routable());
  EXPECT_EQ(Hex(SerializeForWire(request)), Hex(bytes));

  // Absent Routable: the BBS treats the LRP as routable.
  auto absent = MustParse<v1::StartActualLRPRequest>(Wire("0a 04 0a 02") + "pg");
  EXPECT_EQ(absent.optional_routable_case(), v1::StartActualLRPRequest::OPTIONAL_ROUTABLE_NOT_SET);
  EXPECT_FALSE(absent.has_actual_lrp_net_info());  // Nullable in requests.
}

TEST(WireTest, EvacuateRunningRoutableIsFieldSeven) {
  auto request = MustParse<v1::EvacuateRunningActualLRPRequest>(Wire("38 01"));
  ASSERT_EQ(request.optional_routable_case(), v1::EvacuateRunningActualLRPRequest::kRoutable);
  EXPECT_TRUE(request.routable());
}

TEST(WireTest, ActualLrpsRequestIndexPresence) {
  auto with_index = MustParse<v1::ActualLRPsRequest>(Wire("20 00"));
  EXPECT_EQ(with_index.optional_index_case(), v1::ActualLRPsRequest::kIndex);
  auto without = MustParse<v1::ActualLRPsRequest>(Wire("0a 01") + "d");
  EXPECT_EQ(without.domain(), "d");
  EXPECT_EQ(without.optional_index_case(), v1::ActualLRPsRequest::OPTIONAL_INDEX_NOT_SET);
}

TEST(WireTest, UnknownFieldsAreKept) {
  const std::string bytes = Wire("08 07 f8 06 01");  // type, then unknown field 111.
  auto error = MustParse<v1::Error>(bytes);
  EXPECT_EQ(error.type(), v1::Error::InvalidJSON);
  EXPECT_EQ(Hex(SerializeForWire(error)), Hex(bytes));
}

TEST(WireTest, MapEntriesAreWrittenInKeyOrder) {
  v1::ActualLRP lrp;
  (*lrp.mutable_metric_tags())["b"] = "2";
  (*lrp.mutable_metric_tags())["a"] = "1";
  // 12 metric_tags: entry = 0a <key> 12 <value>; Go's order would be random.
  EXPECT_EQ(Hex(SerializeForWire(lrp)),
            "0a 00 12 00 1a 00 4a 00 62 06 0a 01 61 12 01 31 62 06 0a 01 62 12 01 32");
}

TEST(WireTest, ParseFromWireRejectsGarbage) {
  for (const std::string& garbage :
       {Wire("ff ff ff ff ff"), Wire("0a 05 70"), Wire("0a"), Wire("0f 01")}) {
    v1::ActualLRP lrp;
    lrp.set_state("RUNNING");
    absl::Status status = ParseFromWire(garbage, &lrp);
    EXPECT_THAT(status,
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("diego.model.v1.ActualLRP")))
        << Hex(garbage);
    EXPECT_EQ(BbsErrorType(status), v1::Error::InvalidProtobufMessage) << Hex(garbage);
    EXPECT_EQ(lrp.state(), "") << "message is left cleared";
  }
}

TEST(WireTest, ParseFromWireReplacesPreviousContents) {
  v1::Error error;
  error.set_message("old");
  ASSERT_THAT(ParseFromWire(Wire("08 04"), &error), IsOk());
  EXPECT_EQ(error.type(), v1::Error::InvalidRequest);
  EXPECT_EQ(error.message(), "");
}

}  // namespace
}  // namespace diego::model
