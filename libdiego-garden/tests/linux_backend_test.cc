// Copyright 2026 The libdiego Authors.
//
// LinuxBackend against the real kernel (root): busybox containers, limits,
// isolation, networking, streaming, grace time, restart recovery and
// cleanup. Every test checks that a destroyed container leaves nothing
// behind (mounts, cgroups, iptables rules, depot directory, processes).
//
// Names are unique per binary run ("dglb" + pid digits), the address pool is
// 10.252.0.0/22 (reserved for this suite) and TearDown removes the bridge,
// base chains and cgroup parent even when a test fails.

#include "diego/garden/linux_backend.h"

#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "cgroups.h"
#include "depot.h"
#include "diego/base/clock.h"
#include "diego/garden/errors.h"
#include "diego/testing/child_process.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/linux_test_env.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "network.h"

#ifndef DIEGO_GARDEN_HELPER_DIR
#define DIEGO_GARDEN_HELPER_DIR ""
#endif

namespace diego::garden {
namespace {

namespace fs = std::filesystem;
using ::diego::fakes::HostSh;
using ::diego::fakes::HttpGet;
using ::diego::fakes::IsOk;
using ::diego::fakes::ReadFileOrEmpty;
using ::diego::fakes::RunIn;
using ::diego::fakes::RunResult;
using ::diego::fakes::Sh;
using ::diego::fakes::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kPool[] = "10.252.0.0/22";

std::string UniqueName() {
  std::string digits = absl::StrCat(10000 + ::getpid() % 10000);
  return absl::StrCat("dglb", digits.substr(1));
}

MATCHER_P(HoldsValue, matcher, "") {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

// What a destroyed container must not leave behind, read from its state
// before destroying it.
struct Footprint {
  std::string handle;
  pid_t init_pid = 0;
  uint64_t init_start_time = 0;
  std::string container_ip;
  std::string host_veth;
};

class LinuxBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fakes::RunningAsRoot()) return;
    absl::StatusOr<std::unique_ptr<fakes::BusyboxSuiteTree>> tree =
        fakes::BusyboxSuiteTree::Create("dglb");
    ASSERT_TRUE(tree.ok()) << tree.status();
    tree_ = tree->release();
  }
  static void TearDownTestSuite() {
    delete tree_;
    tree_ = nullptr;
  }

  void SetUp() override {
    DIEGO_REQUIRE_ROOT();
    ASSERT_NE(tree_, nullptr);
    dir_ = absl::StrCat(tree_->base(), "/t", counter_++);
    fs::create_directories(dir_);
    options_.name = UniqueName();
    options_.depot_dir = dir_ + "/depot";
    // Shared by all tests: the uid-shifted copy of the image is made once.
    options_.image_dir = tree_->base() + "/images";
    options_.default_rootfs = tree_->rootfs();
    options_.helper_dir = DIEGO_GARDEN_HELPER_DIR;
    options_.network_pool = kPool;
    options_.port_pool_start = 42000 + static_cast<uint32_t>(::getpid() % 100) * 50;
    options_.port_pool_size = 50;
    options_.logger = log_.logger();
  }

  void TearDown() override {
    if (tree_ == nullptr || !fakes::RunningAsRoot()) return;
    backend_.reset();
    // A fresh backend with destroy_containers_on_startup removes whatever a
    // failed test left; then the host-wide pieces go.
    LinuxBackendOptions cleanup = options_;
    cleanup.destroy_containers_on_startup = true;
    cleanup.clock = nullptr;
    {
      LinuxBackend b(cleanup);
      absl::Status s = b.Start();
      EXPECT_TRUE(s.ok()) << "cleanup start: " << s;
    }
    absl::StatusOr<std::unique_ptr<CgroupManager>> cg =
        CgroupManager::Create(absl::StrCat("diego-garden-", options_.name));
    if (cg.ok()) {
      EXPECT_THAT((*cg)->DestroyParent(), IsOk());
    }
    NetworkOptions net;
    net.name = options_.name;
    net.pool_cidr = options_.network_pool;
    net.port_pool_start = options_.port_pool_start;
    net.port_pool_size = options_.port_pool_size;
    absl::StatusOr<std::unique_ptr<NetworkManager>> nm = NetworkManager::Create(net);
    if (nm.ok()) {
      EXPECT_THAT((*nm)->Teardown(), IsOk());
    }
    if (!absl::StrContains(ReadFileOrEmpty("/proc/self/mountinfo"), dir_)) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  LinuxBackend& StartBackend() {
    backend_ = std::make_unique<LinuxBackend>(options_);
    absl::Status s = backend_->Start();
    EXPECT_TRUE(s.ok()) << s;
    return *backend_;
  }

  ContainerSpec Spec(const std::string& handle, bool privileged = false) {
    ContainerSpec spec;
    spec.handle = handle;
    spec.privileged = privileged;
    return spec;
  }

  Footprint FootprintOf(const std::string& handle) {
    Footprint f;
    f.handle = handle;
    absl::StatusOr<ContainerState> state = Depot(options_.depot_dir).LoadState(handle);
    EXPECT_TRUE(state.ok()) << state.status();
    if (state.ok()) {
      f.init_pid = state->init_pid;
      f.init_start_time = state->init_start_time;
      f.container_ip = state->network.container_ip;
      f.host_veth = state->network.host_veth;
    }
    return f;
  }

  // Nothing of `f`'s container is left on the host.
  void ExpectNothingLeft(const Footprint& f) {
    const std::string dir = options_.depot_dir + "/" + f.handle;
    EXPECT_FALSE(fs::exists(dir)) << dir;
    EXPECT_THAT(ReadFileOrEmpty("/proc/self/mountinfo"), Not(HasSubstr(dir)));
    const std::string parent = absl::StrCat("diego-garden-", options_.name);
    for (const std::string& pattern :
         {absl::StrCat("/sys/fs/cgroup/*/", parent, "/", f.handle),
          absl::StrCat("/sys/fs/cgroup/", parent, "/", f.handle)}) {
      glob_t g{};
      int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
      EXPECT_NE(rc, 0) << "cgroup left: " << (rc == 0 ? g.gl_pathv[0] : "");
      ::globfree(&g);
    }
    // A killed init may stay a zombie until the host's init reaps it.
    EXPECT_FALSE(ProcessIsRunning(f.init_pid, f.init_start_time)) << "init " << f.init_pid;
    if (!f.container_ip.empty()) {
      const std::string rules = HostSh("iptables-save").second;
      EXPECT_THAT(rules, Not(HasSubstr(f.container_ip + "/"))) << rules;
      EXPECT_THAT(rules, Not(HasSubstr(f.container_ip + ":"))) << rules;
    }
    if (!f.host_veth.empty()) {
      // The veth goes with the netns, which the kernel frees asynchronously.
      EXPECT_TRUE(fakes::PollUntil(
          [&] { return !fs::exists("/sys/class/net/" + f.host_veth); }, absl::Seconds(20)))
          << f.host_veth;
    }
  }

  static fakes::BusyboxSuiteTree* tree_;
  static int counter_;

  fakes::TestLogger log_{"garden-test", Clock::Real()};
  std::string dir_;
  std::unique_ptr<fakes::FakeClock> fake_clock_;  // destroyed after backend_
  LinuxBackendOptions options_;
  std::unique_ptr<LinuxBackend> backend_;
};

fakes::BusyboxSuiteTree* LinuxBackendTest::tree_ = nullptr;
int LinuxBackendTest::counter_ = 0;

class LinuxBackendPrivilegeTest : public LinuxBackendTest,
                                  public ::testing::WithParamInterface<bool> {};

TEST_P(LinuxBackendPrivilegeTest, CreatesRunsAndDestroysLeavingNothing) {
  const bool privileged = GetParam();
  LinuxBackend& backend = StartBackend();
  ContainerSpec spec = Spec(privileged ? "priv" : "unpriv", privileged);
  spec.env = {"FROM_SPEC=1", "SHARED=spec"};
  spec.properties = {{"owner", "test"}};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(spec));
  EXPECT_EQ(c->Handle(), spec.handle);

  ProcessSpec p = Sh("echo hello; id -u; hostname; echo $FROM_SPEC $SHARED; cat /proc/self/uid_map");
  p.env = {"SHARED=process"};
  ASSERT_OK_AND_ASSIGN(RunResult r, RunIn(*c, p));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n');
  ASSERT_GE(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], "hello");
  EXPECT_EQ(lines[1], "0");
  EXPECT_EQ(lines[2], spec.handle);
  EXPECT_EQ(lines[3], "1 process");  // process env after spec env
  std::vector<std::string> map = absl::StrSplit(lines[4], ' ', absl::SkipEmpty());
  ASSERT_EQ(map.size(), 3u) << lines[4];
  if (privileged) {
    EXPECT_EQ(map[1], "0");  // no user namespace: the identity map
  } else {
    EXPECT_EQ(map[1], absl::StrCat(options_.uid_map_start));
    EXPECT_EQ(map[2], absl::StrCat(options_.uid_map_length));
  }

  ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
  EXPECT_EQ(info.state, "active");
  EXPECT_TRUE(absl::StartsWith(info.container_ip, "10.252.")) << info.container_ip;
  EXPECT_EQ(info.host_ip, "10.252.0.1");
  EXPECT_EQ(info.container_path, options_.depot_dir + "/" + spec.handle);
  EXPECT_EQ(info.properties, spec.properties);
  EXPECT_THAT(info.events, IsEmpty());
  EXPECT_FALSE(info.external_ip.empty());

  Footprint f = FootprintOf(spec.handle);
  EXPECT_TRUE(ProcessIsRunning(f.init_pid, f.init_start_time));
  ASSERT_THAT(backend.Destroy(spec.handle), IsOk());
  ExpectNothingLeft(f);
  EXPECT_THAT(backend.Lookup(spec.handle), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(c->Info(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(HasErrorType(c->Info().status(), kContainerNotFoundErrorType));
}

INSTANTIATE_TEST_SUITE_P(Privileges, LinuxBackendPrivilegeTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Privileged" : "Unprivileged";
                         });

TEST_F(LinuxBackendTest, MemoryHogIsOomKilledAndInfoReportsOutOfMemory) {
  LinuxBackend& backend = StartBackend();
  ContainerSpec spec = Spec("oom");
  spec.limits.memory.limit_in_bytes = 64 << 20;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(spec));
  ASSERT_OK_AND_ASSIGN(MemoryLimits limits, c->CurrentMemoryLimits());
  EXPECT_EQ(limits.limit_in_bytes, uint64_t{64} << 20);

  ASSERT_OK_AND_ASSIGN(RunResult r,
                       RunIn(*c, Sh("x=0123456789abcdef; while true; do x=$x$x; done")));
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  ContainerInfo info;
  EXPECT_TRUE(fakes::PollUntil(
      [&] {
        absl::StatusOr<ContainerInfo> i = c->Info();
        if (i.ok()) info = *i;
        return i.ok() && std::find(info.events.begin(), info.events.end(), "out of memory") !=
                            info.events.end();
      },
      absl::Seconds(10)));
  EXPECT_THAT(info.events, Contains("out of memory"));
  Footprint f = FootprintOf("oom");
  ASSERT_THAT(backend.Destroy("oom"), IsOk());
  ExpectNothingLeft(f);
}

TEST_F(LinuxBackendTest, ForkBombStopsAtThePidsLimit) {
  LinuxBackend& backend = StartBackend();
  ContainerSpec spec = Spec("forkbomb");
  spec.limits.pid.max = 24;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(spec));
  // Spawns processes that stay until fork fails; the shell then gives up.
  ASSERT_OK_AND_ASSIGN(RunResult r, RunIn(*c, Sh("f() { sleep 1000 & f; }; f")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("fork")) << r.err;
  ASSERT_OK_AND_ASSIGN(Metrics m, c->GetMetrics());
  EXPECT_EQ(m.pid.max, 24u);
  EXPECT_LE(m.pid.current, 24u);
  EXPECT_GE(m.pid.current, 20u);  // it did fill the limit with sleeps
  Footprint f = FootprintOf("forkbomb");
  ASSERT_THAT(backend.Destroy("forkbomb"), IsOk());
  ExpectNothingLeft(f);
}

TEST_F(LinuxBackendTest, ContainerCannotSeeHostProcesses) {
  LinuxBackend& backend = StartBackend();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(Spec("pidns")));
  ASSERT_OK_AND_ASSIGN(RunResult r, RunIn(*c, Sh("ls /proc | grep -c '^[0-9]'; echo $$")));
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.out << r.err;
  int visible = 0;
  ASSERT_TRUE(absl::SimpleAtoi(lines[0], &visible));
  // pid 1 (init), the shell, ls and grep at most.
  EXPECT_LE(visible, 4) << r.out;
  int host_visible = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    int pid;
    if (absl::SimpleAtoi(e.path().filename().string(), &pid)) ++host_visible;
  }
  EXPECT_GT(host_visible, visible);
  int shell_pid = 0;
  ASSERT_TRUE(absl::SimpleAtoi(lines[1], &shell_pid));
  EXPECT_LT(shell_pid, 10);  // numbered in its own pid namespace
  // Host process ids are not visible: our own pid is not in its /proc
  // (unless it happens to collide with a tiny container pid).
  if (::getpid() > 10) {
    ASSERT_OK_AND_ASSIGN(RunResult r2,
                         RunIn(*c, Sh(absl::StrCat("test -e /proc/", ::getpid(), " && echo seen"))));
    EXPECT_THAT(r2.out, Not(HasSubstr("seen")));
  }
  ASSERT_THAT(backend.Destroy("pidns"), IsOk());
}

TEST_F(LinuxBackendTest, WritesDoNotReachTheSharedRootfs) {
  LinuxBackend& backend = StartBackend();
  const std::string snapshot = HostSh(absl::StrCat("ls -lR ", tree_->rootfs(), " | md5sum")).second;
  const std::string images_before = HostSh(absl::StrCat("ls -lR ", options_.image_dir)).second;
  for (bool privileged : {true, false}) {
    const std::string handle = privileged ? "writer-p" : "writer-u";
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(Spec(handle, privileged)));
    ASSERT_OK_AND_ASSIGN(
        RunResult r, RunIn(*c, Sh("echo x > /bin/newfile && echo y >> /etc/passwd && rm /bin/ls && "
                                  "mkdir /newdir && echo ok")));
    EXPECT_EQ(r.out, "ok\n") << r.err;
    // A second container does not see the first one's writes.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> other,
                         backend.Create(Spec(handle + "-2", privileged)));
    ASSERT_OK_AND_ASSIGN(RunResult r2,
                         RunIn(*other, Sh("test -e /bin/newfile || test -e /newdir || echo clean; "
                                          "test -e /bin/ls && echo has-ls")));
    EXPECT_EQ(r2.out, "clean\nhas-ls\n") << r2.err;
    ASSERT_OK_AND_ASSIGN(Metrics m, c->GetMetrics());
    EXPECT_GT(m.disk.exclusive_inodes_used, 0u);
    EXPECT_GE(m.disk.total_bytes_used, m.disk.exclusive_bytes_used);
    ASSERT_THAT(backend.Destroy(handle), IsOk());
    ASSERT_THAT(backend.Destroy(handle + "-2"), IsOk());
  }
  EXPECT_FALSE(fs::exists(tree_->rootfs() + "/bin/newfile"));
  EXPECT_TRUE(fs::is_symlink(tree_->rootfs() + "/bin/ls"));
  EXPECT_EQ(HostSh(absl::StrCat("ls -lR ", tree_->rootfs(), " | md5sum")).second, snapshot);
  // The shifted copy (made before the writes, reused) is unchanged as well.
  const std::string images_after = HostSh(absl::StrCat("ls -lR ", options_.image_dir)).second;
  EXPECT_THAT(images_after, Not(HasSubstr("newfile")));
  EXPECT_THAT(images_after, Not(HasSubstr("newdir")));
}

TEST_F(LinuxBackendTest, NetInIsReachableFromTheHost) {
  LinuxBackend& backend = StartBackend();
  ContainerSpec spec = Spec("web");
  spec.net_in = {{0, 8080}};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(spec));
  ProcessSpec httpd =
      Sh("mkdir -p /www && echo hello-netin > /www/index.html && exec httpd -f -p 8080 -h /www");
  ProcessIO io;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> server, c->Run(httpd, io));
  ASSERT_OK_AND_ASSIGN(PortMapping second, c->NetIn(0, 8080));
  ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
  ASSERT_EQ(info.mapped_ports.size(), 2u);
  const PortMapping first = info.mapped_ports[0];
  EXPECT_EQ(first.container_port, 8080u);
  EXPECT_GE(first.host_port, options_.port_pool_start);
  EXPECT_LT(first.host_port, options_.port_pool_start + options_.port_pool_size);
  EXPECT_NE(first.host_port, second.host_port);
  // Through the external IP and through loopback, for both mappings.
  for (const PortMapping& m : {first, second}) {
    for (const std::string& ip : {info.external_ip, std::string("127.0.0.1")}) {
      std::string response;
      EXPECT_TRUE(fakes::PollUntil(
          [&] {
            response = HttpGet(ip, static_cast<int>(m.host_port), "/index.html");
            return absl::StrContains(response, "hello-netin");
          },
          absl::Seconds(20)))
          << ip << ":" << m.host_port << " -> " << response;
    }
  }
  // And directly at the container's IP from the host.
  EXPECT_THAT(HttpGet(info.container_ip, 8080, "/index.html"), HasSubstr("hello-netin"));
  Footprint f = FootprintOf("web");
  EXPECT_FALSE(f.container_ip.empty());
  ASSERT_THAT(backend.Destroy("web"), IsOk());
  ExpectNothingLeft(f);
  EXPECT_EQ(HttpGet("127.0.0.1", static_cast<int>(first.host_port), "/index.html"), "");
}

// A peer outside the pool, reached through the host's forwarding: a network
// namespace with a veth to the host and busybox httpd in it.
class ExternalPeer {
 public:
  explicit ExternalPeer(const std::string& www) {
    const int n = static_cast<int>(::getpid() % 60) * 4;
    ns_ = absl::StrCat("dglbns", ::getpid());
    host_if_ = absl::StrCat("dglbh", ::getpid() % 100000);
    peer_if_ = absl::StrCat("dglbp", ::getpid() % 100000);
    host_ip_ = absl::StrCat("198.18.7.", n + 1);
    peer_ip_ = absl::StrCat("198.18.7.", n + 2);
    Cleanup();
    const std::string script = absl::StrCat(
        "set -e; ip netns add ", ns_, "; ip link add ", host_if_, " type veth peer name ", peer_if_,
        "; ip link set ", peer_if_, " netns ", ns_, "; ip addr add ", host_ip_, "/30 dev ",
        host_if_, "; ip link set ", host_if_, " up; ip netns exec ", ns_, " ip addr add ",
        peer_ip_, "/30 dev ", peer_if_, "; ip netns exec ", ns_, " ip link set ", peer_if_,
        " up; ip netns exec ", ns_, " ip link set lo up; ip netns exec ", ns_,
        " ip route add default via ", host_ip_);
    auto [rc, out] = HostSh(script);
    ok_ = rc == 0;
    setup_output_ = out;
    if (ok_) {
      absl::StatusOr<std::unique_ptr<fakes::ChildProcess>> httpd = fakes::ChildProcess::Start(
          {"/usr/sbin/ip", "netns", "exec", ns_, "/bin/busybox", "httpd", "-f", "-p", "9000", "-h",
           www},
          www + "/../peer-httpd.log");
      ok_ = httpd.ok();
      if (ok_) httpd_ = *std::move(httpd);
    }
  }
  ~ExternalPeer() {
    httpd_.reset();
    Cleanup();
  }
  bool ok() const { return ok_; }
  const std::string& setup_output() const { return setup_output_; }
  const std::string& ip() const { return peer_ip_; }

 private:
  void Cleanup() {
    HostSh(absl::StrCat("ip link del ", host_if_, "; ip netns del ", ns_));
  }

  std::string ns_, host_if_, peer_if_, host_ip_, peer_ip_, setup_output_;
  bool ok_ = false;
  std::unique_ptr<fakes::ChildProcess> httpd_;
};

TEST_F(LinuxBackendTest, NetOutDeniesByDefaultAndAllowsWhatRulesOpen) {
  const std::string www = dir_ + "/www";
  fs::create_directories(www);
  std::ofstream(www + "/index.html") << "hello-netout\n";
  ExternalPeer peer(www);
  ASSERT_TRUE(peer.ok()) << peer.setup_output();
  // The peer answers the host.
  ASSERT_TRUE(fakes::PollUntil(
      [&] { return absl::StrContains(HttpGet(peer.ip(), 9000, "/index.html"), "hello-netout"); },
      absl::Seconds(20)));

  LinuxBackend& backend = StartBackend();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(Spec("egress")));
  const std::string fetch =
      absl::StrCat("printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ", peer.ip(), " 9000");
  ASSERT_OK_AND_ASSIGN(RunResult denied, RunIn(*c, Sh(fetch)));
  EXPECT_NE(denied.exit_code, 0);
  EXPECT_THAT(denied.out, Not(HasSubstr("hello-netout")));

  NetOutRule rule;
  rule.protocol = Protocol::kTcp;
  rule.networks = {{peer.ip(), peer.ip()}};
  rule.ports = {{9000, 9000}};
  ASSERT_THAT(c->NetOut(rule), IsOk());
  ASSERT_OK_AND_ASSIGN(RunResult allowed, RunIn(*c, Sh(fetch)));
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_THAT(allowed.out, HasSubstr("hello-netout\n"));
  // Only that port: another one stays closed.
  ASSERT_OK_AND_ASSIGN(
      RunResult other,
      RunIn(*c, Sh(absl::StrCat("echo x | nc -w 3 ", peer.ip(), " 9001"))));
  EXPECT_NE(other.exit_code, 0);
  // The rule is persisted with the container.
  EXPECT_EQ(Depot(options_.depot_dir).LoadState("egress")->network.net_out.size(), 1u);
  Footprint f = FootprintOf("egress");
  ASSERT_THAT(backend.Destroy("egress"), IsOk());
  ExpectNothingLeft(f);
}

TEST_F(LinuxBackendTest, StreamInAndOutRoundTrip) {
  LinuxBackend& backend = StartBackend();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(Spec("stream")));
  const std::string src = dir_ + "/src";
  fs::create_directories(src + "/sub");
  std::ofstream(src + "/file.txt") << "payload-1\n";
  std::ofstream(src + "/sub/deep.txt") << "payload-2\n";
  ASSERT_THAT(fakes::TarDirectory(src, dir_ + "/in.tar", false), IsOk());
  const std::string tar = ReadFileOrEmpty(dir_ + "/in.tar");
  ASSERT_FALSE(tar.empty());

  ASSERT_THAT(c->StreamIn("/home/vcap/app", "vcap", tar), IsOk());
  ASSERT_OK_AND_ASSIGN(RunResult r, RunIn(*c, Sh("cat /home/vcap/app/file.txt "
                                                 "/home/vcap/app/sub/deep.txt; "
                                                 "stat -c %u /home/vcap/app/file.txt")));
  EXPECT_EQ(r.out, "payload-1\npayload-2\n2000\n") << r.err;

  ASSERT_OK_AND_ASSIGN(std::string out, c->StreamOut("/home/vcap/app/sub", "vcap"));
  const std::string out_dir = dir_ + "/out";
  fs::create_directories(out_dir);
  {
    std::ofstream(dir_ + "/out.tar", std::ios::binary) << out;
  }
  auto [rc, text] = HostSh(absl::StrCat("busybox tar -xf ", dir_, "/out.tar -C ", out_dir));
  ASSERT_EQ(rc, 0) << text;
  EXPECT_EQ(ReadFileOrEmpty(out_dir + "/sub/deep.txt"), "payload-2\n");

  EXPECT_THAT(c->StreamOut("/does/not/exist", ""), Not(IsOk()));
  ASSERT_THAT(backend.Destroy("stream"), IsOk());
}

TEST_F(LinuxBackendTest, GraceTimeReapsAnIdleContainer) {
  // Owned by the fixture: it must outlive the backend's reaper even when an
  // assertion ends the test early.
  fake_clock_ = std::make_unique<fakes::FakeClock>(Clock::Real()->Now());
  fakes::FakeClock& clock = *fake_clock_;
  options_.clock = &clock;
  LinuxBackend& backend = StartBackend();
  ContainerSpec spec = Spec("idle");
  spec.grace_time = absl::Minutes(1);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(spec));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> keep, backend.Create(Spec("kept")));
  EXPECT_THAT(backend.GraceTime("idle"), HoldsValue(absl::Minutes(1)));
  EXPECT_THAT(backend.GraceTime("kept"), HoldsValue(absl::ZeroDuration()));
  Footprint f = FootprintOf("idle");

  // Activity pushes the deadline: 40 s, a call, 40 s more: still there.
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(40));
  ASSERT_THAT(c->GetProperties(), IsOk());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(40));
  clock.BlockUntilSleepers(1);  // the reaper looked at the new time and sleeps again
  ASSERT_OK_AND_ASSIGN(auto listed, backend.Containers({}));
  EXPECT_EQ(listed.size(), 2u);

  clock.Advance(absl::Seconds(30));
  auto handles = [&] {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<std::unique_ptr<Container>>> all = backend.Containers({});
    if (all.ok()) {
      for (const auto& x : *all) out.push_back(x->Handle());
    }
    return out;
  };
  EXPECT_TRUE(fakes::PollUntil([&] { return handles() == std::vector<std::string>{"kept"}; },
                               absl::Seconds(30)));
  ExpectNothingLeft(f);
  EXPECT_TRUE(log_.Contains("grace-time-expired"));

  // SetGraceTime applies to a running container.
  ASSERT_THAT(keep->SetGraceTime(absl::Seconds(5)), IsOk());
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(6));
  EXPECT_TRUE(fakes::PollUntil([&] { return handles().empty(); }, absl::Seconds(30)));
  backend.Stop();
}

TEST_F(LinuxBackendTest, RestartReadoptsRunningContainersOrDestroysThem) {
  std::string adopted_ip;
  Footprint f;
  {
    LinuxBackend& backend = StartBackend();
    ContainerSpec spec = Spec("survivor");
    spec.properties = {{"k", "v"}};
    spec.net_in = {{0, 8080}};
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(spec));
    ProcessSpec sleeper = Sh("echo started; exec sleep 1000");
    sleeper.id = "sleeper";
    ProcessIO io;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, c->Run(sleeper, io));
    ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
    adopted_ip = info.container_ip;
    EXPECT_THAT(info.process_ids, Contains("sleeper"));
    f = FootprintOf("survivor");
  }
  backend_.reset();  // Stop: the container keeps running.
  ASSERT_TRUE(ProcessIsRunning(f.init_pid, f.init_start_time));

  {
    LinuxBackend& backend = StartBackend();
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Lookup("survivor"));
    ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
    EXPECT_EQ(info.state, "active");
    EXPECT_EQ(info.container_ip, adopted_ip);
    EXPECT_EQ(info.properties, (Properties{{"k", "v"}}));
    EXPECT_EQ(info.mapped_ports.size(), 1u);
    EXPECT_THAT(info.process_ids, Contains("sleeper"));
    // Still attachable, and still runs new processes.
    ProcessIO io;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, c->Attach("sleeper", io));
    EXPECT_EQ(p->Id(), "sleeper");
    ASSERT_OK_AND_ASSIGN(RunResult r, RunIn(*c, Sh("echo still-here")));
    EXPECT_EQ(r.out, "still-here\n");
    // Its IP is not handed out again.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> fresh, backend.Create(Spec("fresh")));
    ASSERT_OK_AND_ASSIGN(ContainerInfo fresh_info, fresh->Info());
    EXPECT_NE(fresh_info.container_ip, adopted_ip);
    EXPECT_NE(fresh_info.mapped_ports, info.mapped_ports);
    ASSERT_THAT(backend.Destroy("fresh"), IsOk());
    // A half-created container (a depot directory without state) and a stray
    // cgroup are removed by the next start.
    fs::create_directories(options_.depot_dir + "/half");
  }
  backend_.reset();
  absl::StatusOr<std::unique_ptr<CgroupManager>> cg =
      CgroupManager::Create(absl::StrCat("diego-garden-", options_.name));
  ASSERT_THAT(cg, IsOk());
  ASSERT_THAT((*cg)->CreateContainer("stray", CgroupLimits{}), IsOk());

  options_.destroy_containers_on_startup = true;
  LinuxBackend& backend = StartBackend();
  ASSERT_OK_AND_ASSIGN(auto all, backend.Containers({}));
  EXPECT_THAT(all, IsEmpty());
  ExpectNothingLeft(f);
  EXPECT_FALSE(fs::exists(options_.depot_dir + "/half"));
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> cgroups, (*cg)->List());
  EXPECT_THAT(cgroups, IsEmpty());
}

TEST_F(LinuxBackendTest, FailedCreateLeavesNothing) {
  LinuxBackend& backend = StartBackend();
  ContainerSpec bad_image = Spec("badimage");
  bad_image.image.uri = dir_ + "/no-such-rootfs";
  EXPECT_THAT(backend.Create(bad_image), StatusIs(absl::StatusCode::kInvalidArgument));

  // Fails late: the init cannot bind-mount a missing source.
  ContainerSpec bad_mount = Spec("badmount");
  bad_mount.bind_mounts = {{dir_ + "/no-such-dir", "/mnt/x"}};
  EXPECT_THAT(backend.Create(bad_mount), Not(IsOk()));

  for (const char* handle : {"badimage", "badmount"}) {
    ExpectNothingLeft(Footprint{handle});
    EXPECT_THAT(backend.Lookup(handle), StatusIs(absl::StatusCode::kNotFound));
  }
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> handles, Depot(options_.depot_dir).Handles());
  EXPECT_THAT(handles, IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto all, backend.Containers({}));
  EXPECT_THAT(all, IsEmpty());
  // The handle can be used again.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(Spec("badmount")));
  ASSERT_THAT(backend.Destroy("badmount"), IsOk());
}

TEST_F(LinuxBackendTest, RejectsBadRequestsWithGardensErrors) {
  options_.max_containers = 1;
  options_.disable_privileged_containers = true;
  LinuxBackend& backend = StartBackend();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(Spec("one")));
  EXPECT_THAT(backend.Create(Spec("one")),
              StatusIs(absl::StatusCode::kAlreadyExists, "Handle 'one' already in use"));
  EXPECT_THAT(backend.Create(Spec("two")),
              StatusIs(absl::StatusCode::kResourceExhausted, "max containers reached"));
  EXPECT_THAT(backend.Create(Spec("priv", true)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "privileged container creation is disabled"));
  EXPECT_THAT(backend.Create(Spec("bad/handle")), StatusIs(absl::StatusCode::kInvalidArgument));
  ContainerSpec relative = Spec("rel");
  relative.bind_mounts = {{"relative/src", "/dst"}};
  EXPECT_THAT(backend.Create(relative),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bind_mounts[0].src_path")));
  ContainerSpec tiny = Spec("tiny");
  tiny.limits.memory.limit_in_bytes = 1000;
  EXPECT_THAT(backend.Create(tiny), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("limits.memory_limits.limit_in_bytes")));

  absl::Status missing = backend.Destroy("nope");
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound, "unknown handle: nope"));
  EXPECT_TRUE(HasErrorType(missing, kContainerNotFoundErrorType));
  EXPECT_THAT(backend.Lookup("nope"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(backend.GraceTime("nope"), StatusIs(absl::StatusCode::kNotFound));

  ProcessSpec sidecar = Sh("true");
  sidecar.image.uri = tree_->rootfs();
  EXPECT_THAT(c->Run(sidecar, ProcessIO{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sidecar")));
  ProcessSpec missing_exe;
  missing_exe.path = "/bin/no-such-program";
  absl::Status not_found = c->Run(missing_exe, ProcessIO{}).status();
  EXPECT_TRUE(HasErrorType(not_found, kExecutableNotFoundErrorType)) << not_found;
  EXPECT_THAT(c->Attach("no-such-process", ProcessIO{}), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(backend.Destroy("one"), IsOk());
}

TEST_F(LinuxBackendTest, StartRejectsBadOptions) {
  options_.name = "Bad-Name";
  LinuxBackend bad(options_);
  EXPECT_THAT(bad.Start(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  options_.name = UniqueName();
  options_.helper_dir = dir_;
  LinuxBackend no_helpers(options_);
  EXPECT_THAT(no_helpers.Start(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                           HasSubstr("diego-garden-init")));
  options_.helper_dir = DIEGO_GARDEN_HELPER_DIR;
}

TEST_F(LinuxBackendTest, PropertiesFilterMetricsLimitsAndBulkCalls) {
  LinuxBackend& backend = StartBackend();
  ContainerSpec a = Spec("prop-a");
  a.properties = {{"app", "web"}, {"zone", "1"}};
  a.limits.cpu.weight = 512;
  a.limits.memory.limit_in_bytes = 128 << 20;
  ContainerSpec b = Spec("prop-b", true);
  b.properties = {{"app", "worker"}};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> ca, backend.Create(a));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> cb, backend.Create(b));

  ASSERT_OK_AND_ASSIGN(auto web, backend.Containers({{"app", "web"}}));
  ASSERT_EQ(web.size(), 1u);
  EXPECT_EQ(web[0]->Handle(), "prop-a");
  ASSERT_OK_AND_ASSIGN(auto all, backend.Containers({}));
  EXPECT_EQ(all.size(), 2u);

  ASSERT_THAT(cb->SetProperty("app", "web"), IsOk());
  ASSERT_OK_AND_ASSIGN(web, backend.Containers({{"app", "web"}}));
  EXPECT_EQ(web.size(), 2u);
  EXPECT_THAT(cb->GetProperty("app"), HoldsValue(std::string("web")));
  EXPECT_THAT(cb->GetProperty("nope"),
              StatusIs(absl::StatusCode::kNotFound, "property does not exist: nope"));
  ASSERT_THAT(cb->RemoveProperty("app"), IsOk());
  EXPECT_THAT(cb->GetProperties(), HoldsValue(Properties{}));
  // Persisted.
  EXPECT_THAT(Depot(options_.depot_dir).LoadState("prop-b")->properties, IsEmpty());

  ASSERT_OK_AND_ASSIGN(CpuLimits cpu, ca->CurrentCpuLimits());
  EXPECT_GT(cpu.weight, 0u);
  EXPECT_EQ(cpu.limit_in_shares, 0u);
  ASSERT_OK_AND_ASSIGN(MemoryLimits mem, ca->CurrentMemoryLimits());
  EXPECT_EQ(mem.limit_in_bytes, uint64_t{128} << 20);
  EXPECT_THAT(ca->CurrentBandwidthLimits(), HoldsValue(BandwidthLimits{}));
  EXPECT_THAT(ca->CurrentDiskLimits(), HoldsValue(DiskLimits{}));

  ASSERT_OK_AND_ASSIGN(RunResult r, RunIn(*ca, Sh("head -c 3000000 /dev/zero > /tmp/blob; echo ok")));
  EXPECT_EQ(r.out, "ok\n") << r.err;
  ASSERT_OK_AND_ASSIGN(Metrics m, ca->GetMetrics());
  EXPECT_GT(m.memory.total_usage_toward_limit + m.memory.total_cache + m.memory.total_rss, 0u);
  EXPECT_GT(m.cpu.usage, 0u);
  EXPECT_GE(m.disk.exclusive_bytes_used, 3000000u);
  EXPECT_GT(m.age, absl::ZeroDuration());
  EXPECT_GT(m.cpu_entitlement, 0u);
  ASSERT_TRUE(m.network.has_value());

  ASSERT_OK_AND_ASSIGN(BulkInfoResult infos, backend.BulkInfo({"prop-a", "prop-b", "nope"}));
  ASSERT_EQ(infos.size(), 3u);
  ASSERT_TRUE(infos["prop-a"].value.has_value());
  EXPECT_EQ(infos["prop-a"].value->properties.at("zone"), "1");
  EXPECT_TRUE(infos["prop-b"].error.ok());
  EXPECT_THAT(infos["nope"].error, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(infos["nope"].value.has_value());
  ASSERT_OK_AND_ASSIGN(BulkMetricsResult metrics, backend.BulkMetrics({"prop-a", "nope"}));
  ASSERT_TRUE(metrics["prop-a"].value.has_value());
  EXPECT_GT(metrics["prop-a"].value->cpu.usage, 0u);
  EXPECT_THAT(metrics["nope"].error, StatusIs(absl::StatusCode::kNotFound));

  ASSERT_OK_AND_ASSIGN(Capacity cap, backend.GetCapacity());
  EXPECT_GT(cap.memory_in_bytes, 0u);
  EXPECT_GT(cap.disk_in_bytes, 0u);
  EXPECT_EQ(cap.max_containers, 1021u);  // a /22 minus network, gateway, broadcast
  ASSERT_THAT(backend.Destroy("prop-a"), IsOk());
  ASSERT_THAT(backend.Destroy("prop-b"), IsOk());
}

TEST_F(LinuxBackendTest, StopTerminatesProcessesAndKeepsTheContainer) {
  LinuxBackend& backend = StartBackend();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(Spec("stopper")));
  ProcessIO io;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> p, c->Run(Sh("exec sleep 1000"), io));
  ASSERT_THAT(c->Stop(false), IsOk());
  ASSERT_OK_AND_ASSIGN(int code, p->Wait(Clock::Real()->Now() + absl::Seconds(30)));
  EXPECT_EQ(code, 128 + SIGTERM);
  ASSERT_OK_AND_ASSIGN(ContainerInfo info, c->Info());
  EXPECT_EQ(info.state, "stopped");
  EXPECT_THAT(info.process_ids, IsEmpty());
  // kill = true: SIGKILL at once, even for a process that ignores SIGTERM.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Process> stubborn,
                       c->Run(Sh("trap '' TERM; while true; do sleep 1; done"), io));
  ASSERT_THAT(c->Stop(true), IsOk());
  ASSERT_OK_AND_ASSIGN(code, stubborn->Wait(Clock::Real()->Now() + absl::Seconds(30)));
  EXPECT_EQ(code, 128 + SIGKILL);
  ASSERT_THAT(backend.Destroy("stopper"), IsOk());
}

TEST_F(LinuxBackendTest, ConcurrentDestroysOfOneContainerAreSafe) {
  LinuxBackend& backend = StartBackend();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(Spec("twice")));
  Footprint f = FootprintOf("twice");
  absl::Status results[4];
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = backend.Destroy("twice"); });
  }
  for (auto& t : threads) t.join();
  int ok = 0;
  for (const absl::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_TRUE(HasErrorType(s, kContainerNotFoundErrorType)) << s;
    }
  }
  EXPECT_EQ(ok, 1);
  ExpectNothingLeft(f);
}

// Timings are reported, never asserted (the machine is shared).
TEST_F(LinuxBackendTest, CreateRunDestroyLatency) {
  LinuxBackend& backend = StartBackend();
  std::vector<double> ms;
  ProcessSpec t;
  t.path = "/bin/true";
  for (int i = 0; i < 30; ++i) {
    const std::string handle = absl::StrCat("lat", i);
    const absl::Time start = Clock::Real()->Now();
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Container> c, backend.Create(Spec(handle)));
    ASSERT_OK_AND_ASSIGN(RunResult r, RunIn(*c, t));
    ASSERT_EQ(r.exit_code, 0);
    ASSERT_THAT(backend.Destroy(handle), IsOk());
    ms.push_back(absl::ToDoubleMilliseconds(Clock::Real()->Now() - start));
  }
  std::sort(ms.begin(), ms.end());
  const double p50 = ms[ms.size() / 2];
  const double p90 = ms[ms.size() * 9 / 10];
  RecordProperty("create_run_destroy_p50_ms", absl::StrCat(p50));
  std::printf("create+run /bin/true+destroy: p50 %.2f ms, p90 %.2f ms, max %.2f ms\n", p50, p90,
              ms.back());
  // The phases are logged at debug.
  EXPECT_TRUE(log_.Contains("create.phases"));
  for (const LogEntry& e : log_.Entries()) {
    if ((absl::StrContains(e.message, "create.phases") ||
         absl::StrContains(e.message, "destroy.phases")) &&
        e.data.count("handle") != 0 && e.data.at("handle") == "lat29") {
      std::string line;
      for (const auto& [k, v] : e.data) absl::StrAppend(&line, k, "=", v, " ");
      std::printf("%s (ns): %s\n", e.message.c_str(), line.c_str());
    }
  }
}

TEST_F(LinuxBackendTest, ManyConcurrentCreatesGetDistinctAddresses) {
  LinuxBackend& backend = StartBackend();
  constexpr int kContainers = 250;
  std::vector<absl::StatusOr<std::unique_ptr<Container>>> created(kContainers);
  const absl::Time start = Clock::Real()->Now();
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kContainers; ++i) {
      threads.emplace_back(
          [&, i] { created[i] = backend.Create(Spec(absl::StrCat("many", i))); });
    }
    for (auto& t : threads) t.join();
  }
  const absl::Duration took = Clock::Real()->Now() - start;
  std::printf("%d concurrent creates: %s\n", kContainers, absl::FormatDuration(took).c_str());
  RecordProperty("concurrent_creates_ms", absl::StrCat(absl::ToInt64Milliseconds(took)));
  std::set<std::string> ips;
  for (int i = 0; i < kContainers; ++i) {
    ASSERT_TRUE(created[i].ok()) << i << ": " << created[i].status();
    ASSERT_OK_AND_ASSIGN(ContainerInfo info, (*created[i])->Info());
    ips.insert(info.container_ip);
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kContainers));
  ASSERT_OK_AND_ASSIGN(auto all, backend.Containers({}));
  EXPECT_EQ(all.size(), static_cast<size_t>(kContainers));
  const absl::Time destroy_start = Clock::Real()->Now();
  {
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int i = 0; i < kContainers; ++i) {
      threads.emplace_back([&, i] {
        if (!backend.Destroy(absl::StrCat("many", i)).ok()) ++failures;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
  }
  std::printf("%d concurrent destroys: %s\n", kContainers,
              absl::FormatDuration(Clock::Real()->Now() - destroy_start).c_str());
  ASSERT_OK_AND_ASSIGN(all, backend.Containers({}));
  EXPECT_THAT(all, IsEmpty());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> dirs, Depot(options_.depot_dir).Handles());
  EXPECT_THAT(dirs, IsEmpty());
}

}  // namespace
}  // namespace diego::garden
