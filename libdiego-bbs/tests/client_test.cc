// Copyright 2026 The libdiego Authors.
//
// Tests of BbsClient (client.h) against a local httplib stub that records
// every request and answers with canned protobuf responses built here.
// (The client against the real BbsServer is covered by the server tests.)

#include "diego/bbs/client.h"

#include <httplib.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/bbs/events.h"
#include "diego/bbs/routes.h"
#include "diego/model/errors.h"
#include "diego/model/v1/actual_lrp_requests.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/desired_lrp_requests.pb.h"
#include "diego/model/v1/domain.pb.h"
#include "diego/model/v1/evacuation.pb.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/v1/ping.pb.h"
#include "diego/model/v1/task_requests.pb.h"
#include "diego/model/wire.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::bbs {
namespace {

namespace v1 = ::diego::model::v1;
using ::diego::fakes::FakeClock;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Compares messages by their gogo wire bytes (which also makes unset and
// empty non-nullable sub-messages equal, as they are on the wire).
MATCHER_P(WireEquals, expected, "") {
  const std::string got = model::SerializeForWire(arg);
  const std::string want = model::SerializeForWire(expected);
  if (got != want) {
    *result_listener << "which is\n" << arg.DebugString() << "\nnot\n" << expected.DebugString();
    return false;
  }
  return true;
}

struct Recorded {
  std::string path;
  std::string body;
  std::string content_type;
  std::string content_length;
  bool has_trace_id = false;
  std::string trace_id;
};

struct Canned {
  int status = 200;
  std::string content_type = "application/x-protobuf";
  std::string body;
  std::multimap<std::string, std::string> headers;
};

Canned Proto(const google::protobuf::Message& message) {
  Canned canned;
  canned.body = model::SerializeForWire(message);
  return canned;
}

Canned Plain(int status) {
  Canned canned;
  canned.status = status;
  canned.content_type = "";
  return canned;
}

// A stub BBS: every POST is recorded and answered with the next canned
// response for its path (the last one repeats), or a bare 404 like an
// unknown route. Paths with a stream answer with those SSE chunks, then end
// the stream (after `hold` is notified, if given).
class StubBbs {
 public:
  StubBbs() {
    server_.Post(".*",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // `stop()` is a no-op until the accept loop runs; wait for it so an
    // early Stop() cannot be lost.
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~StubBbs() { Stop(); }

  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }

  void Reply(const std::string& path, Canned canned) {
    absl::MutexLock lock(&mu_);
    replies_[path].push_back(std::move(canned));
  }
  void Reply(const std::string& path, const google::protobuf::Message& response) {
    Reply(path, Proto(response));
  }
  void Stream(const std::string& path, std::vector<std::string> chunks,
              absl::Notification* hold = nullptr) {
    absl::MutexLock lock(&mu_);
    streams_[path] = StreamSpec{std::move(chunks), hold};
  }
  // Handlers wait for `block` before answering (set before any request).
  void BlockOn(absl::Notification* block) { block_ = block; }

  std::vector<Recorded> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  struct StreamSpec {
    std::vector<std::string> chunks;
    absl::Notification* hold = nullptr;
  };

  void Handle(const httplib::Request& req, httplib::Response& res) {
    Canned canned = Plain(404);
    std::optional<StreamSpec> stream;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back({req.path, req.body, req.get_header_value("Content-Type"),
                           req.get_header_value("Content-Length"),
                           req.has_header("X-Vcap-Request-Id"),
                           req.get_header_value("X-Vcap-Request-Id")});
      auto s = streams_.find(req.path);
      if (s != streams_.end()) stream = s->second;
      auto it = replies_.find(req.path);
      if (it != replies_.end() && !it->second.empty()) {
        canned = it->second.front();
        if (it->second.size() > 1) it->second.pop_front();
      }
    }
    if (block_ != nullptr) block_->WaitForNotification();
    if (stream.has_value()) {
      auto next = std::make_shared<size_t>(0);
      res.set_header("Cache-Control", "no-cache, no-store, must-revalidate");
      res.set_chunked_content_provider(
          "text/event-stream; charset=utf-8",
          [spec = *stream, next](size_t /*offset*/, httplib::DataSink& sink) {
            if (*next < spec.chunks.size()) {
              const std::string& chunk = spec.chunks[(*next)++];
              sink.write(chunk.data(), chunk.size());
              return true;
            }
            if (spec.hold != nullptr) spec.hold->WaitForNotification();
            sink.done();
            return true;
          });
      return;
    }
    res.status = canned.status;
    for (const auto& [name, value] : canned.headers) res.set_header(name, value);
    if (!canned.content_type.empty()) {
      res.set_content(canned.body, canned.content_type.c_str());
    } else if (!canned.body.empty()) {
      res.body = canned.body;
    }
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Notification* block_ = nullptr;
  absl::Mutex mu_;
  std::vector<Recorded> requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::deque<Canned>> replies_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, StreamSpec> streams_ ABSL_GUARDED_BY(mu_);
};

v1::ActualLRPKey Key(const std::string& process_guid, int32_t index) {
  v1::ActualLRPKey key;
  key.set_process_guid(process_guid);
  key.set_index(index);
  key.set_domain("cf-apps");
  return key;
}

v1::ActualLRPInstanceKey InstanceKey(const std::string& instance_guid,
                                     const std::string& cell_id = "cell-1") {
  v1::ActualLRPInstanceKey key;
  key.set_instance_guid(instance_guid);
  key.set_cell_id(cell_id);
  return key;
}

v1::ActualLRPNetInfo NetInfo() {
  v1::ActualLRPNetInfo net;
  net.set_address("10.0.0.4");
  net.set_instance_address("10.255.0.9");
  v1::PortMapping* port = net.add_ports();
  port->set_container_port(8080);
  port->set_host_port(61000);
  return net;
}

v1::ActualLRP SampleActualLrp(const std::string& process_guid, int32_t index) {
  v1::ActualLRP lrp;
  *lrp.mutable_actual_lrp_key() = Key(process_guid, index);
  *lrp.mutable_actual_lrp_instance_key() = InstanceKey("ig-" + process_guid);
  *lrp.mutable_actual_lrp_net_info() = NetInfo();
  lrp.set_state("RUNNING");
  lrp.set_since(1700000000000000000);
  return lrp;
}

v1::DesiredLRP SampleDesiredLrp(const std::string& process_guid) {
  v1::DesiredLRP lrp;
  lrp.set_process_guid(process_guid);
  lrp.set_domain("cf-apps");
  lrp.set_instances(2);
  lrp.set_root_fs("preloaded:cflinuxfs4");
  lrp.set_memory_mb(256);
  lrp.add_ports(8080);
  return lrp;
}

v1::Task SampleTask(const std::string& guid) {
  v1::Task task;
  task.set_task_guid(guid);
  task.set_domain("tasks");
  task.set_cell_id("cell-1");
  task.set_state(v1::Task::Running);
  task.mutable_task_definition()->set_root_fs("docker:///busybox");
  return task;
}

v1::Error BbsErrorMessage(v1::Error::Type type, const std::string& message) {
  v1::Error error;
  error.set_type(type);
  error.set_message(message);
  return error;
}

std::string SseChunk(int64_t id, const std::string& type, const google::protobuf::Message& m) {
  BbsEvent event;
  event.type = type;
  event.payload = model::SerializeForWire(m);
  return EncodeSseEvent(id, event);
}

class BbsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BbsClientOptions options;
    options.timeout = absl::Seconds(5);
    options.request_attempts = 1;
    ASSERT_OK_AND_ASSIGN(client_, BbsClient::Create(server_.url(), options));
  }

  // The only request received so far: checks its path and headers and
  // returns its body.
  std::string OnlyRequest(const std::string& path) {
    const std::vector<Recorded> got = server_.requests();
    EXPECT_THAT(got, SizeIs(1));
    if (got.empty()) return "";
    EXPECT_EQ(got.back().path, path);
    EXPECT_EQ(got.back().content_type, "application/x-protobuf");
    EXPECT_EQ(got.back().content_length, std::to_string(got.back().body.size()));
    return got.back().body;
  }

  template <typename Request>
  Request OnlyRequestAs(const std::string& path) {
    Request request;
    const std::string body = OnlyRequest(path);
    EXPECT_TRUE(request.ParseFromString(body)) << path;
    // The client writes gogo's bytes.
    EXPECT_EQ(body, model::SerializeForWire(request)) << path;
    return request;
  }

  StubBbs server_;
  std::unique_ptr<BbsClient> client_;
};

// -----------------------------------------------------------------------------
// Every method: path, request message, decoded response.
// -----------------------------------------------------------------------------

TEST_F(BbsClientTest, Ping) {
  v1::PingResponse response;
  response.set_available(true);
  server_.Reply("/v1/ping", response);
  ASSERT_OK_AND_ASSIGN(bool available, client_->Ping());
  EXPECT_TRUE(available);
  EXPECT_EQ(OnlyRequest("/v1/ping"), "");
}

TEST_F(BbsClientTest, Domains) {
  v1::DomainsResponse response;
  response.add_domains("cf-apps");
  response.add_domains("cf-tasks");
  server_.Reply("/v1/domains/list", response);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> domains, client_->Domains());
  EXPECT_THAT(domains, ElementsAre("cf-apps", "cf-tasks"));
  EXPECT_EQ(OnlyRequest("/v1/domains/list"), "");
}

TEST_F(BbsClientTest, UpsertDomain) {
  server_.Reply("/v1/domains/upsert", v1::UpsertDomainResponse());
  EXPECT_OK(client_->UpsertDomain("cf-apps", absl::Seconds(90) + absl::Milliseconds(700)));
  v1::UpsertDomainRequest want;
  want.set_domain("cf-apps");
  want.set_ttl(90);
  EXPECT_THAT(OnlyRequestAs<v1::UpsertDomainRequest>("/v1/domains/upsert"), WireEquals(want));
}

TEST_F(BbsClientTest, Cells) {
  v1::CellsResponse response;
  v1::CellPresence* cell = response.add_cells();
  cell->set_cell_id("cell-1");
  cell->set_rep_url("https://cell-1.cell.service.cf.internal:1801");
  cell->set_zone("z1");
  server_.Reply("/v1/cells/list.r1", response);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::CellPresence> cells, client_->Cells());
  ASSERT_THAT(cells, SizeIs(1));
  EXPECT_THAT(cells[0], WireEquals(response.cells(0)));
  EXPECT_EQ(OnlyRequest("/v1/cells/list.r1"), "");
}

TEST_F(BbsClientTest, ActualLrpsSendsTheFilterIncludingIndex) {
  v1::ActualLRPsResponse response;
  *response.add_actual_lrps() = SampleActualLrp("pg-1", 0);
  *response.add_actual_lrps() = SampleActualLrp("pg-1", 1);
  server_.Reply("/v1/actual_lrps/list", response);
  ASSERT_OK_AND_ASSIGN(
      std::vector<v1::ActualLRP> lrps,
      client_->ActualLrps(
          {.domain = "cf-apps", .cell_id = "cell-1", .process_guid = "pg-1", .index = 0}));
  ASSERT_THAT(lrps, SizeIs(2));
  EXPECT_THAT(lrps[0], WireEquals(response.actual_lrps(0)));
  EXPECT_THAT(lrps[1], WireEquals(response.actual_lrps(1)));
  const auto request = OnlyRequestAs<v1::ActualLRPsRequest>("/v1/actual_lrps/list");
  EXPECT_EQ(request.domain(), "cf-apps");
  EXPECT_EQ(request.cell_id(), "cell-1");
  EXPECT_EQ(request.process_guid(), "pg-1");
  // Index 0 is present (the oneof), not "no filter".
  EXPECT_EQ(request.optional_index_case(), v1::ActualLRPsRequest::kIndex);
  EXPECT_EQ(request.index(), 0);
}

TEST_F(BbsClientTest, ActualLrpsWithoutIndexLeavesItUnset) {
  server_.Reply("/v1/actual_lrps/list", v1::ActualLRPsResponse());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::ActualLRP> lrps, client_->ActualLrps({}));
  EXPECT_THAT(lrps, SizeIs(0));
  const auto request = OnlyRequestAs<v1::ActualLRPsRequest>("/v1/actual_lrps/list");
  EXPECT_EQ(request.optional_index_case(), v1::ActualLRPsRequest::OPTIONAL_INDEX_NOT_SET);
}

TEST_F(BbsClientTest, ActualLrpsByProcessGuids) {
  v1::ActualLRPsByProcessGuidsResponse response;
  *response.add_actual_lrps() = SampleActualLrp("pg-2", 0);
  server_.Reply("/v1/actual_lrps/list_by_process_guids", response);
  const std::vector<std::string> guids = {"pg-1", "pg-2"};
  ASSERT_OK_AND_ASSIGN(std::vector<v1::ActualLRP> lrps, client_->ActualLrpsByProcessGuids(guids));
  ASSERT_THAT(lrps, SizeIs(1));
  EXPECT_THAT(lrps[0], WireEquals(response.actual_lrps(0)));
  const auto request =
      OnlyRequestAs<v1::ActualLRPsByProcessGuidsRequest>("/v1/actual_lrps/list_by_process_guids");
  EXPECT_THAT(request.process_guids(), ElementsAre("pg-1", "pg-2"));
}

TEST_F(BbsClientTest, LegacyGroupReads) {
  v1::ActualLRPGroupsResponse groups;
  *groups.add_actual_lrp_groups()->mutable_instance() = SampleActualLrp("pg-1", 0);
  server_.Reply("/v1/actual_lrp_groups/list", groups);
  server_.Reply("/v1/actual_lrp_groups/list_by_process_guid", groups);
  v1::ActualLRPGroupResponse group;
  *group.mutable_actual_lrp_group()->mutable_evacuating() = SampleActualLrp("pg-1", 3);
  server_.Reply("/v1/actual_lrp_groups/get_by_process_guid_and_index", group);

  ASSERT_OK_AND_ASSIGN(std::vector<v1::ActualLRPGroup> all,
                       client_->ActualLrpGroups({.domain = "d", .cell_id = "c"}));
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_THAT(all[0], WireEquals(groups.actual_lrp_groups(0)));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::ActualLRPGroup> by_guid,
                       client_->ActualLrpGroupsByProcessGuid("pg-1"));
  EXPECT_THAT(by_guid, SizeIs(1));
  ASSERT_OK_AND_ASSIGN(v1::ActualLRPGroup one,
                       client_->ActualLrpGroupByProcessGuidAndIndex("pg-1", 3));
  EXPECT_THAT(one, WireEquals(group.actual_lrp_group()));

  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(3));
  v1::ActualLRPGroupsRequest list;
  ASSERT_TRUE(list.ParseFromString(got[0].body));
  EXPECT_EQ(list.domain(), "d");
  EXPECT_EQ(list.cell_id(), "c");
  v1::ActualLRPGroupsByProcessGuidRequest by_pg;
  ASSERT_TRUE(by_pg.ParseFromString(got[1].body));
  EXPECT_EQ(by_pg.process_guid(), "pg-1");
  v1::ActualLRPGroupByProcessGuidAndIndexRequest by_index;
  ASSERT_TRUE(by_index.ParseFromString(got[2].body));
  EXPECT_EQ(by_index.process_guid(), "pg-1");
  EXPECT_EQ(by_index.index(), 3);
}

TEST_F(BbsClientTest, ClaimActualLrp) {
  server_.Reply("/v1/actual_lrps/claim", v1::ActualLRPLifecycleResponse());
  EXPECT_OK(client_->ClaimActualLrp("pg-1", 2, InstanceKey("ig-1")));
  v1::ClaimActualLRPRequest want;
  want.set_process_guid("pg-1");
  want.set_index(2);
  *want.mutable_actual_lrp_instance_key() = InstanceKey("ig-1");
  EXPECT_THAT(OnlyRequestAs<v1::ClaimActualLRPRequest>("/v1/actual_lrps/claim"), WireEquals(want));
}

TEST_F(BbsClientTest, StartActualLrpSendsEverythingToStartR1) {
  server_.Reply("/v1/actual_lrps/start.r1", v1::ActualLRPLifecycleResponse());
  std::vector<v1::ActualLRPInternalRoute> routes(1);
  routes[0].set_hostname("app.apps.internal");
  EXPECT_OK(client_->StartActualLrp(Key("pg-1", 0), InstanceKey("ig-1"), NetInfo(), routes,
                                    {{"source_id", "app-guid"}}, /*routable=*/false, "z1"));
  v1::StartActualLRPRequest want;
  *want.mutable_actual_lrp_key() = Key("pg-1", 0);
  *want.mutable_actual_lrp_instance_key() = InstanceKey("ig-1");
  *want.mutable_actual_lrp_net_info() = NetInfo();
  want.add_actual_lrp_internal_routes()->set_hostname("app.apps.internal");
  (*want.mutable_metric_tags())["source_id"] = "app-guid";
  want.set_routable(false);
  want.set_availability_zone("z1");
  const auto request = OnlyRequestAs<v1::StartActualLRPRequest>("/v1/actual_lrps/start.r1");
  EXPECT_THAT(request, WireEquals(want));
  EXPECT_EQ(request.optional_routable_case(), v1::StartActualLRPRequest::kRoutable);
}

TEST_F(BbsClientTest, CrashFailRemoveRetire) {
  server_.Reply("/v1/actual_lrps/crash", v1::ActualLRPLifecycleResponse());
  server_.Reply("/v1/actual_lrps/fail", v1::ActualLRPLifecycleResponse());
  server_.Reply("/v1/actual_lrps/remove", v1::ActualLRPLifecycleResponse());
  server_.Reply("/v1/actual_lrps/retire", v1::ActualLRPLifecycleResponse());
  EXPECT_OK(client_->CrashActualLrp(Key("pg-1", 0), InstanceKey("ig-1"), "exit 1"));
  EXPECT_OK(client_->FailActualLrp(Key("pg-1", 1), "no compatible cell"));
  EXPECT_OK(client_->RemoveActualLrp("pg-1", 2, InstanceKey("ig-2")));
  EXPECT_OK(client_->RetireActualLrp(Key("pg-1", 3)));

  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(4));
  EXPECT_EQ(got[0].path, "/v1/actual_lrps/crash");
  v1::CrashActualLRPRequest crash;
  *crash.mutable_actual_lrp_key() = Key("pg-1", 0);
  *crash.mutable_actual_lrp_instance_key() = InstanceKey("ig-1");
  crash.set_error_message("exit 1");
  EXPECT_EQ(got[0].body, model::SerializeForWire(crash));
  EXPECT_EQ(got[1].path, "/v1/actual_lrps/fail");
  v1::FailActualLRPRequest fail;
  *fail.mutable_actual_lrp_key() = Key("pg-1", 1);
  fail.set_error_message("no compatible cell");
  EXPECT_EQ(got[1].body, model::SerializeForWire(fail));
  EXPECT_EQ(got[2].path, "/v1/actual_lrps/remove");
  v1::RemoveActualLRPRequest remove;
  remove.set_process_guid("pg-1");
  remove.set_index(2);
  *remove.mutable_actual_lrp_instance_key() = InstanceKey("ig-2");
  EXPECT_EQ(got[2].body, model::SerializeForWire(remove));
  EXPECT_EQ(got[3].path, "/v1/actual_lrps/retire");
  v1::RetireActualLRPRequest retire;
  *retire.mutable_actual_lrp_key() = Key("pg-1", 3);
  EXPECT_EQ(got[3].body, model::SerializeForWire(retire));
}

TEST_F(BbsClientTest, EvacuationCalls) {
  v1::EvacuationResponse keep;
  keep.set_keep_container(true);
  v1::EvacuationResponse drop;
  drop.set_keep_container(false);
  server_.Reply("/v1/actual_lrps/evacuate_claimed", drop);
  server_.Reply("/v1/actual_lrps/evacuate_running.r1", keep);
  server_.Reply("/v1/actual_lrps/evacuate_stopped", drop);
  server_.Reply("/v1/actual_lrps/evacuate_crashed", drop);
  server_.Reply("/v1/actual_lrps/remove_evacuating", v1::RemoveEvacuatingActualLRPResponse());

  EvacuationReply claimed = client_->EvacuateClaimedActualLrp(Key("pg", 0), InstanceKey("ig"));
  EXPECT_OK(claimed.status);
  EXPECT_FALSE(claimed.keep_container);
  EvacuationReply running = client_->EvacuateRunningActualLrp(
      Key("pg", 0), InstanceKey("ig"), NetInfo(), {}, {{"k", "v"}}, true, "z2");
  EXPECT_OK(running.status);
  EXPECT_TRUE(running.keep_container);
  EvacuationReply stopped = client_->EvacuateStoppedActualLrp(Key("pg", 0), InstanceKey("ig"));
  EXPECT_OK(stopped.status);
  EXPECT_FALSE(stopped.keep_container);
  EvacuationReply crashed =
      client_->EvacuateCrashedActualLrp(Key("pg", 0), InstanceKey("ig"), "oom");
  EXPECT_OK(crashed.status);
  EXPECT_FALSE(crashed.keep_container);
  EXPECT_OK(client_->RemoveEvacuatingActualLrp(Key("pg", 0), InstanceKey("ig")));

  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(5));
  v1::EvacuateClaimedActualLRPRequest claimed_req;
  *claimed_req.mutable_actual_lrp_key() = Key("pg", 0);
  *claimed_req.mutable_actual_lrp_instance_key() = InstanceKey("ig");
  EXPECT_EQ(got[0].path, "/v1/actual_lrps/evacuate_claimed");
  EXPECT_EQ(got[0].body, model::SerializeForWire(claimed_req));
  v1::EvacuateRunningActualLRPRequest running_req;
  *running_req.mutable_actual_lrp_key() = Key("pg", 0);
  *running_req.mutable_actual_lrp_instance_key() = InstanceKey("ig");
  *running_req.mutable_actual_lrp_net_info() = NetInfo();
  (*running_req.mutable_metric_tags())["k"] = "v";
  running_req.set_routable(true);
  running_req.set_availability_zone("z2");
  EXPECT_EQ(got[1].path, "/v1/actual_lrps/evacuate_running.r1");
  EXPECT_EQ(got[1].body, model::SerializeForWire(running_req));
  v1::EvacuateStoppedActualLRPRequest stopped_req;
  *stopped_req.mutable_actual_lrp_key() = Key("pg", 0);
  *stopped_req.mutable_actual_lrp_instance_key() = InstanceKey("ig");
  EXPECT_EQ(got[2].path, "/v1/actual_lrps/evacuate_stopped");
  EXPECT_EQ(got[2].body, model::SerializeForWire(stopped_req));
  v1::EvacuateCrashedActualLRPRequest crashed_req;
  *crashed_req.mutable_actual_lrp_key() = Key("pg", 0);
  *crashed_req.mutable_actual_lrp_instance_key() = InstanceKey("ig");
  crashed_req.set_error_message("oom");
  EXPECT_EQ(got[3].path, "/v1/actual_lrps/evacuate_crashed");
  EXPECT_EQ(got[3].body, model::SerializeForWire(crashed_req));
  v1::RemoveEvacuatingActualLRPRequest remove_req;
  *remove_req.mutable_actual_lrp_key() = Key("pg", 0);
  *remove_req.mutable_actual_lrp_instance_key() = InstanceKey("ig");
  EXPECT_EQ(got[4].path, "/v1/actual_lrps/remove_evacuating");
  EXPECT_EQ(got[4].body, model::SerializeForWire(remove_req));
}

TEST_F(BbsClientTest, EvacuationErrorInResponseKeepsTheServersAnswer) {
  v1::EvacuationResponse response;
  response.set_keep_container(true);
  *response.mutable_error() = BbsErrorMessage(v1::Error::ResourceConflict,
                                              "the requested resource is in a conflicting state");
  server_.Reply("/v1/actual_lrps/evacuate_stopped", response);
  EvacuationReply result = client_->EvacuateStoppedActualLrp(Key("pg", 0), InstanceKey("ig"));
  EXPECT_TRUE(result.keep_container);
  EXPECT_TRUE(model::HasBbsErrorType(result.status, v1::Error::ResourceConflict));
}

TEST_F(BbsClientTest, EvacuationTransportFailureUsesTheRouteDefault) {
  server_.Stop();
  EvacuationReply claimed = client_->EvacuateClaimedActualLrp(Key("pg", 0), InstanceKey("ig"));
  EXPECT_THAT(claimed.status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(claimed.keep_container);
  EvacuationReply running =
      client_->EvacuateRunningActualLrp(Key("pg", 0), InstanceKey("ig"), NetInfo());
  EXPECT_THAT(running.status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(running.keep_container);
  EvacuationReply stopped = client_->EvacuateStoppedActualLrp(Key("pg", 0), InstanceKey("ig"));
  EXPECT_THAT(stopped.status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(stopped.keep_container);
  EvacuationReply crashed = client_->EvacuateCrashedActualLrp(Key("pg", 0), InstanceKey("ig"), "x");
  EXPECT_THAT(crashed.status, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(crashed.keep_container);
}

TEST_F(BbsClientTest, DesiredLrpReads) {
  v1::DesiredLRPsResponse lrps;
  *lrps.add_desired_lrps() = SampleDesiredLrp("pg-1");
  server_.Reply("/v1/desired_lrps/list.r3", lrps);
  v1::DesiredLRPResponse one;
  *one.mutable_desired_lrp() = SampleDesiredLrp("pg-2");
  server_.Reply("/v1/desired_lrps/get_by_process_guid.r3", one);
  v1::DesiredLRPSchedulingInfosResponse infos;
  v1::DesiredLRPSchedulingInfo* info = infos.add_desired_lrp_scheduling_infos();
  info->mutable_desired_lrp_key()->set_process_guid("pg-3");
  info->set_instances(4);
  server_.Reply("/v1/desired_lrp_scheduling_infos/list", infos);
  v1::DesiredLRPSchedulingInfoByProcessGuidResponse info_one;
  *info_one.mutable_desired_lrp_scheduling_info() = *info;
  server_.Reply("/v1/desired_lrp_scheduling_infos/get_by_process_guid", info_one);
  server_.Reply("/v1/desired_lrp_routing_infos/list", lrps);

  const DesiredLrpFilter filter{
      .domain = "cf-apps", .process_guids = {"pg-1", "pg-2"}, .app_guids = {"app-1"}};
  ASSERT_OK_AND_ASSIGN(std::vector<v1::DesiredLRP> listed, client_->DesiredLrps(filter));
  ASSERT_THAT(listed, SizeIs(1));
  EXPECT_THAT(listed[0], WireEquals(lrps.desired_lrps(0)));
  ASSERT_OK_AND_ASSIGN(v1::DesiredLRP got_one, client_->DesiredLrpByProcessGuid("pg-2"));
  EXPECT_THAT(got_one, WireEquals(one.desired_lrp()));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::DesiredLRPSchedulingInfo> got_infos,
                       client_->DesiredLrpSchedulingInfos(filter));
  ASSERT_THAT(got_infos, SizeIs(1));
  EXPECT_THAT(got_infos[0], WireEquals(*info));
  ASSERT_OK_AND_ASSIGN(v1::DesiredLRPSchedulingInfo got_info,
                       client_->DesiredLrpSchedulingInfoByProcessGuid("pg-3"));
  EXPECT_THAT(got_info, WireEquals(*info));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::DesiredLRP> routing,
                       client_->DesiredLrpRoutingInfos(filter));
  EXPECT_THAT(routing, SizeIs(1));

  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(5));
  v1::DesiredLRPsRequest full_filter;
  full_filter.set_domain("cf-apps");
  full_filter.add_process_guids("pg-1");
  full_filter.add_process_guids("pg-2");
  full_filter.add_app_guids("app-1");
  EXPECT_EQ(got[0].path, "/v1/desired_lrps/list.r3");
  EXPECT_EQ(got[0].body, model::SerializeForWire(full_filter));
  v1::DesiredLRPByProcessGuidRequest by_guid;
  by_guid.set_process_guid("pg-2");
  EXPECT_EQ(got[1].path, "/v1/desired_lrps/get_by_process_guid.r3");
  EXPECT_EQ(got[1].body, model::SerializeForWire(by_guid));
  EXPECT_EQ(got[2].path, "/v1/desired_lrp_scheduling_infos/list");
  EXPECT_EQ(got[2].body, model::SerializeForWire(full_filter));
  by_guid.set_process_guid("pg-3");
  EXPECT_EQ(got[3].path, "/v1/desired_lrp_scheduling_infos/get_by_process_guid");
  EXPECT_EQ(got[3].body, model::SerializeForWire(by_guid));
  // Routing infos send only the process guids (as Diego's client).
  v1::DesiredLRPsRequest guids_only;
  guids_only.add_process_guids("pg-1");
  guids_only.add_process_guids("pg-2");
  EXPECT_EQ(got[4].path, "/v1/desired_lrp_routing_infos/list");
  EXPECT_EQ(got[4].body, model::SerializeForWire(guids_only));
}

TEST_F(BbsClientTest, DesiredLrpWrites) {
  server_.Reply("/v1/desired_lrp/desire.r2", v1::DesiredLRPLifecycleResponse());
  server_.Reply("/v1/desired_lrp/update", v1::DesiredLRPLifecycleResponse());
  server_.Reply("/v1/desired_lrp/remove", v1::DesiredLRPLifecycleResponse());
  EXPECT_OK(client_->DesireLrp(SampleDesiredLrp("pg-1")));
  v1::DesiredLRPUpdate update;
  update.set_instances(0);
  update.set_annotation("scaled down");
  EXPECT_OK(client_->UpdateDesiredLrp("pg-1", update));
  EXPECT_OK(client_->RemoveDesiredLrp("pg-1"));

  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(3));
  v1::DesireLRPRequest desire;
  *desire.mutable_desired_lrp() = SampleDesiredLrp("pg-1");
  EXPECT_EQ(got[0].path, "/v1/desired_lrp/desire.r2");
  EXPECT_EQ(got[0].body, model::SerializeForWire(desire));
  v1::UpdateDesiredLRPRequest update_req;
  update_req.set_process_guid("pg-1");
  *update_req.mutable_update() = update;
  EXPECT_EQ(got[1].path, "/v1/desired_lrp/update");
  EXPECT_EQ(got[1].body, model::SerializeForWire(update_req));
  v1::UpdateDesiredLRPRequest parsed_update;
  ASSERT_TRUE(parsed_update.ParseFromString(got[1].body));
  // instances = 0 is still present (the oneof).
  EXPECT_EQ(parsed_update.update().optional_instances_case(), v1::DesiredLRPUpdate::kInstances);
  v1::RemoveDesiredLRPRequest remove;
  remove.set_process_guid("pg-1");
  EXPECT_EQ(got[2].path, "/v1/desired_lrp/remove");
  EXPECT_EQ(got[2].body, model::SerializeForWire(remove));
}

TEST_F(BbsClientTest, TaskReads) {
  v1::TasksResponse tasks;
  *tasks.add_tasks() = SampleTask("t-1");
  *tasks.add_tasks() = SampleTask("t-2");
  server_.Reply("/v1/tasks/list.r3", tasks);
  v1::TaskResponse one;
  *one.mutable_task() = SampleTask("t-3");
  server_.Reply("/v1/tasks/get_by_task_guid.r3", one);

  ASSERT_OK_AND_ASSIGN(std::vector<v1::Task> listed,
                       client_->Tasks({.domain = "tasks", .cell_id = "cell-1"}));
  ASSERT_THAT(listed, SizeIs(2));
  EXPECT_THAT(listed[1], WireEquals(tasks.tasks(1)));
  ASSERT_OK_AND_ASSIGN(v1::Task task, client_->TaskByGuid("t-3"));
  EXPECT_THAT(task, WireEquals(one.task()));

  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(2));
  v1::TasksRequest filter;
  filter.set_domain("tasks");
  filter.set_cell_id("cell-1");
  EXPECT_EQ(got[0].path, "/v1/tasks/list.r3");
  EXPECT_EQ(got[0].body, model::SerializeForWire(filter));
  v1::TaskByGuidRequest by_guid;
  by_guid.set_task_guid("t-3");
  EXPECT_EQ(got[1].path, "/v1/tasks/get_by_task_guid.r3");
  EXPECT_EQ(got[1].body, model::SerializeForWire(by_guid));
}

TEST_F(BbsClientTest, TaskLifecycle) {
  for (const char* path :
       {"/v1/tasks/desire.r2", "/v1/tasks/cancel", "/v1/tasks/fail", "/v1/tasks/reject",
        "/v1/tasks/complete", "/v1/tasks/resolving", "/v1/tasks/delete"}) {
    server_.Reply(path, v1::TaskLifecycleResponse());
  }
  v1::StartTaskResponse start;
  start.set_should_start(true);
  server_.Reply("/v1/tasks/start", start);

  v1::TaskDefinition definition;
  definition.set_root_fs("docker:///busybox");
  definition.set_memory_mb(64);
  EXPECT_OK(client_->DesireTask("t-1", "tasks", definition));
  ASSERT_OK_AND_ASSIGN(bool should_start, client_->StartTask("t-1", "cell-1"));
  EXPECT_TRUE(should_start);
  EXPECT_OK(client_->CancelTask("t-1"));
  EXPECT_OK(client_->FailTask("t-1", "boom"));
  EXPECT_OK(client_->RejectTask("t-1", "no room"));
  EXPECT_OK(client_->CompleteTask("t-1", "cell-1", true, "exit 2", "out"));
  EXPECT_OK(client_->ResolvingTask("t-1"));
  EXPECT_OK(client_->DeleteTask("t-1"));

  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(8));
  v1::DesireTaskRequest desire;
  *desire.mutable_task_definition() = definition;
  desire.set_task_guid("t-1");
  desire.set_domain("tasks");
  EXPECT_EQ(got[0].path, "/v1/tasks/desire.r2");
  EXPECT_EQ(got[0].body, model::SerializeForWire(desire));
  v1::StartTaskRequest start_req;
  start_req.set_task_guid("t-1");
  start_req.set_cell_id("cell-1");
  EXPECT_EQ(got[1].path, "/v1/tasks/start");
  EXPECT_EQ(got[1].body, model::SerializeForWire(start_req));
  v1::TaskGuidRequest guid;
  guid.set_task_guid("t-1");
  EXPECT_EQ(got[2].path, "/v1/tasks/cancel");
  EXPECT_EQ(got[2].body, model::SerializeForWire(guid));
  v1::FailTaskRequest fail;
  fail.set_task_guid("t-1");
  fail.set_failure_reason("boom");
  EXPECT_EQ(got[3].path, "/v1/tasks/fail");
  EXPECT_EQ(got[3].body, model::SerializeForWire(fail));
  v1::RejectTaskRequest reject;
  reject.set_task_guid("t-1");
  reject.set_rejection_reason("no room");
  EXPECT_EQ(got[4].path, "/v1/tasks/reject");
  EXPECT_EQ(got[4].body, model::SerializeForWire(reject));
  v1::CompleteTaskRequest complete;
  complete.set_task_guid("t-1");
  complete.set_cell_id("cell-1");
  complete.set_failed(true);
  complete.set_failure_reason("exit 2");
  complete.set_result("out");
  EXPECT_EQ(got[5].path, "/v1/tasks/complete");
  EXPECT_EQ(got[5].body, model::SerializeForWire(complete));
  EXPECT_EQ(got[6].path, "/v1/tasks/resolving");
  EXPECT_EQ(got[6].body, model::SerializeForWire(guid));
  EXPECT_EQ(got[7].path, "/v1/tasks/delete");
  EXPECT_EQ(got[7].body, model::SerializeForWire(guid));
}

TEST_F(BbsClientTest, StartTaskShouldStartFalse) {
  server_.Reply("/v1/tasks/start", v1::StartTaskResponse());
  ASSERT_OK_AND_ASSIGN(bool should_start, client_->StartTask("t-1", "cell-1"));
  EXPECT_FALSE(should_start);
}

TEST_F(BbsClientTest, CallReachesRevisionRoutesByName) {
  v1::DesiredLRPsResponse response;
  *response.add_desired_lrps() = SampleDesiredLrp("pg-1");
  server_.Reply("/v1/desired_lrps/list.r2", response);
  v1::DesiredLRPsRequest request;
  request.set_domain("cf-apps");
  v1::DesiredLRPsResponse got;
  EXPECT_OK(client_->Call("DesiredLRPs_r2", &request, &got));
  EXPECT_THAT(got, WireEquals(response));
  EXPECT_EQ(OnlyRequest("/v1/desired_lrps/list.r2"), model::SerializeForWire(request));
  EXPECT_THAT(client_->Call("NoSuchRoute", &request, &got),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NoSuchRoute")));
}

// -----------------------------------------------------------------------------
// Errors.
// -----------------------------------------------------------------------------

TEST_F(BbsClientTest, ErrorInResponseBecomesTheBbsError) {
  v1::ActualLRPLifecycleResponse response;
  *response.mutable_error() =
      BbsErrorMessage(v1::Error::ActualLRPCannotBeClaimed, "cannot claim actual LRP");
  server_.Reply("/v1/actual_lrps/claim", response);
  const absl::Status status = client_->ClaimActualLrp("pg-1", 0, InstanceKey("ig-1"));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition, "cannot claim actual LRP"));
  EXPECT_TRUE(model::HasBbsErrorType(status, v1::Error::ActualLRPCannotBeClaimed));
}

TEST_F(BbsClientTest, NotFoundErrorOnReads) {
  v1::DesiredLRPResponse response;
  *response.mutable_error() =
      BbsErrorMessage(v1::Error::ResourceNotFound, "the requested resource could not be found");
  server_.Reply("/v1/desired_lrps/get_by_process_guid.r3", response);
  const absl::StatusOr<v1::DesiredLRP> lrp = client_->DesiredLrpByProcessGuid("missing");
  EXPECT_THAT(lrp,
              StatusIs(absl::StatusCode::kNotFound, "the requested resource could not be found"));
  EXPECT_TRUE(model::HasBbsErrorType(lrp.status(), v1::Error::ResourceNotFound));
}

TEST_F(BbsClientTest, NonProtobufStatusIsInvalidResponse) {
  server_.Reply("/v1/actual_lrps/claim", Plain(503));
  const absl::Status status = client_->ClaimActualLrp("pg-1", 0, InstanceKey("ig-1"));
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInternal, "Invalid Response with status code: 503"));
  EXPECT_TRUE(model::HasBbsErrorType(status, v1::Error::InvalidResponse));
}

TEST_F(BbsClientTest, NonProtobufNotFoundIsInvalidResponse404AndNotRetried) {
  BbsClientOptions options;
  options.request_attempts = 3;
  ASSERT_OK_AND_ASSIGN(auto client, BbsClient::Create(server_.url(), options));
  const absl::Status status = client->ClaimActualLrp("pg-1", 0, InstanceKey("ig-1"));
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInternal, "Invalid Response with status code: 404"));
  EXPECT_TRUE(model::HasBbsErrorType(status, v1::Error::InvalidResponse));
  EXPECT_THAT(server_.requests(), SizeIs(1));
}

TEST_F(BbsClientTest, ProtobufBodyIsDecodedWhateverTheStatus) {
  v1::ActualLRPLifecycleResponse response;
  *response.mutable_error() = BbsErrorMessage(v1::Error::ResourceNotFound, "gone");
  Canned canned = Proto(response);
  canned.status = 500;
  server_.Reply("/v1/actual_lrps/claim", canned);
  EXPECT_THAT(client_->ClaimActualLrp("pg-1", 0, InstanceKey("ig-1")),
              StatusIs(absl::StatusCode::kNotFound, "gone"));
}

TEST_F(BbsClientTest, NonProtobuf2xxLeavesTheResponseEmpty) {
  Canned canned = Plain(200);
  canned.content_type = "text/plain";
  canned.body = "hello";
  server_.Reply("/v1/ping", canned);
  ASSERT_OK_AND_ASSIGN(bool available, client_->Ping());
  EXPECT_FALSE(available);
}

TEST_F(BbsClientTest, RouterErrorHeaderWins) {
  v1::PingResponse ping;
  ping.set_available(true);
  Canned canned = Proto(ping);
  canned.status = 502;
  canned.headers.emplace("X-Cf-Routererror", "unknown_route");
  server_.Reply("/v1/ping", canned);
  const absl::StatusOr<bool> available = client_->Ping();
  EXPECT_THAT(available, StatusIs(absl::StatusCode::kInternal, "unknown_route"));
  EXPECT_TRUE(model::HasBbsErrorType(available.status(), v1::Error::RouterError));
}

TEST_F(BbsClientTest, UndecodableBodyIsInvalidProtobufMessage) {
  Canned canned;
  canned.body = "\xff\xff\xff";
  server_.Reply("/v1/ping", canned);
  const absl::StatusOr<bool> available = client_->Ping();
  EXPECT_THAT(available,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("failed to unmarshal proto")));
  EXPECT_TRUE(model::HasBbsErrorType(available.status(), v1::Error::InvalidProtobufMessage));
}

TEST_F(BbsClientTest, ServerDownIsUnavailable) {
  const std::string url = server_.url();
  server_.Stop();
  EXPECT_THAT(client_->ClaimActualLrp("pg-1", 0, InstanceKey("ig-1")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("POST ", url, "/v1/actual_lrps/claim: "))));
}

TEST_F(BbsClientTest, SlowServerIsTimeout) {
  absl::Notification release;
  server_.BlockOn(&release);
  BbsClientOptions options;
  options.timeout = absl::Milliseconds(200);
  options.request_attempts = 1;
  ASSERT_OK_AND_ASSIGN(auto client, BbsClient::Create(server_.url(), options));
  const absl::Status status = client->ClaimActualLrp("pg-1", 0, InstanceKey("ig-1"));
  release.Notify();
  server_.Stop();  // Joins the handler before `release` goes out of scope.
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("timed out")));
  EXPECT_TRUE(model::HasBbsErrorType(status, v1::Error::Timeout));
}

TEST_F(BbsClientTest, FailedAttemptsAreRetriedAfterTheInterval) {
  FakeClock clock;
  BbsClientOptions options;
  options.request_attempts = 3;
  options.retry_interval = absl::Milliseconds(500);
  options.clock = &clock;
  ASSERT_OK_AND_ASSIGN(auto client, BbsClient::Create(server_.url(), options));
  v1::PingResponse ping;
  ping.set_available(true);
  server_.Reply("/v1/ping", Plain(503));
  server_.Reply("/v1/ping", Plain(503));
  server_.Reply("/v1/ping", ping);

  absl::StatusOr<bool> result;
  std::thread caller([&] { result = client->Ping(); });
  clock.BlockUntilSleepers(1);
  EXPECT_THAT(server_.requests(), SizeIs(1));
  clock.Advance(absl::Milliseconds(500));
  clock.BlockUntilSleepers(1);
  EXPECT_THAT(server_.requests(), SizeIs(2));
  clock.Advance(absl::Milliseconds(500));
  caller.join();
  ASSERT_OK_AND_ASSIGN(bool available, result);
  EXPECT_TRUE(available);
  EXPECT_THAT(server_.requests(), SizeIs(3));
}

TEST_F(BbsClientTest, ErrorsInsideResponsesAreNotRetried) {
  BbsClientOptions options;
  options.request_attempts = 3;
  ASSERT_OK_AND_ASSIGN(auto client, BbsClient::Create(server_.url(), options));
  v1::TaskLifecycleResponse response;
  *response.mutable_error() = BbsErrorMessage(v1::Error::InvalidStateTransition,
                                              "Cannot transition from Completed to Running");
  server_.Reply("/v1/tasks/cancel", response);
  const absl::Status status = client->CancelTask("t-1");
  EXPECT_TRUE(model::HasBbsErrorType(status, v1::Error::InvalidStateTransition));
  EXPECT_EQ(status.message(), "Cannot transition from Completed to Running");
  EXPECT_THAT(server_.requests(), SizeIs(1));
}

TEST_F(BbsClientTest, AttemptsStopAtTheLimit) {
  FakeClock clock;
  BbsClientOptions options;
  options.request_attempts = 2;
  options.clock = &clock;
  ASSERT_OK_AND_ASSIGN(auto client, BbsClient::Create(server_.url(), options));
  server_.Reply("/v1/tasks/cancel", Plain(500));
  absl::Status status;
  std::thread caller([&] { status = client->CancelTask("t-1"); });
  clock.BlockUntilSleepers(1);
  clock.Advance(options.retry_interval);
  caller.join();
  EXPECT_THAT(status,
              StatusIs(absl::StatusCode::kInternal, "Invalid Response with status code: 500"));
  EXPECT_THAT(server_.requests(), SizeIs(2));
}

// -----------------------------------------------------------------------------
// Fallbacks to the deprecated routes.
// -----------------------------------------------------------------------------

TEST_F(BbsClientTest, StartFallsBackToStartR0On404) {
  server_.Reply("/v1/actual_lrps/start", v1::ActualLRPLifecycleResponse());
  std::vector<v1::ActualLRPInternalRoute> routes(1);
  routes[0].set_hostname("app.apps.internal");
  EXPECT_OK(client_->StartActualLrp(Key("pg-1", 0), InstanceKey("ig-1"), NetInfo(), routes,
                                    {{"source_id", "x"}}, true, "z1"));
  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(2));
  EXPECT_EQ(got[0].path, "/v1/actual_lrps/start.r1");
  EXPECT_EQ(got[1].path, "/v1/actual_lrps/start");
  v1::StartActualLRPRequest legacy;
  *legacy.mutable_actual_lrp_key() = Key("pg-1", 0);
  *legacy.mutable_actual_lrp_instance_key() = InstanceKey("ig-1");
  *legacy.mutable_actual_lrp_net_info() = NetInfo();
  EXPECT_EQ(got[1].body, model::SerializeForWire(legacy));
}

TEST_F(BbsClientTest, StartFallbackErrorIsReported) {
  v1::ActualLRPLifecycleResponse response;
  *response.mutable_error() =
      BbsErrorMessage(v1::Error::ActualLRPCannotBeStarted, "cannot start actual LRP");
  server_.Reply("/v1/actual_lrps/start", response);
  const absl::Status status =
      client_->StartActualLrp(Key("pg-1", 0), InstanceKey("ig-1"), NetInfo());
  EXPECT_TRUE(model::HasBbsErrorType(status, v1::Error::ActualLRPCannotBeStarted));
}

TEST_F(BbsClientTest, StartDoesNotFallBackOnOtherFailures) {
  server_.Reply("/v1/actual_lrps/start.r1", Plain(500));
  server_.Reply("/v1/actual_lrps/start", v1::ActualLRPLifecycleResponse());
  EXPECT_THAT(client_->StartActualLrp(Key("pg-1", 0), InstanceKey("ig-1"), NetInfo()),
              StatusIs(absl::StatusCode::kInternal, "Invalid Response with status code: 500"));
  EXPECT_THAT(server_.requests(), SizeIs(1));
}

TEST_F(BbsClientTest, EvacuateRunningFallsBackOn404) {
  v1::EvacuationResponse response;
  response.set_keep_container(false);
  server_.Reply("/v1/actual_lrps/evacuate_running", response);
  EvacuationReply result = client_->EvacuateRunningActualLrp(
      Key("pg-1", 0), InstanceKey("ig-1"), NetInfo(), {}, {{"a", "b"}}, false, "z3");
  EXPECT_OK(result.status);
  EXPECT_FALSE(result.keep_container);
  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(2));
  EXPECT_EQ(got[0].path, "/v1/actual_lrps/evacuate_running.r1");
  EXPECT_EQ(got[1].path, "/v1/actual_lrps/evacuate_running");
  v1::EvacuateRunningActualLRPRequest legacy;
  *legacy.mutable_actual_lrp_key() = Key("pg-1", 0);
  *legacy.mutable_actual_lrp_instance_key() = InstanceKey("ig-1");
  *legacy.mutable_actual_lrp_net_info() = NetInfo();
  EXPECT_EQ(got[1].body, model::SerializeForWire(legacy));
}

// -----------------------------------------------------------------------------
// Headers, URLs, concurrency.
// -----------------------------------------------------------------------------

TEST_F(BbsClientTest, TraceIdHeader) {
  BbsClientOptions options;
  options.trace_id = "default-trace";
  options.request_attempts = 1;
  ASSERT_OK_AND_ASSIGN(auto traced, BbsClient::Create(server_.url(), options));
  server_.Reply("/v1/ping", v1::PingResponse());
  EXPECT_OK(client_->Ping().status());
  EXPECT_OK(client_->Ping("call-trace").status());
  EXPECT_OK(traced->Ping().status());
  EXPECT_OK(traced->Ping("call-trace-2").status());
  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(4));
  EXPECT_FALSE(got[0].has_trace_id);
  EXPECT_EQ(got[1].trace_id, "call-trace");
  EXPECT_EQ(got[2].trace_id, "default-trace");
  EXPECT_EQ(got[3].trace_id, "call-trace-2");
}

TEST_F(BbsClientTest, UrlPathPrefixIsKept) {
  ASSERT_OK_AND_ASSIGN(auto prefixed, BbsClient::Create(absl::StrCat(server_.url(), "/bbs/"), {}));
  server_.Reply("/bbs/v1/ping", v1::PingResponse());
  EXPECT_OK(prefixed->Ping().status());
  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].path, "/bbs/v1/ping");
}

TEST(BbsClientCreateTest, RejectsBadUrlsAndOptions) {
  EXPECT_THAT(BbsClient::Create("bbs.service.cf.internal:8889", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BbsClient::Create("http://:8889", {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BbsClient::Create("http://host:99999", {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  BbsClientOptions zero_timeout;
  zero_timeout.timeout = absl::ZeroDuration();
  EXPECT_THAT(BbsClient::Create("http://127.0.0.1:8889", zero_timeout),
              StatusIs(absl::StatusCode::kInvalidArgument));
  BbsClientOptions no_attempts;
  no_attempts.request_attempts = 0;
  EXPECT_THAT(BbsClient::Create("http://127.0.0.1:8889", no_attempts),
              StatusIs(absl::StatusCode::kInvalidArgument));
  BbsClientOptions cert_only;
  cert_only.cert_file = "/nonexistent/client.crt";
  EXPECT_THAT(BbsClient::Create("https://127.0.0.1:8889", cert_only),
              StatusIs(absl::StatusCode::kInvalidArgument));
  BbsClientOptions missing_files;
  missing_files.cert_file = "/nonexistent/client.crt";
  missing_files.key_file = "/nonexistent/client.key";
  EXPECT_THAT(BbsClient::Create("https://127.0.0.1:8889", missing_files),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(BbsClient::Create("http://[::1]:8889/", {}).status());
}

TEST_F(BbsClientTest, ConcurrentCallersShareTheClient) {
  v1::ActualLRPLifecycleResponse ok;
  server_.Reply("/v1/actual_lrps/claim", ok);
  constexpr int kThreads = 8;
  constexpr int kCalls = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kCalls; ++i) {
        EXPECT_OK(client_->ClaimActualLrp(absl::StrCat("pg-", t), i, InstanceKey("ig")));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(kThreads * kCalls));
  std::map<std::string, int> per_guid;
  for (const Recorded& request : got) {
    v1::ClaimActualLRPRequest claim;
    ASSERT_TRUE(claim.ParseFromString(request.body));
    ++per_guid[claim.process_guid()];
  }
  EXPECT_THAT(per_guid, SizeIs(kThreads));
  for (const auto& [guid, count] : per_guid) EXPECT_EQ(count, kCalls) << guid;
}

// -----------------------------------------------------------------------------
// Event streams.
// -----------------------------------------------------------------------------

TEST(DecodeStreamEventTest, DecodesEveryEventType) {
  v1::TaskCreatedEvent created;
  *created.mutable_task() = SampleTask("t-1");
  ASSERT_OK_AND_ASSIGN(StreamEvent event,
                       DecodeStreamEvent("7", "task_created", created.SerializeAsString()));
  EXPECT_EQ(event.id, "7");
  EXPECT_EQ(event.type, "task_created");
  ASSERT_TRUE(std::holds_alternative<v1::TaskCreatedEvent>(event.message));
  EXPECT_THAT(std::get<v1::TaskCreatedEvent>(event.message), WireEquals(created));

  // Only an unknown field (15, varint 1): valid bytes for every event type.
  const std::string payload = "\x78\x01";
  const std::vector<std::pair<std::string, size_t>> names = {{"desired_lrp_created", 0},
                                                             {"desired_lrp_changed", 1},
                                                             {"desired_lrp_removed", 2},
                                                             {"actual_lrp_created", 3},
                                                             {"actual_lrp_changed", 4},
                                                             {"actual_lrp_removed", 5},
                                                             {"actual_lrp_crashed", 6},
                                                             {"actual_lrp_instance_created", 7},
                                                             {"actual_lrp_instance_changed", 8},
                                                             {"actual_lrp_instance_removed", 9},
                                                             {"task_created", 10},
                                                             {"task_changed", 11},
                                                             {"task_removed", 12}};
  for (const auto& [name, index] : names) {
    absl::StatusOr<StreamEvent> decoded = DecodeStreamEvent("1", name, payload);
    ASSERT_OK(decoded.status()) << name;
    EXPECT_EQ(decoded->message.index(), index) << name;
  }
}

TEST(DecodeStreamEventTest, Errors) {
  EXPECT_THAT(DecodeStreamEvent("1", "task_created", ""),
              StatusIs(absl::StatusCode::kDataLoss,
                       "invalid protobuf payload of type task_created: event with no data"));
  EXPECT_THAT(DecodeStreamEvent("1", "task_created", "\xff\xff\xff"),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("invalid protobuf payload of type task_created: ")));
  EXPECT_THAT(DecodeStreamEvent("1", "lrp_deployment_created", "\x0a\x00"),
              StatusIs(absl::StatusCode::kUnimplemented, "unrecognized event type"));
}

TEST_F(BbsClientTest, InstanceEventsArriveDecodedInOrderThenTheStreamEnds) {
  v1::DesiredLRPCreatedEvent desired;
  *desired.mutable_desired_lrp() = SampleDesiredLrp("pg-1");
  desired.set_trace_id("trace-1");
  v1::ActualLRPInstanceChangedEvent changed;
  *changed.mutable_actual_lrp_key() = Key("pg-1", 0);
  *changed.mutable_actual_lrp_instance_key() = InstanceKey("ig-1");
  changed.mutable_before()->set_state("CLAIMED");
  changed.mutable_after()->set_state("RUNNING");
  v1::ActualLRPCrashedEvent crashed;
  *crashed.mutable_actual_lrp_key() = Key("pg-1", 0);
  *crashed.mutable_actual_lrp_instance_key() = InstanceKey("ig-1");
  crashed.set_crash_count(1);
  crashed.set_crash_reason("exit 1");
  server_.Stream("/v1/events/lrp_instances.r1",
                 {SseChunk(0, "desired_lrp_created", desired),
                  SseChunk(1, "actual_lrp_instance_changed", changed),
                  SseChunk(2, "actual_lrp_crashed", crashed)});

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventSource> source,
                       client_->SubscribeToInstanceEvents("cell-1", "sub-trace"));
  ASSERT_OK_AND_ASSIGN(StreamEvent first, source->Next());
  EXPECT_EQ(first.id, "0");
  EXPECT_EQ(first.type, "desired_lrp_created");
  ASSERT_TRUE(std::holds_alternative<v1::DesiredLRPCreatedEvent>(first.message));
  EXPECT_THAT(std::get<v1::DesiredLRPCreatedEvent>(first.message), WireEquals(desired));
  ASSERT_OK_AND_ASSIGN(StreamEvent second, source->Next());
  EXPECT_EQ(second.id, "1");
  ASSERT_TRUE(std::holds_alternative<v1::ActualLRPInstanceChangedEvent>(second.message));
  EXPECT_THAT(std::get<v1::ActualLRPInstanceChangedEvent>(second.message), WireEquals(changed));
  ASSERT_OK_AND_ASSIGN(StreamEvent third, source->Next());
  ASSERT_TRUE(std::holds_alternative<v1::ActualLRPCrashedEvent>(third.message));
  EXPECT_THAT(std::get<v1::ActualLRPCrashedEvent>(third.message), WireEquals(crashed));
  EXPECT_THAT(source->Next(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(source->Next(), StatusIs(absl::StatusCode::kUnavailable));

  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].path, "/v1/events/lrp_instances.r1");
  EXPECT_EQ(got[0].trace_id, "sub-trace");
  v1::EventsByCellId filter;
  ASSERT_TRUE(filter.ParseFromString(got[0].body));
  EXPECT_EQ(filter.cell_id(), "cell-1");
}

TEST_F(BbsClientTest, TaskEventsAndAnUnknownEventInTheMiddle) {
  v1::TaskCreatedEvent created;
  *created.mutable_task() = SampleTask("t-1");
  v1::TaskChangedEvent changed;
  *changed.mutable_before() = SampleTask("t-1");
  *changed.mutable_after() = SampleTask("t-1");
  changed.mutable_after()->set_state(v1::Task::Completed);
  v1::TaskRemovedEvent removed;
  *removed.mutable_task() = SampleTask("t-1");
  // Two events in one chunk and one event split over two chunks, too.
  const std::string third = SseChunk(3, "task_removed", removed);
  server_.Stream("/v1/events/tasks.r1",
                 {SseChunk(0, "task_created", created) + SseChunk(1, "task_future", created),
                  SseChunk(2, "task_changed", changed) + third.substr(0, 10), third.substr(10)});

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventSource> source, client_->SubscribeToTaskEvents());
  ASSERT_OK_AND_ASSIGN(StreamEvent first, source->Next());
  EXPECT_THAT(std::get<v1::TaskCreatedEvent>(first.message), WireEquals(created));
  EXPECT_THAT(source->Next(),
              StatusIs(absl::StatusCode::kUnimplemented, "unrecognized event type"));
  ASSERT_OK_AND_ASSIGN(StreamEvent after_unknown, source->Next());
  EXPECT_EQ(after_unknown.type, "task_changed");
  EXPECT_THAT(std::get<v1::TaskChangedEvent>(after_unknown.message), WireEquals(changed));
  ASSERT_OK_AND_ASSIGN(StreamEvent last, source->Next());
  EXPECT_EQ(last.id, "3");
  EXPECT_THAT(std::get<v1::TaskRemovedEvent>(last.message), WireEquals(removed));
  EXPECT_THAT(source->Next(), StatusIs(absl::StatusCode::kUnavailable));

  const std::vector<Recorded> got = server_.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].path, "/v1/events/tasks.r1");
}

TEST_F(BbsClientTest, CloseUnblocksNext) {
  absl::Notification hold;
  server_.Stream("/v1/events/lrp_instances.r1", {}, &hold);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventSource> source, client_->SubscribeToInstanceEvents());
  absl::StatusOr<StreamEvent> result;
  std::thread reader([&] { result = source->Next(); });
  source->Close();
  reader.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled, "source closed"));
  EXPECT_THAT(source->Next(), StatusIs(absl::StatusCode::kCancelled, "source closed"));
  source->Close();  // Idempotent.
  source.reset();   // Joins the reader thread while the server still holds the stream.
  hold.Notify();
  // The stream handler may still be waiting on `hold`: stop the server (joining
  // it) before `hold` goes out of scope.
  server_.Stop();
}

TEST_F(BbsClientTest, DestroyingAnOpenSourceEndsIt) {
  absl::Notification hold;
  v1::TaskCreatedEvent created;
  *created.mutable_task() = SampleTask("t-1");
  server_.Stream("/v1/events/tasks.r1", {SseChunk(0, "task_created", created)}, &hold);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<EventSource> source, client_->SubscribeToTaskEvents());
  ASSERT_OK_AND_ASSIGN(StreamEvent first, source->Next());
  EXPECT_EQ(first.type, "task_created");
  source.reset();
  hold.Notify();
  // The stream handler may still be waiting on `hold`: stop the server (joining
  // it) before `hold` goes out of scope.
  server_.Stop();
}

TEST_F(BbsClientTest, SubscribeToAMissingRouteFails) {
  EXPECT_THAT(client_->SubscribeToInstanceEvents(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("bad response from event source: status 404")));
}

TEST_F(BbsClientTest, SubscribeWithTheServerDownFails) {
  server_.Stop();
  EXPECT_THAT(client_->SubscribeToTaskEvents(), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace diego::bbs
