// Copyright 2026 The libdiego Authors.
//
// Tests of the BBS event builders, the per-row instance-event calculation and
// the EventHub fan-out.

#include "diego/bbs/events.h"

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/v1/task.pb.h"
#include "diego/model/wire.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace diego::bbs {
namespace {

namespace v1 = ::diego::model::v1;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// -----------------------------------------------------------------------------
// Fixtures.
// -----------------------------------------------------------------------------

v1::ActualLRP Lrp(absl::string_view state, absl::string_view instance_guid = "",
                  absl::string_view cell_id = "") {
  v1::ActualLRP lrp;
  lrp.mutable_actual_lrp_key()->set_process_guid("pg-1");
  lrp.mutable_actual_lrp_key()->set_index(2);
  lrp.mutable_actual_lrp_key()->set_domain("cf-apps");
  lrp.mutable_actual_lrp_instance_key()->set_instance_guid(std::string(instance_guid));
  lrp.mutable_actual_lrp_instance_key()->set_cell_id(std::string(cell_id));
  lrp.set_state(std::string(state));
  lrp.set_since(1000);
  lrp.mutable_modification_tag()->set_epoch("epoch-1");
  lrp.mutable_modification_tag()->set_index(1);
  return lrp;
}

v1::ActualLRP Running(absl::string_view instance_guid, absl::string_view cell_id) {
  v1::ActualLRP lrp = Lrp("RUNNING", instance_guid, cell_id);
  lrp.mutable_actual_lrp_net_info()->set_address("10.0.0.7");
  lrp.mutable_actual_lrp_net_info()->set_instance_address("192.168.0.3");
  auto* port = lrp.mutable_actual_lrp_net_info()->add_ports();
  port->set_container_port(8080);
  port->set_host_port(61001);
  lrp.mutable_actual_lrp_net_info()->set_preferred_address(v1::ActualLRPNetInfo::HOST);
  lrp.add_actual_lrp_internal_routes()->set_hostname("app.apps.internal");
  (*lrp.mutable_metric_tags())["app_name"] = "dora";
  (*lrp.mutable_metric_tags())["space"] = "dev";
  (*lrp.mutable_metric_tags())["org"] = "acme";
  lrp.set_routable(true);
  lrp.set_availability_zone("z1");
  return lrp;
}

v1::DesiredLRP Desired(absl::string_view process_guid, int instances) {
  v1::DesiredLRP lrp;
  lrp.set_process_guid(std::string(process_guid));
  lrp.set_domain("cf-apps");
  lrp.set_root_fs("preloaded:cflinuxfs4");
  lrp.set_instances(instances);
  lrp.set_memory_mb(256);
  lrp.add_ports(8080);
  (*lrp.mutable_metric_tags())["source_id"].set_static_("app-guid");
  (*lrp.mutable_metric_tags())["instance_index"].set_dynamic(v1::MetricTagValue::INDEX);
  lrp.mutable_modification_tag()->set_epoch("d-epoch");
  return lrp;
}

v1::Task MakeTask(absl::string_view guid, v1::Task::State state) {
  v1::Task task;
  task.set_task_guid(std::string(guid));
  task.set_domain("tasks");
  task.set_state(state);
  task.set_cell_id("cell-t");
  task.set_created_at(123456789);
  task.mutable_task_definition()->set_root_fs("docker:///busybox");
  task.mutable_task_definition()->set_memory_mb(64);
  return task;
}

template <typename M>
M Decode(const BbsEvent& event) {
  M message;
  absl::Status status = model::ParseFromWire(event.payload, &message);
  EXPECT_THAT(status, IsOk()) << event.type;
  return message;
}

// Equality of two messages as gogo values (non-nullable fields present).
bool SameMessage(google::protobuf::Message& a, google::protobuf::Message& b) {
  model::SetNonNullableFields(&a);
  model::SetNonNullableFields(&b);
  return MessageDifferencer::Equals(a, b);
}

std::vector<std::string> Types(const std::vector<BbsEvent>& events) {
  std::vector<std::string> types;
  for (const BbsEvent& event : events) types.push_back(event.type);
  return types;
}

// -----------------------------------------------------------------------------
// Builders.
// -----------------------------------------------------------------------------

TEST(EventBuildersTest, DesiredLrpCreated) {
  v1::DesiredLRP lrp = Desired("pg-1", 3);
  BbsEvent event = DesiredLrpCreatedEvent(lrp, "trace-1");
  EXPECT_EQ(event.stream, EventStream::kLrpInstances);
  EXPECT_EQ(event.type, "desired_lrp_created");
  EXPECT_FALSE(event.cell_filtered);
  EXPECT_THAT(event.cell_ids, IsEmpty());

  auto message = Decode<v1::DesiredLRPCreatedEvent>(event);
  EXPECT_EQ(message.trace_id(), "trace-1");
  v1::DesiredLRP got = message.desired_lrp();
  EXPECT_TRUE(SameMessage(got, lrp));
  EXPECT_EQ(got.metric_tags().at("source_id").static_(), "app-guid");

  v1::DesiredLRPCreatedEvent expected;
  *expected.mutable_desired_lrp() = lrp;
  expected.set_trace_id("trace-1");
  EXPECT_EQ(event.payload, model::SerializeForWire(expected));
}

TEST(EventBuildersTest, DesiredLrpChangedAndRemoved) {
  v1::DesiredLRP before = Desired("pg-1", 3);
  v1::DesiredLRP after = Desired("pg-1", 5);
  after.set_annotation("scaled");

  BbsEvent changed = DesiredLrpChangedEvent(before, after, "trace-2");
  EXPECT_EQ(changed.type, "desired_lrp_changed");
  EXPECT_EQ(changed.stream, EventStream::kLrpInstances);
  EXPECT_FALSE(changed.cell_filtered);
  auto changed_message = Decode<v1::DesiredLRPChangedEvent>(changed);
  EXPECT_EQ(changed_message.before().instances(), 3);
  EXPECT_EQ(changed_message.after().instances(), 5);
  EXPECT_EQ(changed_message.after().annotation(), "scaled");
  EXPECT_EQ(changed_message.trace_id(), "trace-2");

  BbsEvent removed = DesiredLrpRemovedEvent(after, "");
  EXPECT_EQ(removed.type, "desired_lrp_removed");
  EXPECT_FALSE(removed.cell_filtered);
  auto removed_message = Decode<v1::DesiredLRPRemovedEvent>(removed);
  v1::DesiredLRP got = removed_message.desired_lrp();
  EXPECT_TRUE(SameMessage(got, after));
  EXPECT_EQ(removed_message.trace_id(), "");
}

TEST(EventBuildersTest, ActualLrpInstanceCreatedAndRemoved) {
  v1::ActualLRP lrp = Running("ig-1", "cell-a");
  BbsEvent created = ActualLrpInstanceCreatedEvent(lrp, "trace-3");
  EXPECT_EQ(created.stream, EventStream::kLrpInstances);
  EXPECT_EQ(created.type, "actual_lrp_instance_created");
  EXPECT_TRUE(created.cell_filtered);
  EXPECT_THAT(created.cell_ids, ElementsAre("cell-a"));
  auto created_message = Decode<v1::ActualLRPInstanceCreatedEvent>(created);
  EXPECT_EQ(created_message.trace_id(), "trace-3");
  v1::ActualLRP got = created_message.actual_lrp();
  EXPECT_TRUE(SameMessage(got, lrp));
  EXPECT_EQ(got.metric_tags().at("app_name"), "dora");
  EXPECT_EQ(got.actual_lrp_internal_routes(0).hostname(), "app.apps.internal");

  BbsEvent removed = ActualLrpInstanceRemovedEvent(lrp, "trace-4");
  EXPECT_EQ(removed.type, "actual_lrp_instance_removed");
  EXPECT_TRUE(removed.cell_filtered);
  EXPECT_THAT(removed.cell_ids, ElementsAre("cell-a"));
  auto removed_message = Decode<v1::ActualLRPInstanceRemovedEvent>(removed);
  EXPECT_EQ(removed_message.trace_id(), "trace-4");
  got = removed_message.actual_lrp();
  EXPECT_TRUE(SameMessage(got, lrp));
}

TEST(EventBuildersTest, GogoWritesEmptyNonNullableFields) {
  // An all-default ActualLRP in a created event: gogo writes the actual_lrp
  // field holding the always-written key, instance key, net info and tag.
  BbsEvent event = ActualLrpInstanceCreatedEvent(v1::ActualLRP(), "");
  EXPECT_EQ(event.payload, std::string("\x0a\x08\x0a\x00\x12\x00\x1a\x00\x4a\x00", 10));
  EXPECT_THAT(event.cell_ids, ElementsAre(""));
}

TEST(EventBuildersTest, PayloadsMatchSerializeForWireOfTheEventMessage) {
  // Rows with and without their non-nullable sub-messages, maps with several
  // entries: the hand-assembled payloads are SerializeForWire's bytes.
  v1::ActualLRP sparse;
  sparse.set_state("UNCLAIMED");
  (*sparse.mutable_metric_tags())["b"] = "2";
  (*sparse.mutable_metric_tags())["a"] = "1";
  for (const v1::ActualLRP& lrp : {Running("ig-1", "cell-a"), sparse, v1::ActualLRP()}) {
    for (absl::string_view trace : {"", "trace-x"}) {
      v1::ActualLRPInstanceCreatedEvent created;
      *created.mutable_actual_lrp() = lrp;
      created.set_trace_id(std::string(trace));
      EXPECT_EQ(ActualLrpInstanceCreatedEvent(lrp, trace).payload,
                model::SerializeForWire(created));
      v1::ActualLRPInstanceRemovedEvent removed;
      *removed.mutable_actual_lrp() = lrp;
      removed.set_trace_id(std::string(trace));
      EXPECT_EQ(ActualLrpInstanceRemovedEvent(lrp, trace).payload,
                model::SerializeForWire(removed));
      v1::ActualLRPCrashedEvent crashed;
      *crashed.mutable_actual_lrp_key() = lrp.actual_lrp_key();
      *crashed.mutable_actual_lrp_instance_key() = lrp.actual_lrp_instance_key();
      crashed.set_crash_count(lrp.crash_count());
      crashed.set_crash_reason(lrp.crash_reason());
      crashed.set_since(lrp.since());
      EXPECT_EQ(ActualLrpCrashedEvent(lrp, lrp).payload, model::SerializeForWire(crashed));
    }
  }
  v1::DesiredLRP d1 = Desired("pg-1", 1);
  v1::DesiredLRP d2;  // All default.
  for (absl::string_view trace : {"", "trace-y"}) {
    v1::DesiredLRPChangedEvent changed;
    *changed.mutable_before() = d1;
    *changed.mutable_after() = d2;
    changed.set_trace_id(std::string(trace));
    EXPECT_EQ(DesiredLrpChangedEvent(d1, d2, trace).payload, model::SerializeForWire(changed));
    v1::DesiredLRPRemovedEvent removed;
    *removed.mutable_desired_lrp() = d2;
    removed.set_trace_id(std::string(trace));
    EXPECT_EQ(DesiredLrpRemovedEvent(d2, trace).payload, model::SerializeForWire(removed));
  }
  v1::Task t1 = MakeTask("t-1", v1::Task::Pending);
  v1::Task t2;
  v1::TaskChangedEvent task_changed;
  *task_changed.mutable_before() = t1;
  *task_changed.mutable_after() = t2;
  EXPECT_EQ(TaskChangedEvent(t1, t2).payload, model::SerializeForWire(task_changed));
  v1::TaskCreatedEvent task_created;
  *task_created.mutable_task() = t2;
  EXPECT_EQ(TaskCreatedEvent(t2).payload, model::SerializeForWire(task_created));
  // A payload longer than 127 bytes needs a multi-byte length.
  v1::Task big = t1;
  big.set_result(std::string(70000, 'r'));
  v1::TaskCreatedEvent big_created;
  *big_created.mutable_task() = big;
  EXPECT_EQ(TaskCreatedEvent(big).payload, model::SerializeForWire(big_created));
}

TEST(EventBuildersTest, ActualLrpInstanceChangedCarriesInfoWithoutKeys) {
  v1::ActualLRP before = Lrp("CLAIMED", "ig-1", "cell-a");
  before.set_placement_error("");
  before.set_crash_count(1);
  before.set_crash_reason("oom");
  v1::ActualLRP after = Running("ig-1", "cell-a");
  after.set_crash_count(1);
  after.set_crash_reason("oom");
  after.set_presence(v1::ActualLRP::EVACUATING);
  after.set_since(2000);
  after.mutable_modification_tag()->set_index(2);

  BbsEvent event = ActualLrpInstanceChangedEvent(before, after, "trace-5");
  EXPECT_EQ(event.type, "actual_lrp_instance_changed");
  EXPECT_EQ(event.stream, EventStream::kLrpInstances);
  EXPECT_TRUE(event.cell_filtered);
  EXPECT_THAT(event.cell_ids, ElementsAre("cell-a"));

  auto message = Decode<v1::ActualLRPInstanceChangedEvent>(event);
  EXPECT_EQ(message.trace_id(), "trace-5");
  EXPECT_EQ(message.actual_lrp_key().process_guid(), "pg-1");
  EXPECT_EQ(message.actual_lrp_key().index(), 2);
  EXPECT_EQ(message.actual_lrp_key().domain(), "cf-apps");
  EXPECT_EQ(message.actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(message.actual_lrp_instance_key().cell_id(), "cell-a");

  const v1::ActualLRPInfo& b = message.before();
  EXPECT_EQ(b.state(), "CLAIMED");
  EXPECT_EQ(b.crash_count(), 1);
  EXPECT_EQ(b.crash_reason(), "oom");
  EXPECT_EQ(b.since(), 1000);
  EXPECT_EQ(b.modification_tag().epoch(), "epoch-1");
  EXPECT_EQ(b.modification_tag().index(), 1u);
  EXPECT_EQ(b.presence(), v1::ActualLRP::ORDINARY);
  EXPECT_FALSE(b.has_routable());  // Absent stays absent.
  EXPECT_EQ(b.actual_lrp_net_info().address(), "");
  EXPECT_EQ(b.availability_zone(), "");

  const v1::ActualLRPInfo& a = message.after();
  EXPECT_EQ(a.state(), "RUNNING");
  EXPECT_EQ(a.since(), 2000);
  EXPECT_EQ(a.modification_tag().index(), 2u);
  EXPECT_EQ(a.presence(), v1::ActualLRP::EVACUATING);
  ASSERT_TRUE(a.has_routable());
  EXPECT_TRUE(a.routable());
  EXPECT_EQ(a.availability_zone(), "z1");
  EXPECT_EQ(a.actual_lrp_net_info().address(), "10.0.0.7");
  EXPECT_EQ(a.actual_lrp_net_info().instance_address(), "192.168.0.3");
  EXPECT_EQ(a.actual_lrp_net_info().preferred_address(), v1::ActualLRPNetInfo::HOST);
  ASSERT_EQ(a.actual_lrp_net_info().ports_size(), 1);
  EXPECT_EQ(a.actual_lrp_net_info().ports(0).container_port(), 8080u);
  EXPECT_EQ(a.actual_lrp_net_info().ports(0).host_port(), 61001u);
  // ActualLRPInfo has no keys, routes or tags: nothing unknown on the wire.
  EXPECT_EQ(a.GetReflection()->GetUnknownFields(a).field_count(), 0);
  EXPECT_EQ(b.GetReflection()->GetUnknownFields(b).field_count(), 0);

  // Byte-exact against the message built by hand.
  v1::ActualLRPInstanceChangedEvent expected;
  *expected.mutable_actual_lrp_key() = after.actual_lrp_key();
  *expected.mutable_actual_lrp_instance_key() = after.actual_lrp_instance_key();
  v1::ActualLRPInfo* eb = expected.mutable_before();
  eb->set_state("CLAIMED");
  eb->set_crash_count(1);
  eb->set_crash_reason("oom");
  eb->set_since(1000);
  *eb->mutable_modification_tag() = before.modification_tag();
  v1::ActualLRPInfo* ea = expected.mutable_after();
  *ea->mutable_actual_lrp_net_info() = after.actual_lrp_net_info();
  ea->set_crash_count(1);
  ea->set_crash_reason("oom");
  ea->set_state("RUNNING");
  ea->set_since(2000);
  *ea->mutable_modification_tag() = after.modification_tag();
  ea->set_presence(v1::ActualLRP::EVACUATING);
  ea->set_routable(true);
  ea->set_availability_zone("z1");
  expected.set_trace_id("trace-5");
  EXPECT_EQ(event.payload, model::SerializeForWire(expected));
}

TEST(EventBuildersTest, ChangedRoutableFalseIsKept) {
  v1::ActualLRP before = Running("ig-1", "cell-a");
  v1::ActualLRP after = before;
  after.set_routable(false);
  auto message =
      Decode<v1::ActualLRPInstanceChangedEvent>(ActualLrpInstanceChangedEvent(before, after, ""));
  ASSERT_TRUE(message.after().has_routable());
  EXPECT_FALSE(message.after().routable());
  EXPECT_TRUE(message.before().routable());
}

TEST(EventBuildersTest, ChangedTakesKeysFromBeforeWhenAfterIsEmpty) {
  // RUNNING -> CRASHED clears the instance key: the event keeps before's.
  v1::ActualLRP before = Running("ig-1", "cell-a");
  v1::ActualLRP after = Lrp("CRASHED");
  BbsEvent event = ActualLrpInstanceChangedEvent(before, after, "");
  EXPECT_THAT(event.cell_ids, ElementsAre("cell-a"));
  auto message = Decode<v1::ActualLRPInstanceChangedEvent>(event);
  EXPECT_EQ(message.actual_lrp_key().process_guid(), "pg-1");
  EXPECT_EQ(message.actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(message.actual_lrp_instance_key().cell_id(), "cell-a");
  EXPECT_EQ(message.before().state(), "RUNNING");
  EXPECT_EQ(message.after().state(), "CRASHED");

  // Each key is chosen on its own: an all-empty after takes both from before.
  v1::ActualLRP empty;
  message = Decode<v1::ActualLRPInstanceChangedEvent>(
      ActualLrpInstanceChangedEvent(before, empty, ""));
  EXPECT_EQ(message.actual_lrp_key().process_guid(), "pg-1");
  EXPECT_EQ(message.actual_lrp_instance_key().cell_id(), "cell-a");

  // UNCLAIMED -> CLAIMED: after's keys (the new instance) win.
  v1::ActualLRP unclaimed = Lrp("UNCLAIMED");
  v1::ActualLRP claimed = Lrp("CLAIMED", "ig-9", "cell-z");
  BbsEvent claim = ActualLrpInstanceChangedEvent(unclaimed, claimed, "");
  EXPECT_THAT(claim.cell_ids, ElementsAre("cell-z"));
  message = Decode<v1::ActualLRPInstanceChangedEvent>(claim);
  EXPECT_EQ(message.actual_lrp_instance_key().instance_guid(), "ig-9");

  // Neither has an instance key: the event's cell id is empty.
  BbsEvent placement = ActualLrpInstanceChangedEvent(unclaimed, Lrp("UNCLAIMED"), "");
  EXPECT_THAT(placement.cell_ids, ElementsAre(""));
  EXPECT_FALSE(placement.PassesCellFilter("cell-a"));
  EXPECT_TRUE(placement.PassesCellFilter(""));
}

TEST(EventBuildersTest, ActualLrpCrashed) {
  v1::ActualLRP before = Running("ig-1", "cell-a");
  before.set_crash_count(2);
  v1::ActualLRP after = Lrp("CRASHED");
  after.set_crash_count(3);
  after.set_crash_reason("exit status 137");
  after.set_since(5555);
  after.mutable_actual_lrp_key()->set_index(2);

  BbsEvent event = ActualLrpCrashedEvent(before, after);
  EXPECT_EQ(event.stream, EventStream::kLrpInstances);
  EXPECT_EQ(event.type, "actual_lrp_crashed");
  EXPECT_TRUE(event.cell_filtered);
  EXPECT_THAT(event.cell_ids, ElementsAre("cell-a"));
  auto message = Decode<v1::ActualLRPCrashedEvent>(event);
  EXPECT_EQ(message.actual_lrp_key().process_guid(), "pg-1");
  EXPECT_EQ(message.actual_lrp_key().index(), 2);
  EXPECT_EQ(message.actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(message.actual_lrp_instance_key().cell_id(), "cell-a");
  EXPECT_EQ(message.crash_count(), 3);
  EXPECT_EQ(message.crash_reason(), "exit status 137");
  EXPECT_EQ(message.since(), 5555);

  v1::ActualLRPCrashedEvent expected;
  *expected.mutable_actual_lrp_key() = after.actual_lrp_key();
  *expected.mutable_actual_lrp_instance_key() = before.actual_lrp_instance_key();
  expected.set_crash_count(3);
  expected.set_crash_reason("exit status 137");
  expected.set_since(5555);
  EXPECT_EQ(event.payload, model::SerializeForWire(expected));
}

TEST(EventBuildersTest, TaskEvents) {
  v1::Task before = MakeTask("t-1", v1::Task::Pending);
  v1::Task after = MakeTask("t-1", v1::Task::Running);

  BbsEvent created = TaskCreatedEvent(before);
  EXPECT_EQ(created.stream, EventStream::kTasks);
  EXPECT_EQ(created.type, "task_created");
  EXPECT_FALSE(created.cell_filtered);
  v1::Task got = Decode<v1::TaskCreatedEvent>(created).task();
  EXPECT_TRUE(SameMessage(got, before));
  EXPECT_EQ(got.task_definition().root_fs(), "docker:///busybox");

  BbsEvent changed = TaskChangedEvent(before, after);
  EXPECT_EQ(changed.stream, EventStream::kTasks);
  EXPECT_EQ(changed.type, "task_changed");
  EXPECT_FALSE(changed.cell_filtered);
  auto changed_message = Decode<v1::TaskChangedEvent>(changed);
  EXPECT_EQ(changed_message.before().state(), v1::Task::Pending);
  EXPECT_EQ(changed_message.after().state(), v1::Task::Running);
  EXPECT_EQ(changed_message.after().task_guid(), "t-1");

  BbsEvent removed = TaskRemovedEvent(after);
  EXPECT_EQ(removed.stream, EventStream::kTasks);
  EXPECT_EQ(removed.type, "task_removed");
  got = Decode<v1::TaskRemovedEvent>(removed).task();
  EXPECT_TRUE(SameMessage(got, after));

  v1::TaskRemovedEvent expected;
  *expected.mutable_task() = after;
  EXPECT_EQ(removed.payload, model::SerializeForWire(expected));
}

TEST(EventBuildersTest, CellFilter) {
  BbsEvent desired = DesiredLrpCreatedEvent(Desired("pg-1", 1), "");
  BbsEvent task = TaskCreatedEvent(MakeTask("t-1", v1::Task::Pending));
  for (const BbsEvent* event : {&desired, &task}) {
    EXPECT_TRUE(event->PassesCellFilter(""));
    EXPECT_TRUE(event->PassesCellFilter("cell-a"));
    EXPECT_TRUE(event->PassesCellFilter("any"));
  }

  v1::ActualLRP lrp = Running("ig-1", "cell-a");
  std::vector<BbsEvent> on_cell_a = {
      ActualLrpInstanceCreatedEvent(lrp, ""),
      ActualLrpInstanceRemovedEvent(lrp, ""),
      ActualLrpInstanceChangedEvent(lrp, lrp, ""),
      ActualLrpCrashedEvent(lrp, Lrp("CRASHED")),
  };
  for (const BbsEvent& event : on_cell_a) {
    EXPECT_TRUE(event.PassesCellFilter("")) << event.type;
    EXPECT_TRUE(event.PassesCellFilter("cell-a")) << event.type;
    EXPECT_FALSE(event.PassesCellFilter("cell-b")) << event.type;
    EXPECT_FALSE(event.PassesCellFilter("cell-")) << event.type;
  }

  // A hand-built event concerning several cells passes any of them.
  BbsEvent multi;
  multi.cell_filtered = true;
  multi.cell_ids = {"cell-a", "cell-b"};
  EXPECT_TRUE(multi.PassesCellFilter("cell-b"));
  EXPECT_FALSE(multi.PassesCellFilter("cell-c"));
}

// -----------------------------------------------------------------------------
// ActualLrpChangeEvents.
// -----------------------------------------------------------------------------

TEST(ActualLrpChangeEventsTest, CreateAndRemove) {
  v1::ActualLRP lrp = Lrp("UNCLAIMED");
  std::vector<BbsEvent> created = ActualLrpChangeEvents(nullptr, &lrp, false, "t");
  ASSERT_THAT(Types(created), ElementsAre("actual_lrp_instance_created"));
  auto message = Decode<v1::ActualLRPInstanceCreatedEvent>(created[0]);
  EXPECT_EQ(message.actual_lrp().state(), "UNCLAIMED");
  EXPECT_EQ(message.trace_id(), "t");

  v1::ActualLRP running = Running("ig-1", "cell-a");
  std::vector<BbsEvent> removed = ActualLrpChangeEvents(&running, nullptr, false, "t2");
  ASSERT_THAT(Types(removed), ElementsAre("actual_lrp_instance_removed"));
  auto removed_message = Decode<v1::ActualLRPInstanceRemovedEvent>(removed[0]);
  EXPECT_EQ(removed_message.actual_lrp().actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(removed_message.trace_id(), "t2");
  EXPECT_THAT(removed[0].cell_ids, ElementsAre("cell-a"));

  EXPECT_THAT(ActualLrpChangeEvents(nullptr, nullptr, false, ""), IsEmpty());
}

TEST(ActualLrpChangeEventsTest, NoChangeNoEvent) {
  v1::ActualLRP a = Running("ig-1", "cell-a");
  v1::ActualLRP b = a;
  EXPECT_THAT(ActualLrpChangeEvents(&a, &b, false, ""), IsEmpty());
  // Even for a crash report that changed nothing.
  EXPECT_THAT(ActualLrpChangeEvents(&a, &b, true, ""), IsEmpty());

  // Equality is by value: map insertion order and an unset-vs-empty
  // non-nullable sub-message do not count as changes.
  v1::ActualLRP c = a;
  c.mutable_metric_tags()->clear();
  (*c.mutable_metric_tags())["z"] = "1";
  (*c.mutable_metric_tags())["app_name"] = "dora";
  v1::ActualLRP d = a;
  d.mutable_metric_tags()->clear();
  (*d.mutable_metric_tags())["app_name"] = "dora";
  (*d.mutable_metric_tags())["z"] = "1";
  EXPECT_THAT(ActualLrpChangeEvents(&c, &d, false, ""), IsEmpty());

  v1::ActualLRP unset = Lrp("UNCLAIMED");
  unset.clear_actual_lrp_net_info();
  v1::ActualLRP empty = Lrp("UNCLAIMED");
  empty.mutable_actual_lrp_net_info();
  EXPECT_THAT(ActualLrpChangeEvents(&unset, &empty, false, ""), IsEmpty());
}

TEST(ActualLrpChangeEventsTest, EveryFieldCountsAsAChange) {
  // The row comparison is written field by field; these counts make a new
  // proto field fail here until the comparison (and this test) cover it.
  EXPECT_EQ(v1::ActualLRP::descriptor()->field_count(), 14);
  EXPECT_EQ(v1::ActualLRPKey::descriptor()->field_count(), 3);
  EXPECT_EQ(v1::ActualLRPInstanceKey::descriptor()->field_count(), 2);
  EXPECT_EQ(v1::ActualLRPNetInfo::descriptor()->field_count(), 5);
  EXPECT_EQ(v1::PortMapping::descriptor()->field_count(), 4);
  EXPECT_EQ(v1::ModificationTag::descriptor()->field_count(), 2);
  EXPECT_EQ(v1::ActualLRPInternalRoute::descriptor()->field_count(), 1);

  const v1::ActualLRP base = Running("ig-1", "cell-a");
  using Mutator = void (*)(v1::ActualLRP*);
  const std::vector<std::pair<const char*, Mutator>> mutators = {
      {"process_guid", [](v1::ActualLRP* l) { l->mutable_actual_lrp_key()->set_process_guid("x"); }},
      {"index", [](v1::ActualLRP* l) { l->mutable_actual_lrp_key()->set_index(9); }},
      {"domain", [](v1::ActualLRP* l) { l->mutable_actual_lrp_key()->set_domain("x"); }},
      {"instance_guid",
       [](v1::ActualLRP* l) { l->mutable_actual_lrp_instance_key()->set_instance_guid("x"); }},
      {"cell_id", [](v1::ActualLRP* l) { l->mutable_actual_lrp_instance_key()->set_cell_id("x"); }},
      {"address", [](v1::ActualLRP* l) { l->mutable_actual_lrp_net_info()->set_address("x"); }},
      {"instance_address",
       [](v1::ActualLRP* l) { l->mutable_actual_lrp_net_info()->set_instance_address("x"); }},
      {"instance_ipv6_address",
       [](v1::ActualLRP* l) { l->mutable_actual_lrp_net_info()->set_instance_ipv6_address("x"); }},
      {"preferred_address",
       [](v1::ActualLRP* l) {
         l->mutable_actual_lrp_net_info()->set_preferred_address(v1::ActualLRPNetInfo::INSTANCE);
       }},
      {"port added", [](v1::ActualLRP* l) { l->mutable_actual_lrp_net_info()->add_ports(); }},
      {"container_port",
       [](v1::ActualLRP* l) { l->mutable_actual_lrp_net_info()->mutable_ports(0)->set_container_port(1); }},
      {"host_port",
       [](v1::ActualLRP* l) { l->mutable_actual_lrp_net_info()->mutable_ports(0)->set_host_port(1); }},
      {"container_tls_proxy_port",
       [](v1::ActualLRP* l) {
         l->mutable_actual_lrp_net_info()->mutable_ports(0)->set_container_tls_proxy_port(1);
       }},
      {"host_tls_proxy_port",
       [](v1::ActualLRP* l) {
         l->mutable_actual_lrp_net_info()->mutable_ports(0)->set_host_tls_proxy_port(1);
       }},
      {"crash_count", [](v1::ActualLRP* l) { l->set_crash_count(5); }},
      {"crash_reason", [](v1::ActualLRP* l) { l->set_crash_reason("x"); }},
      {"placement_error", [](v1::ActualLRP* l) { l->set_placement_error("x"); }},
      {"since", [](v1::ActualLRP* l) { l->set_since(1); }},
      {"epoch", [](v1::ActualLRP* l) { l->mutable_modification_tag()->set_epoch("x"); }},
      {"tag index", [](v1::ActualLRP* l) { l->mutable_modification_tag()->set_index(7); }},
      {"presence", [](v1::ActualLRP* l) { l->set_presence(v1::ActualLRP::SUSPECT); }},
      {"internal route",
       [](v1::ActualLRP* l) { l->mutable_actual_lrp_internal_routes(0)->set_hostname("x"); }},
      {"internal route added", [](v1::ActualLRP* l) { l->add_actual_lrp_internal_routes(); }},
      {"metric tag value", [](v1::ActualLRP* l) { (*l->mutable_metric_tags())["org"] = "x"; }},
      {"metric tag key",
       [](v1::ActualLRP* l) {
         l->mutable_metric_tags()->erase("org");
         (*l->mutable_metric_tags())["orh"] = "acme";
       }},
      {"routable value", [](v1::ActualLRP* l) { l->set_routable(false); }},
      {"routable absent", [](v1::ActualLRP* l) { l->clear_optional_routable(); }},
      {"availability_zone", [](v1::ActualLRP* l) { l->set_availability_zone("x"); }},
  };
  for (const auto& [name, mutate] : mutators) {
    v1::ActualLRP changed = base;
    mutate(&changed);
    EXPECT_THAT(ActualLrpChangeEvents(&base, &changed, false, ""), Not(IsEmpty())) << name;
    EXPECT_THAT(ActualLrpChangeEvents(&changed, &base, false, ""), Not(IsEmpty())) << name;
  }
  // routable=false vs absent differ too.
  v1::ActualLRP absent = base;
  absent.clear_optional_routable();
  v1::ActualLRP unroutable = base;
  unroutable.set_routable(false);
  EXPECT_THAT(ActualLrpChangeEvents(&absent, &unroutable, false, ""), Not(IsEmpty()));
}

TEST(ActualLrpChangeEventsTest, ClaimAndStartAreChanges) {
  v1::ActualLRP unclaimed = Lrp("UNCLAIMED");
  v1::ActualLRP claimed = Lrp("CLAIMED", "ig-1", "cell-a");
  claimed.mutable_modification_tag()->set_index(2);
  std::vector<BbsEvent> claim = ActualLrpChangeEvents(&unclaimed, &claimed, false, "tc");
  ASSERT_THAT(Types(claim), ElementsAre("actual_lrp_instance_changed"));
  EXPECT_THAT(claim[0].cell_ids, ElementsAre("cell-a"));
  auto message = Decode<v1::ActualLRPInstanceChangedEvent>(claim[0]);
  EXPECT_EQ(message.actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(message.before().state(), "UNCLAIMED");
  EXPECT_EQ(message.after().state(), "CLAIMED");
  EXPECT_EQ(message.trace_id(), "tc");

  v1::ActualLRP running = Running("ig-1", "cell-a");
  std::vector<BbsEvent> start = ActualLrpChangeEvents(&claimed, &running, false, "");
  ASSERT_THAT(Types(start), ElementsAre("actual_lrp_instance_changed"));
  message = Decode<v1::ActualLRPInstanceChangedEvent>(start[0]);
  EXPECT_EQ(message.before().state(), "CLAIMED");
  EXPECT_EQ(message.after().state(), "RUNNING");

  // Start by another instance (CLAIMED on cell-a -> RUNNING on cell-b) is a
  // change too in Diego, keyed by the new instance.
  v1::ActualLRP elsewhere = Running("ig-2", "cell-b");
  std::vector<BbsEvent> moved = ActualLrpChangeEvents(&claimed, &elsewhere, false, "");
  ASSERT_THAT(Types(moved), ElementsAre("actual_lrp_instance_changed"));
  EXPECT_THAT(moved[0].cell_ids, ElementsAre("cell-b"));

  // RUNNING -> RUNNING with new net info (a Start refresh).
  v1::ActualLRP refreshed = running;
  refreshed.mutable_actual_lrp_net_info()->set_address("10.0.0.8");
  std::vector<BbsEvent> refresh = ActualLrpChangeEvents(&running, &refreshed, false, "");
  ASSERT_THAT(Types(refresh), ElementsAre("actual_lrp_instance_changed"));
}

TEST(ActualLrpChangeEventsTest, LosingTheInstanceKeyIsCreatedPlusRemoved) {
  // Unclaim (e.g. evacuation) RUNNING -> UNCLAIMED.
  v1::ActualLRP running = Running("ig-1", "cell-a");
  v1::ActualLRP unclaimed = Lrp("UNCLAIMED");
  unclaimed.mutable_modification_tag()->set_index(2);
  std::vector<BbsEvent> events = ActualLrpChangeEvents(&running, &unclaimed, false, "tu");
  ASSERT_THAT(Types(events),
              ElementsAre("actual_lrp_instance_created", "actual_lrp_instance_removed"));
  auto created = Decode<v1::ActualLRPInstanceCreatedEvent>(events[0]);
  EXPECT_EQ(created.actual_lrp().state(), "UNCLAIMED");
  EXPECT_EQ(created.trace_id(), "tu");
  EXPECT_THAT(events[0].cell_ids, ElementsAre(""));
  auto removed = Decode<v1::ActualLRPInstanceRemovedEvent>(events[1]);
  EXPECT_EQ(removed.actual_lrp().state(), "RUNNING");
  EXPECT_EQ(removed.actual_lrp().actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(removed.trace_id(), "tu");
  EXPECT_THAT(events[1].cell_ids, ElementsAre("cell-a"));

  // A CRASHED row restarted by convergence (CRASHED -> UNCLAIMED).
  v1::ActualLRP crashed = Lrp("CRASHED");
  crashed.set_crash_count(4);
  v1::ActualLRP restarted = Lrp("UNCLAIMED");
  restarted.set_crash_count(4);
  restarted.set_since(9000);
  EXPECT_THAT(Types(ActualLrpChangeEvents(&crashed, &restarted, false, "")),
              ElementsAre("actual_lrp_instance_created", "actual_lrp_instance_removed"));
}

TEST(ActualLrpChangeEventsTest, PlacementErrorIsAChange) {
  v1::ActualLRP before = Lrp("UNCLAIMED");
  v1::ActualLRP after = Lrp("UNCLAIMED");
  after.set_placement_error("insufficient resources");
  after.set_since(3000);
  std::vector<BbsEvent> events = ActualLrpChangeEvents(&before, &after, false, "tp");
  ASSERT_THAT(Types(events), ElementsAre("actual_lrp_instance_changed"));
  auto message = Decode<v1::ActualLRPInstanceChangedEvent>(events[0]);
  EXPECT_EQ(message.after().placement_error(), "insufficient resources");
  EXPECT_EQ(message.before().placement_error(), "");
  EXPECT_EQ(message.actual_lrp_key().process_guid(), "pg-1");
}

TEST(ActualLrpChangeEventsTest, CrashWithoutRestart) {
  v1::ActualLRP before = Running("ig-1", "cell-a");
  v1::ActualLRP after = Lrp("CRASHED");
  after.set_crash_count(3);
  after.set_crash_reason("boom");
  after.set_since(7000);
  std::vector<BbsEvent> events = ActualLrpChangeEvents(&before, &after, true, "tx");
  ASSERT_THAT(Types(events), ElementsAre("actual_lrp_crashed", "actual_lrp_instance_changed"));
  auto crashed = Decode<v1::ActualLRPCrashedEvent>(events[0]);
  EXPECT_EQ(crashed.actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(crashed.crash_count(), 3);
  EXPECT_EQ(crashed.crash_reason(), "boom");
  EXPECT_EQ(crashed.since(), 7000);
  EXPECT_THAT(events[0].cell_ids, ElementsAre("cell-a"));
  auto changed = Decode<v1::ActualLRPInstanceChangedEvent>(events[1]);
  EXPECT_EQ(changed.actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(changed.before().state(), "RUNNING");
  EXPECT_EQ(changed.after().state(), "CRASHED");
  EXPECT_EQ(changed.trace_id(), "tx");
  EXPECT_THAT(events[1].cell_ids, ElementsAre("cell-a"));

  // A transition to CRASHED is a crash even when not flagged (Diego's
  // calculator emits the crashed event for any change to CRASHED).
  EXPECT_THAT(Types(ActualLrpChangeEvents(&before, &after, false, "")),
              ElementsAre("actual_lrp_crashed", "actual_lrp_instance_changed"));
}

TEST(ActualLrpChangeEventsTest, CrashWithImmediateRestart) {
  v1::ActualLRP before = Running("ig-1", "cell-a");
  before.set_crash_count(0);
  v1::ActualLRP after = Lrp("UNCLAIMED");
  after.set_crash_count(1);
  after.set_crash_reason("exit 1");
  after.set_since(8000);
  std::vector<BbsEvent> events = ActualLrpChangeEvents(&before, &after, true, "tr");
  ASSERT_THAT(Types(events), ElementsAre("actual_lrp_crashed", "actual_lrp_instance_created",
                                         "actual_lrp_instance_removed"));
  auto crashed = Decode<v1::ActualLRPCrashedEvent>(events[0]);
  EXPECT_EQ(crashed.crash_count(), 1);
  EXPECT_EQ(crashed.crash_reason(), "exit 1");
  EXPECT_EQ(crashed.since(), 8000);
  EXPECT_EQ(crashed.actual_lrp_instance_key().cell_id(), "cell-a");
  auto created = Decode<v1::ActualLRPInstanceCreatedEvent>(events[1]);
  EXPECT_EQ(created.actual_lrp().state(), "UNCLAIMED");
  EXPECT_EQ(created.actual_lrp().crash_count(), 1);
  EXPECT_EQ(created.trace_id(), "tr");
  auto removed = Decode<v1::ActualLRPInstanceRemovedEvent>(events[2]);
  EXPECT_EQ(removed.actual_lrp().state(), "RUNNING");
  EXPECT_EQ(removed.trace_id(), "tr");

  // A CLAIMED instance crashing with restart behaves the same.
  v1::ActualLRP claimed = Lrp("CLAIMED", "ig-2", "cell-b");
  events = ActualLrpChangeEvents(&claimed, &after, true, "");
  ASSERT_THAT(Types(events), ElementsAre("actual_lrp_crashed", "actual_lrp_instance_created",
                                         "actual_lrp_instance_removed"));
  EXPECT_THAT(events[0].cell_ids, ElementsAre("cell-b"));
  EXPECT_THAT(events[2].cell_ids, ElementsAre("cell-b"));
}

TEST(ActualLrpChangeEventsTest, CrashFlagWithARunningResultOrdersRunningBeforeRemoval) {
  v1::ActualLRP before = Running("ig-1", "cell-a");
  v1::ActualLRP after = before;
  after.set_crash_count(1);
  after.set_crash_reason("health check");
  after.set_since(1234);
  std::vector<BbsEvent> events = ActualLrpChangeEvents(&before, &after, true, "");
  // Diego's crash path reports any non-CRASHED result as a replacement:
  // crashed, then the RUNNING created event, then the removal.
  ASSERT_THAT(Types(events), ElementsAre("actual_lrp_crashed", "actual_lrp_instance_created",
                                         "actual_lrp_instance_removed"));
  auto created = Decode<v1::ActualLRPInstanceCreatedEvent>(events[1]);
  EXPECT_EQ(created.actual_lrp().state(), "RUNNING");
}

// -----------------------------------------------------------------------------
// EventHub.
// -----------------------------------------------------------------------------

BbsEvent LrpEvent(absl::string_view payload, absl::string_view cell = "") {
  BbsEvent event;
  event.stream = EventStream::kLrpInstances;
  event.type = "actual_lrp_instance_changed";
  event.payload = std::string(payload);
  event.cell_filtered = true;
  event.cell_ids.push_back(std::string(cell));
  return event;
}

BbsEvent DesiredEvent(absl::string_view payload) {
  BbsEvent event;
  event.stream = EventStream::kLrpInstances;
  event.type = "desired_lrp_changed";
  event.payload = std::string(payload);
  return event;
}

BbsEvent TaskEvent(absl::string_view payload) {
  BbsEvent event;
  event.stream = EventStream::kTasks;
  event.type = "task_changed";
  event.payload = std::string(payload);
  return event;
}

// Every event pending right now (never waits).
std::vector<std::string> Drain(EventSubscription& subscription) {
  std::vector<std::string> payloads;
  while (true) {
    absl::StatusOr<BbsEvent> event = subscription.Next(absl::InfinitePast());
    if (!event.ok()) {
      EXPECT_THAT(event, StatusIs(absl::StatusCode::kDeadlineExceeded));
      return payloads;
    }
    payloads.push_back(event->payload);
  }
}

TEST(EventHubTest, FansOutEachStreamToItsSubscribers) {
  EventHub hub;
  auto lrp1 = hub.Subscribe(EventStream::kLrpInstances);
  auto lrp2 = hub.Subscribe(EventStream::kLrpInstances);
  auto task1 = hub.Subscribe(EventStream::kTasks);
  auto task2 = hub.Subscribe(EventStream::kTasks);
  EXPECT_EQ(hub.subscriber_count(), 4u);

  std::vector<BbsEvent> batch;
  batch.push_back(DesiredEvent("d1"));
  batch.push_back(TaskEvent("t1"));
  batch.push_back(LrpEvent("a1", "cell-a"));
  batch.push_back(TaskEvent("t2"));
  hub.Publish(std::move(batch));

  for (auto* s : {lrp1.get(), lrp2.get()}) {
    ASSERT_OK_AND_ASSIGN(BbsEvent first, s->Next(absl::InfinitePast()));
    EXPECT_EQ(first.type, "desired_lrp_changed");
    EXPECT_EQ(first.stream, EventStream::kLrpInstances);
    EXPECT_EQ(first.payload, "d1");
    ASSERT_OK_AND_ASSIGN(BbsEvent second, s->Next(absl::InfinitePast()));
    EXPECT_EQ(second.type, "actual_lrp_instance_changed");
    EXPECT_EQ(second.payload, "a1");
    EXPECT_TRUE(second.cell_filtered);
    EXPECT_THAT(second.cell_ids, ElementsAre("cell-a"));
    EXPECT_THAT(Drain(*s), IsEmpty());
  }
  EXPECT_THAT(Drain(*task1), ElementsAre("t1", "t2"));
  EXPECT_THAT(Drain(*task2), ElementsAre("t1", "t2"));
}

TEST(EventHubTest, NothingPendingIsDeadlineExceededAndStaysOpen) {
  EventHub hub;
  auto s = hub.Subscribe(EventStream::kTasks);
  EXPECT_THAT(s->Next(absl::InfinitePast()), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(s->Next(absl::Now() - absl::Seconds(1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  hub.Publish({TaskEvent("t1")});
  ASSERT_OK_AND_ASSIGN(BbsEvent event, s->Next(absl::InfinitePast()));
  EXPECT_EQ(event.payload, "t1");
  // Publishing nothing delivers nothing.
  hub.Publish({});
  EXPECT_THAT(Drain(*s), IsEmpty());
}

TEST(EventHubTest, CellFilterAppliesToActualEventsOnly) {
  EventHub hub;
  auto all = hub.Subscribe(EventStream::kLrpInstances);
  auto cell_a = hub.Subscribe(EventStream::kLrpInstances, "cell-a");
  auto cell_b = hub.Subscribe(EventStream::kLrpInstances, "cell-b");

  v1::ActualLRP on_a = Running("ig-1", "cell-a");
  v1::ActualLRP on_b = Running("ig-2", "cell-b");
  std::vector<BbsEvent> batch;
  batch.push_back(DesiredLrpCreatedEvent(Desired("pg-1", 1), ""));
  batch.push_back(ActualLrpInstanceCreatedEvent(on_a, ""));
  batch.push_back(ActualLrpInstanceCreatedEvent(on_b, ""));
  batch.push_back(ActualLrpCrashedEvent(on_b, Lrp("CRASHED")));
  batch.push_back(ActualLrpInstanceChangedEvent(on_a, Lrp("CRASHED"), ""));
  batch.push_back(ActualLrpInstanceRemovedEvent(on_a, ""));
  hub.Publish(std::move(batch));

  auto types = [](EventSubscription& s) {
    std::vector<std::string> out;
    while (true) {
      absl::StatusOr<BbsEvent> event = s.Next(absl::InfinitePast());
      if (!event.ok()) return out;
      out.push_back(event->type + "@" + (event->cell_ids.empty() ? "" : event->cell_ids[0]));
    }
  };
  EXPECT_THAT(types(*all), ElementsAre("desired_lrp_created@", "actual_lrp_instance_created@cell-a",
                                       "actual_lrp_instance_created@cell-b",
                                       "actual_lrp_crashed@cell-b",
                                       "actual_lrp_instance_changed@cell-a",
                                       "actual_lrp_instance_removed@cell-a"));
  EXPECT_THAT(types(*cell_a),
              ElementsAre("desired_lrp_created@", "actual_lrp_instance_created@cell-a",
                          "actual_lrp_instance_changed@cell-a",
                          "actual_lrp_instance_removed@cell-a"));
  EXPECT_THAT(types(*cell_b), ElementsAre("desired_lrp_created@",
                                          "actual_lrp_instance_created@cell-b",
                                          "actual_lrp_crashed@cell-b"));
}

TEST(EventHubTest, KeepsOrderAcrossBatches) {
  EventHub hub;
  auto s = hub.Subscribe(EventStream::kLrpInstances);
  hub.Publish({LrpEvent("1"), LrpEvent("2")});
  hub.Publish({LrpEvent("3")});
  std::vector<BbsEvent> batch;
  for (int i = 4; i <= 10; ++i) batch.push_back(LrpEvent(absl::StrCat(i)));
  hub.Publish(std::move(batch));
  EXPECT_THAT(Drain(*s), ElementsAre("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"));
}

TEST(EventHubTest, OverflowClosesOnlyTheSlowSubscriber) {
  EventHub hub(3);
  auto slow = hub.Subscribe(EventStream::kLrpInstances);
  auto fast = hub.Subscribe(EventStream::kLrpInstances);
  auto other_stream = hub.Subscribe(EventStream::kTasks);
  EXPECT_EQ(hub.subscriber_count(), 3u);

  std::vector<std::string> fast_got;
  for (int i = 1; i <= 3; ++i) {
    hub.Publish({LrpEvent(absl::StrCat("e", i))});
    for (auto& p : Drain(*fast)) fast_got.push_back(p);
  }
  // Exactly max_pending events pending is fine.
  EXPECT_EQ(hub.subscriber_count(), 3u);

  hub.Publish({LrpEvent("e4")});
  for (auto& p : Drain(*fast)) fast_got.push_back(p);
  EXPECT_EQ(hub.subscriber_count(), 2u);
  EXPECT_THAT(slow->Next(absl::InfinitePast()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "event subscriber fell behind: more than 3 events pending"));
  // Nothing more is drained from it, and the error sticks.
  EXPECT_THAT(slow->Next(absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kResourceExhausted));

  hub.Publish({LrpEvent("e5"), TaskEvent("t1")});
  for (auto& p : Drain(*fast)) fast_got.push_back(p);
  EXPECT_THAT(fast_got, ElementsAre("e1", "e2", "e3", "e4", "e5"));
  EXPECT_THAT(Drain(*other_stream), ElementsAre("t1"));
  EXPECT_THAT(slow->Next(absl::InfinitePast()),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(EventHubTest, OverflowInsideOneBatch) {
  EventHub hub(2);
  auto s = hub.Subscribe(EventStream::kTasks);
  auto filtered_out = hub.Subscribe(EventStream::kLrpInstances, "cell-z");
  hub.Publish({TaskEvent("1"), TaskEvent("2"), TaskEvent("3"), LrpEvent("x", "cell-a"),
               LrpEvent("y", "cell-a"), LrpEvent("z", "cell-a")});
  EXPECT_THAT(s->Next(absl::InfinitePast()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       "event subscriber fell behind: more than 2 events pending"));
  // Events a subscriber does not take do not count against it.
  EXPECT_THAT(filtered_out->Next(absl::InfinitePast()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(hub.subscriber_count(), 1u);
}

TEST(EventHubTest, CloseCancelsAndUnsubscribes) {
  EventHub hub;
  auto a = hub.Subscribe(EventStream::kLrpInstances);
  auto b = hub.Subscribe(EventStream::kLrpInstances);
  hub.Publish({LrpEvent("1")});
  a->Close();
  EXPECT_EQ(hub.subscriber_count(), 1u);
  // Pending events are dropped by Close.
  EXPECT_THAT(a->Next(absl::InfinitePast()), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(a->Next(absl::InfiniteFuture()), StatusIs(absl::StatusCode::kCancelled));
  a->Close();  // Idempotent.
  hub.Publish({LrpEvent("2")});
  EXPECT_THAT(Drain(*b), ElementsAre("1", "2"));
  EXPECT_THAT(a->Next(absl::InfinitePast()), StatusIs(absl::StatusCode::kCancelled));
}

TEST(EventHubTest, CloseWakesABlockedNext) {
  EventHub hub;
  auto s = hub.Subscribe(EventStream::kTasks);
  absl::Status result;
  std::thread reader([&] { result = s->Next(absl::InfiniteFuture()).status(); });
  s->Close();
  reader.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled));
}

TEST(EventHubTest, PublishWakesABlockedNext) {
  EventHub hub;
  auto s = hub.Subscribe(EventStream::kTasks);
  absl::StatusOr<BbsEvent> result;
  std::thread reader([&] { result = s->Next(absl::InfiniteFuture()); });
  hub.Publish({TaskEvent("wake")});
  reader.join();
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->payload, "wake");
}

TEST(EventHubTest, DestroyingASubscriptionUnsubscribes) {
  EventHub hub;
  auto a = hub.Subscribe(EventStream::kLrpInstances);
  auto b = hub.Subscribe(EventStream::kLrpInstances, "cell-a");
  EXPECT_EQ(hub.subscriber_count(), 2u);
  hub.Publish({LrpEvent("1", "cell-a")});
  a.reset();  // With an event pending.
  EXPECT_EQ(hub.subscriber_count(), 1u);
  hub.Publish({LrpEvent("2", "cell-a")});
  EXPECT_THAT(Drain(*b), ElementsAre("1", "2"));
  b.reset();
  EXPECT_EQ(hub.subscriber_count(), 0u);
  hub.Publish({LrpEvent("3")});  // Nobody to deliver to.
}

TEST(EventHubTest, CloseAllCancelsEverySubscription) {
  EventHub hub;
  auto a = hub.Subscribe(EventStream::kLrpInstances);
  auto b = hub.Subscribe(EventStream::kTasks);
  hub.Publish({TaskEvent("t")});
  absl::Status blocked;
  std::thread reader([&] { blocked = a->Next(absl::InfiniteFuture()).status(); });
  hub.CloseAll();
  reader.join();
  EXPECT_THAT(blocked, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(b->Next(absl::InfinitePast()), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(hub.subscriber_count(), 0u);
  // After shutdown, new subscriptions start closed.
  auto late = hub.Subscribe(EventStream::kTasks);
  hub.Publish({TaskEvent("t2")});
  EXPECT_THAT(late->Next(absl::InfinitePast()), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(hub.subscriber_count(), 0u);
}

TEST(EventHubTest, HubDestructionClosesSubscriptionsThatOutliveIt) {
  auto hub = std::make_unique<EventHub>();
  auto s = hub->Subscribe(EventStream::kLrpInstances);
  absl::Status blocked;
  std::thread reader([&] { blocked = s->Next(absl::InfiniteFuture()).status(); });
  hub.reset();
  reader.join();
  EXPECT_THAT(blocked, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(s->Next(absl::InfinitePast()), StatusIs(absl::StatusCode::kCancelled));
  s->Close();
  s.reset();  // After the hub: safe.
}

TEST(EventHubTest, ConcurrentPublishersAndReaders) {
  constexpr int kPublishers = 8;
  constexpr int kBatchesPerPublisher = 500;
  constexpr int kReaders = 3;
  // Batches of 1..3 events; the hub is big enough that nobody overflows.
  auto batch_size = [](int batch) { return 1 + batch % 3; };
  size_t total = 0;
  for (int b = 0; b < kBatchesPerPublisher; ++b) total += batch_size(b);
  total *= kPublishers;

  EventHub hub(total);
  std::vector<std::unique_ptr<EventSubscription>> subscriptions;
  for (int r = 0; r < kReaders; ++r) {
    subscriptions.push_back(hub.Subscribe(EventStream::kLrpInstances));
  }
  auto tasks_only = hub.Subscribe(EventStream::kTasks);

  std::vector<std::vector<std::string>> received(kReaders);
  std::vector<absl::Status> reader_status(kReaders);
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      for (size_t i = 0; i < total; ++i) {
        absl::StatusOr<BbsEvent> event = subscriptions[r]->Next(absl::InfiniteFuture());
        if (!event.ok()) {
          reader_status[r] = event.status();
          return;
        }
        received[r].push_back(std::move(event->payload));
      }
    });
  }
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      int seq = 0;
      for (int b = 0; b < kBatchesPerPublisher; ++b) {
        std::vector<BbsEvent> batch;
        for (int i = 0; i < batch_size(b); ++i) {
          // "<publisher>:<sequence>:<batch>"
          batch.push_back(LrpEvent(absl::StrCat(p, ":", seq++, ":", b)));
        }
        hub.Publish(std::move(batch));
      }
    });
  }
  for (auto& t : publishers) t.join();
  for (auto& t : readers) t.join();

  for (int r = 0; r < kReaders; ++r) {
    EXPECT_THAT(reader_status[r], IsOk());
    ASSERT_EQ(received[r].size(), total);
    // Same global order for every subscriber.
    EXPECT_EQ(received[r], received[0]);
    std::vector<int> next_seq(kPublishers, 0);
    int last_publisher = -1, last_batch = -1, left_in_batch = 0;
    for (const std::string& payload : received[r]) {
      std::vector<std::string> parts = absl::StrSplit(payload, ':');
      ASSERT_EQ(parts.size(), 3u);
      int p = 0, seq = 0, b = 0;
      ASSERT_TRUE(absl::SimpleAtoi(parts[0], &p));
      ASSERT_TRUE(absl::SimpleAtoi(parts[1], &seq));
      ASSERT_TRUE(absl::SimpleAtoi(parts[2], &b));
      // Per-publisher order.
      ASSERT_EQ(seq, next_seq[p]) << payload;
      ++next_seq[p];
      // Batches arrive whole: no other event inside a batch.
      if (left_in_batch > 0) {
        ASSERT_EQ(p, last_publisher) << payload;
        ASSERT_EQ(b, last_batch) << payload;
        --left_in_batch;
      } else {
        last_publisher = p;
        last_batch = b;
        left_in_batch = batch_size(b) - 1;
      }
    }
    for (int p = 0; p < kPublishers; ++p) {
      EXPECT_EQ(next_seq[p], total / kPublishers);
    }
  }
  EXPECT_THAT(Drain(*tasks_only), IsEmpty());
  EXPECT_EQ(hub.subscriber_count(), static_cast<size_t>(kReaders + 1));
}

TEST(EventHubTest, ConcurrentSubscribeAndUnsubscribeWhilePublishing) {
  EventHub hub(1 << 20);
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    int i = 0;
    while (!stop.load()) hub.Publish({TaskEvent(absl::StrCat(i++))});
  });
  // Each short-lived subscriber sees a contiguous, increasing run.
  for (int round = 0; round < 200; ++round) {
    auto s = hub.Subscribe(EventStream::kTasks);
    ASSERT_OK_AND_ASSIGN(BbsEvent first, s->Next(absl::InfiniteFuture()));
    ASSERT_OK_AND_ASSIGN(BbsEvent second, s->Next(absl::InfiniteFuture()));
    int a = 0, b = 0;
    ASSERT_TRUE(absl::SimpleAtoi(first.payload, &a));
    ASSERT_TRUE(absl::SimpleAtoi(second.payload, &b));
    EXPECT_EQ(b, a + 1);
    if (round % 2 == 0) s->Close();
  }
  stop.store(true);
  publisher.join();
  EXPECT_EQ(hub.subscriber_count(), 0u);
}

}  // namespace
}  // namespace diego::bbs
