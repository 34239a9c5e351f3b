// Copyright 2026 The libdiego Authors.
//
// GardenServer in front of fakes::FakeGardenBackend, driven by
// HttpGardenClient over a unix socket and over TCP: every route round trip,
// typed errors, Run/Attach streaming, timeouts, Stop with open streams, and
// the exact bytes Garden's Go client sends and Garden's Go server answers.

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/garden/errors.h"
#include "diego/garden/http_client.h"
#include "diego/garden/http_server.h"
#include "diego/testing/child_process.h"
#include "diego/testing/fake_garden_backend.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http_wire.h"

namespace diego::garden {
namespace {

using ::diego::fakes::FakeGardenBackend;
using ::diego::fakes::FakeProcessContext;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const absl::Duration kWait = absl::Seconds(30);

// A fresh, short directory under ::testing::TempDir() (unix socket paths are
// limited to 107 bytes, too short for directories named after tests).
std::string ShortDir() {
  static std::atomic<int> counter{0};
  std::string dir = absl::StrCat(::testing::TempDir(), "dgh-", getpid(), "-", counter.fetch_add(1));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Thread-safe output collector for ProcessIO sinks.
class Collector {
 public:
  std::function<void(absl::string_view)> Sink() {
    return [this](absl::string_view d) {
      absl::MutexLock lock(&mu_);
      data_.append(d.data(), d.size());
    };
  }
  std::string Get() {
    absl::MutexLock lock(&mu_);
    return data_;
  }
  // Blocks until the collected output contains `text` (bounded).
  bool WaitFor(const std::string& text) {
    absl::MutexLock lock(&mu_);
    auto has = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return data_.find(text) != std::string::npos; };
    return mu_.AwaitWithTimeout(absl::Condition(&has), kWait);
  }

 private:
  absl::Mutex mu_;
  std::string data_ ABSL_GUARDED_BY(mu_);
};

// Runs the program at `path` in `c`, its stdout collected by `out`.
absl::StatusOr<std::unique_ptr<Process>> RunCollectingStdout(Container& c,
                                                             const std::string& path,
                                                             Collector& out) {
  ProcessIO io;
  io.stdout_sink = out.Sink();
  ProcessSpec spec;
  spec.path = path;
  return c.Run(spec, io);
}

// A backend whose Ping blocks until released: a hung Garden.
class HungPingBackend : public fakes::GardenBackendWrapper {
 public:
  using GardenBackendWrapper::GardenBackendWrapper;
  absl::Status Ping() override {
    entered_.fetch_add(1);
    release_.WaitForNotification();
    return GardenBackendWrapper::Ping();
  }
  void Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
  }
  int entered() const { return entered_.load(); }

 private:
  absl::Notification release_;
  std::atomic<int> entered_{0};
};

std::string AllBytes(size_t n) {
  std::string s;
  s.reserve(n);
  for (size_t i = 0; i < n; ++i) s += static_cast<char>((i * 7 + i / 256) & 0xff);
  return s;
}

class GardenHttpTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = ShortDir();
    FakeGardenBackend::Options fo;
    fo.max_containers = 5;
    fake_ = std::make_unique<FakeGardenBackend>(fo);
    ASSERT_OK(fake_->Start());
    hung_ = std::make_unique<HungPingBackend>(fake_.get());
    GardenServerOptions so;
    so.listen_network = GetParam();
    so.listen_address = GetParam() == "unix" ? dir_ + "/garden.sock" : "127.0.0.1:0";
    server_ = std::make_unique<GardenServer>(hung_.get(), so);
    ASSERT_OK(server_->Start());
    client_ = NewClient();
  }

  void TearDown() override {
    hung_->Release();
    client_.reset();
    server_.reset();
    fake_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Address() const {
    return GetParam() == "unix" ? dir_ + "/garden.sock" : absl::StrCat("127.0.0.1:", server_->Port());
  }

  std::unique_ptr<HttpGardenClient> NewClient(absl::Duration request_timeout = absl::Seconds(30)) {
    HttpGardenClientOptions o;
    o.network = GetParam();
    o.address = Address();
    o.request_timeout = request_timeout;
    return std::make_unique<HttpGardenClient>(o);
  }

  std::unique_ptr<Container> MustCreate(const std::string& handle, Properties props = {}) {
    ContainerSpec spec;
    spec.handle = handle;
    spec.properties = std::move(props);
    absl::StatusOr<std::unique_ptr<Container>> c = client_->Create(spec);
    EXPECT_THAT(c, IsOk());
    return c.ok() ? *std::move(c) : nullptr;
  }

  std::string dir_;
  std::unique_ptr<FakeGardenBackend> fake_;
  std::unique_ptr<HungPingBackend> hung_;
  std::unique_ptr<GardenServer> server_;
  std::unique_ptr<HttpGardenClient> client_;
};

// ---------------------------------------------------------------------------
// Client-level routes

TEST_P(GardenHttpTest, PingAndCapacity) {
  hung_->Release();
  EXPECT_OK(client_->Ping());
  ASSERT_OK_AND_ASSIGN(Capacity cap, client_->GetCapacity());
  EXPECT_EQ(cap.memory_in_bytes, uint64_t{8} << 30);
  EXPECT_EQ(cap.disk_in_bytes, uint64_t{64} << 30);
  EXPECT_EQ(cap.schedulable_disk_in_bytes, uint64_t{64} << 30);
  EXPECT_EQ(cap.max_containers, 5u);
}

TEST_P(GardenHttpTest, CreateCarriesTheWholeSpec) {
  ContainerSpec spec;
  spec.handle = "full";
  spec.grace_time = absl::Minutes(3);
  spec.image = {"docker:///busybox", "u", "p"};
  spec.bind_mounts = {{"/host/a", "/a", BindMountMode::kReadWrite, BindMountOrigin::kHost},
                      {"/c", "/b", BindMountMode::kReadOnly, BindMountOrigin::kContainer}};
  spec.network = "10.254.1.6/30";
  spec.properties = {{"owner", "executor"}, {"guid", "g-1"}};
  spec.env = {"A=1", "B=two words"};
  spec.privileged = true;
  spec.limits.bandwidth = {1000, 2000};
  spec.limits.cpu = {512, 0};
  spec.limits.disk = {1, 2, 3, 4, DiskLimitScope::kExclusive};
  spec.limits.memory = {uint64_t{1} << 30};
  spec.limits.pid = {1024};
  NetOutRule rule;
  rule.protocol = Protocol::kTcp;
  rule.networks = {{"10.0.0.1", "10.0.0.255"}};
  rule.ports = {{80, 443}};
  rule.log = true;
  spec.net_out = {rule};
  spec.net_in = {{61999, 8080}};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, client_->Create(spec));
  EXPECT_EQ(c->Handle(), "full");
  ASSERT_OK_AND_ASSIGN(ContainerSpec seen, fake_->ContainerSpecOf("full"));
  EXPECT_EQ(seen, spec);
}

TEST_P(GardenHttpTest, CreateWithoutHandleReturnsTheGeneratedOne) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, client_->Create(ContainerSpec()));
  EXPECT_FALSE(c->Handle().empty());
  EXPECT_THAT(fake_->Handles(), ElementsAre(c->Handle()));
}

TEST_P(GardenHttpTest, CreateErrorsKeepTheirMessages) {
  MustCreate("dup");
  ContainerSpec spec;
  spec.handle = "dup";
  EXPECT_THAT(client_->Create(spec),
              StatusIs(absl::StatusCode::kAlreadyExists, "Handle 'dup' already in use"));
  for (int i = 0; i < 4; ++i) MustCreate(absl::StrCat("c", i));
  spec.handle = "one-too-many";
  // ResourceExhausted travels as 503, which clients read as Unavailable.
  EXPECT_THAT(client_->Create(spec),
              StatusIs(absl::StatusCode::kUnavailable, "max containers reached"));
}

TEST_P(GardenHttpTest, DestroyAndTypedNotFoundErrors) {
  MustCreate("gone");
  EXPECT_OK(client_->Destroy("gone"));
  absl::Status s = client_->Destroy("gone");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound, "unknown handle: gone"));
  EXPECT_TRUE(HasErrorType(s, kContainerNotFoundErrorType));
  EXPECT_EQ(GetErrorInfo(s).handle, "gone");
  absl::Status x = client_->Destroy("x");
  EXPECT_THAT(x, StatusIs(absl::StatusCode::kNotFound, "unknown handle: x"));
  EXPECT_TRUE(HasErrorType(x, kContainerNotFoundErrorType));
}

TEST_P(GardenHttpTest, ContainersFilterAndLookup) {
  MustCreate("a", {{"env", "prod"}, {"team", "x"}});
  MustCreate("b", {{"env", "prod"}});
  MustCreate("c", {{"env", "dev"}});
  ASSERT_OK_AND_ASSIGN(auto all, client_->Containers({}));
  std::vector<std::string> handles;
  for (auto& c : all) handles.push_back(c->Handle());
  EXPECT_THAT(handles, UnorderedElementsAre("a", "b", "c"));
  ASSERT_OK_AND_ASSIGN(auto prod, client_->Containers({{"env", "prod"}}));
  handles.clear();
  for (auto& c : prod) handles.push_back(c->Handle());
  EXPECT_THAT(handles, UnorderedElementsAre("a", "b"));
  ASSERT_OK_AND_ASSIGN(auto both, client_->Containers({{"env", "prod"}, {"team", "x"}}));
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(both[0]->Handle(), "a");
  ASSERT_OK_AND_ASSIGN(auto none, client_->Containers({{"env", "a b&c=d"}}));
  EXPECT_TRUE(none.empty());

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> b, client_->Lookup("b"));
  EXPECT_EQ(b->Handle(), "b");
  absl::StatusOr<std::unique_ptr<Container>> missing = client_->Lookup("nope");
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound, "unknown handle: nope"));
  EXPECT_TRUE(HasErrorType(missing.status(), kContainerNotFoundErrorType));
}

TEST_P(GardenHttpTest, HandlesWithSpecialCharactersSurviveThePath) {
  const std::string handle = "we ird/handle?x=1&y#z%";
  std::unique_ptr<Container> c = MustCreate(handle);
  ASSERT_NE(c, nullptr);
  EXPECT_OK(c->SetProperty("k/ey 1", "v"));
  ASSERT_OK_AND_ASSIGN(std::string v, c->GetProperty("k/ey 1"));
  EXPECT_EQ(v, "v");
  ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
  EXPECT_EQ(info.container_path, "/var/vcap/data/garden/depot/" + handle);
  EXPECT_OK(client_->Destroy(handle));
}

TEST_P(GardenHttpTest, BulkInfoAndBulkMetrics) {
  MustCreate("one", {{"k", "v"}});
  MustCreate("two");
  Metrics m;
  m.memory.rss = 123;
  m.memory.total_usage_toward_limit = 456;
  m.cpu = {1, 2, 3};
  m.disk = {4, 5, 6, 7};
  m.network = ContainerNetworkStat{8, 9};
  m.pid = {10, 11};
  m.age = absl::Seconds(12);
  m.cpu_entitlement = 13;
  ASSERT_OK(fake_->SetMetrics("one", m));

  ASSERT_OK_AND_ASSIGN(BulkInfoResult info, client_->BulkInfo({"one", "two", "missing"}));
  ASSERT_EQ(info.size(), 3u);
  ASSERT_TRUE(info["one"].value.has_value());
  EXPECT_OK(info["one"].error);
  EXPECT_EQ(info["one"].value->properties.at("k"), "v");
  EXPECT_EQ(info["one"].value->state, "active");
  EXPECT_TRUE(info["two"].value.has_value());
  EXPECT_FALSE(info["missing"].value.has_value());
  EXPECT_THAT(info["missing"].error, StatusIs(absl::StatusCode::kNotFound, "unknown handle: missing"));
  EXPECT_TRUE(HasErrorType(info["missing"].error, kContainerNotFoundErrorType));

  ASSERT_OK_AND_ASSIGN(BulkMetricsResult metrics, client_->BulkMetrics({"one", "missing"}));
  ASSERT_EQ(metrics.size(), 2u);
  ASSERT_TRUE(metrics["one"].value.has_value());
  EXPECT_EQ(*metrics["one"].value, m);
  EXPECT_THAT(metrics["missing"].error, StatusIs(absl::StatusCode::kNotFound));

  ASSERT_OK_AND_ASSIGN(BulkInfoResult empty, client_->BulkInfo({}));
  EXPECT_TRUE(empty.empty());
}

// ---------------------------------------------------------------------------
// Container routes

TEST_P(GardenHttpTest, InfoStopAndLimits) {
  ContainerSpec spec;
  spec.handle = "lim";
  spec.limits.bandwidth = {10, 20};
  spec.limits.cpu = {30, 40};
  spec.limits.disk = {1, 2, 3, 4, DiskLimitScope::kExclusive};
  spec.limits.memory = {50};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, client_->Create(spec));
  ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
  EXPECT_EQ(info.state, "active");
  EXPECT_EQ(info.host_ip, "10.254.0.1");
  EXPECT_EQ(info.container_ip, "10.254.0.2");
  EXPECT_EQ(info.external_ip, "10.0.0.1");
  ASSERT_OK_AND_ASSIGN(BandwidthLimits bw, c->CurrentBandwidthLimits());
  EXPECT_EQ(bw, spec.limits.bandwidth);
  ASSERT_OK_AND_ASSIGN(CpuLimits cpu, c->CurrentCpuLimits());
  EXPECT_EQ(cpu, spec.limits.cpu);
  ASSERT_OK_AND_ASSIGN(DiskLimits disk, c->CurrentDiskLimits());
  EXPECT_EQ(disk, spec.limits.disk);
  ASSERT_OK_AND_ASSIGN(MemoryLimits mem, c->CurrentMemoryLimits());
  EXPECT_EQ(mem, spec.limits.memory);
  EXPECT_OK(c->Stop(/*kill=*/true));
  ASSERT_OK_AND_ASSIGN(ContainerInfo stopped, c->Info());
  EXPECT_EQ(stopped.state, "stopped");

  // Handles stay usable after destroy and report the typed error.
  ASSERT_OK(client_->Destroy("lim"));
  absl::StatusOr<ContainerInfo> after = c->Info();
  EXPECT_THAT(after, StatusIs(absl::StatusCode::kNotFound, "unknown handle: lim"));
  EXPECT_TRUE(HasErrorType(after.status(), kContainerNotFoundErrorType));
  EXPECT_THAT(c->CurrentMemoryLimits(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(GardenHttpTest, StreamInAndOutCarryBinaryTarData) {
  std::unique_ptr<Container> c = MustCreate("files");
  ASSERT_NE(c, nullptr);
  const std::string tar = AllBytes(3 << 20);  // every byte value, 3 MiB
  ASSERT_OK(c->StreamIn("/tmp/dest dir", "vcap", tar));
  std::vector<fakes::FakeStreamIn> ins = fake_->StreamIns("files");
  ASSERT_EQ(ins.size(), 1u);
  EXPECT_EQ(ins[0].path, "/tmp/dest dir");
  EXPECT_EQ(ins[0].user, "vcap");
  EXPECT_TRUE(ins[0].tar == tar);
  ASSERT_OK_AND_ASSIGN(std::string out, c->StreamOut("/tmp/dest dir", "root"));
  EXPECT_EQ(out.size(), tar.size());
  EXPECT_TRUE(out == tar);
  EXPECT_OK(c->StreamIn("/empty", "", ""));
  ASSERT_OK_AND_ASSIGN(std::string empty, c->StreamOut("/empty", ""));
  EXPECT_EQ(empty, "");
  EXPECT_THAT(c->StreamOut("/nope", ""), StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nope")));
}

TEST_P(GardenHttpTest, NetInNetOutAndBulkNetOut) {
  std::unique_ptr<Container> c = MustCreate("net");
  ASSERT_NE(c, nullptr);
  ASSERT_OK_AND_ASSIGN(PortMapping auto_ports, c->NetIn(0, 0));
  EXPECT_EQ(auto_ports.host_port, 61001u);
  EXPECT_EQ(auto_ports.container_port, 61001u);
  ASSERT_OK_AND_ASSIGN(PortMapping fixed, c->NetIn(1234, 8080));
  EXPECT_EQ(fixed, (PortMapping{1234, 8080}));
  ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
  EXPECT_THAT(info.mapped_ports, ElementsAre(PortMapping{61001, 61001}, PortMapping{1234, 8080}));

  NetOutRule tcp;
  tcp.protocol = Protocol::kTcp;
  tcp.networks = {{"1.2.3.4", "1.2.3.4"}};
  tcp.ports = {{8080, 8081}};
  NetOutRule icmp;
  icmp.protocol = Protocol::kIcmp;
  icmp.icmps = IcmpControl{8, 0};
  icmp.log = true;
  NetOutRule any_code;
  any_code.protocol = Protocol::kIcmp;
  any_code.icmps = IcmpControl{3, std::nullopt};
  ASSERT_OK(c->NetOut(tcp));
  ASSERT_OK(c->BulkNetOut({icmp, any_code}));
  ASSERT_OK(c->BulkNetOut({}));
  ASSERT_OK_AND_ASSIGN(std::vector<NetOutRule> rules, fake_->NetOutRules("net"));
  EXPECT_THAT(rules, ElementsAre(tcp, icmp, any_code));
}

TEST_P(GardenHttpTest, MetricsGraceTimeAndProperties) {
  std::unique_ptr<Container> c = MustCreate("props", {{"a", "1"}});
  ASSERT_NE(c, nullptr);
  Metrics m;
  m.memory.cache = 99;
  m.pid = {3, 100};
  m.age = absl::Milliseconds(1500);
  ASSERT_OK(fake_->SetMetrics("props", m));
  ASSERT_OK_AND_ASSIGN(Metrics got, c->GetMetrics());
  EXPECT_EQ(got, m);

  ASSERT_OK(c->SetGraceTime(absl::Seconds(90)));
  ASSERT_OK_AND_ASSIGN(absl::Duration grace, fake_->GraceTime("props"));
  EXPECT_EQ(grace, absl::Seconds(90));

  ASSERT_OK(c->SetProperty("b", "two \"quoted\" <&>"));
  ASSERT_OK_AND_ASSIGN(std::string b, c->GetProperty("b"));
  EXPECT_EQ(b, "two \"quoted\" <&>");
  ASSERT_OK_AND_ASSIGN(Properties all, c->GetProperties());
  EXPECT_EQ(all, (Properties{{"a", "1"}, {"b", "two \"quoted\" <&>"}}));
  ASSERT_OK(c->RemoveProperty("a"));
  EXPECT_THAT(c->GetProperty("a"),
              StatusIs(absl::StatusCode::kNotFound, "property does not exist: a"));
  ASSERT_OK_AND_ASSIGN(Properties left, c->GetProperties());
  EXPECT_EQ(left, (Properties{{"b", "two \"quoted\" <&>"}}));
}

// ---------------------------------------------------------------------------
// Processes

TEST_P(GardenHttpTest, RunDeliversOutputStdinAndExitStatus) {
  fake_->SetProcessHandler("/bin/cat-ish", [](FakeProcessContext& ctx) {
    std::string in = ctx.ReadAllStdin();
    ctx.WriteStdout("out:" + in);
    ctx.WriteStderr("err:" + ctx.spec().args.at(0));
    return 3;
  });
  std::unique_ptr<Container> c = MustCreate("run");
  ASSERT_NE(c, nullptr);
  ProcessSpec spec;
  spec.id = "p1";
  spec.path = "/bin/cat-ish";
  spec.args = {"arg one"};
  spec.env = {"X=1"};
  spec.dir = "/home/vcap";
  spec.user = "vcap";
  spec.rlimits.nofile = 1024;
  Collector out, err;
  ProcessIO io;
  io.stdin_data = std::string("stdin \xc3\xa9 data\n");
  io.stdout_sink = out.Sink();
  io.stderr_sink = err.Sink();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, c->Run(spec, io));
  EXPECT_EQ(p->Id(), "p1");
  ASSERT_OK_AND_ASSIGN(int status, p->Wait(absl::Now() + kWait));
  EXPECT_EQ(status, 3);
  EXPECT_EQ(out.Get(), "out:stdin \xc3\xa9 data\n");
  EXPECT_EQ(err.Get(), "err:arg one");
  std::vector<ProcessSpec> specs = fake_->ProcessSpecs("run");
  ASSERT_EQ(specs.size(), 1u);
  EXPECT_EQ(specs[0], spec);
  // Writes after exit are accepted and dropped; WriteStdin is refused when
  // stdin came with the ProcessIO.
  EXPECT_THAT(p->WriteStdin("x"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_OK(p->Signal(Signal::kKill));
  EXPECT_THAT(p->SetTty(TtySpec()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(GardenHttpTest, RunWithLargeOutputAndNoSinks) {
  const std::string big = AllBytes(1 << 20);
  fake_->SetProcessHandler("/bin/big", [&big](FakeProcessContext& ctx) {
    for (size_t i = 0; i < big.size(); i += 10000) ctx.WriteStdout(big.substr(i, 10000));
    return 0;
  });
  std::unique_ptr<Container> c = MustCreate("big");
  ASSERT_NE(c, nullptr);
  Collector out;
  ProcessIO io;
  io.stdout_sink = out.Sink();
  ProcessSpec spec;
  spec.path = "/bin/big";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, c->Run(spec, io));
  ASSERT_OK_AND_ASSIGN(int status, p->Wait(absl::Now() + kWait));
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(out.Get() == big);
  // No sinks at all: only the exit status travels.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> quiet, c->Run(spec, ProcessIO()));
  ASSERT_OK_AND_ASSIGN(int quiet_status, quiet->Wait(absl::Now() + kWait));
  EXPECT_EQ(quiet_status, 0);
}

TEST_P(GardenHttpTest, WriteStdinAndCloseStdin) {
  fake_->SetProcessHandler("/bin/echo-lines", [](FakeProcessContext& ctx) {
    while (std::optional<std::string> chunk = ctx.ReadStdin()) ctx.WriteStdout(*chunk);
    ctx.WriteStdout("<eof>");
    return 0;
  });
  std::unique_ptr<Container> c = MustCreate("stdin");
  ASSERT_NE(c, nullptr);
  Collector out;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p,
                       RunCollectingStdout(*c, "/bin/echo-lines", out));
  ASSERT_OK(p->WriteStdin("first\n"));
  ASSERT_TRUE(out.WaitFor("first\n"));
  const std::string large(100 * 1024, 'L');  // several payloads
  ASSERT_OK(p->WriteStdin(large));
  ASSERT_OK(p->CloseStdin());
  EXPECT_THAT(p->WriteStdin("late"), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(int status, p->Wait(absl::Now() + kWait));
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out.Get(), "first\n" + large + "<eof>");
}

TEST_P(GardenHttpTest, SignalTerminateAndKill) {
  fake_->SetProcessHandler("/bin/trap", [](FakeProcessContext& ctx) {
    ctx.CatchSignals();
    ctx.WriteStdout("ready");
    std::optional<Signal> s = ctx.WaitForSignal(absl::InfiniteFuture());
    ctx.WriteStdout(s == Signal::kTerminate ? " got TERM" : " other");
    return 42;
  });
  fake_->SetProcessHandler("/bin/sleep", [](FakeProcessContext& ctx) {
    ctx.WriteStdout("sleeping");
    ctx.WaitForSignal(absl::InfiniteFuture());
    return 0;
  });
  std::unique_ptr<Container> c = MustCreate("sig");
  ASSERT_NE(c, nullptr);
  Collector out;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, RunCollectingStdout(*c, "/bin/trap", out));
  ASSERT_TRUE(out.WaitFor("ready"));
  EXPECT_THAT(p->Wait(absl::Now() + absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_OK(p->Signal(Signal::kTerminate));
  ASSERT_OK_AND_ASSIGN(int status, p->Wait(absl::Now() + kWait));
  EXPECT_EQ(status, 42);
  EXPECT_EQ(out.Get(), "ready got TERM");

  Collector out2;
  ProcessIO io2;
  io2.stdout_sink = out2.Sink();
  ProcessSpec sleep;
  sleep.path = "/bin/sleep";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> q, c->Run(sleep, io2));
  ASSERT_TRUE(out2.WaitFor("sleeping"));
  ASSERT_OK(q->CloseStdin());  // signals still work after stdin is closed
  ASSERT_OK(q->Signal(Signal::kKill));
  ASSERT_OK_AND_ASSIGN(int killed, q->Wait(absl::Now() + kWait));
  EXPECT_EQ(killed, 137);
}

TEST_P(GardenHttpTest, SetTtyReachesTheProcess) {
  fake_->SetProcessHandler("/bin/tty", [&](FakeProcessContext& ctx) {
    ctx.WriteStdout("up");
    while (!ctx.Killed()) {
      std::optional<TtySpec> tty = ctx.Tty();
      if (tty && tty->window_size && tty->window_size->columns == 120) break;
      ctx.WaitForSignal(absl::Now() + absl::Milliseconds(10));
    }
    return ctx.Tty()->window_size->rows;
  });
  std::unique_ptr<Container> c = MustCreate("tty");
  ASSERT_NE(c, nullptr);
  ProcessSpec spec;
  spec.path = "/bin/tty";
  spec.tty = TtySpec{WindowSize{80, 24}};
  Collector out;
  ProcessIO io;
  io.stdout_sink = out.Sink();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, c->Run(spec, io));
  ASSERT_TRUE(out.WaitFor("up"));
  ASSERT_OK(p->SetTty(TtySpec{WindowSize{120, 40}}));
  ASSERT_OK_AND_ASSIGN(int status, p->Wait(absl::Now() + kWait));
  EXPECT_EQ(status, 40);
}

TEST_P(GardenHttpTest, AttachToRunningAndExitedProcesses) {
  fake_->SetProcessHandler("/bin/server", [](FakeProcessContext& ctx) {
    ctx.WriteStdout("booted\n");
    ctx.WriteStderr("warming\n");
    ctx.CatchSignals();
    ctx.WaitForSignal(absl::InfiniteFuture());
    ctx.WriteStdout("bye\n");
    return 5;
  });
  std::unique_ptr<Container> c = MustCreate("att");
  ASSERT_NE(c, nullptr);
  ProcessSpec spec;
  spec.id = "srv";
  spec.path = "/bin/server";
  Collector run_out;
  ProcessIO run_io;
  run_io.stdout_sink = run_out.Sink();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, c->Run(spec, run_io));
  ASSERT_TRUE(run_out.WaitFor("booted\n"));

  // A second client attaches to the running process: kept output first.
  std::unique_ptr<HttpGardenClient> other = NewClient();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c2, other->Lookup("att"));
  Collector att_out, att_err;
  ProcessIO att_io;
  att_io.stdout_sink = att_out.Sink();
  att_io.stderr_sink = att_err.Sink();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> attached, c2->Attach("srv", att_io));
  EXPECT_EQ(attached->Id(), "srv");
  ASSERT_TRUE(att_out.WaitFor("booted\n"));
  ASSERT_TRUE(att_err.WaitFor("warming\n"));
  ASSERT_OK(attached->Signal(Signal::kTerminate));
  ASSERT_OK_AND_ASSIGN(int s1, attached->Wait(absl::Now() + kWait));
  ASSERT_OK_AND_ASSIGN(int s2, p->Wait(absl::Now() + kWait));
  EXPECT_EQ(s1, 5);
  EXPECT_EQ(s2, 5);
  EXPECT_EQ(att_out.Get(), "booted\nbye\n");
  EXPECT_EQ(run_out.Get(), "booted\nbye\n");

  // Attaching after the exit replays the output and reports the status.
  Collector late_out;
  ProcessIO late_io;
  late_io.stdout_sink = late_out.Sink();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> late, c->Attach("srv", late_io));
  ASSERT_OK_AND_ASSIGN(int s3, late->Wait(absl::Now() + kWait));
  EXPECT_EQ(s3, 5);
  EXPECT_EQ(late_out.Get(), "booted\nbye\n");

  absl::StatusOr<std::unique_ptr<Process>> unknown = c->Attach("nope", ProcessIO());
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kNotFound, "unknown process: nope"));
  EXPECT_TRUE(HasErrorType(unknown.status(), kProcessNotFoundErrorType));
  EXPECT_EQ(GetErrorInfo(unknown.status()).process_id, "nope");
}

TEST_P(GardenHttpTest, RunErrorsAreTyped) {
  std::unique_ptr<Container> c = MustCreate("errs");
  ASSERT_NE(c, nullptr);
  fake_->SetUnknownPathBehavior(FakeGardenBackend::UnknownPath::kExecutableNotFound);
  ProcessSpec spec;
  spec.path = "nope";
  absl::StatusOr<std::unique_ptr<Process>> p = c->Run(spec, ProcessIO());
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kFailedPrecondition,
                          "exec: \"nope\": executable file not found in $PATH"));
  EXPECT_TRUE(HasErrorType(p.status(), kExecutableNotFoundErrorType));
  ASSERT_OK(client_->Destroy("errs"));
  absl::StatusOr<std::unique_ptr<Process>> gone = c->Run(spec, ProcessIO());
  EXPECT_THAT(gone, StatusIs(absl::StatusCode::kNotFound, "unknown handle: errs"));
}

TEST_P(GardenHttpTest, InjectedBackendErrorsKeepTypeAndMessage) {
  std::unique_ptr<Container> c = MustCreate("inj");
  ASSERT_NE(c, nullptr);
  fake_->FailNext(FakeGardenBackend::Call::kInfo, UnrecoverableError("disk on fire"));
  absl::StatusOr<ContainerInfo> info = c->Info();
  EXPECT_THAT(info, StatusIs(absl::StatusCode::kInternal, "disk on fire"));
  EXPECT_TRUE(HasErrorType(info.status(), kUnrecoverableErrorType));
  fake_->FailNext(FakeGardenBackend::Call::kMetrics, ServiceUnavailableError("busy"));
  absl::StatusOr<Metrics> m = c->GetMetrics();
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kUnavailable, "busy"));
  EXPECT_TRUE(HasErrorType(m.status(), kServiceUnavailableErrorType));
  fake_->FailNext(FakeGardenBackend::Call::kStreamIn, absl::InvalidArgumentError("bad tar"));
  EXPECT_THAT(c->StreamIn("/x", "", "junk"), StatusIs(absl::StatusCode::kInvalidArgument, "bad tar"));
  fake_->FailNext(FakeGardenBackend::Call::kCapacity, absl::InternalError("plain"));
  EXPECT_THAT(client_->GetCapacity(), StatusIs(absl::StatusCode::kUnknown, "plain"));
}

// ---------------------------------------------------------------------------
// Timeouts and shutdown

TEST_P(GardenHttpTest, RequestTimeoutAgainstAHungBackend) {
  std::unique_ptr<HttpGardenClient> impatient = NewClient(absl::Milliseconds(200));
  EXPECT_THAT(impatient->Ping(), StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("/ping")));
  EXPECT_TRUE(fakes::PollUntil([&] { return hung_->entered() == 1; }, kWait));
  hung_->Release();
  EXPECT_OK(impatient->Ping());
  ASSERT_OK_AND_ASSIGN(Capacity cap, impatient->GetCapacity());
  EXPECT_EQ(cap.max_containers, 5u);
}

TEST_P(GardenHttpTest, ConnectErrorsAreUnavailable) {
  HttpGardenClientOptions o;
  o.network = GetParam();
  o.address = GetParam() == "unix" ? dir_ + "/missing.sock" : "127.0.0.1:1";
  HttpGardenClient nowhere(o);
  EXPECT_THAT(nowhere.Ping(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr(o.address)));
}

TEST_P(GardenHttpTest, ServerStopWhileStreamsAreOpen) {
  fake_->SetProcessHandler("/bin/forever", [](FakeProcessContext& ctx) {
    ctx.WriteStdout("alive");
    ctx.WaitForSignal(absl::InfiniteFuture());
    return 0;
  });
  std::unique_ptr<Container> c = MustCreate("stop");
  ASSERT_NE(c, nullptr);
  Collector out;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, RunCollectingStdout(*c, "/bin/forever", out));
  ASSERT_TRUE(out.WaitFor("alive"));
  server_->Stop();
  absl::StatusOr<int> status = p->Wait(absl::Now() + kWait);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.status().code(), absl::StatusCode::kDeadlineExceeded) << status.status();
  EXPECT_THAT(p->Signal(Signal::kKill), IsOk());  // finished: OK, nothing sent
  EXPECT_THAT(client_->Ping(), StatusIs(absl::StatusCode::kUnavailable));
  // The process was detached, not killed.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> direct, fake_->Lookup("stop"));
  ASSERT_OK_AND_ASSIGN(ContainerInfo direct_info, direct->Info());
  EXPECT_EQ(direct_info.process_ids.size(), 1u);
}

TEST_P(GardenHttpTest, DroppingAProcessDetachesIt) {
  fake_->SetProcessHandler("/bin/forever", [](FakeProcessContext& ctx) {
    ctx.WriteStdout("alive");
    ctx.WaitForSignal(absl::InfiniteFuture());
    return 9;
  });
  std::unique_ptr<Container> c = MustCreate("drop");
  ASSERT_NE(c, nullptr);
  Collector out;
  ProcessIO io;
  io.stdout_sink = out.Sink();
  ProcessSpec spec;
  spec.id = "f";
  spec.path = "/bin/forever";
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, c->Run(spec, io));
    ASSERT_TRUE(out.WaitFor("alive"));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> again, c->Attach("f", ProcessIO()));
  ASSERT_OK(again->Signal(Signal::kKill));
  ASSERT_OK_AND_ASSIGN(int status, again->Wait(absl::Now() + kWait));
  EXPECT_EQ(status, 137);
}

// ---------------------------------------------------------------------------
// Raw HTTP

// Sends `bytes` on a fresh connection; returns the response head (with the
// Date value replaced by "<date>") and leaves the connection open in `conn`.
std::string SendRaw(const std::string& network, const std::string& address, const std::string& bytes,
                    std::unique_ptr<http_wire::Conn>* conn, std::string* rest) {
  absl::StatusOr<std::unique_ptr<http_wire::Conn>> c =
      http_wire::Conn::Dial(network, address, absl::Now() + kWait);
  EXPECT_THAT(c, IsOk());
  if (!c.ok()) return "";
  *conn = *std::move(c);
  EXPECT_OK((*conn)->WriteAll(bytes, absl::Now() + kWait));
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\n") == std::string::npos) {
    absl::StatusOr<size_t> n = (*conn)->Read(buf, sizeof(buf), http_wire::IoDeadline::At(absl::Now() + kWait));
    if (!n.ok() || *n == 0) break;
    got.append(buf, *n);
  }
  size_t end = got.find("\r\n\r\n");
  if (end == std::string::npos) return got;
  *rest = got.substr(end + 4);
  std::string head = got.substr(0, end + 4);
  return std::regex_replace(head, std::regex("Date: [^\r]*\r\n"), "Date: <date>\r\n");
}

std::string ReadLineAfter(http_wire::Conn& conn, std::string* rest) {
  while (rest->find('\n') == std::string::npos) {
    char buf[4096];
    absl::StatusOr<size_t> n = conn.Read(buf, sizeof(buf), http_wire::IoDeadline::At(absl::Now() + kWait));
    if (!n.ok() || *n == 0) break;
    rest->append(buf, *n);
  }
  size_t nl = rest->find('\n');
  if (nl == std::string::npos) return std::exchange(*rest, "");
  std::string line = rest->substr(0, nl + 1);
  rest->erase(0, nl + 1);
  return line;
}

TEST_P(GardenHttpTest, GoClientBytesForCreateAndRun) {
  fake_->SetProcessHandler("/bin/echo", [](FakeProcessContext& ctx) {
    std::string in = ctx.ReadAllStdin();
    ctx.WriteStdout("hi " + in);
    return 7;
  });
  // Exactly what code.cloudfoundry.org/garden's client sends (net/http
  // Transport with keep-alives disabled) for Create.
  const std::string create_body =
      "{\"handle\":\"raw-1\",\"image\":{},\"properties\":{\"owner\":\"raw\"},\"limits\":{"
      "\"bandwidth_limits\":{},\"cpu_limits\":{},\"disk_limits\":{},"
      "\"memory_limits\":{\"limit_in_bytes\":1048576},\"pid_limits\":{}}}\n";
  std::unique_ptr<http_wire::Conn> conn;
  std::string rest;
  std::string head = SendRaw(GetParam(), Address(),
                             absl::StrCat("POST /containers HTTP/1.1\r\n"
                                          "Host: api\r\n"
                                          "User-Agent: Go-http-client/1.1\r\n"
                                          "Content-Length: ", create_body.size(), "\r\n"
                                          "Content-Type: application/json\r\n"
                                          "Accept-Encoding: gzip\r\n"
                                          "Connection: close\r\n"
                                          "\r\n",
                                          create_body),
                             &conn, &rest);
  // What Go's server answers (header order included).
  EXPECT_EQ(head,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json\r\n"
            "Date: <date>\r\n"
            "Content-Length: 19\r\n"
            "Connection: close\r\n"
            "\r\n");
  ASSERT_OK(conn->ReadToEnd(&rest, 1024, http_wire::IoDeadline::At(absl::Now() + kWait)));
  EXPECT_EQ(rest, "{\"Handle\":\"raw-1\"}\n");
  ASSERT_OK_AND_ASSIGN(ContainerSpec created, fake_->ContainerSpecOf("raw-1"));
  EXPECT_EQ(created.properties, (Properties{{"owner", "raw"}}));
  EXPECT_EQ(created.limits.memory.limit_in_bytes, 1048576u);

  // Run, as httputil.ClientConn writes it (no Transport headers).
  const std::string run_body =
      "{\"id\":\"raw-proc\",\"path\":\"/bin/echo\",\"args\":[\"x\"],\"rlimits\":{},\"image\":{}}\n";
  std::unique_ptr<http_wire::Conn> run;
  std::string run_rest;
  head = SendRaw(GetParam(), Address(),
                 absl::StrCat("POST /containers/raw-1/processes HTTP/1.1\r\n"
                              "Host: api\r\n"
                              "User-Agent: Go-http-client/1.1\r\n"
                              "Content-Length: ", run_body.size(), "\r\n"
                              "Content-Type: application/json\r\n"
                              "\r\n",
                              run_body),
                 &run, &run_rest);
  EXPECT_EQ(head,
            "HTTP/1.1 201 Created\r\n"
            "Content-Type: application/json\r\n"
            "Date: <date>\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
  EXPECT_EQ(ReadLineAfter(*run, &run_rest), "{\"process_id\":\"raw-proc\",\"stream_id\":\"1\"}\n");

  // The stdout attach stream.
  std::unique_ptr<http_wire::Conn> stdout_conn;
  std::string out_rest;
  head = SendRaw(GetParam(), Address(),
                 "GET /containers/raw-1/processes/raw-proc/attaches/1/stdout HTTP/1.1\r\n"
                 "Host: api\r\n"
                 "User-Agent: Go-http-client/1.1\r\n"
                 "Content-Type: application/json\r\n"
                 "\r\n",
                 &stdout_conn, &out_rest);
  EXPECT_EQ(head,
            "HTTP/1.1 200 OK\r\n"
            "Date: <date>\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");

  // Stdin as Go's processStream writes it, then close.
  ASSERT_OK(run->WriteAll("{\"process_id\":\"raw-proc\",\"source\":0,\"data\":\"there\"}\n"
                          "{\"process_id\":\"raw-proc\",\"source\":0}\n",
                          absl::Now() + kWait));
  EXPECT_EQ(ReadLineAfter(*run, &run_rest), "{\"process_id\":\"raw-proc\",\"exit_status\":7}\n");
  run->CloseWrite();
  std::string tail;
  ASSERT_OK(run->ReadToEnd(&tail, 1024, http_wire::IoDeadline::At(absl::Now() + kWait)));
  EXPECT_EQ(run_rest + tail, "");
  ASSERT_OK(stdout_conn->ReadToEnd(&out_rest, 1024, http_wire::IoDeadline::At(absl::Now() + kWait)));
  EXPECT_EQ(out_rest, "hi there");
}

TEST_P(GardenHttpTest, GoClientChunkedStreamIn) {
  MustCreate("raw-2");
  // Go's client streams a tar of unknown length: a chunked PUT.
  const std::string tar = std::string("ab\0cd", 5) + AllBytes(70000);
  std::string chunked = absl::StrCat("5\r\n", tar.substr(0, 5), "\r\n");
  absl::StrAppend(&chunked, absl::Hex(tar.size() - 5), "\r\n", tar.substr(5), "\r\n0\r\n\r\n");
  std::unique_ptr<http_wire::Conn> conn;
  std::string rest;
  std::string head = SendRaw(GetParam(), Address(),
                             "PUT /containers/raw-2/files?destination=%2Ftmp%2Fapp&user=vcap HTTP/1.1\r\n"
                             "Host: api\r\n"
                             "User-Agent: Go-http-client/1.1\r\n"
                             "Transfer-Encoding: chunked\r\n"
                             "Content-Type: application/x-tar\r\n"
                             "Accept-Encoding: gzip\r\n"
                             "Connection: close\r\n"
                             "\r\n" +
                                 chunked,
                             &conn, &rest);
  EXPECT_THAT(head, ::testing::StartsWith("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"));
  ASSERT_OK(conn->ReadToEnd(&rest, 1024, http_wire::IoDeadline::At(absl::Now() + kWait)));
  EXPECT_EQ(rest, "{}\n");
  std::vector<fakes::FakeStreamIn> ins = fake_->StreamIns("raw-2");
  ASSERT_EQ(ins.size(), 1u);
  EXPECT_EQ(ins[0].path, "/tmp/app");
  EXPECT_EQ(ins[0].user, "vcap");
  EXPECT_TRUE(ins[0].tar == tar);
}

TEST_P(GardenHttpTest, RawErrorsRoutingAndBadBodies) {
  std::unique_ptr<http_wire::Conn> conn;
  std::string rest;
  std::string head = SendRaw(GetParam(), Address(),
                             "DELETE /containers/ghost HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
                             &conn, &rest);
  EXPECT_THAT(head, ::testing::StartsWith("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"));
  ASSERT_OK(conn->ReadToEnd(&rest, 1024, http_wire::IoDeadline::At(absl::Now() + kWait)));
  EXPECT_EQ(rest,
            "{\"Handle\":\"ghost\",\"Message\":\"unknown handle: ghost\",\"ProcessID\":\"\","
            "\"Type\":\"ContainerNotFoundError\"}\n");

  head = SendRaw(GetParam(), Address(), "GET /nowhere HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n",
                 &conn, &rest);
  EXPECT_THAT(head, ::testing::StartsWith("HTTP/1.1 404 Not Found\r\n"));
  ASSERT_OK(conn->ReadToEnd(&rest, 1024, http_wire::IoDeadline::At(absl::Now() + kWait)));
  EXPECT_EQ(rest, "404 page not found\n");

  rest.clear();
  head = SendRaw(GetParam(), Address(), "POST /ping HTTP/1.1\r\nHost: api\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                 &conn, &rest);
  EXPECT_THAT(head, ::testing::StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(head, HasSubstr("Allow: GET\r\n"));

  rest.clear();
  head = SendRaw(GetParam(), Address(),
                 "POST /containers HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{bad}",
                 &conn, &rest);
  EXPECT_THAT(head, ::testing::StartsWith("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"));
  ASSERT_OK(conn->ReadToEnd(&rest, 4096, http_wire::IoDeadline::At(absl::Now() + kWait)));
  EXPECT_THAT(rest, HasSubstr("\"Message\":\"invalid request body"));
  EXPECT_TRUE(fake_->Handles().empty());

  rest.clear();
  head = SendRaw(GetParam(), Address(), "GARBAGE\r\n\r\n", &conn, &rest);
  EXPECT_THAT(head, ::testing::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

INSTANTIATE_TEST_SUITE_P(Networks, GardenHttpTest, ::testing::Values("unix", "tcp"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace diego::garden
