// Copyright 2026 The libdiego Authors.
//
// Tests of the HTTP auctioneer and rep clients (outbound.h) against a local
// httplib server that records what it receives.

#include "diego/bbs/outbound.h"

#include <httplib.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/auction/json.h"
#include "diego/auction/types.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::bbs {
namespace {

namespace v1 = ::diego::model::v1;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

struct Recorded {
  std::string method;
  std::string target;  // The raw request target, still percent-encoded.
  std::string body;
  std::string content_type;
};

// A local HTTP server on 127.0.0.1:<free port> answering every POST and PUT
// with `status_for(target)` and recording the requests.
class RecordingServer {
 public:
  RecordingServer() {
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      int status = 202;
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(
            {req.method, req.target, req.body, req.get_header_value("Content-Type")});
        auto it = statuses_.find(req.target);
        if (it != statuses_.end()) status = it->second;
      }
      if (block_ != nullptr) block_->WaitForNotification();
      res.status = status;
      res.set_content("{}", "application/json");
    };
    server_.Post(".*", handler);
    server_.Put(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // `stop()` is a no-op until the accept loop runs; wait for it so an
    // early Stop() cannot be lost.
    while (!server_.is_running()) std::this_thread::yield();
  }

  ~RecordingServer() { Stop(); }

  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  int port() const { return port_; }

  void SetStatus(const std::string& target, int status) {
    absl::MutexLock lock(&mu_);
    statuses_[target] = status;
  }
  // Handlers wait for `block` before answering (set before any request).
  void BlockOn(absl::Notification* block) { block_ = block; }

  std::vector<Recorded> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Notification* block_ = nullptr;
  absl::Mutex mu_;
  std::vector<Recorded> requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> statuses_ ABSL_GUARDED_BY(mu_);
};

HttpClientOptions FastOptions() {
  HttpClientOptions options;
  options.timeout = absl::Seconds(5);
  return options;
}

auction::LrpStartRequest SampleLrpStart(const std::string& guid) {
  auction::LrpStartRequest request;
  request.process_guid = guid;
  request.domain = "cf-apps";
  request.indices = {0, 2};
  request.constraint.root_fs = "preloaded:cflinuxfs4";
  request.constraint.placement_tags = {"blue"};
  request.resource = {.memory_mb = 256, .disk_mb = 1024, .max_pids = 100};
  return request;
}

auction::TaskStartRequest SampleTaskStart(const std::string& guid) {
  auction::TaskStartRequest task;
  task.task_guid = guid;
  task.domain = "tasks";
  task.constraint.root_fs = "docker:///busybox";
  task.resource = {.memory_mb = 128, .disk_mb = 512, .max_pids = 0};
  return task;
}

v1::ActualLRPKey Key(const std::string& process_guid, int32_t index) {
  v1::ActualLRPKey key;
  key.set_process_guid(process_guid);
  key.set_index(index);
  key.set_domain("cf-apps");
  return key;
}

v1::ActualLRPInstanceKey InstanceKey(const std::string& instance_guid) {
  v1::ActualLRPInstanceKey key;
  key.set_instance_guid(instance_guid);
  key.set_cell_id("cell-1");
  return key;
}

// -----------------------------------------------------------------------------
// Auctioneer.
// -----------------------------------------------------------------------------

TEST(HttpAuctioneerClientTest, PostsLrpStartRequestsAsJsonArray) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto client, HttpAuctioneerClient::Create(server.url(), FastOptions()));
  const std::vector<auction::LrpStartRequest> requests = {SampleLrpStart("pg-1"),
                                                          SampleLrpStart("pg-2")};
  EXPECT_OK(client->RequestLrpAuctions(requests));

  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/v1/lrps");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].body, auction::LrpStartRequestsToJson(requests));
  ASSERT_OK_AND_ASSIGN(std::vector<auction::LrpStartRequest> decoded,
                       auction::LrpStartRequestsFromJson(got[0].body));
  EXPECT_EQ(decoded, requests);
}

TEST(HttpAuctioneerClientTest, PostsTaskStartRequestsAsJsonArray) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto client, HttpAuctioneerClient::Create(server.url(), FastOptions()));
  const std::vector<auction::TaskStartRequest> tasks = {SampleTaskStart("t-1")};
  EXPECT_OK(client->RequestTaskAuctions(tasks));

  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/v1/tasks");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].body, auction::TaskStartRequestsToJson(tasks));
  ASSERT_OK_AND_ASSIGN(std::vector<auction::TaskStartRequest> decoded,
                       auction::TaskStartRequestsFromJson(got[0].body));
  EXPECT_EQ(decoded, tasks);
}

TEST(HttpAuctioneerClientTest, EmptyInputSendsNoRequest) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto client, HttpAuctioneerClient::Create(server.url(), FastOptions()));
  EXPECT_OK(client->RequestLrpAuctions({}));
  EXPECT_OK(client->RequestTaskAuctions({}));
  EXPECT_THAT(server.requests(), SizeIs(0));
}

TEST(HttpAuctioneerClientTest, ReusesTheConnectionForSequentialCalls) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto client, HttpAuctioneerClient::Create(server.url(), FastOptions()));
  for (int i = 0; i < 5; ++i) {
    EXPECT_OK(client->RequestLrpAuctions({SampleLrpStart(absl::StrCat("pg-", i))}));
  }
  EXPECT_THAT(server.requests(), SizeIs(5));
}

TEST(HttpAuctioneerClientTest, Non2xxIsUnavailableNamingTheStatus) {
  RecordingServer server;
  server.SetStatus("/v1/lrps", 500);
  ASSERT_OK_AND_ASSIGN(auto client, HttpAuctioneerClient::Create(server.url(), FastOptions()));
  EXPECT_THAT(client->RequestLrpAuctions({SampleLrpStart("pg-1")}),
              StatusIs(absl::StatusCode::kUnavailable,
                       absl::StrCat("POST ", server.url(), "/v1/lrps: unexpected status 500")));
}

TEST(HttpAuctioneerClientTest, Any2xxIsSuccess) {
  RecordingServer server;
  server.SetStatus("/v1/tasks", 200);
  ASSERT_OK_AND_ASSIGN(auto client, HttpAuctioneerClient::Create(server.url(), FastOptions()));
  EXPECT_OK(client->RequestTaskAuctions({SampleTaskStart("t-1")}));
}

TEST(HttpAuctioneerClientTest, ServerDownIsUnavailable) {
  RecordingServer server;
  const std::string url = server.url();
  server.Stop();
  ASSERT_OK_AND_ASSIGN(auto client, HttpAuctioneerClient::Create(url, FastOptions()));
  const absl::Status status = client->RequestLrpAuctions({SampleLrpStart("pg-1")});
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr(absl::StrCat("POST ", url, "/v1/lrps: "))));
}

TEST(HttpAuctioneerClientTest, SlowServerTimesOut) {
  RecordingServer server;
  absl::Notification release;
  server.BlockOn(&release);
  HttpClientOptions options;
  options.timeout = absl::Milliseconds(200);
  ASSERT_OK_AND_ASSIGN(auto client, HttpAuctioneerClient::Create(server.url(), options));
  const absl::Status status = client->RequestLrpAuctions({SampleLrpStart("pg-1")});
  release.Notify();
  server.Stop();  // Joins the handler before `release` goes out of scope.
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("timed out")));
}

TEST(HttpAuctioneerClientTest, RejectsBadUrlsAndOptions) {
  EXPECT_THAT(HttpAuctioneerClient::Create("127.0.0.1:9016", FastOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HttpAuctioneerClient::Create("http://:9016", FastOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HttpAuctioneerClient::Create("http://host:notaport", FastOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  HttpClientOptions no_timeout;
  no_timeout.timeout = absl::ZeroDuration();
  EXPECT_THAT(HttpAuctioneerClient::Create("http://127.0.0.1:9016", no_timeout),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HttpAuctioneerClientTest, ConcurrentCallsAllArrive) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto client, HttpAuctioneerClient::Create(server.url(), FastOptions()));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&client, t] {
      for (int i = 0; i < 10; ++i) {
        EXPECT_OK(client->RequestLrpAuctions({SampleLrpStart(absl::StrCat("pg-", t, "-", i))}));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(server.requests(), SizeIs(40));
}

// -----------------------------------------------------------------------------
// Rep.
// -----------------------------------------------------------------------------

TEST(HttpRepClientTest, StopLrpInstancePostsToTheStopPath) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), FastOptions()));
  EXPECT_OK(rep->StopLrpInstance(Key("pg-1", 3), InstanceKey("ig-1")));
  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/v1/lrps/pg-1/instances/ig-1/stop");
  EXPECT_EQ(got[0].body, "");
}

TEST(HttpRepClientTest, PathSegmentsAreEscaped) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), FastOptions()));
  EXPECT_OK(rep->StopLrpInstance(Key("a/b c?d", 0), InstanceKey("i%g")));
  EXPECT_OK(rep->CancelTask("t/1#x"));
  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(2));
  EXPECT_EQ(got[0].target, "/v1/lrps/a%2Fb%20c%3Fd/instances/i%25g/stop");
  EXPECT_EQ(got[1].target, "/v1/tasks/t%2F1%23x/cancel");
}

TEST(HttpRepClientTest, CancelTaskPostsToTheCancelPath) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), FastOptions()));
  EXPECT_OK(rep->CancelTask("task-1"));
  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/v1/tasks/task-1/cancel");
}

TEST(HttpRepClientTest, UpdateLrpInstancePutsTheLrpUpdateJson) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), FastOptions()));
  std::vector<v1::ActualLRPInternalRoute> routes(2);
  routes[0].set_hostname("a.apps.internal");
  routes[1].set_hostname("b.apps.internal");
  EXPECT_OK(rep->UpdateLrpInstance(Key("pg-1", 1), InstanceKey("ig-1"), routes,
                                   {{"source_id", "app-1"}, {"app_name", "web"}}));
  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].method, "PUT");
  EXPECT_EQ(got[0].target, "/v2/lrps/pg-1/instances/ig-1");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].body,
            R"({"instance_guid":"ig-1","process_guid":"pg-1","index":1,"domain":"cf-apps",)"
            R"("internal_routes":[{"hostname":"a.apps.internal"},{"hostname":"b.apps.internal"}],)"
            R"("metric_tags":{"app_name":"web","source_id":"app-1"}})");
}

TEST(HttpRepClientTest, UpdateWithoutRoutesWritesNullRoutes) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), FastOptions()));
  EXPECT_OK(rep->UpdateLrpInstance(Key("pg-1", 0), InstanceKey("ig-1"), {}, {}));
  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].body,
            R"({"instance_guid":"ig-1","process_guid":"pg-1","index":0,"domain":"cf-apps",)"
            R"("internal_routes":null,"metric_tags":{}})");
}

TEST(HttpRepClientTest, UpdateFallsBackToTheV1RouteOn404WhenThereAreRoutes) {
  RecordingServer server;
  server.SetStatus("/v2/lrps/pg-1/instances/ig-1", 404);
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), FastOptions()));
  std::vector<v1::ActualLRPInternalRoute> routes(1);
  routes[0].set_hostname("a.apps.internal");
  EXPECT_OK(rep->UpdateLrpInstance(Key("pg-1", 0), InstanceKey("ig-1"), routes,
                                   {{"source_id", "app-1"}}));
  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(2));
  EXPECT_EQ(got[1].method, "PUT");
  EXPECT_EQ(got[1].target, "/v1/lrps/pg-1/instances/ig-1");
  // The v1 route only takes internal routes: metric tags are dropped.
  EXPECT_EQ(got[1].body,
            R"({"instance_guid":"ig-1","process_guid":"pg-1","index":0,"domain":"cf-apps",)"
            R"("internal_routes":[{"hostname":"a.apps.internal"}],"metric_tags":null})");
}

TEST(HttpRepClientTest, Update404WithoutRoutesIsIgnored) {
  RecordingServer server;
  server.SetStatus("/v2/lrps/pg-1/instances/ig-1", 404);
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), FastOptions()));
  EXPECT_OK(rep->UpdateLrpInstance(Key("pg-1", 0), InstanceKey("ig-1"), {}, {{"a", "b"}}));
  EXPECT_THAT(server.requests(), SizeIs(1));
}

TEST(HttpRepClientTest, UpdateV1404IsIgnoredAndV1ErrorIsReported) {
  RecordingServer server;
  server.SetStatus("/v2/lrps/pg-1/instances/ig-1", 404);
  server.SetStatus("/v1/lrps/pg-1/instances/ig-1", 404);
  server.SetStatus("/v2/lrps/pg-2/instances/ig-2", 404);
  server.SetStatus("/v1/lrps/pg-2/instances/ig-2", 500);
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), FastOptions()));
  std::vector<v1::ActualLRPInternalRoute> routes(1);
  routes[0].set_hostname("a.apps.internal");
  EXPECT_OK(rep->UpdateLrpInstance(Key("pg-1", 0), InstanceKey("ig-1"), routes, {}));
  EXPECT_THAT(rep->UpdateLrpInstance(Key("pg-2", 0), InstanceKey("ig-2"), routes, {}),
              StatusIs(absl::StatusCode::kUnavailable,
                       absl::StrCat("PUT ", server.url(),
                                    "/v1/lrps/pg-2/instances/ig-2: unexpected status 500")));
}

TEST(HttpRepClientTest, Non2xxIsUnavailableNamingTheStatus) {
  RecordingServer server;
  server.SetStatus("/v1/lrps/pg-1/instances/ig-1/stop", 409);
  server.SetStatus("/v1/tasks/t-1/cancel", 503);
  server.SetStatus("/v2/lrps/pg-1/instances/ig-1", 400);
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), FastOptions()));
  EXPECT_THAT(rep->StopLrpInstance(Key("pg-1", 0), InstanceKey("ig-1")),
              StatusIs(absl::StatusCode::kUnavailable,
                       absl::StrCat("POST ", server.url(),
                                    "/v1/lrps/pg-1/instances/ig-1/stop: unexpected status 409")));
  EXPECT_THAT(rep->CancelTask("t-1"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unexpected status 503")));
  EXPECT_THAT(rep->UpdateLrpInstance(Key("pg-1", 0), InstanceKey("ig-1"), {}, {}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unexpected status 400")));
}

TEST(HttpRepClientTest, ServerDownIsUnavailable) {
  RecordingServer server;
  const std::string url = server.url();
  server.Stop();
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(url, FastOptions()));
  EXPECT_THAT(rep->CancelTask("t-1"),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("POST ", url, "/v1/tasks/t-1/cancel: "))));
}

TEST(HttpRepClientTest, SlowRepTimesOut) {
  RecordingServer server;
  absl::Notification release;
  server.BlockOn(&release);
  HttpClientOptions options;
  options.timeout = absl::Milliseconds(200);
  ASSERT_OK_AND_ASSIGN(auto rep, HttpRepClient::Create(server.url(), options));
  const absl::Status status = rep->StopLrpInstance(Key("pg-1", 0), InstanceKey("ig-1"));
  release.Notify();
  server.Stop();  // Joins the handler before `release` goes out of scope.
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("timed out")));
}

TEST(HttpRepClientTest, UrlPathPrefixIsKept) {
  RecordingServer server;
  ASSERT_OK_AND_ASSIGN(auto rep,
                       HttpRepClient::Create(absl::StrCat(server.url(), "/rep/"), FastOptions()));
  EXPECT_OK(rep->CancelTask("t-1"));
  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].target, "/rep/v1/tasks/t-1/cancel");
}

// -----------------------------------------------------------------------------
// Factory.
// -----------------------------------------------------------------------------

TEST(HttpRepClientFactoryTest, CachesOneClientPerUrl) {
  RecordingServer server;
  HttpRepClientFactory factory(FastOptions());
  v1::CellPresence cell_a;
  cell_a.set_cell_id("cell-a");
  cell_a.set_rep_url(server.url());
  v1::CellPresence cell_a_again = cell_a;
  v1::CellPresence cell_b;
  cell_b.set_cell_id("cell-b");
  cell_b.set_rep_url(absl::StrCat("http://localhost:", server.port()));

  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> a, factory.ForCell(cell_a));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> a2, factory.ForCell(cell_a_again));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> b, factory.ForCell(cell_b));
  EXPECT_EQ(a.get(), a2.get());
  EXPECT_NE(a.get(), b.get());
  EXPECT_OK(a->CancelTask("t-a"));
  EXPECT_OK(b->CancelTask("t-b"));
  EXPECT_THAT(server.requests(), SizeIs(2));
}

TEST(HttpRepClientFactoryTest, DropsUnheldClientsWhenTheCacheIsFull) {
  HttpRepClientFactory factory(FastOptions());
  auto cell = [](size_t i) {
    v1::CellPresence presence;
    presence.set_cell_id(absl::StrCat("cell-", i));
    presence.set_rep_url(absl::StrCat("http://rep-", i, ".example:1800"));
    return presence;
  };
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> held, factory.ForCell(cell(0)));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> first, factory.ForCell(cell(1)));
  const std::weak_ptr<RepClient> cached_only = first;
  first.reset();
  for (size_t i = 2; i < HttpRepClientFactory::kMaxCachedClients; ++i) {
    ASSERT_OK(factory.ForCell(cell(i)).status());
  }
  // Cached while the cache has room.
  EXPECT_FALSE(cached_only.expired());
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> again, factory.ForCell(cell(0)));
  EXPECT_EQ(again.get(), held.get());
  again.reset();
  // One more URL: the unheld clients go, the held one stays.
  ASSERT_OK(factory.ForCell(cell(HttpRepClientFactory::kMaxCachedClients)).status());
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> held_again, factory.ForCell(cell(0)));
  EXPECT_EQ(held_again.get(), held.get());
  EXPECT_TRUE(cached_only.expired());
}

TEST(HttpRepClientFactoryTest, FallsBackToRepAddress) {
  RecordingServer server;
  HttpRepClientFactory factory(FastOptions());
  v1::CellPresence bare;
  bare.set_cell_id("cell-1");
  bare.set_rep_address(absl::StrCat("127.0.0.1:", server.port()));
  v1::CellPresence with_scheme;
  with_scheme.set_cell_id("cell-1");
  with_scheme.set_rep_address(server.url());

  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> from_bare, factory.ForCell(bare));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> from_url, factory.ForCell(with_scheme));
  // "http://" + rep_address is the same URL: the same cached client.
  EXPECT_EQ(from_bare.get(), from_url.get());
  EXPECT_OK(from_bare->StopLrpInstance(Key("pg-1", 0), InstanceKey("ig-1")));
  const std::vector<Recorded> got = server.requests();
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].target, "/v1/lrps/pg-1/instances/ig-1/stop");
}

TEST(HttpRepClientFactoryTest, PrefersRepUrlOverRepAddress) {
  RecordingServer server;
  HttpRepClientFactory factory(FastOptions());
  v1::CellPresence cell;
  cell.set_cell_id("cell-1");
  cell.set_rep_url(server.url());
  cell.set_rep_address("http://192.0.2.1:1");  // Unroutable: must not be used.
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<RepClient> rep, factory.ForCell(cell));
  EXPECT_OK(rep->CancelTask("t-1"));
  EXPECT_THAT(server.requests(), SizeIs(1));
}

TEST(HttpRepClientFactoryTest, CellWithoutAddressIsAnError) {
  HttpRepClientFactory factory(FastOptions());
  v1::CellPresence cell;
  cell.set_cell_id("cell-1");
  EXPECT_THAT(factory.ForCell(cell),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cell-1")));
  cell.set_rep_url("ftp://rep");
  EXPECT_THAT(factory.ForCell(cell),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cell-1")));
}

}  // namespace
}  // namespace diego::bbs
