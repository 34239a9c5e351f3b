// Copyright 2026 The libdiego Authors.
//
// LocketGrpcServer and GrpcLocketClient over real gRPC on 127.0.0.1:0: every
// RPC round trip, statuses travelling with their exact code and message,
// deadlines, an unreachable server, bad settings, mutual TLS with a throwaway
// PKI, and finally the whole stack over a real LocketService on SQLite.
//
// Most tests serve a `ScriptedBackend` (below) so they do not depend on the
// Locket service's semantics; the end-to-end test at the bottom does.

#include "diego/locket/grpc.h"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/bbs/schema.h"
#include "diego/bbs/sql.h"
#include "diego/locket/errors.h"
#include "diego/locket/lock_store.h"
#include "diego/locket/service.h"
#include "diego/model/v1/locket.pb.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/locket_requests.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "diego/testing/test_pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// `Resource.type` / `FetchAllRequest.type` are deprecated upstream; Diego's
// clients still send them and Locket still answers them.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {
namespace {

namespace v1 = ::diego::model::v1;
using ::diego::fakes::FakeClock;
using ::diego::fakes::MakeFetchAllRequest;
using ::diego::fakes::MakeFetchRequest;
using ::diego::fakes::MakeLockRequest;
using ::diego::fakes::MakeReleaseRequest;
using ::diego::fakes::MakeResource;
using ::diego::fakes::StatusIs;
using ::diego::fakes::TestLogger;
using ::diego::fakes::TestPki;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr absl::Duration kTimeout = absl::Seconds(30);

// gRPC sends a deadline as a `grpc-timeout` of a few significant digits,
// rounded up, so the server may see up to ~1% more than the client asked for.
absl::Duration AsSentOnTheWire(absl::Duration timeout) { return timeout * 1.01; }

// A LocketClient whose answers the test chooses. Every call records its
// request (text form) and the timeout the server passed down, then answers
// `fail_with` if set, else the canned response. With `BlockCalls()`, calls
// wait until `Unblock()`.
class ScriptedBackend final : public LocketClient {
 public:
  ~ScriptedBackend() override { Unblock(); }

  void FailWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_with_ = std::move(status);
  }
  void SetFetchResponse(v1::FetchResponse response) {
    absl::MutexLock lock(&mu_);
    fetch_response_ = std::move(response);
  }
  void SetFetchAllResponse(v1::FetchAllResponse response) {
    absl::MutexLock lock(&mu_);
    fetch_all_response_ = std::move(response);
  }
  void BlockCalls() {
    absl::MutexLock lock(&mu_);
    release_ = std::make_shared<absl::Notification>();
  }
  void Unblock() {
    absl::MutexLock lock(&mu_);
    if (release_ != nullptr && !release_->HasBeenNotified()) release_->Notify();
  }

  std::vector<std::string> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<absl::Duration> timeouts() const {
    absl::MutexLock lock(&mu_);
    return timeouts_;
  }

  absl::StatusOr<v1::LockResponse> Lock(const v1::LockRequest& request,
                                        absl::Duration timeout) override {
    return Answer(request, timeout, v1::LockResponse());
  }
  absl::StatusOr<v1::FetchResponse> Fetch(const v1::FetchRequest& request,
                                          absl::Duration timeout) override {
    return Answer(request, timeout, Canned(&ScriptedBackend::fetch_response_));
  }
  absl::StatusOr<v1::ReleaseResponse> Release(const v1::ReleaseRequest& request,
                                              absl::Duration timeout) override {
    return Answer(request, timeout, v1::ReleaseResponse());
  }
  absl::StatusOr<v1::FetchAllResponse> FetchAll(const v1::FetchAllRequest& request,
                                                absl::Duration timeout) override {
    return Answer(request, timeout, Canned(&ScriptedBackend::fetch_all_response_));
  }

 private:
  template <typename T>
  T Canned(T ScriptedBackend::*field) const {
    absl::MutexLock lock(&mu_);
    return this->*field;
  }

  template <typename Response>
  absl::StatusOr<Response> Answer(const google::protobuf::Message& request, absl::Duration timeout,
                                  Response response) {
    std::shared_ptr<absl::Notification> release;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(absl::StrCat(request.GetTypeName(), " ", request.ShortDebugString()));
      timeouts_.push_back(timeout);
      release = release_;
    }
    if (release != nullptr) release->WaitForNotification();
    absl::MutexLock lock(&mu_);
    if (!fail_with_.ok()) return fail_with_;
    return response;
  }

  mutable absl::Mutex mu_;
  absl::Status fail_with_ ABSL_GUARDED_BY(mu_);
  v1::FetchResponse fetch_response_ ABSL_GUARDED_BY(mu_);
  v1::FetchAllResponse fetch_all_response_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<absl::Notification> release_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> timeouts_ ABSL_GUARDED_BY(mu_);
};

std::string Text(const google::protobuf::Message& message) {
  return absl::StrCat(message.GetTypeName(), " ", message.ShortDebugString());
}

class LocketGrpcTest : public ::testing::Test {
 protected:
  // A handler still blocked in the backend would hold up the server's Stop().
  void TearDown() override { backend_.Unblock(); }

  // Starts a server over `backend_` on 127.0.0.1:0.
  void StartServer(std::optional<GrpcTls> tls = std::nullopt) {
    server_ = std::make_unique<LocketGrpcServer>(
        &backend_, *log_.logger(), LocketGrpcServer::Options{"127.0.0.1:0", std::move(tls)});
    ASSERT_OK(server_->Start());
    ASSERT_GT(server_->port(), 0);
  }

  std::string Address() const { return absl::StrCat("127.0.0.1:", server_->port()); }

  std::unique_ptr<GrpcLocketClient> NewClient(std::optional<GrpcTls> tls = std::nullopt) {
    absl::StatusOr<std::unique_ptr<GrpcLocketClient>> client =
        GrpcLocketClient::Create(Address(), std::move(tls));
    EXPECT_OK(client.status());
    return client.ok() ? *std::move(client) : nullptr;
  }

  TestLogger log_{"locket"};
  ScriptedBackend backend_;  // Outlives the server.
  std::unique_ptr<LocketGrpcServer> server_;
};

TEST_F(LocketGrpcTest, EveryRpcRoundTrips) {
  StartServer();
  std::unique_ptr<GrpcLocketClient> client = NewClient();
  ASSERT_NE(client, nullptr);

  const v1::LockRequest lock =
      MakeLockRequest(MakeResource("bbs", "bbs-uuid", v1::LOCK, "{\"a\":1}"), 15);
  EXPECT_OK(client->Lock(lock, kTimeout));

  v1::FetchResponse fetched;
  *fetched.mutable_resource() = MakeResource("cell-1", "rep-uuid", v1::PRESENCE, "{}");
  backend_.SetFetchResponse(fetched);
  ASSERT_OK_AND_ASSIGN(v1::FetchResponse fetch,
                       client->Fetch(MakeFetchRequest("cell-1"), kTimeout));
  EXPECT_EQ(Text(fetch), Text(fetched));

  const v1::ReleaseRequest release = MakeReleaseRequest(MakeResource("bbs", "bbs-uuid"));
  EXPECT_OK(client->Release(release, kTimeout));

  v1::FetchAllResponse all;
  *all.add_resources() = MakeResource("cell-1", "rep-1", v1::PRESENCE, "{\"cell_id\":\"cell-1\"}");
  *all.add_resources() = MakeResource("cell-2", "rep-2", v1::PRESENCE);
  backend_.SetFetchAllResponse(all);
  v1::FetchAllRequest fetch_all = MakeFetchAllRequest(v1::PRESENCE);
  fetch_all.set_type("presence");
  ASSERT_OK_AND_ASSIGN(v1::FetchAllResponse listed, client->FetchAll(fetch_all, kTimeout));
  EXPECT_EQ(Text(listed), Text(all));

  // The backend saw exactly what was sent, in order.
  EXPECT_THAT(backend_.requests(),
              ::testing::ElementsAre(Text(lock), Text(MakeFetchRequest("cell-1")), Text(release),
                                     Text(fetch_all)));
  // Each call's deadline reached the backend as a finite timeout.
  for (absl::Duration timeout : backend_.timeouts()) {
    EXPECT_GT(timeout, absl::ZeroDuration());
    EXPECT_LE(timeout, AsSentOnTheWire(kTimeout));
  }

  // One debug line per call; Lock carries a request id, as Diego's runner's.
  std::vector<diego::LogEntry> requests;
  for (const diego::LogEntry& entry : log_.Entries()) {
    if (entry.message == "locket.grpc-server.request") requests.push_back(entry);
  }
  ASSERT_THAT(requests, SizeIs(4));
  EXPECT_EQ(requests[0].data["method"], "lock");
  EXPECT_THAT(requests[0].data["request-uuid"], SizeIs(36));
  EXPECT_EQ(requests[3].data["method"], "fetch-all");
  EXPECT_EQ(requests[3].data.count("request-uuid"), 0u);
  EXPECT_TRUE(log_.Contains("locket.grpc-server.started"));
}

TEST_F(LocketGrpcTest, EmptyRequestsAndResponsesRoundTrip) {
  StartServer();
  std::unique_ptr<GrpcLocketClient> client = NewClient();
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(v1::FetchAllResponse listed,
                       client->FetchAll(v1::FetchAllRequest(), kTimeout));
  EXPECT_EQ(listed.resources_size(), 0);
  ASSERT_OK_AND_ASSIGN(v1::FetchResponse fetched, client->Fetch(v1::FetchRequest(), kTimeout));
  EXPECT_FALSE(fetched.has_resource());
  EXPECT_THAT(backend_.requests(), ::testing::ElementsAre("diego.model.v1.FetchAllRequest ",
                                                          "diego.model.v1.FetchRequest "));
}

TEST_F(LocketGrpcTest, StatusesKeepTheirCodeAndMessage) {
  StartServer();
  std::unique_ptr<GrpcLocketClient> client = NewClient();
  ASSERT_NE(client, nullptr);
  const absl::Status statuses[] = {
      ErrLockCollision(),
      ErrInvalidTtl(),
      ErrInvalidOwner(),
      ErrResourceNotFound(),
      ErrInvalidType(),
      absl::InternalError("database is locked"),
      absl::UnavailableError("the database went away"),
      absl::FailedPreconditionError("no"),
  };
  for (const absl::Status& status : statuses) {
    SCOPED_TRACE(status.ToString());
    backend_.FailWith(status);
    EXPECT_EQ(client->Lock(MakeLockRequest(MakeResource("k", "o"), 1), kTimeout).status(), status);
    EXPECT_EQ(client->Fetch(MakeFetchRequest("k"), kTimeout).status(), status);
    EXPECT_EQ(client->Release(MakeReleaseRequest(MakeResource("k", "o")), kTimeout).status(),
              status);
    EXPECT_EQ(client->FetchAll(MakeFetchAllRequest(v1::LOCK), kTimeout).status(), status);
  }
  // A collision is still recognisable after the trip.
  backend_.FailWith(ErrLockCollision());
  EXPECT_TRUE(
      IsLockCollision(client->Lock(MakeLockRequest(MakeResource("k", "o"), 1), kTimeout).status()));

  // Locket's own answers are debug lines; other failures are error lines.
  bool internal_logged = false;
  for (const diego::LogEntry& entry : log_.Entries()) {
    if (entry.message == "locket.grpc-server.request-failed") {
      EXPECT_EQ(entry.log_level, LogLevel::kError);
      EXPECT_NE(entry.data.at("error"), "lock-collision");
      internal_logged |= entry.data.at("error") == "database is locked";
    }
  }
  EXPECT_TRUE(internal_logged);
}

TEST_F(LocketGrpcTest, ClientDeadlinePassesWhileTheBackendBlocks) {
  StartServer();
  std::unique_ptr<GrpcLocketClient> client = NewClient();
  ASSERT_NE(client, nullptr);
  backend_.BlockCalls();
  EXPECT_THAT(client->Lock(MakeLockRequest(MakeResource("bbs", "a"), 15), absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  // If the call reached the backend before its deadline passed, the server
  // passed that deadline down: at most what was asked.
  for (absl::Duration timeout : backend_.timeouts()) {
    EXPECT_LE(timeout, AsSentOnTheWire(absl::Milliseconds(200)));
  }
  backend_.Unblock();

  // The server is still serving.
  EXPECT_OK(client->Fetch(MakeFetchRequest("bbs"), kTimeout));
  // A timeout that has already passed never reaches the backend.
  const size_t calls = backend_.requests().size();
  EXPECT_THAT(client->Fetch(MakeFetchRequest("bbs"), absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(client->Fetch(MakeFetchRequest("bbs"), absl::Seconds(-1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(backend_.requests(), SizeIs(calls));
}

TEST_F(LocketGrpcTest, UnreachableServerIsUnavailable) {
  StartServer();
  const std::string address = Address();
  server_->Stop();
  server_->Stop();  // Idempotent.
  EXPECT_TRUE(log_.Contains("locket.grpc-server.stopped"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<GrpcLocketClient> client, GrpcLocketClient::Create(address));
  EXPECT_THAT(client->Lock(MakeLockRequest(MakeResource("bbs", "a"), 15), kTimeout),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(client->FetchAll(MakeFetchAllRequest(v1::LOCK), kTimeout),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(backend_.requests(), ::testing::IsEmpty());
}

TEST_F(LocketGrpcTest, BadAddressesAreRejected) {
  EXPECT_THAT(GrpcLocketClient::Create("locket.service.cf.internal"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Locket address")));
  EXPECT_THAT(GrpcLocketClient::Create(":8891"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs a host")));
  EXPECT_THAT(GrpcLocketClient::Create("127.0.0.1:0"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(GrpcLocketClient::Create("[::1]:8891"));

  LocketGrpcServer server(&backend_, *log_.logger(), {"127.0.0.1:http", std::nullopt});
  EXPECT_THAT(server.Start(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("listen address")));
}

TEST_F(LocketGrpcTest, PortInUseIsUnavailable) {
  StartServer();
  LocketGrpcServer second(&backend_, *log_.logger(), {Address(), std::nullopt});
  EXPECT_THAT(second.Start(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot listen")));
  EXPECT_THAT(second.Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
  // The first server still answers.
  std::unique_ptr<GrpcLocketClient> client = NewClient();
  ASSERT_NE(client, nullptr);
  EXPECT_OK(client->Fetch(MakeFetchRequest("bbs"), kTimeout));
}

// -----------------------------------------------------------------------------
// Mutual TLS.
// -----------------------------------------------------------------------------

class LocketGrpcTlsTest : public LocketGrpcTest {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/locket_grpc_tls_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    pki_ = std::make_unique<TestPki>(dir_);
    ASSERT_TRUE(pki_->MakeMutualTlsSet());
    ASSERT_TRUE(pki_->Make("rogue-server", "rogue-ca", false, true));
  }

  void TearDown() override {
    LocketGrpcTest::TearDown();
    std::filesystem::remove_all(dir_);
  }

  GrpcTls Tls(const std::string& name, const std::string& ca = "ca") const {
    return GrpcTls{pki_->Cert(ca), pki_->Cert(name), pki_->Key(name), ""};
  }

  std::string dir_;
  std::unique_ptr<TestPki> pki_;
};

TEST_F(LocketGrpcTlsTest, MutualTlsRoundTrip) {
  StartServer(Tls("server"));
  std::unique_ptr<GrpcLocketClient> client = NewClient(Tls("client"));
  ASSERT_NE(client, nullptr);
  EXPECT_OK(client->Lock(MakeLockRequest(MakeResource("bbs", "a"), 15), kTimeout));
  backend_.FailWith(ErrResourceNotFound());
  EXPECT_EQ(client->Fetch(MakeFetchRequest("bbs"), kTimeout).status(), ErrResourceNotFound());
  EXPECT_THAT(backend_.requests(), SizeIs(2));
}

TEST_F(LocketGrpcTlsTest, ClientsWithoutAnAcceptedCertificateAreRefused) {
  StartServer(Tls("server"));
  // TLS without a client certificate.
  std::unique_ptr<GrpcLocketClient> no_cert = NewClient(GrpcTls{pki_->Cert("ca"), "", "", ""});
  ASSERT_NE(no_cert, nullptr);
  EXPECT_THAT(no_cert->Fetch(MakeFetchRequest("bbs"), kTimeout),
              StatusIs(absl::StatusCode::kUnavailable));
  // A certificate from another CA.
  std::unique_ptr<GrpcLocketClient> rogue = NewClient(Tls("rogue"));
  ASSERT_NE(rogue, nullptr);
  EXPECT_THAT(rogue->Fetch(MakeFetchRequest("bbs"), kTimeout),
              StatusIs(absl::StatusCode::kUnavailable));
  // Plaintext.
  std::unique_ptr<GrpcLocketClient> plain = NewClient();
  ASSERT_NE(plain, nullptr);
  EXPECT_THAT(plain->Fetch(MakeFetchRequest("bbs"), kTimeout),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(backend_.requests(), ::testing::IsEmpty());
}

TEST_F(LocketGrpcTlsTest, ClientVerifiesTheServer) {
  // A server whose certificate chains to another CA.
  StartServer(Tls("rogue-server"));
  std::unique_ptr<GrpcLocketClient> client = NewClient(Tls("client"));
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Fetch(MakeFetchRequest("bbs"), kTimeout),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(backend_.requests(), ::testing::IsEmpty());
}

TEST_F(LocketGrpcTlsTest, ServerNameOverride) {
  StartServer(Tls("server"));
  // The certificate names IP 127.0.0.1 only.
  GrpcTls wrong_name = Tls("client");
  wrong_name.server_name = "locket.service.cf.internal";
  std::unique_ptr<GrpcLocketClient> wrong = NewClient(wrong_name);
  ASSERT_NE(wrong, nullptr);
  EXPECT_THAT(wrong->Fetch(MakeFetchRequest("bbs"), kTimeout),
              StatusIs(absl::StatusCode::kUnavailable));

  GrpcTls by_ip = Tls("client");
  by_ip.server_name = "127.0.0.1";
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<GrpcLocketClient> right,
      GrpcLocketClient::Create(absl::StrCat("localhost:", server_->port()), by_ip));
  EXPECT_OK(right->Fetch(MakeFetchRequest("bbs"), kTimeout));
}

TEST_F(LocketGrpcTlsTest, UnusableTlsFilesAreNamed) {
  const std::string missing = dir_ + "/missing.crt";
  {
    LocketGrpcServer server(
        &backend_, *log_.logger(),
        {"127.0.0.1:0", GrpcTls{pki_->Cert("ca"), missing, pki_->Key("server"), ""}});
    EXPECT_THAT(server.Start(),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(missing)));
  }
  {
    // Certificate given as the key.
    LocketGrpcServer server(
        &backend_, *log_.logger(),
        {"127.0.0.1:0", GrpcTls{pki_->Cert("ca"), pki_->Cert("server"), pki_->Cert("server"), ""}});
    EXPECT_THAT(server.Start(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                         HasSubstr("holds no PEM PRIVATE KEY")));
  }
  {
    LocketGrpcServer server(&backend_, *log_.logger(),
                            {"127.0.0.1:0", GrpcTls{pki_->Cert("ca"), "", "", ""}});
    EXPECT_THAT(server.Start(), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(GrpcLocketClient::Create("127.0.0.1:8891", GrpcTls{missing, "", "", ""}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(missing)));
  EXPECT_THAT(GrpcLocketClient::Create("127.0.0.1:8891",
                                       GrpcTls{pki_->Cert("ca"), pki_->Cert("client"), "", ""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A key file that is a CA: the CA file must hold a certificate.
  EXPECT_THAT(
      GrpcLocketClient::Create("127.0.0.1:8891", GrpcTls{pki_->Key("ca"), "", "", ""}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("holds no PEM CERTIFICATE")));
}

// -----------------------------------------------------------------------------
// End to end: GrpcLocketClient -> LocketGrpcServer -> LocketService ->
// LockStore on SQLite.
// -----------------------------------------------------------------------------

TEST(LocketGrpcEndToEndTest, LocketServiceOverSqlite) {
  const std::string dir = ::testing::TempDir() + "/locket_grpc_e2e_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<bbs::SqlDatabase> db,
                       bbs::SqlDatabase::Open(absl::StrCat("sqlite://", dir, "/locket.db")));
  ASSERT_OK(bbs::MigrateSchema(*db));
  LockStore store(db.get());
  FakeClock clock;
  TestLogger log("locket", &clock);
  LocketService service(&store, &clock, *log.logger());
  LocketGrpcServer server(&service, *log.logger(), {"127.0.0.1:0", std::nullopt});
  ASSERT_OK(server.Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<GrpcLocketClient> client,
                       GrpcLocketClient::Create(absl::StrCat("127.0.0.1:", server.port())));

  // Lock, collide, refresh.
  EXPECT_OK(client->Lock(MakeLockRequest(MakeResource("bbs", "bbs-a"), 15), kTimeout));
  EXPECT_EQ(client->Lock(MakeLockRequest(MakeResource("bbs", "bbs-b"), 15), kTimeout).status(),
            ErrLockCollision());
  EXPECT_OK(
      client->Lock(MakeLockRequest(MakeResource("bbs", "bbs-a", v1::LOCK, "v2"), 15), kTimeout));
  // Validation errors travel as Locket's.
  EXPECT_EQ(client->Lock(MakeLockRequest(MakeResource("x", "o"), 0), kTimeout).status(),
            ErrInvalidTtl());
  EXPECT_EQ(client->Lock(MakeLockRequest(MakeResource("x", ""), 5), kTimeout).status(),
            ErrInvalidOwner());
  EXPECT_EQ(
      client->Lock(MakeLockRequest(MakeResource("x", "o", v1::UNKNOWN), 5), kTimeout).status(),
      ErrInvalidType());

  ASSERT_OK_AND_ASSIGN(v1::FetchResponse fetched, client->Fetch(MakeFetchRequest("bbs"), kTimeout));
  EXPECT_EQ(fetched.resource().owner(), "bbs-a");
  EXPECT_EQ(fetched.resource().value(), "v2");
  EXPECT_EQ(fetched.resource().type(), "lock");
  EXPECT_EQ(fetched.resource().type_code(), v1::LOCK);
  EXPECT_EQ(client->Fetch(MakeFetchRequest("nope"), kTimeout).status(), ErrResourceNotFound());

  // A presence; FetchAll filters by type.
  EXPECT_OK(client->Lock(
      MakeLockRequest(MakeResource("cell-1", "rep-1", v1::PRESENCE, "{\"cell_id\":\"cell-1\"}"), 5),
      kTimeout));
  ASSERT_OK_AND_ASSIGN(v1::FetchAllResponse locks,
                       client->FetchAll(MakeFetchAllRequest(v1::LOCK), kTimeout));
  ASSERT_THAT(locks.resources(), SizeIs(1));
  EXPECT_EQ(locks.resources(0).key(), "bbs");
  ASSERT_OK_AND_ASSIGN(v1::FetchAllResponse presences,
                       client->FetchAll(MakeFetchAllRequest(v1::PRESENCE), kTimeout));
  ASSERT_THAT(presences.resources(), SizeIs(1));
  EXPECT_EQ(presences.resources(0).key(), "cell-1");
  EXPECT_EQ(presences.resources(0).type(), "presence");
  EXPECT_EQ(client->FetchAll(MakeFetchAllRequest(v1::UNKNOWN), kTimeout).status(),
            ErrInvalidType());

  // Release: only the owner; a missing key is fine.
  EXPECT_EQ(client->Release(MakeReleaseRequest(MakeResource("bbs", "bbs-b")), kTimeout).status(),
            ErrLockCollision());
  EXPECT_OK(client->Release(MakeReleaseRequest(MakeResource("bbs", "bbs-a")), kTimeout));
  EXPECT_EQ(client->Fetch(MakeFetchRequest("bbs"), kTimeout).status(), ErrResourceNotFound());
  EXPECT_OK(client->Release(MakeReleaseRequest(MakeResource("bbs", "bbs-a")), kTimeout));

  // The presence expires after its TTL without a refresh.
  clock.Advance(absl::Seconds(5));
  ASSERT_OK_AND_ASSIGN(int expired, service.ExpireDue());
  EXPECT_EQ(expired, 1);
  EXPECT_EQ(client->Fetch(MakeFetchRequest("cell-1"), kTimeout).status(), ErrResourceNotFound());
  ASSERT_OK_AND_ASSIGN(presences, client->FetchAll(MakeFetchAllRequest(v1::PRESENCE), kTimeout));
  EXPECT_THAT(presences.resources(), ::testing::IsEmpty());
  server.Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace diego::locket
