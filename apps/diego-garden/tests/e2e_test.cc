// Copyright 2026 The libdiego Authors.
//
// End-to-end: the diego-garden binary (root) serving LinuxBackend over a unix
// socket, driven through HttpGardenClient: busybox httpd reachable through
// NetIn, the memory and pids limits, re-adoption across a restart, and a
// destroy that leaves nothing behind. Address pool 10.250.0.0/24 (reserved
// for this suite).

#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cgroups.h"
#include "diego/base/clock.h"
#include "diego/garden/errors.h"
#include "diego/garden/http_client.h"
#include "diego/testing/child_process.h"
#include "diego/testing/linux_test_env.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "network.h"

namespace diego::garden {
namespace {

namespace fs = std::filesystem;
using ::diego::fakes::HttpGet;
using ::diego::fakes::IsOk;
using ::diego::fakes::ReadFileOrEmpty;
using ::diego::fakes::RunIn;
using ::diego::fakes::RunResult;
using ::diego::fakes::Sh;
using ::diego::fakes::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPool[] = "10.250.0.0/24";

// The host's output of `command` (stderr included).
std::string HostOutput(const std::string& command) { return fakes::HostSh(command).second; }

class GardenE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DIEGO_REQUIRE_ROOT();
    dir_ = absl::StrCat(::testing::TempDir(), "dge2e", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    rootfs_ = dir_ + "/busybox";
    ASSERT_THAT(fakes::BuildBusyboxRootfs(rootfs_), IsOk());
    std::string digits = absl::StrCat(10000 + ::getpid() % 10000);
    name_ = absl::StrCat("dge2", digits.substr(1));
    socket_ = dir_ + "/garden.sock";
    port_start_ = 43000 + static_cast<uint32_t>(::getpid() % 100) * 20;
  }

  void TearDown() override {
    if (dir_.empty() || !fakes::RunningAsRoot()) return;
    if (server_ != nullptr) server_->Terminate();
    // Whatever a failed test left: containers, then host-wide pieces.
    std::unique_ptr<fakes::ChildProcess> cleanup = StartServer({"--destroy_containers_on_startup"});
    if (cleanup != nullptr) {
      EXPECT_THAT(cleanup->AwaitLine("garden.started").status(), IsOk()) << cleanup->Log();
      EXPECT_EQ(cleanup->Terminate(), 0);
    }
    absl::StatusOr<std::unique_ptr<CgroupManager>> cg =
        CgroupManager::Create(absl::StrCat("diego-garden-", name_));
    if (cg.ok()) {
      EXPECT_THAT((*cg)->DestroyParent(), IsOk());
    }
    NetworkOptions net;
    net.name = name_;
    net.pool_cidr = kPool;
    absl::StatusOr<std::unique_ptr<NetworkManager>> nm = NetworkManager::Create(net);
    if (nm.ok()) {
      EXPECT_THAT((*nm)->Teardown(), IsOk());
    }
    if (!absl::StrContains(ReadFileOrEmpty("/proc/self/mountinfo"), dir_)) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  std::unique_ptr<fakes::ChildProcess> StartServer(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {DIEGO_GARDEN_BINARY,
                                     "--listen_network=unix",
                                     "--listen_address=" + socket_,
                                     "--depot_dir=" + dir_ + "/depot",
                                     "--image_dir=" + dir_ + "/images",
                                     "--default_rootfs=" + rootfs_,
                                     "--network_pool=" + std::string(kPool),
                                     absl::StrCat("--port_pool_start=", port_start_),
                                     "--port_pool_size=20",
                                     "--name=" + name_,
                                     "--helper_dir=" DIEGO_GARDEN_HELPER_DIR,
                                     "--deny_network=192.0.2.0/24",
                                     "--deny_network=198.51.100.0/24,203.0.113.0/24",
                                     "--log_level=debug"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<fakes::ChildProcess>> child =
        fakes::ChildProcess::Start(argv, absl::StrCat(dir_, "/garden-", runs_++, ".log"));
    EXPECT_THAT(child.status(), IsOk());
    return child.ok() ? *std::move(child) : nullptr;
  }

  std::unique_ptr<HttpGardenClient> Client() {
    HttpGardenClientOptions options;
    options.network = "unix";
    options.address = socket_;
    return std::make_unique<HttpGardenClient>(options);
  }

  std::string dir_, rootfs_, name_, socket_;
  uint32_t port_start_ = 0;
  int runs_ = 0;
  std::unique_ptr<fakes::ChildProcess> server_;
};

TEST_F(GardenE2eTest, ServesRealContainersAndCleansUpAfterDestroy) {
  server_ = StartServer();
  ASSERT_NE(server_, nullptr);
  ASSERT_OK_AND_ASSIGN(LogEntry started, server_->AwaitLine("garden.started"));
  // Repeated and comma-separated --deny_network values all count.
  ASSERT_OK_AND_ASSIGN(LogEntry starting, server_->AwaitLine("garden.starting"));
  EXPECT_EQ(starting.data["deny_networks"],
            R"(["192.0.2.0/24","198.51.100.0/24","203.0.113.0/24"])");
  EXPECT_EQ(started.data["addr"], socket_);
  EXPECT_EQ(started.data["network"], "unix");
  std::unique_ptr<HttpGardenClient> client = Client();
  ASSERT_THAT(client->Ping(), IsOk());
  ASSERT_OK_AND_ASSIGN(Capacity capacity, client->GetCapacity());
  EXPECT_GT(capacity.memory_in_bytes, 0u);

  ContainerSpec spec;
  spec.handle = "e2e-web";
  spec.limits.memory.limit_in_bytes = 64 << 20;
  spec.limits.pid.max = 32;
  spec.properties = {{"suite", "e2e"}};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, client->Create(spec));
  EXPECT_THAT(client->Create(spec),
              StatusIs(absl::StatusCode::kAlreadyExists, "Handle 'e2e-web' already in use"));

  // busybox httpd, reachable through NetIn from the host.
  ProcessIO io;
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Process> httpd,
      c->Run(Sh("mkdir -p /www && echo hello-e2e > /www/index.html && "
                "exec httpd -f -p 8080 -h /www"),
             io));
  ASSERT_OK_AND_ASSIGN(PortMapping mapping, c->NetIn(0, 8080));
  EXPECT_EQ(mapping.container_port, 8080u);
  std::string response;
  EXPECT_TRUE(fakes::PollUntil(
      [&] {
        response = HttpGet("127.0.0.1", static_cast<int>(mapping.host_port), "/index.html");
        return absl::StrContains(response, "hello-e2e");
      },
      absl::Seconds(20)))
      << response;
  ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
  EXPECT_EQ(info.state, "active");
  EXPECT_TRUE(absl::StartsWith(info.container_ip, "10.250.0.")) << info.container_ip;
  ASSERT_EQ(info.mapped_ports.size(), 1u);
  EXPECT_EQ(info.mapped_ports[0].host_port, mapping.host_port);
  EXPECT_THAT(HttpGet(info.external_ip, static_cast<int>(mapping.host_port), "/index.html"),
              HasSubstr("hello-e2e"));

  // The memory limit: OOM-killed, reported as an event.
  ASSERT_OK_AND_ASSIGN(RunResult hog, RunIn(*c, Sh("x=0123456789abcdef; while true; do x=$x$x; done")));
  EXPECT_EQ(hog.exit_code, 128 + SIGKILL) << hog.err;
  EXPECT_TRUE(fakes::PollUntil(
      [&] {
        absl::StatusOr<ContainerInfo> i = c->Info();
        return i.ok() && std::find(i->events.begin(), i->events.end(), "out of memory") !=
                             i->events.end();
      },
      absl::Seconds(10)));
  ASSERT_OK_AND_ASSIGN(MemoryLimits mem, c->CurrentMemoryLimits());
  EXPECT_EQ(mem.limit_in_bytes, uint64_t{64} << 20);

  // The pids limit stops a fork bomb.
  ASSERT_OK_AND_ASSIGN(RunResult bomb, RunIn(*c, Sh("f() { sleep 1000 & f; }; f")));
  EXPECT_NE(bomb.exit_code, 0);
  EXPECT_THAT(bomb.err, HasSubstr("fork"));
  ASSERT_OK_AND_ASSIGN(Metrics m, c->GetMetrics());
  EXPECT_EQ(m.pid.max, 32u);
  EXPECT_LE(m.pid.current, 32u);

  // Destroy leaves nothing behind.
  const std::string depot = dir_ + "/depot/e2e-web";
  ASSERT_TRUE(fs::exists(depot));
  ASSERT_THAT(client->Destroy("e2e-web"), IsOk());
  EXPECT_FALSE(fs::exists(depot));
  EXPECT_THAT(ReadFileOrEmpty("/proc/self/mountinfo"), Not(HasSubstr(depot)));
  const std::string parent = absl::StrCat("diego-garden-", name_);
  for (const std::string& pattern : {absl::StrCat("/sys/fs/cgroup/*/", parent, "/e2e-web"),
                                     absl::StrCat("/sys/fs/cgroup/", parent, "/e2e-web")}) {
    glob_t g{};
    EXPECT_NE(::glob(pattern.c_str(), 0, nullptr, &g), 0) << pattern;
    ::globfree(&g);
  }
  EXPECT_THAT(HostOutput("iptables-save"), Not(HasSubstr(info.container_ip + "/")));
  EXPECT_THAT(HostOutput("iptables-save"), Not(HasSubstr(info.container_ip + ":")));
  EXPECT_EQ(HttpGet("127.0.0.1", static_cast<int>(mapping.host_port), "/index.html"), "");
  EXPECT_THAT(c->Info(), StatusIs(absl::StatusCode::kNotFound, "unknown handle: e2e-web"));
  ASSERT_OK_AND_ASSIGN(auto left, client->Containers({}));
  EXPECT_TRUE(left.empty());

  EXPECT_EQ(server_->Terminate(), 0) << server_->Log();
  server_.reset();
}

TEST_F(GardenE2eTest, ContainersSurviveARestartOfTheServer) {
  server_ = StartServer();
  ASSERT_NE(server_, nullptr);
  ASSERT_THAT(server_->AwaitLine("garden.started").status(), IsOk()) << server_->Log();
  {
    std::unique_ptr<HttpGardenClient> client = Client();
    ContainerSpec spec;
    spec.handle = "e2e-survivor";
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, client->Create(spec));
    ProcessSpec sleeper = Sh("exec sleep 1000");
    sleeper.id = "sleeper";
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, c->Run(sleeper, ProcessIO{}));
  }
  EXPECT_EQ(server_->Terminate(), 0) << server_->Log();

  server_ = StartServer();
  ASSERT_NE(server_, nullptr);
  ASSERT_THAT(server_->AwaitLine("garden.started").status(), IsOk()) << server_->Log();
  std::unique_ptr<HttpGardenClient> client = Client();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, client->Lookup("e2e-survivor"));
  ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
  EXPECT_THAT(info.process_ids, Contains("sleeper"));
  ASSERT_OK_AND_ASSIGN(RunResult r, RunIn(*c, Sh("echo back")));
  EXPECT_EQ(r.out, "back\n");
  ASSERT_THAT(client->Destroy("e2e-survivor"), IsOk());
  EXPECT_EQ(server_->Terminate(), 0) << server_->Log();
  server_.reset();
}

}  // namespace
}  // namespace diego::garden
