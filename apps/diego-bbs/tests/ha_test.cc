// Copyright 2026 The libdiego Authors.
//
// diego-bbs active/standby, end to end (reliability-scenarios.md 4.2, 4.3):
// real diego-bbs processes on one SQLite file, each serving Locket from that
// database, with a short lock TTL. Checked through the processes' own
// interfaces: the health listener's /readyz, the API (BbsClient), Locket over
// gRPC, log lines and exit statuses. Real time, no timing assertions: every
// wait polls with a generous bound. The one bound that is a property under
// test (SIGTERM releases the lock) runs with a lock TTL far above the bound.

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/base/logger.h"
#include "diego/bbs/client.h"
#include "diego/locket/cells.h"
#include "diego/locket/grpc.h"
#include "diego/model/v1/actual_lrp.pb.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/locket.pb.h"
#include "diego/testing/child_process.h"
#include "diego/testing/locket_requests.h"
#include "diego/testing/sample_models.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::bbs {
namespace {

namespace v1 = ::diego::model::v1;
using ::diego::fakes::SampleDesiredLrp;
using ::testing::AnyOf;
using ::testing::HasSubstr;

// Generous bounds for real processes on a loaded machine. A takeover after a
// kill needs Locket's sweep (5 s) plus the TTL (2 s) plus a retry.
constexpr absl::Duration kBound = absl::Seconds(90);
// Test 5: the standby must take over through the release, well before the
// lock could have expired (`kLongTtl`).
constexpr absl::Duration kReleaseBound = absl::Seconds(40);
constexpr char kLongTtl[] = "120s";

// Polls `condition` until it holds or `bound` passed.
bool PollUntil(const std::function<bool()>& condition, absl::Duration bound = kBound) {
  return fakes::PollUntil(condition, bound, absl::Milliseconds(50));
}

// A fresh directory under the test temp dir.
std::string FreshDir(absl::string_view name) {
  std::string pattern = absl::StrCat(::testing::TempDir(), "/", name, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

// One diego-bbs: its process, API port (chosen up front, so a standby's
// closed port can be probed) and health port (from its log).
struct Bbs {
  std::string name;
  int api_port = -1;
  int health_port = -1;
  std::unique_ptr<fakes::ChildProcess> process;
  std::unique_ptr<BbsClient> client;

  // GET /readyz: the status code, or -1 when the health listener does not
  // answer.
  int Readyz() const { return fakes::LoopbackGet(health_port, "/readyz", absl::Seconds(5)).first; }
  std::string Metrics() const {
    auto [status, body] = fakes::LoopbackGet(health_port, "/metrics");
    return status == 200 ? body : "";
  }
  // The API's /v1/ping: available, or the transport error.
  absl::StatusOr<bool> Ping() const { return client->Ping(); }
  bool Active() const {
    absl::StatusOr<bool> ping = Ping();
    return Readyz() == 200 && ping.ok() && *ping;
  }
};

class BbsHaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("diego-bbs-ha");
    ASSERT_FALSE(dir_.empty());
  }

  // Starts diego-bbs `name` on the shared database and waits until its
  // health listener serves (it may or may not become active). Null (a test
  // failure) if the process cannot be started.
  std::unique_ptr<Bbs> StartBbs(const std::string& name, std::vector<std::string> extra = {}) {
    auto bbs = std::make_unique<Bbs>();
    bbs->name = name;
    bbs->api_port = fakes::UnusedLoopbackPort();
    std::vector<std::string> argv = {
        DIEGO_BBS_BINARY,
        absl::StrCat("--db=sqlite://", dir_, "/bbs.db"),
        absl::StrCat("--listen_address=127.0.0.1:", bbs->api_port),
        "--health_address=127.0.0.1:0",
        "--locket_listen_address=",
        // Nothing listens on port 1: auction requests fail at once (logged;
        // convergence would re-send them).
        "--auctioneer_address=http://127.0.0.1:1",
        "--communication_timeout=2s",
        absl::StrCat("--uuid=", name),
        "--lock_ttl=2s",
        "--lock_retry_interval=500ms",
        "--converge_repeat_interval=1s",
        "--log_level=debug",
    };
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<fakes::ChildProcess>> process =
        fakes::ChildProcess::Start(argv, absl::StrCat(dir_, "/", name, ".log"));
    EXPECT_OK(process.status());
    if (!process.ok()) return nullptr;
    bbs->process = *std::move(process);
    absl::StatusOr<int> health_port =
        bbs->process->AwaitPort("bbs.server.health-started", "health_port", kBound);
    EXPECT_OK(health_port.status());
    if (health_port.ok()) bbs->health_port = *health_port;
    BbsClientOptions options;
    options.timeout = absl::Seconds(5);
    options.request_attempts = 1;
    absl::StatusOr<std::unique_ptr<BbsClient>> client =
        BbsClient::Create(absl::StrCat("http://127.0.0.1:", bbs->api_port), options);
    EXPECT_OK(client.status());
    if (client.ok()) bbs->client = *std::move(client);
    return bbs;
  }

  // Checks `standby` is a standby now: health serving, /readyz 503, API
  // port closed, never logged "bbs.ready".
  static void ExpectStandby(const Bbs& standby) {
    SCOPED_TRACE(standby.name);
    EXPECT_EQ(standby.Readyz(), 503);
    absl::StatusOr<bool> ping = standby.Ping();
    EXPECT_THAT(ping.status(), fakes::StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(ping.status().message(), HasSubstr("127.0.0.1"));
    EXPECT_TRUE(standby.process->Lines("bbs.ready").empty());
    EXPECT_THAT(standby.Metrics(), HasSubstr("\nLockHeld 0\n"));
  }

  // Starts two BBSs at once; returns {active, standby} once one of them is
  // active and the other has tried the lock and been refused.
  std::pair<std::unique_ptr<Bbs>, std::unique_ptr<Bbs>> StartPair(
      const std::vector<std::string>& extra = {}) {
    std::unique_ptr<Bbs> a = StartBbs("bbs-a", extra);
    std::unique_ptr<Bbs> b = StartBbs("bbs-b", extra);
    if (!a || !b) return {nullptr, nullptr};
    EXPECT_TRUE(PollUntil([&] {
      return !a->process->Lines("bbs.ready").empty() || !b->process->Lines("bbs.ready").empty();
    })) << a->process->Log()
        << b->process->Log();
    if (b->process->Lines("bbs.ready").empty()) return {std::move(a), std::move(b)};
    return {std::move(b), std::move(a)};
  }

  // Waits until `standby` was refused the lock at least once (the runner's
  // debug line), so its state is settled rather than not yet tried.
  static void AwaitRefused(const Bbs& standby) {
    EXPECT_OK(standby.process->AwaitLine("bbs.locket-lock.lock-held-by-another-owner").status());
  }

  // Whether the SQLite write lock can be taken within a short while (then
  // released again).
  bool DatabaseWritable() const {
    sqlite3* db = nullptr;
    const std::string path = absl::StrCat(dir_, "/bbs.db");
    bool writable = false;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
      sqlite3_busy_timeout(db, 200);
      writable = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
      if (writable) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    sqlite3_close(db);
    return writable;
  }

  // SIGSTOPs `process` at a moment it is not inside a write transaction: a
  // process frozen while holding SQLite's write lock would block every
  // other writer (the standby's Locket included) until it is thawed. If the
  // write lock stays taken after the stop, thaw and try again.
  bool FreezeOutsideAWrite(fakes::ChildProcess& process) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      process.Signal(SIGSTOP);
      if (PollUntil([&] { return DatabaseWritable(); }, absl::Seconds(3))) return true;
      process.Signal(SIGCONT);
      // Thawed, it finishes that write and releases the lock.
      PollUntil([&] { return DatabaseWritable(); }, absl::Seconds(10));
    }
    return false;
  }

  std::string dir_;
};

TEST_F(BbsHaTest, ExactlyOneIsActiveAndTheStandbyTakesOverAfterKill9) {
  auto [active, standby] = StartPair();
  ASSERT_TRUE(active && standby);
  AwaitRefused(*standby);

  // The active one: ready, API available, lock held.
  EXPECT_EQ(active->Readyz(), 200);
  ASSERT_OK_AND_ASSIGN(bool available, active->Ping());
  EXPECT_TRUE(available);
  EXPECT_THAT(active->Metrics(), HasSubstr("\nLockHeld 1\n"));
  ExpectStandby(*standby);

  // Data written through the active one.
  ASSERT_OK(active->client->DesireLrp(SampleDesiredLrp("web", 2)));

  active->process->Signal(SIGKILL);
  EXPECT_EQ(active->process->AwaitExit(), 128 + SIGKILL);
  ASSERT_TRUE(PollUntil([&] { return standby->Active(); })) << standby->process->Log();
  EXPECT_THAT(standby->Metrics(), HasSubstr("\nLockHeld 1\n"));
  ASSERT_OK_AND_ASSIGN(v1::DesiredLRP web, standby->client->DesiredLrpByProcessGuid("web"));
  EXPECT_EQ(web.instances(), 2);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::ActualLRP> actuals,
                       standby->client->ActualLrps({.process_guid = "web"}));
  EXPECT_EQ(actuals.size(), 2u);
  // And it writes.
  ASSERT_OK(standby->client->DesireLrp(SampleDesiredLrp("after-failover", 1)));
  EXPECT_OK(standby->client->DesiredLrpByProcessGuid("after-failover").status());
}

TEST_F(BbsHaTest, ABbsThatLostItsLockExitsWithStatus1AndWritesNothing) {
  auto [first, second] = StartPair();
  ASSERT_TRUE(first && second);
  AwaitRefused(*second);
  ASSERT_OK(first->client->DesireLrp(SampleDesiredLrp("before", 1)));

  // Freeze the active BBS: its lease runs out, the standby takes over.
  ASSERT_TRUE(FreezeOutsideAWrite(*first->process));
  ASSERT_TRUE(PollUntil([&] { return second->Active(); })) << second->process->Log();
  ASSERT_OK(second->client->DesireLrp(SampleDesiredLrp("after", 3)));

  // Thawed, the old active exits 1: either its refresh fails
  // (lock-collision) or its lease watchdog sees the lease ran out first.
  first->process->Signal(SIGCONT);
  EXPECT_EQ(first->process->AwaitExit(), 1) << first->process->Log();
  std::vector<LogEntry> lost = first->process->Lines("bbs.lock.lost");
  ASSERT_EQ(lost.size(), 1u) << first->process->Log();
  EXPECT_THAT(lost[0].data["error"],
              AnyOf(HasSubstr("lock-collision"),
                    HasSubstr("the lock's lease ran out without a successful refresh")));

  // The new active is unaffected and the data is consistent.
  EXPECT_TRUE(second->Active());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::DesiredLRP> lrps, second->client->DesiredLrps({}));
  ASSERT_EQ(lrps.size(), 2u);
  ASSERT_OK_AND_ASSIGN(v1::DesiredLRP after, second->client->DesiredLrpByProcessGuid("after"));
  EXPECT_EQ(after.instances(), 3);
  ASSERT_OK_AND_ASSIGN(std::vector<v1::ActualLRP> actuals,
                       second->client->ActualLrps({.process_guid = "after"}));
  EXPECT_EQ(actuals.size(), 3u);
  EXPECT_OK(second->client->DesiredLrpByProcessGuid("before").status());
}

TEST_F(BbsHaTest, SigtermReleasesTheLockAndTheStandbyTakesOverBeforeItCouldExpire) {
  auto [active, standby] = StartPair({absl::StrCat("--lock_ttl=", kLongTtl)});
  ASSERT_TRUE(active && standby);
  AwaitRefused(*standby);
  ExpectStandby(*standby);

  active->process->Signal(SIGTERM);
  EXPECT_EQ(active->process->AwaitExit(), 0) << active->process->Log();
  EXPECT_FALSE(active->process->Lines("bbs.locket-lock.released-lock").empty())
      << active->process->Log();
  // With a 120 s TTL, only the release can make it active this soon.
  EXPECT_TRUE(PollUntil([&] { return standby->Active(); }, kReleaseBound))
      << standby->process->Log();
}

TEST_F(BbsHaTest, TheActiveBbsConverges) {
  std::unique_ptr<Bbs> bbs = StartBbs("bbs-a");
  ASSERT_NE(bbs, nullptr);
  ASSERT_OK(bbs->process->AwaitLine("bbs.ready").status());
  ASSERT_OK(bbs->client->DesireLrp(SampleDesiredLrp("web", 1)));
  ASSERT_OK_AND_ASSIGN(std::vector<v1::ActualLRP> actuals,
                       bbs->client->ActualLrps({.process_guid = "web"}));
  ASSERT_EQ(actuals.size(), 1u);
  EXPECT_EQ(actuals[0].state(), "UNCLAIMED");
  const std::string epoch = actuals[0].modification_tag().epoch();

  // Retiring the UNCLAIMED instance deletes its row; the desired count is
  // unchanged, so convergence creates the instance again (a new row).
  ASSERT_OK(bbs->client->RetireActualLrp(actuals[0].actual_lrp_key()));
  EXPECT_TRUE(PollUntil([&] {
    absl::StatusOr<std::vector<v1::ActualLRP>> now =
        bbs->client->ActualLrps({.process_guid = "web"});
    return now.ok() && now->size() == 1 && (*now)[0].modification_tag().epoch() != epoch &&
           (*now)[0].state() == "UNCLAIMED";
  })) << bbs->process->Log();
  EXPECT_THAT(bbs->Metrics(), HasSubstr("ConvergenceLRPRuns"));
}

TEST_F(BbsHaTest, InProcessLocketIsServedOverGrpcAndItsPresencesAreTheCells) {
  std::unique_ptr<Bbs> bbs = StartBbs("bbs-a", {"--locket_listen_address=127.0.0.1:0"});
  ASSERT_NE(bbs, nullptr);
  ASSERT_OK_AND_ASSIGN(int locket_port, bbs->process->AwaitPort("bbs.locket.listening"));
  ASSERT_OK(bbs->process->AwaitLine("bbs.ready").status());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<locket::GrpcLocketClient> client,
                       locket::GrpcLocketClient::Create(absl::StrCat("127.0.0.1:", locket_port)));

  // The BBS's lock is visible through its Locket.
  v1::FetchRequest fetch;
  fetch.set_key("bbs");
  ASSERT_OK_AND_ASSIGN(v1::FetchResponse held, client->Fetch(fetch, absl::Seconds(10)));
  EXPECT_EQ(held.resource().owner(), "bbs-a");

  // A rep's presence registered there is a cell of the BBS API.
  v1::CellPresence cell;
  cell.set_cell_id("cell-1");
  cell.set_rep_address("http://127.0.0.1:1800");
  cell.set_rep_url("http://cell-1.cell.service.cf.internal:1800");
  cell.mutable_capacity()->set_memory_mb(1024);
  cell.mutable_capacity()->set_disk_mb(1024);
  cell.mutable_capacity()->set_containers(10);
  const v1::LockRequest presence = fakes::MakeLockRequest(
      fakes::MakeResource("cell-1", "rep-guid", v1::PRESENCE, locket::CellPresenceValue(cell)), 60);
  ASSERT_OK(client->Lock(presence, absl::Seconds(10)).status());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::CellPresence> cells, bbs->client->Cells());
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].cell_id(), "cell-1");
  EXPECT_EQ(cells[0].rep_address(), "http://127.0.0.1:1800");
}

// Two BBSs on a remote Locket (diego-locket on the same database file): the
// lock, the failover and the cells all go through gRPC.
TEST_F(BbsHaTest, RemoteLocketLockFailoverAndCells) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<fakes::ChildProcess> locket,
                       fakes::ChildProcess::Start(
                           {DIEGO_LOCKET_BINARY, absl::StrCat("--db=sqlite://", dir_, "/bbs.db"),
                            "--listen_address=127.0.0.1:0"},
                           absl::StrCat(dir_, "/locket.log")));
  ASSERT_OK_AND_ASSIGN(int locket_port, locket->AwaitPort("locket.started"));
  const std::string address = absl::StrCat("127.0.0.1:", locket_port);

  auto [active, standby] = StartPair({absl::StrCat("--locket_address=", address)});
  ASSERT_TRUE(active && standby);
  AwaitRefused(*standby);
  EXPECT_TRUE(active->Active());
  ExpectStandby(*standby);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<locket::GrpcLocketClient> client,
                       locket::GrpcLocketClient::Create(address));
  v1::CellPresence cell;
  cell.set_cell_id("cell-9");
  cell.set_rep_address("http://127.0.0.1:1800");
  const v1::LockRequest presence = fakes::MakeLockRequest(
      fakes::MakeResource("cell-9", "rep-guid", v1::PRESENCE, locket::CellPresenceValue(cell)),
      120);
  ASSERT_OK(client->Lock(presence, absl::Seconds(10)).status());
  ASSERT_OK_AND_ASSIGN(std::vector<v1::CellPresence> cells, active->client->Cells());
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].cell_id(), "cell-9");

  ASSERT_OK(active->client->DesireLrp(SampleDesiredLrp("web", 1)));
  active->process->Signal(SIGKILL);
  EXPECT_EQ(active->process->AwaitExit(), 128 + SIGKILL);
  ASSERT_TRUE(PollUntil([&] { return standby->Active(); })) << standby->process->Log();
  EXPECT_OK(standby->client->DesiredLrpByProcessGuid("web").status());
  ASSERT_OK_AND_ASSIGN(cells, standby->client->Cells());
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].cell_id(), "cell-9");
}

}  // namespace
}  // namespace diego::bbs
