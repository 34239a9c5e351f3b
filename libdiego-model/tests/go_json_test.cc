// Copyright 2026 The libdiego Authors.
//
// Golden Go-JSON for representative Diego shapes (what `json.Marshal` of the
// gogo-generated Go structs produces), and the decoder's leniency and errors.

#include "diego/model/go_json.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "diego/model/errors.h"
#include "diego/model/models.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/arena.h"
#include "gtest/gtest.h"

// These tests deliberately use Diego's deprecated fields: their JSON keys
// (e.g. "deprecated_timeout_ns") are part of the wire contract.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::model {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Json(const google::protobuf::Message& m, const GoJsonOptions& options = {}) {
  absl::StatusOr<std::string> json = ToGoJson(m, options);
  EXPECT_THAT(json, IsOk());
  return json.ok() ? *json : std::string();
}

template <typename T>
T Decode(absl::string_view json) {
  absl::StatusOr<T> m = ParseGoJson<T>(json);
  EXPECT_THAT(m, IsOk()) << json;
  return m.ok() ? *std::move(m) : T();
}

// Expects `json` to fail decoding as `T` with an InvalidJSON error whose
// message contains `needle`.
template <typename T>
void ExpectDecodeError(absl::string_view json, absl::string_view needle) {
  T m;
  absl::Status status = FromGoJson(json, &m);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(needle))))
      << json;
  EXPECT_EQ(BbsErrorType(status), v1::Error::InvalidJSON) << json;
}

constexpr char kRouteJson[] = R"([{"hostnames":["a.example.com"],"port":8080}])";

// --- Encoding: golden strings ------------------------------------------------

v1::ActualLRP RunningLrp() {
  v1::ActualLRP lrp;
  lrp.mutable_actual_lrp_key()->set_process_guid("pg");
  lrp.mutable_actual_lrp_key()->set_index(2);
  lrp.mutable_actual_lrp_key()->set_domain("d");
  lrp.mutable_actual_lrp_instance_key()->set_instance_guid("ig");
  lrp.mutable_actual_lrp_instance_key()->set_cell_id("c");
  lrp.mutable_actual_lrp_net_info()->set_address("10.0.0.1");
  auto* port = lrp.mutable_actual_lrp_net_info()->add_ports();
  port->set_container_port(8080);
  port->set_host_port(61000);
  lrp.mutable_actual_lrp_net_info()->set_preferred_address(v1::ActualLRPNetInfo::HOST);
  lrp.set_state("RUNNING");
  lrp.set_since(1000);
  lrp.mutable_modification_tag()->set_epoch("e");
  lrp.mutable_modification_tag()->set_index(3);
  lrp.set_presence(v1::ActualLRP::EVACUATING);
  (*lrp.mutable_metric_tags())["b"] = "2";
  (*lrp.mutable_metric_tags())["a"] = "1";
  lrp.set_routable(true);
  lrp.set_availability_zone("z1");
  return lrp;
}

constexpr char kRunningLrpJson[] =
    R"({"process_guid":"pg","index":2,"domain":"d","instance_guid":"ig","cell_id":"c",)"
    R"("address":"10.0.0.1","ports":[{"container_port":8080,"host_port":61000,)"
    R"("container_tls_proxy_port":0,"host_tls_proxy_port":0}],"preferred_address":"HOST",)"
    R"("crash_count":0,"state":"RUNNING","since":1000,"modification_tag":{"epoch":"e","index":3},)"
    R"("presence":"EVACUATING","metric_tags":{"a":"1","b":"2"},"OptionalRoutable":{"routable":true},)"
    R"("availability_zone":"z1"})";

TEST(GoJsonTest, ActualLrpFlattensKeysAndWrapsRoutable) {
  EXPECT_EQ(Json(RunningLrp()), kRunningLrpJson);
}

TEST(GoJsonTest, AllDefaultActualLrpWritesNullsLikeGo) {
  // ports: nil slice -> null; modification_tag: value struct -> object;
  // OptionalRoutable: nil interface -> null; enums by name.
  EXPECT_EQ(Json(v1::ActualLRP()),
            R"({"process_guid":"","index":0,"domain":"","instance_guid":"","cell_id":"",)"
            R"("address":"","ports":null,"preferred_address":"UNKNOWN","crash_count":0,"state":"",)"
            R"("since":0,"modification_tag":{"epoch":"","index":0},"presence":"ORDINARY",)"
            R"("OptionalRoutable":null,"availability_zone":""})");
}

TEST(GoJsonTest, TaskFlattensTaskDefinitionAndNamesState) {
  v1::Task task;
  task.mutable_task_definition()->set_root_fs("docker:///x");
  task.mutable_task_definition()->set_memory_mb(256);
  task.set_task_guid("tg");
  task.set_domain("dom");
  task.set_state(v1::Task::Pending);
  EXPECT_EQ(
      Json(task),
      R"({"rootfs":"docker:///x","disk_mb":0,"memory_mb":256,"cpu_weight":0,)"
      R"("privileged":false,"log_source":"","log_guid":"","metrics_guid":"","result_file":"",)"
      R"("max_pids":0,"image_username":"","image_password":"","volume_mounted_files":null,)"
      R"("task_guid":"tg","domain":"dom","created_at":0,"updated_at":0,"first_completed_at":0,)"
      R"("state":"Pending","cell_id":"","result":"","failed":false,"failure_reason":"",)"
      R"("rejection_count":0,"rejection_reason":""})");
}

TEST(GoJsonTest, TaskWithoutDefinitionWritesNoDefinitionKeys) {
  v1::Task task;
  task.set_task_guid("tg");
  task.set_state(v1::Task::Completed);
  EXPECT_EQ(Json(task),
            R"({"task_guid":"tg","domain":"","created_at":0,"updated_at":0,"first_completed_at":0,)"
            R"("state":"Completed","cell_id":"","result":"","failed":false,"failure_reason":"",)"
            R"("rejection_count":0,"rejection_reason":""})");
}

v1::DesiredLRP WebLrp() {
  v1::DesiredLRP lrp;
  lrp.set_process_guid("pg");
  lrp.set_domain("d");
  lrp.set_root_fs("r");
  lrp.set_instances(2);
  auto* run = lrp.mutable_action()->mutable_run_action();
  run->set_path("/bin/run");
  run->set_user("vcap");
  lrp.set_start_timeout_ms(60000);
  lrp.set_deprecated_start_timeout_s(60);
  lrp.add_ports(8080);
  (*lrp.mutable_routes()->mutable_routes())["cf-router"] = kRouteJson;
  lrp.set_update_strategy(v1::DesiredLRP::RECREATE);
  return lrp;
}

TEST(GoJsonTest, DesiredLrpWritesRawRoutesAndNumericUpdateStrategy) {
  // start_timeout_ms (27) comes right after action (7): declaration order.
  // deprecated_start_timeout_s keeps its historical key "deprecated_timeout_ns".
  EXPECT_EQ(Json(WebLrp()),
            R"({"process_guid":"pg","domain":"d","rootfs":"r","instances":2,"env":null,)"
            R"("action":{"run":{"path":"/bin/run","user":"vcap","suppress_log_output":false,)"
            R"("volume_mounted_files":null}},"start_timeout_ms":60000,"deprecated_timeout_ns":60,)"
            R"("disk_mb":0,"memory_mb":0,"cpu_weight":0,"privileged":false,"ports":[8080],)"
            R"("routes":{"cf-router":[{"hostnames":["a.example.com"],"port":8080}]},)"
            R"("log_source":"","log_guid":"","metrics_guid":"","annotation":"","max_pids":0,)"
            R"("volume_mounted_files":null,"update_strategy":1})");
}

TEST(GoJsonTest, RouteValuesAreCompactedAndHtmlEscapedLikeRawMessage) {
  v1::DesiredLRPUpdate update;
  auto& routes = *update.mutable_routes()->mutable_routes();
  routes["tcp-router"] = "[ {\"external_port\": 5000,\n \"note\": \"a<b\"} ]";
  routes["cf-router"] = "";  // An entry without a value (gogo omits it).
  EXPECT_EQ(
      Json(update),
      R"({"routes":{"cf-router":null,"tcp-router":[{"external_port":5000,"note":"a\u003cb"}]}})");
}

TEST(GoJsonTest, InvalidRouteJsonIsAnError) {
  v1::DesiredLRP lrp;
  (*lrp.mutable_routes()->mutable_routes())["cf-router"] = "{not json";
  absl::StatusOr<std::string> json = ToGoJson(lrp);
  EXPECT_THAT(json, StatusIs(absl::StatusCode::kInvalidArgument,
                             HasSubstr(R"(invalid JSON at "routes.cf-router")")));
  EXPECT_EQ(BbsErrorType(json.status()), v1::Error::InvalidJSON);
}

TEST(GoJsonTest, SchedulingInfoEmbedsThreeMessagesAndAlwaysWritesRoutes) {
  // `routes` is a Go map held by value (Routes, nullable=false, no
  // omitempty): without entries it is a nil map, so Go writes null.
  EXPECT_EQ(
      Json(v1::DesiredLRPSchedulingInfo()),
      R"({"process_guid":"","domain":"","log_guid":"","annotation":"","instances":0,)"
      R"("memory_mb":0,"disk_mb":0,"rootfs":"","max_pids":0,"routes":null,"epoch":"","index":0})");
  v1::DesiredLRPSchedulingInfo info;
  info.mutable_routes();  // Present but empty, as after a protobuf decode of `2a 00`.
  EXPECT_THAT(Json(info), HasSubstr(R"("routes":null)"));
  // Read back, the non-nullable field is present again.
  EXPECT_TRUE(Decode<v1::DesiredLRPSchedulingInfo>(Json(info)).has_routes());
  (*info.mutable_routes()->mutable_routes())["cf-router"] = kRouteJson;
  EXPECT_THAT(Json(info),
              HasSubstr(R"("routes":{"cf-router":[{"hostnames":["a.example.com"],"port":8080}]})"));
}

TEST(GoJsonTest, CellPresenceAnnotationsAreAnObjectWhenEmpty) {
  v1::CellPresence cell;
  cell.set_cell_id("cell-1");
  cell.set_rep_address("http://1.2.3.4:1800");
  cell.set_zone("z1");
  cell.mutable_capacity()->set_memory_mb(1024);
  cell.mutable_capacity()->set_disk_mb(2048);
  cell.mutable_capacity()->set_containers(10);
  auto* preloaded = cell.add_rootfs_providers();
  preloaded->set_name("preloaded");
  preloaded->add_properties("cflinuxfs4");
  cell.add_rootfs_providers()->set_name("docker");
  cell.set_rep_url("https://cell-1.cell.service.cf.internal:1801");
  EXPECT_EQ(Json(cell),
            R"({"cell_id":"cell-1","rep_address":"http://1.2.3.4:1800","zone":"z1",)"
            R"("capacity":{"memory_mb":1024,"disk_mb":2048,"containers":10},)"
            R"("rootfs_provider_list":[{"name":"preloaded","properties":["cflinuxfs4"]},)"
            R"({"name":"docker"}],"rep_url":"https://cell-1.cell.service.cf.internal:1801",)"
            R"("annotations":{}})");

  (*cell.mutable_annotations())["zone-hint"] = "b";
  EXPECT_THAT(Json(cell), HasSubstr(R"("annotations":{"zone-hint":"b"})"));
}

TEST(GoJsonTest, ResourceLimitsWritesPresentMembersFlat) {
  v1::ResourceLimits limits;
  EXPECT_EQ(Json(limits), "{}");
  limits.set_nofile(1024);
  EXPECT_EQ(Json(limits), R"({"nofile":1024})");
  limits.set_nofile(0);  // Present zero: still written (Go *uint64).
  EXPECT_EQ(Json(limits), R"({"nofile":0})");
  limits.set_nproc(18446744073709551615u);
  EXPECT_EQ(Json(limits), R"({"nofile":0,"nproc":18446744073709551615})");
}

TEST(GoJsonTest, DesiredLrpUpdateWritesOnlyWhatIsPresent) {
  EXPECT_EQ(Json(v1::DesiredLRPUpdate()), "{}");
  v1::DesiredLRPUpdate update;
  update.set_instances(3);
  update.mutable_routes();
  update.set_annotation("");
  (*update.mutable_metric_tags())["source_id"].set_static_("abc");
  EXPECT_EQ(
      Json(update),
      R"({"instances":3,"routes":{},"annotation":"","metric_tags":{"source_id":{"static":"abc"}}})");
}

TEST(GoJsonTest, ActualLrpsRequestIndexOnlyWhenPresent) {
  v1::ActualLRPsRequest request;
  request.set_domain("cf-apps");
  EXPECT_EQ(Json(request), R"({"domain":"cf-apps","cell_id":"","process_guid":""})");
  request.set_index(0);
  EXPECT_EQ(Json(request), R"({"domain":"cf-apps","cell_id":"","process_guid":"","index":0})");
}

TEST(GoJsonTest, StartRequestRoutableFalseIsAnEmptyWrapper) {
  // StartActualLRPRequest's member tag is "Routable,omitempty".
  v1::StartActualLRPRequest request;
  request.mutable_actual_lrp_key()->set_process_guid("pg");
  request.set_routable(false);
  EXPECT_EQ(Json(request), R"({"actual_lrp_key":{"process_guid":"pg","index":0,"domain":""},)"
                           R"("OptionalRoutable":{},"availability_zone":""})");
  request.set_routable(true);
  EXPECT_THAT(Json(request), HasSubstr(R"("OptionalRoutable":{"Routable":true})"));
}

TEST(GoJsonTest, MetricTagValueDynamicIsANameString) {
  v1::MetricTagValue value;
  value.set_dynamic(v1::MetricTagValue::INDEX);
  EXPECT_EQ(Json(value), R"({"dynamic":"INDEX"})");
  value.Clear();
  value.set_static_("app-guid");
  EXPECT_EQ(Json(value), R"({"static":"app-guid"})");
}

TEST(GoJsonTest, ErrorTypeIsANameString) {
  v1::Error error;
  error.set_type(v1::Error::ResourceNotFound);
  error.set_message("the requested resource could not be found");
  EXPECT_EQ(Json(error),
            R"({"type":"ResourceNotFound","message":"the requested resource could not be found"})");
}

TEST(GoJsonTest, UnknownEnumNumberIsWrittenAsItsNumberString) {
  v1::Task task;
  task.set_state(static_cast<v1::Task::State>(9));
  EXPECT_THAT(Json(task), HasSubstr(R"("state":"9")"));
  EXPECT_EQ(Decode<v1::Task>(R"({"state":"9"})").state(), 9);
}

TEST(GoJsonTest, ResponsesOmitUnsetErrorAndEmptyLists) {
  EXPECT_EQ(Json(v1::DesiredLRPsResponse()), "{}");
  v1::StartTaskResponse response;
  EXPECT_EQ(Json(response), R"({"should_start":false})");
  v1::DesireTaskRequest request;
  request.set_task_guid("tg");
  // task_definition has no omitempty: a nil pointer is null.
  EXPECT_EQ(Json(request), R"({"task_definition":null,"task_guid":"tg","domain":""})");
}

TEST(GoJsonTest, LocketTypeCodeIsANumber) {
  v1::Resource resource;
  resource.set_key("cell-1");
  resource.set_type_code(v1::PRESENCE);
  EXPECT_EQ(Json(resource), R"({"key":"cell-1","type_code":2})");
}

TEST(GoJsonTest, StringsAreEscapedLikeGo) {
  v1::Error error;
  error.set_message(std::string("<a & b>\"\\\n\t\b\f\x01 \u00e9 \u2028\u2029 ") + "\xff");
  EXPECT_EQ(Json(error),
            R"({"type":"UnknownError","message":"\u003ca \u0026 b\u003e\"\\\n\t\b\f\u0001 )"
            "\u00e9"
            R"( \u2028\u2029 \ufffd"})");
}

TEST(GoJsonTest, PrettyOutputMatchesMarshalIndent) {
  v1::CellPresence cell;
  cell.set_cell_id("c1");
  cell.add_placement_tags("a");
  GoJsonOptions pretty;
  pretty.pretty = true;
  EXPECT_EQ(Json(cell, pretty),
            "{\n"
            "  \"cell_id\": \"c1\",\n"
            "  \"rep_address\": \"\",\n"
            "  \"zone\": \"\",\n"
            "  \"placement_tags\": [\n"
            "    \"a\"\n"
            "  ],\n"
            "  \"rep_url\": \"\",\n"
            "  \"annotations\": {}\n"
            "}");
  pretty.indent = "\t";
  v1::Error error;
  error.set_message("a: {b}, [c]");
  EXPECT_EQ(Json(error, pretty),
            "{\n\t\"type\": \"UnknownError\",\n\t\"message\": \"a: {b}, [c]\"\n}");
}

// --- Decoding ----------------------------------------------------------------

TEST(GoJsonTest, DecodesWhatItEncodes) {
  v1::ActualLRP lrp = Decode<v1::ActualLRP>(kRunningLrpJson);
  EXPECT_EQ(lrp.actual_lrp_key().process_guid(), "pg");
  EXPECT_EQ(lrp.actual_lrp_key().index(), 2);
  EXPECT_EQ(lrp.actual_lrp_instance_key().cell_id(), "c");
  EXPECT_EQ(lrp.actual_lrp_net_info().preferred_address(), v1::ActualLRPNetInfo::HOST);
  ASSERT_EQ(lrp.actual_lrp_net_info().ports_size(), 1);
  EXPECT_EQ(lrp.actual_lrp_net_info().ports(0).host_port(), 61000);
  EXPECT_EQ(lrp.modification_tag().index(), 3);
  EXPECT_EQ(lrp.presence(), v1::ActualLRP::EVACUATING);
  ASSERT_EQ(lrp.optional_routable_case(), v1::ActualLRP::kRoutable);
  EXPECT_TRUE(lrp.routable());
  EXPECT_EQ(lrp.metric_tags().at("a"), "1");
  EXPECT_EQ(Json(lrp), kRunningLrpJson);
}

TEST(GoJsonTest, DecodesTaskDefinitionOnlyWhenItsKeysAppear) {
  v1::Task without = Decode<v1::Task>(R"({"task_guid":"tg","state":"Running"})");
  EXPECT_FALSE(without.has_task_definition());
  EXPECT_EQ(without.state(), v1::Task::Running);

  v1::Task with = Decode<v1::Task>(R"({"task_guid":"tg","rootfs":"docker:///x","memory_mb":64})");
  ASSERT_TRUE(with.has_task_definition());
  EXPECT_EQ(with.task_definition().root_fs(), "docker:///x");
  EXPECT_EQ(with.task_definition().memory_mb(), 64);
}

TEST(GoJsonTest, DecodesRoutesKeepingRawText) {
  v1::DesiredLRP lrp = Decode<v1::DesiredLRP>(
      R"({"process_guid":"pg","routes":{"cf-router": [ {"port": 8080} ] ,"diego-ssh":{"k":"\u00e9"}, "x": null}})");
  ASSERT_TRUE(lrp.has_routes());
  const auto& routes = lrp.routes().routes();
  EXPECT_EQ(routes.at("cf-router"), R"([ {"port": 8080} ])");
  EXPECT_EQ(routes.at("diego-ssh"), R"({"k":"\u00e9"})");
  EXPECT_EQ(routes.at("x"), "");
  EXPECT_THAT(
      Json(lrp),
      HasSubstr(R"("routes":{"cf-router":[{"port":8080}],"diego-ssh":{"k":"\u00e9"},"x":null})"));
}

TEST(GoJsonTest, DecodesRoutesInsideArraysAndDuplicateKeys) {
  v1::DesiredLRPsResponse response = Decode<v1::DesiredLRPsResponse>(
      R"({"desired_lrps":[{"routes":{"a":1}},{"routes":{"a":[2], "a" : {"last":true}}}]})");
  ASSERT_EQ(response.desired_lrps_size(), 2);
  EXPECT_EQ(response.desired_lrps(0).routes().routes().at("a"), "1");
  EXPECT_EQ(response.desired_lrps(1).routes().routes().at("a"), R"({"last":true})");
}

TEST(GoJsonTest, DesiredLrpUpdateRoutesPresence) {
  EXPECT_TRUE(Decode<v1::DesiredLRPUpdate>(R"({"routes":{}})").has_routes());
  EXPECT_FALSE(Decode<v1::DesiredLRPUpdate>(R"({"routes":null})").has_routes());
  v1::DesiredLRPUpdate update = Decode<v1::DesiredLRPUpdate>(R"({"instances":0,"annotation":""})");
  EXPECT_EQ(update.optional_instances_case(), v1::DesiredLRPUpdate::kInstances);
  EXPECT_EQ(update.optional_annotation_case(), v1::DesiredLRPUpdate::kAnnotation);
  EXPECT_EQ(update.optional_image_username_case(),
            v1::DesiredLRPUpdate::OPTIONAL_IMAGE_USERNAME_NOT_SET);
}

TEST(GoJsonTest, DecodesResourceLimitsPresence) {
  v1::ResourceLimits limits = Decode<v1::ResourceLimits>(R"({"nofile":0})");
  EXPECT_EQ(limits.optional_nofile_case(), v1::ResourceLimits::kNofile);
  EXPECT_EQ(limits.optional_nproc_case(), v1::ResourceLimits::OPTIONAL_NPROC_NOT_SET);
  EXPECT_EQ(Decode<v1::ResourceLimits>(R"({"nofile":null})").optional_nofile_case(),
            v1::ResourceLimits::OPTIONAL_NOFILE_NOT_SET);
}

TEST(GoJsonTest, DecodesOneofWrapperOrFlatKey) {
  v1::ActualLRP wrapped = Decode<v1::ActualLRP>(R"({"OptionalRoutable":{"routable":false}})");
  ASSERT_EQ(wrapped.optional_routable_case(), v1::ActualLRP::kRoutable);
  EXPECT_FALSE(wrapped.routable());

  v1::ActualLRP flat = Decode<v1::ActualLRP>(R"({"routable":true})");
  ASSERT_EQ(flat.optional_routable_case(), v1::ActualLRP::kRoutable);
  EXPECT_TRUE(flat.routable());

  EXPECT_EQ(Decode<v1::ActualLRP>(R"({"OptionalRoutable":null})").optional_routable_case(),
            v1::ActualLRP::OPTIONAL_ROUTABLE_NOT_SET);

  // {} is a present member whose false value was omitted (omitempty).
  v1::StartActualLRPRequest request =
      Decode<v1::StartActualLRPRequest>(R"({"OptionalRoutable":{}})");
  ASSERT_EQ(request.optional_routable_case(), v1::StartActualLRPRequest::kRoutable);
  EXPECT_FALSE(request.routable());
}

TEST(GoJsonTest, IgnoresUnknownKeys) {
  v1::ActualLRPKey key = Decode<v1::ActualLRPKey>(
      R"({"process_guid":"p","bogus":{"x":[1,2,{"y":null}]},"another":"z"})");
  EXPECT_EQ(key.process_guid(), "p");
}

TEST(GoJsonTest, AcceptsNullForAnyField) {
  v1::ActualLRP lrp = Decode<v1::ActualLRP>(
      R"({"process_guid":null,"index":null,"ports":null,"preferred_address":null,)"
      R"("modification_tag":null,"metric_tags":null,"OptionalRoutable":null,"presence":null})");
  EXPECT_EQ(lrp.actual_lrp_key().process_guid(), "");
  EXPECT_EQ(lrp.actual_lrp_net_info().ports_size(), 0);
  EXPECT_TRUE(lrp.has_modification_tag());  // Non-nullable: always present.
  EXPECT_EQ(Decode<v1::ActualLRP>("null").SerializeAsString(),
            Decode<v1::ActualLRP>("{}").SerializeAsString());
  v1::RunAction run = Decode<v1::RunAction>(R"({"args":["a",null],"env":[null]})");
  EXPECT_THAT(run.args(), ElementsAre("a", ""));
  EXPECT_EQ(run.env_size(), 1);
}

TEST(GoJsonTest, MatchesKeysCaseInsensitivelyAfterExactMatch) {
  v1::ActualLRP lrp = Decode<v1::ActualLRP>(
      R"({"PROCESS_GUID":"p","Index":3,"optionalroutable":{"ROUTABLE":true}})");
  EXPECT_EQ(lrp.actual_lrp_key().process_guid(), "p");
  EXPECT_EQ(lrp.actual_lrp_key().index(), 3);
  EXPECT_TRUE(lrp.routable());
  // Both keys address the same field; as in Go the later one wins.
  EXPECT_EQ(Decode<v1::ActualLRPKey>(R"({"process_guid":"a","Process_Guid":"b"})").process_guid(),
            "b");
}

TEST(GoJsonTest, DecodesEnumsByNameOrNumber) {
  EXPECT_EQ(Decode<v1::Task>(R"({"state":"Resolving"})").state(), v1::Task::Resolving);
  EXPECT_EQ(Decode<v1::Task>(R"({"state":2})").state(), v1::Task::Running);
  EXPECT_EQ(Decode<v1::DesiredLRP>(R"({"update_strategy":1})").update_strategy(),
            v1::DesiredLRP::RECREATE);
  EXPECT_EQ(Decode<v1::DesiredLRP>(R"({"update_strategy":"RECREATE"})").update_strategy(),
            v1::DesiredLRP::RECREATE);
  EXPECT_EQ(Decode<v1::Error>(R"({"type":"InvalidJSON"})").type(), v1::Error::InvalidJSON);
  ExpectDecodeError<v1::Task>(
      R"({"state":"Sleeping"})",
      R"(invalid JSON at "state": unknown diego.model.v1.Task.State value "Sleeping")");
  ExpectDecodeError<v1::Task>(R"({"state":true})", R"(invalid JSON at "state")");
}

TEST(GoJsonTest, Int64AndUint64AreNumbersAtFullRange) {
  v1::TimeoutAction timeout = Decode<v1::TimeoutAction>(
      R"({"timeout":-9223372036854775808,"timeout_ms":9223372036854775807})");
  EXPECT_EQ(timeout.deprecated_timeout_ns(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(timeout.timeout_ms(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Json(timeout), R"({"timeout":-9223372036854775808,"timeout_ms":9223372036854775807})");
  EXPECT_EQ(Decode<v1::ResourceLimits>(R"({"nproc":18446744073709551615})").nproc(),
            std::numeric_limits<uint64_t>::max());
}

TEST(GoJsonTest, WrongTypeNamesThePath) {
  ExpectDecodeError<v1::DesiredLRP>(R"({"action":{"run":{"path":5}}})",
                                    R"(invalid JSON at "action.run.path": expected a string)");
  ExpectDecodeError<v1::DesiredLRP>(
      R"({"egress_rules":[{"ports":[80,"443"]}]})",
      R"(invalid JSON at "egress_rules[0].ports[1]": expected a number)");
  ExpectDecodeError<v1::DesiredLRP>(R"({"metric_tags":{"source_id":{"dynamic":[]}}})",
                                    R"(invalid JSON at "metric_tags.source_id.dynamic")");
  ExpectDecodeError<v1::ActualLRP>(R"({"since":"123"})",
                                   R"(invalid JSON at "since": expected a number)");
  ExpectDecodeError<v1::ActualLRP>(R"({"ports":{}})",
                                   R"(invalid JSON at "ports": expected an array)");
  ExpectDecodeError<v1::ActualLRP>(R"({"modification_tag":[]})",
                                   R"(invalid JSON at "modification_tag": expected an object)");
  ExpectDecodeError<v1::Task>(R"({"failed":"true"})",
                              R"(invalid JSON at "failed": expected a boolean)");
  ExpectDecodeError<v1::DesiredLRP>(R"({"routes":[]})",
                                    R"(invalid JSON at "routes": expected an object)");
  ExpectDecodeError<v1::ActualLRP>(
      R"({"OptionalRoutable":{"routable":1}})",
      R"(invalid JSON at "OptionalRoutable.routable": expected a boolean)");
  ExpectDecodeError<v1::ActualLRP>("[1]", "invalid JSON at top level: expected an object");
}

TEST(GoJsonTest, IntegersAreRangeChecked) {
  ExpectDecodeError<v1::ActualLRPKey>(
      R"({"index":3000000000})", R"(invalid JSON at "index": number 3000000000 overflows int32)");
  ExpectDecodeError<v1::ActualLRPKey>(R"({"index":-2147483649})", "overflows int32");
  ExpectDecodeError<v1::PortMapping>(R"({"host_port":-1})", "overflows uint32");
  ExpectDecodeError<v1::PortMapping>(R"({"host_port":4294967296})", "overflows uint32");
  ExpectDecodeError<v1::ResourceLimits>(R"({"nofile":-5})", "overflows uint64");
  ExpectDecodeError<v1::ActualLRPKey>(R"({"index":1.5})", "expected an integer");
  ExpectDecodeError<v1::ActualLRPKey>(R"({"index":1e3})", "expected an integer");
  EXPECT_EQ(Decode<v1::ActualLRPKey>(R"({"index":-2147483648})").index(),
            std::numeric_limits<int32_t>::min());
  EXPECT_EQ(Decode<v1::PortMapping>(R"({"host_port":4294967295})").host_port(),
            std::numeric_limits<uint32_t>::max());
}

TEST(GoJsonTest, MalformedJsonNamesTheOffset) {
  ExpectDecodeError<v1::ActualLRP>(R"({"process_guid":"pg",)", "malformed JSON at offset 21");
  ExpectDecodeError<v1::ActualLRP>(R"({"process_guid" "pg"})", "malformed JSON at offset 20");
  ExpectDecodeError<v1::ActualLRP>("", "malformed JSON at offset");
  ExpectDecodeError<v1::ActualLRP>("{} {}", "malformed JSON at offset");
  ExpectDecodeError<v1::ActualLRP>("{\"state\":\"\xff\"}", "malformed JSON at offset");
  ExpectDecodeError<v1::ActualLRP>("\xEF\xBB\xBF{}", "malformed JSON at offset 1");
}

TEST(GoJsonTest, RefusesAbsurdNesting) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += R"({"serial":{"actions":[)";
  deep += "{}";
  for (int i = 0; i < 200; ++i) deep += "]}}";
  ExpectDecodeError<v1::Action>(deep, "nested too deeply");
}

TEST(GoJsonTest, RefusesJsonNestedBeyondGosLimit) {
  // Go's scanner stops at 10000 levels ("exceeded max depth"); unknown keys
  // are no way around it.
  std::string deep = R"({"process_guid":"p","x":)";
  deep += std::string(200000, '[') + std::string(200000, ']') + "}";
  ExpectDecodeError<v1::ActualLRPKey>(deep, "malformed JSON at offset 10024: exceeded max depth");
  std::string ok = R"({"process_guid":"p","x":)";
  ok += std::string(9999, '[') + std::string(9999, ']') + "}";
  EXPECT_EQ(Decode<v1::ActualLRPKey>(ok).process_guid(), "p");
}

TEST(GoJsonTest, HandlesDuplicateKeysOneAfterAnotherLikeGo) {
  // Go decodes each occurrence in turn: a later object is merged into the
  // struct an earlier one filled, a later scalar replaces an earlier one.
  v1::ActualLRP lrp =
      Decode<v1::ActualLRP>(R"({"modification_tag":{"epoch":"e"},"modification_tag":{"index":3},)"
                            R"("Process_Guid":"a","process_guid":"b","PROCESS_GUID":"c"})");
  EXPECT_EQ(lrp.modification_tag().epoch(), "e");
  EXPECT_EQ(lrp.modification_tag().index(), 3u);
  EXPECT_EQ(lrp.actual_lrp_key().process_guid(), "c");
  // A key repeated inside a map keeps one entry with the last value.
  v1::ActualLRP tagged = Decode<v1::ActualLRP>(R"({"metric_tags":{"a":"1","b":"x","a":"2"}})");
  EXPECT_EQ(tagged.metric_tags().size(), 2u);
  EXPECT_EQ(tagged.metric_tags().at("a"), "2");
  EXPECT_EQ(Json(tagged).find(R"("a":"1")"), std::string::npos);
}

TEST(GoJsonTest, DecodesLargeDocumentsInLinearTime) {
  // Many objects, keys and routes: the decoder used to rescan the document
  // for every routes object and to look every new key up among the earlier
  // ones (quadratic: a 400 KB list of desired LRPs took close to a minute).
  // At this size that behaviour shows up as a test lasting many seconds even
  // in an optimised build; linear decoding takes a fraction of a second.
  constexpr int kLrps = 10000;
  std::string doc = R"({"desired_lrps":[)";
  for (int i = 0; i < kLrps; ++i) {
    if (i > 0) doc += ",";
    absl::StrAppend(&doc, R"({"process_guid":"pg-)", i, R"(","routes":{"r":[)", i, R"(]}})");
  }
  doc += "],";
  for (int i = 0; i < kLrps; ++i) absl::StrAppend(&doc, R"("unknown-)", i, R"(":)", i, ",");
  doc += R"("error":{"message":"last"}})";
  v1::DesiredLRPsResponse response = Decode<v1::DesiredLRPsResponse>(doc);
  ASSERT_EQ(response.desired_lrps_size(), kLrps);
  EXPECT_EQ(response.desired_lrps(0).routes().routes().at("r"), "[0]");
  EXPECT_EQ(response.desired_lrps(kLrps - 1).process_guid(), absl::StrCat("pg-", kLrps - 1));
  EXPECT_EQ(response.desired_lrps(kLrps - 1).routes().routes().at("r"),
            absl::StrCat("[", kLrps - 1, "]"));
  EXPECT_EQ(response.error().message(), "last");

  std::string routes = R"({"routes":{)";
  for (int i = 0; i < kLrps; ++i) absl::StrAppend(&routes, R"("k)", i, R"(":)", i, ",");
  routes += R"("k0":"again"}})";
  v1::DesiredLRP lrp = Decode<v1::DesiredLRP>(routes);
  EXPECT_EQ(lrp.routes().routes().size(), static_cast<size_t>(kLrps));
  EXPECT_EQ(lrp.routes().routes().at("k0"), R"("again")");
  EXPECT_EQ(lrp.routes().routes().at("k7"), "7");
}

TEST(GoJsonTest, NumbersTooLargeForAnyTypeAreAnError) {
  ExpectDecodeError<v1::ActualLRPKey>(R"({"index":1e400})", "malformed JSON");
}

TEST(GoJsonTest, EncoderRefusesMessagesTheDecoderWouldRefuse) {
  // Each action level is two messages (Action, TryAction). 49 levels plus the
  // innermost run action stay within the decoder's 100; 50 do not.
  auto nested = [](google::protobuf::Arena* arena, int levels) {
    auto* root = google::protobuf::Arena::CreateMessage<v1::Action>(arena);
    v1::Action* action = root;
    for (int i = 0; i < levels; ++i) action = action->mutable_try_action()->mutable_action();
    action->mutable_run_action()->set_path("p");
    return root;
  };
  google::protobuf::Arena arena;
  const v1::Action* fits = nested(&arena, 49);
  const std::string json = Json(*fits);
  v1::Action decoded = Decode<v1::Action>(json);
  EXPECT_EQ(decoded.SerializeAsString(), fits->SerializeAsString());

  absl::StatusOr<std::string> too_deep = ToGoJson(*nested(&arena, 50));
  EXPECT_THAT(too_deep,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("message nested too deeply")));
  EXPECT_EQ(BbsErrorType(too_deep.status()), v1::Error::InvalidJSON);
  // A hostile, hand-built tree (arena-allocated: protobuf's own destructor
  // would recurse) is refused without exhausting the stack.
  EXPECT_THAT(ToGoJson(*nested(&arena, 200000)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested too deeply")));
}

TEST(GoJsonTest, DecodingReplacesPreviousContents) {
  v1::ActualLRP lrp = RunningLrp();
  ASSERT_THAT(FromGoJson(R"({"state":"CLAIMED"})", &lrp), IsOk());
  EXPECT_EQ(lrp.state(), "CLAIMED");
  EXPECT_EQ(lrp.actual_lrp_key().process_guid(), "");
  EXPECT_EQ(lrp.optional_routable_case(), v1::ActualLRP::OPTIONAL_ROUTABLE_NOT_SET);
}

}  // namespace
}  // namespace diego::model
