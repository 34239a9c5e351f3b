#include "diego/testing/fake_garden_backend.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/garden/errors.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::fakes {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

using Call = FakeGardenBackend::Call;

MATCHER_P(IsOkAndHolds, expected, "is OK and holds " + ::testing::PrintToString(expected)) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  *result_listener << "value is " << *arg;
  return *arg == expected;
}

// Collects what a sink receives; thread-safe.
class Output {
 public:
  std::function<void(absl::string_view)> Sink() {
    return [this](absl::string_view data) {
      absl::MutexLock lock(&mu_);
      text_.append(data.data(), data.size());
    };
  }
  std::string text() const {
    absl::MutexLock lock(&mu_);
    return text_;
  }
  // Blocks until the collected text contains `needle`.
  void AwaitContains(const std::string& needle) const {
    absl::MutexLock lock(&mu_);
    auto has = [this, &needle]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return text_.find(needle) != std::string::npos;
    };
    mu_.Await(absl::Condition(&has));
  }

 private:
  mutable absl::Mutex mu_;
  std::string text_;
};

class FakeGardenBackendTest : public ::testing::Test {
 protected:
  FakeGardenBackend::Options Opts() {
    FakeGardenBackend::Options options;
    options.clock = &clock_;
    return options;
  }

  std::unique_ptr<garden::Container> MustCreate(FakeGardenBackend& garden,
                                                garden::ContainerSpec spec) {
    absl::StatusOr<std::unique_ptr<garden::Container>> c = garden.Create(spec);
    EXPECT_THAT(c, IsOk());
    return c.ok() ? std::move(*c) : nullptr;
  }

  static garden::ContainerSpec Spec(const std::string& handle) {
    garden::ContainerSpec spec;
    spec.handle = handle;
    return spec;
  }

  static garden::ProcessSpec Proc(const std::string& path) {
    garden::ProcessSpec spec;
    spec.path = path;
    return spec;
  }

  FakeClock clock_;
};

// --- Containers -----------------------------------------------------------------

TEST_F(FakeGardenBackendTest, CreateKeepsTheSpecAndReportsInfo) {
  FakeGardenBackend garden(Opts());
  garden::ContainerSpec spec = Spec("app-1");
  spec.properties = {{"owner", "executor"}};
  spec.env = {"A=1"};
  auto c = MustCreate(garden, spec);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->Handle(), "app-1");
  ASSERT_OK_AND_ASSIGN(garden::ContainerInfo info, c->Info());
  EXPECT_EQ(info.state, "active");
  EXPECT_EQ(info.host_ip, "10.254.0.1");
  EXPECT_EQ(info.container_ip, "10.254.0.2");
  EXPECT_EQ(info.external_ip, "10.0.0.1");
  EXPECT_EQ(info.container_path, "/var/vcap/data/garden/depot/app-1");
  EXPECT_THAT(info.process_ids, IsEmpty());
  EXPECT_EQ(info.properties, spec.properties);
  ASSERT_OK_AND_ASSIGN(garden::ContainerSpec kept, garden.ContainerSpecOf("app-1"));
  EXPECT_EQ(kept, spec);
  EXPECT_THAT(garden.Handles(), ElementsAre("app-1"));
}

TEST_F(FakeGardenBackendTest, EachContainerGetsItsOwnSlash30AndDestroyReleasesIt) {
  FakeGardenBackend garden(Opts());
  auto a = MustCreate(garden, Spec("a"));
  auto b = MustCreate(garden, Spec("b"));
  EXPECT_EQ(b->Info()->container_ip, "10.254.0.6");
  EXPECT_EQ(b->Info()->host_ip, "10.254.0.5");
  ASSERT_OK(garden.Destroy("a"));
  auto c = MustCreate(garden, Spec("c"));
  EXPECT_EQ(c->Info()->container_ip, "10.254.0.2");
}

TEST_F(FakeGardenBackendTest, NetworkFromTheSpec) {
  FakeGardenBackend garden(Opts());
  garden::ContainerSpec fixed = Spec("fixed");
  fixed.network = "10.9.0.6";
  EXPECT_EQ(MustCreate(garden, fixed)->Info()->container_ip, "10.9.0.6");
  EXPECT_EQ(garden.Lookup("fixed").value()->Info()->host_ip, "10.9.0.5");

  garden::ContainerSpec subnet = Spec("s1");
  subnet.network = "10.8.0.0/29";
  EXPECT_EQ(MustCreate(garden, subnet)->Info()->container_ip, "10.8.0.2");
  subnet.handle = "s2";
  EXPECT_EQ(MustCreate(garden, subnet)->Info()->container_ip, "10.8.0.6");
  subnet.handle = "s3";
  EXPECT_THAT(garden.Create(subnet), StatusIs(absl::StatusCode::kResourceExhausted));

  fixed.handle = "fixed-again";
  EXPECT_THAT(garden.Create(fixed), StatusIs(absl::StatusCode::kAlreadyExists));
  garden::ContainerSpec bad = Spec("bad");
  bad.network = "10.1.2";
  EXPECT_THAT(garden.Create(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                           "network: invalid IPv4 address or CIDR '10.1.2'"));
  EXPECT_THAT(garden.Handles(), ElementsAre("fixed", "s1", "s2"));
}

TEST_F(FakeGardenBackendTest, HandlesAreUniqueWithGuardiansMessage) {
  FakeGardenBackend garden(Opts());
  MustCreate(garden, Spec("dup"));
  EXPECT_THAT(garden.Create(Spec("dup")),
              StatusIs(absl::StatusCode::kAlreadyExists, "Handle 'dup' already in use"));
  EXPECT_EQ(garden.GetCounters().containers_created, 1);
}

TEST_F(FakeGardenBackendTest, EmptyHandleIsGenerated) {
  FakeGardenBackend garden(Opts());
  auto a = MustCreate(garden, garden::ContainerSpec());
  auto b = MustCreate(garden, garden::ContainerSpec());
  EXPECT_FALSE(a->Handle().empty());
  EXPECT_NE(a->Handle(), b->Handle());
  ASSERT_OK_AND_ASSIGN(garden::ContainerSpec kept, garden.ContainerSpecOf(a->Handle()));
  EXPECT_EQ(kept.handle, a->Handle());
}

TEST_F(FakeGardenBackendTest, MaxContainersAndCapacity) {
  FakeGardenBackend::Options options = Opts();
  options.max_containers = 2;
  options.memory_in_bytes = 1000;
  FakeGardenBackend garden(options);
  ASSERT_OK_AND_ASSIGN(garden::Capacity capacity, garden.GetCapacity());
  EXPECT_EQ(capacity.max_containers, 2u);
  EXPECT_EQ(capacity.memory_in_bytes, 1000u);
  MustCreate(garden, Spec("a"));
  MustCreate(garden, Spec("b"));
  EXPECT_THAT(garden.Create(Spec("c")),
              StatusIs(absl::StatusCode::kResourceExhausted, "max containers reached"));
  ASSERT_OK(garden.Destroy("a"));
  EXPECT_THAT(garden.Create(Spec("c")), IsOk());

  FakeGardenBackend unlimited(Opts());
  EXPECT_EQ(unlimited.GetCapacity()->max_containers, 256u);  // /30s in 10.254.0.0/22
  EXPECT_THAT(unlimited.Ping(), IsOk());
  EXPECT_THAT(unlimited.Start(), IsOk());
}

TEST_F(FakeGardenBackendTest, UnknownHandlesAreContainerNotFound) {
  FakeGardenBackend garden(Opts());
  EXPECT_THAT(garden.Lookup("nope"),
              StatusIs(absl::StatusCode::kNotFound, "unknown handle: nope"));
  EXPECT_TRUE(garden::HasErrorType(garden.Destroy("nope"), garden::kContainerNotFoundErrorType));
  EXPECT_THAT(garden.GraceTime("nope"), StatusIs(absl::StatusCode::kNotFound));

  auto c = MustCreate(garden, Spec("gone"));
  ASSERT_OK(garden.Destroy("gone"));
  EXPECT_THAT(c->Info(), StatusIs(absl::StatusCode::kNotFound, "unknown handle: gone"));
  EXPECT_THAT(c->Stop(true), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(c->Run(Proc("/bin/true"), {}), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(c->StreamIn("/x", "", "tar"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(c->GetProperties(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(c->NetIn(0, 0), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(c->CurrentMemoryLimits(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(garden.Destroy("gone"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FakeGardenBackendTest, LimitsComeFromTheSpec) {
  FakeGardenBackend garden(Opts());
  garden::ContainerSpec spec = Spec("l");
  spec.limits.memory.limit_in_bytes = 128 << 20;
  spec.limits.cpu.weight = 64;
  spec.limits.disk.byte_hard = 1 << 30;
  spec.limits.bandwidth.rate_in_bytes_per_second = 10;
  auto c = MustCreate(garden, spec);
  EXPECT_EQ(c->CurrentMemoryLimits()->limit_in_bytes, uint64_t{128} << 20);
  EXPECT_EQ(c->CurrentCpuLimits()->weight, 64u);
  EXPECT_EQ(c->CurrentDiskLimits()->byte_hard, uint64_t{1} << 30);
  EXPECT_EQ(c->CurrentBandwidthLimits()->rate_in_bytes_per_second, 10u);
}

TEST_F(FakeGardenBackendTest, NetInTakesPortsFromThePool) {
  FakeGardenBackend garden(Opts());
  garden::ContainerSpec spec = Spec("n");
  spec.net_in = {{.host_port = 0, .container_port = 8080}};
  auto c = MustCreate(garden, spec);
  ASSERT_OK_AND_ASSIGN(garden::PortMapping second, c->NetIn(0, 2222));
  EXPECT_EQ(second, (garden::PortMapping{61002, 2222}));
  ASSERT_OK_AND_ASSIGN(garden::PortMapping same, c->NetIn(0, 0));
  EXPECT_EQ(same, (garden::PortMapping{61003, 61003}));
  ASSERT_OK_AND_ASSIGN(garden::PortMapping fixed, c->NetIn(7000, 0));
  EXPECT_EQ(fixed, (garden::PortMapping{7000, 7000}));
  EXPECT_THAT(c->Info()->mapped_ports,
              ElementsAre(garden::PortMapping{61001, 8080}, garden::PortMapping{61002, 2222},
                          garden::PortMapping{61003, 61003}, garden::PortMapping{7000, 7000}));
}

TEST_F(FakeGardenBackendTest, NetInPoolExhaustion) {
  FakeGardenBackend::Options options = Opts();
  options.port_pool_size = 1;
  FakeGardenBackend garden(options);
  auto c = MustCreate(garden, Spec("n"));
  EXPECT_THAT(c->NetIn(0, 80), IsOk());
  EXPECT_THAT(c->NetIn(0, 80), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(FakeGardenBackendTest, NetOutRulesAreRecorded) {
  FakeGardenBackend garden(Opts());
  garden::NetOutRule from_spec;
  from_spec.protocol = garden::Protocol::kTcp;
  garden::ContainerSpec spec = Spec("o");
  spec.net_out = {from_spec};
  auto c = MustCreate(garden, spec);
  garden::NetOutRule udp;
  udp.protocol = garden::Protocol::kUdp;
  garden::NetOutRule icmp;
  icmp.protocol = garden::Protocol::kIcmp;
  ASSERT_OK(c->NetOut(udp));
  ASSERT_OK(c->BulkNetOut({icmp, udp}));
  EXPECT_THAT(garden.NetOutRules("o"), IsOk());
  EXPECT_THAT(*garden.NetOutRules("o"), ElementsAre(from_spec, udp, icmp, udp));
  EXPECT_EQ(garden.CallCount(Call::kNetOut), 1);
  EXPECT_EQ(garden.CallCount(Call::kBulkNetOut), 1);
}

TEST_F(FakeGardenBackendTest, PropertiesAndFiltering) {
  FakeGardenBackend garden(Opts());
  garden::ContainerSpec a = Spec("a");
  a.properties = {{"role", "lrp"}, {"zone", "z1"}};
  garden::ContainerSpec b = Spec("b");
  b.properties = {{"role", "task"}};
  auto ca = MustCreate(garden, a);
  auto cb = MustCreate(garden, b);
  ASSERT_OK(cb->SetProperty("zone", "z1"));
  EXPECT_EQ(*cb->GetProperty("zone"), "z1");
  EXPECT_THAT(cb->GetProperty("missing"),
              StatusIs(absl::StatusCode::kNotFound, "property does not exist: missing"));
  ASSERT_OK_AND_ASSIGN(auto in_z1, garden.Containers({{"zone", "z1"}}));
  ASSERT_THAT(in_z1, SizeIs(2));
  EXPECT_EQ(in_z1[0]->Handle(), "a");
  EXPECT_EQ(in_z1[1]->Handle(), "b");
  ASSERT_OK_AND_ASSIGN(auto lrps, garden.Containers({{"role", "lrp"}, {"zone", "z1"}}));
  ASSERT_THAT(lrps, SizeIs(1));
  EXPECT_EQ(lrps[0]->Handle(), "a");
  ASSERT_OK(ca->RemoveProperty("zone"));
  EXPECT_THAT(ca->RemoveProperty("zone"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(*ca->GetProperties(), (garden::Properties{{"role", "lrp"}}));
  ASSERT_OK_AND_ASSIGN(auto all, garden.Containers({}));
  EXPECT_THAT(all, SizeIs(2));
}

TEST_F(FakeGardenBackendTest, MetricsAreSetByTheTestAndAgeFollowsTheClock) {
  FakeGardenBackend garden(Opts());
  auto c = MustCreate(garden, Spec("m"));
  clock_.Advance(absl::Seconds(30));
  ASSERT_OK_AND_ASSIGN(garden::Metrics zero, c->GetMetrics());
  EXPECT_EQ(zero.age, absl::Seconds(30));
  EXPECT_EQ(zero.memory.total_usage_toward_limit, 0u);
  garden::Metrics m;
  m.memory.total_usage_toward_limit = 4096;
  m.cpu.usage = 77;
  ASSERT_OK(garden.SetMetrics("m", m));
  ASSERT_OK_AND_ASSIGN(garden::Metrics got, c->GetMetrics());
  EXPECT_EQ(got.memory.total_usage_toward_limit, 4096u);
  EXPECT_EQ(got.cpu.usage, 77u);
  EXPECT_EQ(got.age, absl::Seconds(30));
  m.age = absl::Hours(1);
  ASSERT_OK(garden.SetMetrics("m", m));
  EXPECT_EQ(c->GetMetrics()->age, absl::Hours(1));
  EXPECT_THAT(garden.SetMetrics("nope", m), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FakeGardenBackendTest, EventsAppearInInfo) {
  FakeGardenBackend garden(Opts());
  auto c = MustCreate(garden, Spec("e"));
  ASSERT_OK(garden.AddEvent("e", "out of memory"));
  EXPECT_THAT(c->Info()->events, ElementsAre("out of memory"));
}

TEST_F(FakeGardenBackendTest, BulkInfoAndBulkMetricsReportPerHandleErrors) {
  FakeGardenBackend garden(Opts());
  MustCreate(garden, Spec("a"));
  ASSERT_OK_AND_ASSIGN(garden::BulkInfoResult info, garden.BulkInfo({"a", "zz"}));
  ASSERT_EQ(info.size(), 2u);
  ASSERT_TRUE(info["a"].value.has_value());
  EXPECT_EQ(info["a"].value->container_ip, "10.254.0.2");
  EXPECT_THAT(info["a"].error, IsOk());
  EXPECT_FALSE(info["zz"].value.has_value());
  EXPECT_THAT(info["zz"].error, StatusIs(absl::StatusCode::kNotFound, "unknown handle: zz"));
  ASSERT_OK_AND_ASSIGN(garden::BulkMetricsResult metrics, garden.BulkMetrics({"a", "zz"}));
  EXPECT_TRUE(metrics["a"].value.has_value());
  EXPECT_THAT(metrics["zz"].error, StatusIs(absl::StatusCode::kNotFound));
}

// --- StreamIn / StreamOut ------------------------------------------------------------

TEST_F(FakeGardenBackendTest, StreamOutReturnsWhatWasStreamedInOrSet) {
  FakeGardenBackend garden(Opts());
  auto c = MustCreate(garden, Spec("s"));
  ASSERT_OK(c->StreamIn("/tmp/app", "vcap", "TAR-1"));
  EXPECT_EQ(*c->StreamOut("/tmp/app", "vcap"), "TAR-1");
  ASSERT_OK(garden.SetStreamOutContent("s", "/tmp/app", "TAR-2"));
  EXPECT_EQ(*c->StreamOut("/tmp/app", ""), "TAR-2");
  ASSERT_OK(c->StreamIn("/tmp/app", "root", "TAR-3"));
  EXPECT_EQ(*c->StreamOut("/tmp/app", ""), "TAR-3");
  ASSERT_OK(garden.SetStreamOutContent("s", "/logs/out.tgz", "LOGS"));
  EXPECT_EQ(*c->StreamOut("/logs/out.tgz", ""), "LOGS");
  EXPECT_THAT(c->StreamOut("/nope", ""),
              StatusIs(absl::StatusCode::kNotFound, "stream out: /nope: no such file or directory"));
  std::vector<FakeStreamIn> ins = garden.StreamIns("s");
  ASSERT_THAT(ins, SizeIs(2));
  EXPECT_EQ(ins[0].path, "/tmp/app");
  EXPECT_EQ(ins[0].user, "vcap");
  EXPECT_EQ(ins[0].tar, "TAR-1");
  EXPECT_EQ(ins[1].user, "root");
  // Records outlive the container.
  ASSERT_OK(garden.Destroy("s"));
  EXPECT_THAT(garden.StreamIns("s"), SizeIs(2));
}

// --- Processes -------------------------------------------------------------------------

TEST_F(FakeGardenBackendTest, HandlerOutputReachesTheSinksAndWaitReturnsItsExitStatus) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/echo", [](FakeProcessContext& ctx) {
    ctx.WriteStdout(ctx.spec().args.empty() ? "" : ctx.spec().args[0]);
    ctx.WriteStderr("warn");
    return 3;
  });
  auto c = MustCreate(garden, Spec("p"));
  Output out;
  Output err;
  garden::ProcessSpec spec = Proc("/bin/echo");
  spec.args = {"hello"};
  ASSERT_OK_AND_ASSIGN(auto process,
                       c->Run(spec, {.stdout_sink = out.Sink(), .stderr_sink = err.Sink()}));
  EXPECT_FALSE(process->Id().empty());
  EXPECT_THAT(process->Wait(absl::InfiniteFuture()), IsOkAndHolds(3));
  EXPECT_EQ(out.text(), "hello");
  EXPECT_EQ(err.text(), "warn");
  ASSERT_OK_AND_ASSIGN(std::optional<int> status, garden.ExitStatus("p", process->Id()));
  EXPECT_EQ(status, 3);
  EXPECT_THAT(garden.ProcessSpecs("p"), ElementsAre(spec));
  EXPECT_EQ(garden.GetCounters().processes_run, 1);
  EXPECT_EQ(garden.CallCount(Call::kRun), 1);
}

TEST_F(FakeGardenBackendTest, ProcessIdsAreTheSpecsOrGeneratedAndUniquePerContainer) {
  FakeGardenBackend garden(Opts());
  auto c = MustCreate(garden, Spec("p"));
  garden::ProcessSpec spec = Proc("/bin/true");
  spec.id = "my-id";
  ASSERT_OK_AND_ASSIGN(auto p1, c->Run(spec, {}));
  EXPECT_EQ(p1->Id(), "my-id");
  EXPECT_THAT(c->Run(spec, {}),
              StatusIs(absl::StatusCode::kAlreadyExists, "process ID 'my-id' already in use"));
  ASSERT_OK_AND_ASSIGN(auto p2, c->Run(Proc("/bin/true"), {}));
  ASSERT_OK_AND_ASSIGN(auto p3, c->Run(Proc("/bin/true"), {}));
  EXPECT_NE(p2->Id(), p3->Id());
  // Both the successful and the refused Run are recorded.
  EXPECT_THAT(garden.ProcessSpecs("p"), SizeIs(4));
}

TEST_F(FakeGardenBackendTest, ContextSeesSpecsAndMergedEnv) {
  FakeGardenBackend garden(Opts());
  std::vector<std::string> env;
  std::string handle;
  std::string container_rootfs;
  garden.SetProcessHandler("/bin/env", [&](FakeProcessContext& ctx) {
    env = ctx.Env();
    handle = ctx.handle();
    container_rootfs = ctx.container_spec().image.uri;
    EXPECT_EQ(ctx.clock(), &clock_);
    EXPECT_EQ(ctx.process_id(), "pid");
    return 0;
  });
  garden::ContainerSpec cs = Spec("env");
  cs.env = {"A=1"};
  cs.image.uri = "/rootfs";
  auto c = MustCreate(garden, cs);
  garden::ProcessSpec spec = Proc("/bin/env");
  spec.id = "pid";
  spec.env = {"B=2"};
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(spec, {}));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));
  EXPECT_THAT(env, ElementsAre("A=1", "B=2"));
  EXPECT_EQ(handle, "env");
  EXPECT_EQ(container_rootfs, "/rootfs");
}

TEST_F(FakeGardenBackendTest, UnknownPathsExitZeroOrFailAsConfigured) {
  FakeGardenBackend garden(Opts());
  auto c = MustCreate(garden, Spec("u"));
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/no/handler"), {}));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));

  garden.SetUnknownPathBehavior(FakeGardenBackend::UnknownPath::kExecutableNotFound);
  absl::StatusOr<std::unique_ptr<garden::Process>> missing = c->Run(Proc("nope"), {});
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kFailedPrecondition,
                                "exec: \"nope\": executable file not found in $PATH"));
  EXPECT_TRUE(
      garden::HasErrorType(missing.status(), garden::kExecutableNotFoundErrorType));

  garden.SetDefaultProcessHandler([](FakeProcessContext&) { return 42; });
  ASSERT_OK_AND_ASSIGN(auto d, c->Run(Proc("anything"), {}));
  EXPECT_THAT(d->Wait(absl::InfiniteFuture()), IsOkAndHolds(42));
  garden.SetDefaultProcessHandler(nullptr);
  EXPECT_THAT(c->Run(Proc("anything"), {}), StatusIs(absl::StatusCode::kFailedPrecondition));

  FakeGardenBackend::Options strict = Opts();
  strict.unknown_path = FakeGardenBackend::UnknownPath::kExecutableNotFound;
  FakeGardenBackend strict_garden(strict);
  auto sc = MustCreate(strict_garden, Spec("u"));
  EXPECT_THAT(sc->Run(Proc("/x"), {}), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(FakeGardenBackendTest, StdinDataIsTheWholeInput) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/cat", [](FakeProcessContext& ctx) {
    ctx.WriteStdout(ctx.ReadAllStdin());
    return 0;
  });
  auto c = MustCreate(garden, Spec("i"));
  Output out;
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/cat"), {.stdin_data = "abc",
                                                         .stdout_sink = out.Sink()}));
  EXPECT_THAT(p->WriteStdin("more"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));
  EXPECT_EQ(out.text(), "abc");
}

TEST_F(FakeGardenBackendTest, StdinStreamsUntilClosed) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/cat", [](FakeProcessContext& ctx) {
    while (std::optional<std::string> chunk = ctx.ReadStdin()) {
      ctx.WriteStdout(*chunk);
    }
    return 0;
  });
  auto c = MustCreate(garden, Spec("i"));
  Output out;
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/cat"), {.stdout_sink = out.Sink()}));
  ASSERT_OK(p->WriteStdin("one,"));
  out.AwaitContains("one,");
  ASSERT_OK(p->WriteStdin("two"));
  ASSERT_OK(p->CloseStdin());
  EXPECT_THAT(p->WriteStdin("late"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                              ::testing::HasSubstr("stdin is closed")));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));
  EXPECT_EQ(out.text(), "one,two");
  EXPECT_THAT(p->WriteStdin("after"), StatusIs(absl::StatusCode::kFailedPrecondition));
  // Writes to an exited process whose stdin is open are dropped.
  ASSERT_OK_AND_ASSIGN(auto quick, c->Run(Proc("/bin/true"), {}));
  EXPECT_THAT(quick->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));
  EXPECT_THAT(quick->WriteStdin("ignored"), IsOk());
}

TEST_F(FakeGardenBackendTest, SignalsKillNonCatchingHandlers) {
  FakeGardenBackend garden(Opts());
  std::atomic<bool> saw_killed{false};
  garden.SetProcessHandler("/bin/sleep", [&](FakeProcessContext& ctx) {
    std::optional<garden::Signal> s = ctx.WaitForSignal(absl::InfiniteFuture());
    saw_killed = ctx.Killed() && s.has_value();
    ctx.WriteStdout("dropped");
    return 0;
  });
  auto c = MustCreate(garden, Spec("sig"));
  Output out;
  ASSERT_OK_AND_ASSIGN(auto term, c->Run(Proc("/bin/sleep"), {.stdout_sink = out.Sink()}));
  ASSERT_OK(term->Signal(garden::Signal::kTerminate));
  EXPECT_THAT(term->Wait(absl::InfiniteFuture()), IsOkAndHolds(143));
  ASSERT_OK_AND_ASSIGN(auto kill, c->Run(Proc("/bin/sleep"), {}));
  ASSERT_OK(kill->Signal(garden::Signal::kKill));
  EXPECT_THAT(kill->Wait(absl::InfiniteFuture()), IsOkAndHolds(137));
  // Signalling an exited process is fine.
  EXPECT_THAT(kill->Signal(garden::Signal::kKill), IsOk());
  EXPECT_THAT(kill->Wait(absl::InfiniteFuture()), IsOkAndHolds(137));
  garden.BlockUntilProcessesRun(2);
  EXPECT_EQ(out.text(), "");
}

TEST_F(FakeGardenBackendTest, CatchingHandlersReceiveSigtermButNotSigkill) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/server", [](FakeProcessContext& ctx) {
    ctx.CatchSignals();
    ctx.WriteStdout("ready");
    std::optional<garden::Signal> s = ctx.WaitForSignal(absl::InfiniteFuture());
    if (ctx.Killed()) {
      return 99;  // ignored: the process was killed
    }
    ctx.WriteStdout(s == garden::Signal::kTerminate ? " draining" : " ?");
    // Keep running until killed.
    ctx.WaitForSignal(absl::InfiniteFuture());
    return 98;
  });
  auto c = MustCreate(garden, Spec("sig"));
  Output out;
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/server"), {.stdout_sink = out.Sink()}));
  out.AwaitContains("ready");
  ASSERT_OK(p->Signal(garden::Signal::kTerminate));
  out.AwaitContains("draining");
  EXPECT_EQ(garden.ExitStatus("sig", p->Id()).value(), std::nullopt);
  ASSERT_OK(p->Signal(garden::Signal::kKill));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(137));
}

TEST_F(FakeGardenBackendTest, CatchingHandlerMayExitCleanlyOnSigterm) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/graceful", [](FakeProcessContext& ctx) {
    ctx.CatchSignals();
    ctx.WriteStdout("ready");
    return ctx.WaitForSignal(absl::InfiniteFuture()) == garden::Signal::kTerminate ? 0 : 1;
  });
  auto c = MustCreate(garden, Spec("g"));
  Output out;
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/graceful"), {.stdout_sink = out.Sink()}));
  out.AwaitContains("ready");
  ASSERT_OK(p->Signal(garden::Signal::kTerminate));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));
}

TEST_F(FakeGardenBackendTest, WaitHonoursDeadlinesOnTheClock) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/forever", [](FakeProcessContext& ctx) {
    ctx.WaitForSignal(absl::InfiniteFuture());
    return 0;
  });
  auto c = MustCreate(garden, Spec("w"));
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/forever"), {}));
  // A deadline already passed.
  EXPECT_THAT(p->Wait(clock_.Now()), StatusIs(absl::StatusCode::kDeadlineExceeded));
  absl::StatusOr<int> result;
  std::thread waiter([&] { result = p->Wait(clock_.Now() + absl::Seconds(5)); });
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(5));
  waiter.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kDeadlineExceeded));
  // A Wait with a finite deadline returns as soon as the process exits.
  std::thread waiter2([&] { result = p->Wait(clock_.Now() + absl::Hours(1)); });
  clock_.BlockUntilSleepers(1);
  ASSERT_OK(p->Signal(garden::Signal::kKill));
  waiter2.join();
  EXPECT_THAT(result, IsOkAndHolds(137));
}

TEST_F(FakeGardenBackendTest, WaitForSignalDeadlineActsAsASleep) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/sleep5", [](FakeProcessContext& ctx) {
    const absl::Time deadline = ctx.clock()->Now() + absl::Seconds(5);
    return ctx.WaitForSignal(deadline).has_value() ? 1 : 0;
  });
  auto c = MustCreate(garden, Spec("s"));
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/sleep5"), {}));
  clock_.BlockUntilSleepers(1);
  clock_.Advance(absl::Seconds(5));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));

  ASSERT_OK_AND_ASSIGN(auto q, c->Run(Proc("/bin/sleep5"), {}));
  clock_.BlockUntilSleepers(1);
  ASSERT_OK(q->Signal(garden::Signal::kTerminate));
  EXPECT_THAT(q->Wait(absl::InfiniteFuture()), IsOkAndHolds(143));
}

TEST_F(FakeGardenBackendTest, AttachReplaysKeptOutputAndFollows) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/app", [](FakeProcessContext& ctx) {
    ctx.WriteStdout("first ");
    ctx.ReadAllStdin();
    ctx.WriteStdout("second");
    ctx.WriteStderr("e");
    return 7;
  });
  auto c = MustCreate(garden, Spec("a"));
  Output run_out;
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/app"), {.stdout_sink = run_out.Sink()}));
  run_out.AwaitContains("first ");
  EXPECT_THAT(c->Info()->process_ids, ElementsAre(p->Id()));

  Output attached;
  ASSERT_OK_AND_ASSIGN(auto a, c->Attach(p->Id(), {.stdout_sink = attached.Sink()}));
  EXPECT_EQ(a->Id(), p->Id());
  EXPECT_EQ(attached.text(), "first ");
  ASSERT_OK(p->CloseStdin());
  EXPECT_THAT(a->Wait(absl::InfiniteFuture()), IsOkAndHolds(7));
  EXPECT_EQ(attached.text(), "first second");
  EXPECT_EQ(run_out.text(), "first second");

  // After the exit: the kept output, then the exit status at once.
  Output late_out;
  Output late_err;
  ASSERT_OK_AND_ASSIGN(auto late, c->Attach(p->Id(), {.stdout_sink = late_out.Sink(),
                                                      .stderr_sink = late_err.Sink()}));
  EXPECT_THAT(late->Wait(absl::InfiniteFuture()), IsOkAndHolds(7));
  EXPECT_EQ(late_out.text(), "first second");
  EXPECT_EQ(late_err.text(), "e");
  EXPECT_THAT(c->Info()->process_ids, IsEmpty());
}

TEST_F(FakeGardenBackendTest, AttachKeepsTheLast64KiB) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/noisy", [](FakeProcessContext& ctx) {
    ctx.WriteStdout(std::string(10 * 1024, 'a'));
    ctx.WriteStdout(std::string(64 * 1024, 'b'));
    return 0;
  });
  auto c = MustCreate(garden, Spec("n"));
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/noisy"), {}));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));
  Output out;
  ASSERT_OK_AND_ASSIGN(auto a, c->Attach(p->Id(), {.stdout_sink = out.Sink()}));
  EXPECT_EQ(out.text(), std::string(64 * 1024, 'b'));
}

TEST_F(FakeGardenBackendTest, AttachToAnUnknownProcess) {
  FakeGardenBackend garden(Opts());
  auto c = MustCreate(garden, Spec("a"));
  absl::StatusOr<std::unique_ptr<garden::Process>> p = c->Attach("nope", {});
  EXPECT_THAT(p, StatusIs(absl::StatusCode::kNotFound, "unknown process: nope"));
  EXPECT_TRUE(garden::HasErrorType(p.status(), garden::kProcessNotFoundErrorType));
  EXPECT_THAT(garden.ExitStatus("a", "nope"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FakeGardenBackendTest, SetTtyNeedsATty) {
  FakeGardenBackend garden(Opts());
  std::optional<garden::TtySpec> seen;
  garden.SetProcessHandler("/bin/sh", [&](FakeProcessContext& ctx) {
    ctx.ReadAllStdin();
    seen = ctx.Tty();
    return 0;
  });
  auto c = MustCreate(garden, Spec("t"));
  ASSERT_OK_AND_ASSIGN(auto plain, c->Run(Proc("/bin/sh"), {.stdin_data = ""}));
  EXPECT_THAT(plain->SetTty({}), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(plain->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));
  EXPECT_FALSE(seen.has_value());

  garden::ProcessSpec spec = Proc("/bin/sh");
  spec.tty = garden::TtySpec{};
  ASSERT_OK_AND_ASSIGN(auto tty, c->Run(spec, {}));
  garden::TtySpec size{.window_size = garden::WindowSize{.columns = 120, .rows = 40}};
  ASSERT_OK(tty->SetTty(size));
  ASSERT_OK(tty->CloseStdin());
  EXPECT_THAT(tty->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));
  EXPECT_EQ(seen, size);
}

// --- Stop and Destroy ------------------------------------------------------------------------

TEST_F(FakeGardenBackendTest, StopKillSigkillsEverythingAndMarksStopped) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/forever", [](FakeProcessContext& ctx) {
    ctx.CatchSignals();
    while (!ctx.Killed()) {
      ctx.WaitForSignal(absl::InfiniteFuture());
    }
    return 0;
  });
  auto c = MustCreate(garden, Spec("s"));
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/forever"), {}));
  ASSERT_OK(c->Stop(true));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(137));
  EXPECT_EQ(c->Info()->state, "stopped");
  EXPECT_THAT(garden.Handles(), ElementsAre("s"));  // still there
}

TEST_F(FakeGardenBackendTest, StopSigtermsAndNonCatchingProcessesExitAtOnce) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/forever", [](FakeProcessContext& ctx) {
    ctx.WaitForSignal(absl::InfiniteFuture());
    return 0;
  });
  auto c = MustCreate(garden, Spec("s"));
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/forever"), {}));
  ASSERT_OK(c->Stop(false));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(143));
  EXPECT_EQ(c->Info()->state, "stopped");
}

TEST_F(FakeGardenBackendTest, StopWaitsTenSecondsForSigtermThenSigkills) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/stubborn", [](FakeProcessContext& ctx) {
    ctx.CatchSignals();
    ctx.WriteStdout("ready");
    while (!ctx.Killed()) {
      ctx.WaitForSignal(absl::InfiniteFuture());
    }
    return 0;
  });
  auto c = MustCreate(garden, Spec("s"));
  Output out;
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/stubborn"), {.stdout_sink = out.Sink()}));
  out.AwaitContains("ready");
  absl::Status stop_status = absl::UnknownError("not returned");
  std::thread stopper([&] { stop_status = c->Stop(false); });
  clock_.BlockUntilSleepers(1);  // Stop is waiting out the grace period.
  clock_.Advance(absl::Seconds(9));
  EXPECT_EQ(clock_.Sleepers(), 1);
  EXPECT_EQ(garden.ExitStatus("s", p->Id()).value(), std::nullopt);
  clock_.Advance(absl::Seconds(1));
  stopper.join();
  EXPECT_THAT(stop_status, IsOk());
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(137));
}

TEST_F(FakeGardenBackendTest, DestroyKillsProcessesAndForgetsTheContainer) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/forever", [](FakeProcessContext& ctx) {
    ctx.WaitForSignal(absl::InfiniteFuture());
    return 0;
  });
  auto c = MustCreate(garden, Spec("d"));
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/forever"), {}));
  ASSERT_OK(garden.Destroy("d"));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(137));
  EXPECT_THAT(garden.Handles(), IsEmpty());
  EXPECT_THAT(garden.Lookup("d"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(garden.ProcessSpecs("d"), SizeIs(1));  // records survive
  FakeGardenBackend::Counters counters = garden.GetCounters();
  EXPECT_EQ(counters.containers_created, 1);
  EXPECT_EQ(counters.containers_destroyed, 1);
  EXPECT_EQ(counters.processes_run, 1);
}

TEST_F(FakeGardenBackendTest, DestructorKillsAndJoinsRunningHandlers) {
  std::atomic<bool> killed{false};
  {
    FakeGardenBackend garden(Opts());
    garden.SetProcessHandler("/bin/forever", [&](FakeProcessContext& ctx) {
      ctx.ReadAllStdin();  // Returns once killed.
      killed = ctx.Killed();
      return 0;
    });
    auto c = MustCreate(garden, Spec("x"));
    ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/forever"), {}));
    garden.BlockUntilProcessesRun(1);
  }
  EXPECT_TRUE(killed);
}

// --- Grace time --------------------------------------------------------------------------------

TEST_F(FakeGardenBackendTest, ReapIdleDestroysContainersIdleLongerThanTheirGraceTime) {
  FakeGardenBackend garden(Opts());
  garden::ContainerSpec spec = Spec("idle");
  spec.grace_time = absl::Seconds(10);
  auto idle = MustCreate(garden, spec);
  auto forever = MustCreate(garden, Spec("forever"));  // grace 0: never reaped
  EXPECT_EQ(*garden.GraceTime("idle"), absl::Seconds(10));

  clock_.Advance(absl::Seconds(9));
  EXPECT_THAT(garden.ReapIdle(), IsEmpty());
  ASSERT_OK(idle->Info().status());  // activity at t=9
  clock_.Advance(absl::Seconds(9));
  EXPECT_THAT(garden.ReapIdle(), IsEmpty());
  // Inspection by the test is not activity.
  EXPECT_THAT(garden.NetOutRules("idle"), IsOk());
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(garden.ReapIdle(), ElementsAre("idle"));
  EXPECT_THAT(garden.Handles(), ElementsAre("forever"));
  EXPECT_EQ(garden.GetCounters().containers_destroyed, 1);

  ASSERT_OK(forever->SetGraceTime(absl::Minutes(1)));
  EXPECT_EQ(*garden.GraceTime("forever"), absl::Minutes(1));
  clock_.Advance(absl::Minutes(1));
  EXPECT_THAT(garden.ReapIdle(), ElementsAre("forever"));
  EXPECT_THAT(forever->SetGraceTime(absl::Seconds(-1)), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FakeGardenBackendTest, ProcessCallsAndAttachedOutputCountAsActivity) {
  FakeGardenBackend garden(Opts());
  garden.SetProcessHandler("/bin/chatty", [](FakeProcessContext& ctx) {
    while (std::optional<std::string> line = ctx.ReadStdin()) {
      ctx.WriteStdout(*line);
    }
    return 0;
  });
  garden::ContainerSpec spec = Spec("g");
  spec.grace_time = absl::Seconds(10);
  auto c = MustCreate(garden, spec);
  Output out;
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/chatty"), {.stdout_sink = out.Sink()}));
  clock_.Advance(absl::Seconds(8));
  ASSERT_OK(p->WriteStdin("x"));  // activity at t=8 (and the echo too)
  out.AwaitContains("x");
  clock_.Advance(absl::Seconds(8));
  EXPECT_THAT(garden.ReapIdle(), IsEmpty());
  clock_.Advance(absl::Seconds(2));
  EXPECT_THAT(garden.ReapIdle(), ElementsAre("g"));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(137));
}

// --- Failure injection, counters, wrappers -------------------------------------------------------

TEST_F(FakeGardenBackendTest, FailNextFailsTheNextCallsThenRecovers) {
  FakeGardenBackend garden(Opts());
  garden.FailNext(Call::kCreate, absl::UnavailableError("garden down"), {.times = 2});
  EXPECT_THAT(garden.Create(Spec("a")), StatusIs(absl::StatusCode::kUnavailable, "garden down"));
  EXPECT_THAT(garden.Create(Spec("a")), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(garden.Create(Spec("a")), IsOk());
  EXPECT_EQ(garden.CallCount(Call::kCreate), 3);
  EXPECT_EQ(garden.GetCounters().containers_created, 1);
}

TEST_F(FakeGardenBackendTest, FailNextCanTargetOneContainer) {
  FakeGardenBackend garden(Opts());
  auto a = MustCreate(garden, Spec("a"));
  auto b = MustCreate(garden, Spec("b"));
  garden.FailNext(Call::kRun, absl::InternalError("run failed"), {.handle = "b"});
  EXPECT_THAT(a->Run(Proc("/bin/true"), {}), IsOk());
  EXPECT_THAT(b->Run(Proc("/bin/true"), {}), StatusIs(absl::StatusCode::kInternal, "run failed"));
  EXPECT_THAT(b->Run(Proc("/bin/true"), {}), IsOk());
  // FailNext failures are not recorded as runs.
  EXPECT_THAT(garden.ProcessSpecs("b"), SizeIs(1));

  garden.FailNext(Call::kBulkInfo, absl::InternalError("bulk"), {.handle = "b"});
  EXPECT_THAT(garden.BulkInfo({"a"}), IsOk());
  EXPECT_THAT(garden.BulkInfo({"a", "b"}), StatusIs(absl::StatusCode::kInternal));

  garden.FailNext(Call::kStreamIn, absl::InternalError("disk full"));
  garden.ClearFailures();
  EXPECT_THAT(a->StreamIn("/x", "", "t"), IsOk());
}

TEST_F(FakeGardenBackendTest, FailNextCoversProcessCalls) {
  FakeGardenBackend garden(Opts());
  auto c = MustCreate(garden, Spec("p"));
  ASSERT_OK_AND_ASSIGN(auto p, c->Run(Proc("/bin/true"), {}));
  garden.FailNext(Call::kWait, absl::InternalError("lost the process"));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(p->Wait(absl::InfiniteFuture()), IsOkAndHolds(0));
  garden.FailNext(Call::kSignal, absl::InternalError("nope"));
  EXPECT_THAT(p->Signal(garden::Signal::kKill), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(garden.CallCount(Call::kWait), 2);
}

class FlakyCreate : public GardenBackendWrapper {
 public:
  using GardenBackendWrapper::GardenBackendWrapper;
  absl::StatusOr<std::unique_ptr<garden::Container>> Create(
      const garden::ContainerSpec& spec) override {
    if (++creates_ == 1) {
      return absl::UnavailableError("flaky");
    }
    absl::StatusOr<std::unique_ptr<garden::Container>> c = GardenBackendWrapper::Create(spec);
    if (!c.ok()) {
      return c.status();
    }
    return std::unique_ptr<garden::Container>(std::make_unique<NoStreamIn>(std::move(*c)));
  }

 private:
  class NoStreamIn : public ContainerWrapper {
   public:
    using ContainerWrapper::ContainerWrapper;
    absl::Status StreamIn(absl::string_view, absl::string_view, absl::string_view) override {
      return absl::PermissionDeniedError("no stream in");
    }
  };
  int creates_ = 0;
};

TEST_F(FakeGardenBackendTest, WrappersForwardEverythingNotOverridden) {
  FakeGardenBackend garden(Opts());
  FlakyCreate flaky(&garden);
  EXPECT_EQ(flaky.target(), &garden);
  EXPECT_THAT(flaky.Create(Spec("w")), StatusIs(absl::StatusCode::kUnavailable, "flaky"));
  ASSERT_OK_AND_ASSIGN(auto c, flaky.Create(Spec("w")));
  EXPECT_THAT(c->StreamIn("/x", "", "t"), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(c->Handle(), "w");
  EXPECT_THAT(c->Info(), IsOk());
  ASSERT_OK(c->SetProperty("k", "v"));
  EXPECT_EQ(*c->GetProperty("k"), "v");
  EXPECT_THAT(c->Run(Proc("/bin/true"), {}), IsOk());
  EXPECT_THAT(flaky.Ping(), IsOk());
  EXPECT_THAT(flaky.Start(), IsOk());
  EXPECT_THAT(flaky.GetCapacity(), IsOk());
  EXPECT_THAT(flaky.Lookup("w"), IsOk());
  EXPECT_THAT(flaky.GraceTime("w"), IsOk());
  EXPECT_THAT(flaky.BulkInfo({"w"}), IsOk());
  EXPECT_THAT(flaky.BulkMetrics({"w"}), IsOk());
  ASSERT_OK_AND_ASSIGN(auto listed, flaky.Containers({}));
  EXPECT_THAT(listed, SizeIs(1));
  EXPECT_THAT(flaky.Destroy("w"), IsOk());
  flaky.Stop();
  EXPECT_EQ(garden.CallCount(Call::kCreate), 1);
  EXPECT_EQ(garden.CallCount(Call::kDestroy), 1);
}

TEST_F(FakeGardenBackendTest, ConcurrentCreatesGetDistinctHandlesAndAddresses) {
  FakeGardenBackend garden(Opts());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&garden] {
      for (int i = 0; i < 25; ++i) {
        absl::StatusOr<std::unique_ptr<garden::Container>> c = garden.Create({});
        EXPECT_THAT(c, IsOk());
        if (c.ok()) {
          EXPECT_THAT((*c)->Run({.path = "/bin/true"}, {}), IsOk());
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  std::vector<std::string> handles = garden.Handles();
  ASSERT_THAT(handles, SizeIs(100));
  ASSERT_OK_AND_ASSIGN(garden::BulkInfoResult info, garden.BulkInfo(handles));
  std::set<std::string> ips;
  for (const auto& [handle, entry] : info) {
    ASSERT_TRUE(entry.value.has_value());
    ips.insert(entry.value->container_ip);
  }
  EXPECT_THAT(ips, SizeIs(100));
  EXPECT_EQ(garden.GetCounters().processes_run, 100);
}

}  // namespace
}  // namespace diego::fakes
