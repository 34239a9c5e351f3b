#include "diego/auction/http_cell_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

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

namespace diego::auction {
namespace {

using ::diego::fakes::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

CellState SampleState() {
  CellState state;
  state.cell_id = "cell-z1-0";
  state.rep_url = "http://127.0.0.1";
  state.zone = "z1";
  state.rootfs_providers.SetFixedSet("preloaded", {"cflinuxfs4"});
  state.rootfs_providers.SetArbitrary("docker");
  state.total_resources = {.memory_mb = 1024, .disk_mb = 2048, .containers = 10};
  state.available_resources = {.memory_mb = 512, .disk_mb = 1024, .containers = 9};
  state.lrps = {Lrp{.instance_guid = "ig",
                    .process_guid = "web",
                    .index = 0,
                    .domain = "d",
                    .constraint = {.root_fs = "preloaded:cflinuxfs4"},
                    .resource = {.memory_mb = 512, .disk_mb = 1024},
                    .state = "RUNNING"}};
  return state;
}

Lrp WorkLrp(const std::string& process_guid, int32_t index) {
  return Lrp{.process_guid = process_guid,
             .index = index,
             .domain = "d",
             .constraint = {.root_fs = "preloaded:cflinuxfs4"},
             .resource = {.memory_mb = 64, .disk_mb = 64}};
}

// A real cpp-httplib server on 127.0.0.1 and an ephemeral port, playing the
// rep. Handlers are installed by each test before the first request.
class HttpCellClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    // The socket already accepts connections (they queue in the backlog);
    // wait until the accept loop runs so `stop()` can end it.
    while (!server_.is_running()) {
      std::this_thread::yield();
    }
  }

  void TearDown() override {
    server_.stop();
    listener_.join();
  }

  std::string Url() const { return absl::StrCat("http://127.0.0.1:", port_); }

  std::unique_ptr<HttpCellClient> NewClient(absl::Duration timeout = absl::Seconds(10),
                                            const std::string& suffix = "") {
    absl::StatusOr<std::unique_ptr<HttpCellClient>> client =
        HttpCellClient::Create("cell-z1-0", Url() + suffix, {.timeout = timeout});
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread listener_;
};

TEST_F(HttpCellClientTest, StateDecodesTheRepsStateBody) {
  server_.Get("/state", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(CellStateToJson(SampleState()), "application/json");
  });
  std::unique_ptr<HttpCellClient> client = NewClient();
  ASSERT_NE(client, nullptr);

  ASSERT_OK_AND_ASSIGN(CellState state, client->State());
  EXPECT_EQ(CellStateToJson(state), CellStateToJson(SampleState()));
  EXPECT_EQ(state.lrps, SampleState().lrps);
  EXPECT_EQ(client->cell_id(), "cell-z1-0");
  EXPECT_EQ(client->rep_url(), Url());
}

TEST_F(HttpCellClientTest, PerformPostsTheWorkAsJsonAndReturnsWhatFailed) {
  absl::Mutex mu;
  std::string received_body;
  std::string received_type;
  Work failed{.lrps = {WorkLrp("web", 1)}};
  server_.Post("/work", [&](const httplib::Request& req, httplib::Response& res) {
    {
      absl::MutexLock lock(&mu);
      received_body = req.body;
      received_type = req.get_header_value("Content-Type");
    }
    res.set_content(WorkToJson(failed), "application/json");
  });
  std::unique_ptr<HttpCellClient> client = NewClient();
  ASSERT_NE(client, nullptr);

  const Work work{.lrps = {WorkLrp("web", 0), WorkLrp("web", 1)}, .cell_id = "cell-z1-0"};
  ASSERT_OK_AND_ASSIGN(Work result, client->Perform(work));

  EXPECT_EQ(result, failed);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(received_body, WorkToJson(work));
  EXPECT_EQ(received_type, "application/json");
}

TEST_F(HttpCellClientTest, ReusesOneKeepAliveConnection) {
  absl::Mutex mu;
  std::vector<int> client_ports;
  server_.Get("/state", [&](const httplib::Request& req, httplib::Response& res) {
    absl::MutexLock lock(&mu);
    client_ports.push_back(req.remote_port);
    res.set_content(CellStateToJson(SampleState()), "application/json");
  });
  server_.Post("/work", [&](const httplib::Request& req, httplib::Response& res) {
    absl::MutexLock lock(&mu);
    client_ports.push_back(req.remote_port);
    res.set_content(WorkToJson(Work{}), "application/json");
  });
  std::unique_ptr<HttpCellClient> client = NewClient();
  ASSERT_NE(client, nullptr);

  EXPECT_OK(client->State());
  EXPECT_OK(client->Perform(Work{.lrps = {WorkLrp("web", 0)}}));
  EXPECT_OK(client->State());

  absl::MutexLock lock(&mu);
  ASSERT_EQ(client_ports.size(), 3u);
  EXPECT_EQ(client_ports[1], client_ports[0]);
  EXPECT_EQ(client_ports[2], client_ports[0]);
}

TEST_F(HttpCellClientTest, UsesThePathPrefixOfTheRepUrl) {
  server_.Get("/rep/state", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(CellStateToJson(SampleState()), "application/json");
  });
  std::unique_ptr<HttpCellClient> client = NewClient(absl::Seconds(10), "/rep/");
  ASSERT_NE(client, nullptr);
  EXPECT_OK(client->State());
  EXPECT_EQ(client->rep_url(), Url() + "/rep");
}

TEST_F(HttpCellClientTest, ServiceUnavailableMeansTheCellIsUnhealthy) {
  server_.Get("/state", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("garden healthcheck failed", "text/plain");
  });
  std::unique_ptr<HttpCellClient> client = NewClient();
  ASSERT_NE(client, nullptr);

  EXPECT_THAT(client->State(),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("cell 'cell-z1-0'"), HasSubstr(Url() + "/state"),
                             HasSubstr("503"), HasSubstr("garden healthcheck failed"))));
}

TEST_F(HttpCellClientTest, OtherNonOkStatusesAreInternalErrors) {
  // No handler for /state: the server answers 404.
  server_.Post("/work", [](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("boom", "text/plain");
  });
  std::unique_ptr<HttpCellClient> client = NewClient();
  ASSERT_NE(client, nullptr);

  EXPECT_THAT(client->State(),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("cell 'cell-z1-0'"), HasSubstr("GET " + Url() + "/state"),
                             HasSubstr("unexpected status code 404"))));
  EXPECT_THAT(client->Perform(Work{.lrps = {WorkLrp("web", 0)}}),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("POST " + Url() + "/work"),
                             HasSubstr("unexpected status code 500"))));
}

TEST_F(HttpCellClientTest, MalformedBodiesAreInternalErrorsNamingTheProblem) {
  server_.Get("/state", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{not json", "application/json");
  });
  server_.Post("/work", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"LRPs":[{"index":"zero"}]})", "application/json");
  });
  std::unique_ptr<HttpCellClient> client = NewClient();
  ASSERT_NE(client, nullptr);

  EXPECT_THAT(client->State(),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("cell 'cell-z1-0'"), HasSubstr("invalid body"),
                             HasSubstr("malformed JSON at offset"))));
  EXPECT_THAT(client->Perform(Work{}),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("LRPs[0].index: expected an integer, got string")));
}

TEST_F(HttpCellClientTest, SlowRepTimesOut) {
  absl::Notification release;
  server_.Get("/state", [&](const httplib::Request&, httplib::Response& res) {
    release.WaitForNotification();
    res.set_content(CellStateToJson(SampleState()), "application/json");
  });
  std::unique_ptr<HttpCellClient> client = NewClient(absl::Milliseconds(200));
  ASSERT_NE(client, nullptr);

  absl::StatusOr<CellState> state = client->State();
  release.Notify();  // Only now may the handler answer (into a closed connection).

  EXPECT_THAT(state, StatusIs(absl::StatusCode::kDeadlineExceeded,
                              AllOf(HasSubstr("cell 'cell-z1-0'"), HasSubstr("timed out"))));
}

TEST(HttpCellClientConnectTest, UnreachableRepIsUnavailable) {
  // Reserve an ephemeral port and release it, so nothing listens there.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  close(fd);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpCellClient> client,
                       HttpCellClient::Create("cell-gone", absl::StrCat("http://127.0.0.1:", port)));
  EXPECT_THAT(client->State(), StatusIs(absl::StatusCode::kUnavailable,
                                        AllOf(HasSubstr("cell 'cell-gone'"), HasSubstr("failed"))));
  EXPECT_THAT(client->Perform(Work{}), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(HttpCellClientCreateTest, RejectsUnsupportedUrlsAndTimeouts) {
  EXPECT_THAT(HttpCellClient::Create("c", "https://10.0.0.1:1801"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("cell 'c'"), HasSubstr("https://10.0.0.1:1801"),
                             HasSubstr("unsupported scheme 'https'"))));
  EXPECT_THAT(HttpCellClient::Create("c", "10.0.0.1:1800"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HttpCellClient::Create("c", "http://10.0.0.1:http"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("invalid port")));
  EXPECT_THAT(HttpCellClient::Create("c", "http://10.0.0.1:70000"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HttpCellClient::Create("c", "http://:1800"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty host")));
  EXPECT_THAT(HttpCellClient::Create("c", "http://10.0.0.1:1800", {.timeout = absl::ZeroDuration()}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timeout")));
  EXPECT_OK(HttpCellClient::Create("c", "http://[::1]:1800"));
  EXPECT_OK(HttpCellClient::Create("c", "http://cell.service.cf.internal"));
}

}  // namespace
}  // namespace diego::auction
