// Copyright 2026 The libdiego Authors.
//
// Tests of container networking (src/network.h) against the real kernel:
// network namespaces made by forked children, veths, the bridge, iptables.
// Root only. Every name carries this process's pid ("dgn<pid%10000>") and the
// addresses come from 10.253.0.0/24, reserved for this suite: the manager's
// pool is 10.253.0.0/25 and an "outside" namespace (a routed /30 at
// 10.253.0.200/30, plus 10.253.0.220 behind it) plays the Internet.

#include "network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "diego/testing/child_process.h"
#include "diego/testing/linux_test_env.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "netlink.h"

namespace diego::garden {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::PollUntil;
using ::diego::fakes::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kBound = absl::Seconds(20);

MATCHER_P(IsOkAndHolds, expected, "") {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status();
    return false;
  }
  *result_listener << "which holds \"" << *arg << "\"";
  return *arg == expected;
}

std::string TestName() { return absl::StrCat("dgn", getpid() % 10000); }

// A child process blocked in a fresh network namespace until destroyed.
class NetnsProcess {
 public:
  static std::unique_ptr<NetnsProcess> Start() {
    int hold[2], ready[2];
    if (pipe2(hold, O_CLOEXEC) != 0 || pipe2(ready, O_CLOEXEC) != 0) {
      return nullptr;
    }
    pid_t pid = fork();
    if (pid < 0) {
      return nullptr;
    }
    if (pid == 0) {
      close(hold[1]);
      close(ready[0]);
      char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
      (void)!write(ready[1], &ok, 1);
      char c;
      while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    close(hold[0]);
    close(ready[1]);
    char ok = 'n';
    ssize_t n;
    do {
      n = read(ready[0], &ok, 1);
    } while (n < 0 && errno == EINTR);
    close(ready[0]);
    auto p = std::unique_ptr<NetnsProcess>(new NetnsProcess(pid, hold[1]));
    if (n != 1 || ok != 'y') {
      return nullptr;
    }
    return p;
  }

  ~NetnsProcess() { Kill(); }

  pid_t pid() const { return pid_; }

  // Ends the process (and so its netns).
  void Kill() {
    if (pid_ > 0) {
      close(hold_fd_);
      kill(pid_, SIGKILL);
      while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
    }
  }

 private:
  NetnsProcess(pid_t pid, int hold_fd) : pid_(pid), hold_fd_(hold_fd) {}
  pid_t pid_;
  int hold_fd_;
};

// Runs `fn` on a thread that has entered the netns of `pid` (0 = this one).
template <typename F>
auto InNetns(pid_t pid, F fn) -> decltype(fn()) {
  decltype(fn()) result{};
  std::thread t([&] {
    if (pid > 0) {
      int fd = open(absl::StrCat("/proc/", pid, "/ns/net").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        if (fd >= 0) {
          close(fd);
        }
        return;
      }
      close(fd);
    }
    result = fn();
  });
  t.join();
  return result;
}

// A TCP server inside a netns: answers every connection with `greeting`.
class GreetingServer {
 public:
  GreetingServer(pid_t netns_pid, uint16_t port, std::string greeting)
      : greeting_(std::move(greeting)) {
    fd_ = InNetns(netns_pid, [port]() -> int {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
      }
      return fd;
    });
    if (fd_ >= 0) {
      thread_ = std::thread([this] {
        for (;;) {
          int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (c < 0) {
            if (errno == EINTR) {
              continue;
            }
            return;
          }
          (void)!write(c, greeting_.data(), greeting_.size());
          close(c);
        }
      });
    }
  }
  ~GreetingServer() {
    if (fd_ >= 0) {
      shutdown(fd_, SHUT_RDWR);
      thread_.join();
      close(fd_);
    }
  }
  bool ok() const { return fd_ >= 0; }

 private:
  std::string greeting_;
  int fd_ = -1;
  std::thread thread_;
};

// Connects from the netns of `netns_pid` (0 = the host) to ip:port and reads
// what the server says. An error names what failed.
absl::StatusOr<std::string> Fetch(pid_t netns_pid, const std::string& ip, uint16_t port) {
  int fd = InNetns(netns_pid, [] { return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
  if (fd < 0) {
    return absl::InternalError("socket");
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", ip, ":", port, ": ", strerror(err)));
  }
  pollfd p{fd, POLLOUT, 0};
  if (poll(&p, 1, 5000) != 1) {
    close(fd);
    return absl::DeadlineExceededError(absl::StrCat("connect ", ip, ":", port, ": timeout"));
  }
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", ip, ":", port, ": ", strerror(err)));
  }
  std::string data;
  for (;;) {
    pollfd r{fd, POLLIN, 0};
    if (poll(&r, 1, 5000) != 1) {
      break;
    }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

uint16_t IcmpChecksum(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) {
    sum += (p[i] << 8) | p[i + 1];
  }
  if (len % 2) {
    sum += p[len - 1] << 8;
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return htons(static_cast<uint16_t>(~sum));
}

// One ICMP echo from the netns of `netns_pid` (0 = host) to `ip`; true when
// the reply arrives within `wait` (short for pings expected to fail).
bool Ping(pid_t netns_pid, const std::string& ip, int wait_ms = 3000) {
  int fd = InNetns(netns_pid,
                   [] { return socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP); });
  if (fd < 0) {
    return false;
  }
  static std::atomic<uint16_t> next_id{static_cast<uint16_t>(getpid())};
  uint16_t id = next_id++;
  icmphdr req{};
  req.type = ICMP_ECHO;
  req.un.echo.id = htons(id);
  req.un.echo.sequence = htons(1);
  req.checksum = IcmpChecksum(&req, sizeof(req));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  bool ok = false;
  if (sendto(fd, &req, sizeof(req), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)) ==
      sizeof(req)) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (!ok && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 200) != 1) {
        continue;
      }
      char buf[1500];
      sockaddr_in from{};
      socklen_t fl = sizeof(from);
      ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < static_cast<ssize_t>(sizeof(iphdr))) {
        continue;
      }
      size_t ihl = (reinterpret_cast<iphdr*>(buf)->ihl) * 4u;
      if (static_cast<size_t>(n) < ihl + sizeof(icmphdr)) {
        continue;
      }
      auto* rep = reinterpret_cast<icmphdr*>(buf + ihl);
      ok = rep->type == ICMP_ECHOREPLY && ntohs(rep->un.echo.id) == id &&
           from.sin_addr.s_addr == a.sin_addr.s_addr;
    }
  }
  close(fd);
  return ok;
}

bool LinkExists(const std::string& name) { return if_nametoindex(name.c_str()) != 0; }

std::string IptablesSave() {
  std::string out;
  FILE* f = popen("iptables-save 2>/dev/null", "r");
  if (f == nullptr) {
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    out.append(buf, n);
  }
  pclose(f);
  return out;
}

// Lines of iptables-save that mention `needle`.
std::vector<std::string> SavedLinesWith(const std::string& needle) {
  std::vector<std::string> lines;
  for (absl::string_view l : absl::StrSplit(IptablesSave(), '\n')) {
    if (absl::StrContains(l, needle)) {
      lines.emplace_back(l);
    }
  }
  return lines;
}

NetworkOptions TestOptions() {
  NetworkOptions o;
  o.name = TestName();
  o.pool_cidr = "10.253.0.0/25";
  // High ports, a slice per process, away from the default pool's start.
  o.port_pool_start = 64000 + static_cast<uint32_t>(getpid() % 150) * 10;
  o.port_pool_size = 10;
  o.deny_networks = {"10.253.0.220/32"};
  return o;
}

// --- Pure allocation logic (no kernel changes: no Init, no chains) ----------

TEST(NetworkManagerCreateTest, RejectsBadOptions) {
  NetworkOptions o = TestOptions();
  o.name = "Too-Long-Name";
  EXPECT_THAT(NetworkManager::Create(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("name")));
  o = TestOptions();
  o.pool_cidr = "10.253.0.0/99";
  EXPECT_THAT(NetworkManager::Create(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("network pool")));
  o = TestOptions();
  o.deny_networks = {"nope"};
  EXPECT_THAT(NetworkManager::Create(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("deny_networks")));
  o = TestOptions();
  o.port_pool_start = 65000;
  o.port_pool_size = 1000;
  EXPECT_THAT(NetworkManager::Create(o), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("port pool")));
  o = TestOptions();
  o.external_ip = "";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NetworkManager> m, NetworkManager::Create(o));
  EXPECT_THAT(ParseIpv4(m->ExternalIp()), IsOk());
}

TEST(NetworkAllocationTest, AllocatesInOrderAndValidatesRequests) {
  NetworkOptions o = TestOptions();
  o.pool_cidr = "10.253.0.0/29";  // .2 .. .6 for containers
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NetworkManager> m, NetworkManager::Create(o));

  ASSERT_OK_AND_ASSIGN(ContainerNetwork a, m->Allocate("a", ""));
  EXPECT_EQ(a.handle, "a");
  EXPECT_EQ(a.container_ip, "10.253.0.2");
  EXPECT_EQ(a.host_ip, "10.253.0.1");
  EXPECT_EQ(a.prefix_length, 29);
  EXPECT_TRUE(absl::StartsWith(a.host_veth, o.name + "-"));
  EXPECT_LE(a.host_veth.size(), 15u);

  ASSERT_OK_AND_ASSIGN(ContainerNetwork b, m->Allocate("b", "10.253.0.5"));
  EXPECT_EQ(b.container_ip, "10.253.0.5");
  EXPECT_NE(a.host_veth, b.host_veth);
  ASSERT_OK_AND_ASSIGN(ContainerNetwork c, m->Allocate("c", "10.253.0.4/30"));
  EXPECT_EQ(c.container_ip, "10.253.0.6");  // .4 is the /30's network, .5 taken

  EXPECT_THAT(m->Allocate("a", ""), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(m->Allocate("x", "10.253.0.5"),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("network: the requested IP is already allocated")));
  EXPECT_THAT(m->Allocate("x", "10.9.9.9"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("network: the requested IP 10.9.9.9 is not within the pool")));
  EXPECT_THAT(m->Allocate("x", "10.253.0.1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("gateway")));
  EXPECT_THAT(m->Allocate("x", "10.253.0.7"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("broadcast")));
  EXPECT_THAT(m->Allocate("x", "banana"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("network")));
  EXPECT_THAT(m->Allocate("x", "10.253.0.64/26"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("network")));

  ASSERT_OK_AND_ASSIGN(ContainerNetwork d, m->Allocate("d", ""));
  EXPECT_EQ(d.container_ip, "10.253.0.3");
  ASSERT_OK_AND_ASSIGN(ContainerNetwork f, m->Allocate("f", ""));
  EXPECT_EQ(f.container_ip, "10.253.0.4");
  EXPECT_THAT(m->Allocate("e", ""),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("network: insufficient IPs remaining in the pool")));

  // Release (nothing was applied: no iptables) returns the IP.
  ASSERT_THAT(m->Release(b), IsOk());
  ASSERT_OK_AND_ASSIGN(ContainerNetwork e, m->Allocate("e", ""));
  EXPECT_EQ(e.container_ip, "10.253.0.5");
}

TEST(NetworkAllocationTest, RestoreMarksAddressesAndPortsUsed) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NetworkManager> m, NetworkManager::Create(TestOptions()));
  ContainerNetwork old;
  old.handle = "old";
  old.container_ip = "10.253.0.2";
  old.host_ip = "10.253.0.1";
  old.prefix_length = 25;
  old.host_veth = TestName() + "-zz";
  old.mapped_ports = {{TestOptions().port_pool_start, 8080}};
  ASSERT_THAT(m->Restore(old), IsOk());
  EXPECT_THAT(m->Restore(old), IsOk());  // idempotent

  ASSERT_OK_AND_ASSIGN(ContainerNetwork n, m->Allocate("new", ""));
  EXPECT_EQ(n.container_ip, "10.253.0.3");
  EXPECT_NE(n.host_veth, old.host_veth);
  EXPECT_THAT(m->Allocate("x", "10.253.0.2"), StatusIs(absl::StatusCode::kAlreadyExists));
  // The restored host port is taken (checked before any iptables call).
  EXPECT_THAT(m->NetIn(&n, TestOptions().port_pool_start, 0),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("port already acquired")));

  ContainerNetwork clash = old;
  clash.handle = "clash";
  clash.host_veth = TestName() + "-zy";
  EXPECT_THAT(m->Restore(clash), StatusIs(absl::StatusCode::kAlreadyExists));
  ContainerNetwork foreign = old;
  foreign.handle = "foreign";
  foreign.container_ip = "10.253.0.9";
  foreign.host_veth = "eth0";
  EXPECT_THAT(m->Restore(foreign), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NetworkAllocationTest, ConcurrentAllocationsGetUniqueAddresses) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NetworkManager> m, NetworkManager::Create(TestOptions()));
  absl::Mutex mu;
  std::vector<ContainerNetwork> nets;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15; ++i) {
        absl::StatusOr<ContainerNetwork> n = m->Allocate(absl::StrCat("h", t, "-", i), "");
        absl::MutexLock lock(&mu);
        if (n.ok()) {
          nets.push_back(*n);
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  ASSERT_EQ(nets.size(), 120u);
  std::set<std::string> ips, veths;
  for (const ContainerNetwork& n : nets) {
    ips.insert(n.container_ip);
    veths.insert(n.host_veth);
  }
  EXPECT_EQ(ips.size(), 120u);
  EXPECT_EQ(veths.size(), 120u);
}

TEST(NetworkAllocationTest, NetOutRejectsInvalidRules) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NetworkManager> m, NetworkManager::Create(TestOptions()));
  ASSERT_OK_AND_ASSIGN(ContainerNetwork n, m->Allocate("h", ""));
  NetOutRule all_with_ports;
  all_with_ports.ports = {{80, 80}};
  EXPECT_THAT(m->NetOut(&n, {all_with_ports}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Ports cannot be specified for Protocol ALL")));
  NetOutRule bad_range;
  bad_range.protocol = Protocol::kTcp;
  bad_range.networks = {{"10.0.0.9", "10.0.0.1"}};
  EXPECT_THAT(m->NetOut(&n, {bad_range}), StatusIs(absl::StatusCode::kInvalidArgument));
  NetOutRule bad_ip;
  bad_ip.networks = {{"1.2.3", ""}};
  EXPECT_THAT(m->NetOut(&n, {bad_ip}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(n.net_out.empty());
  // No rules: nothing to do, no iptables.
  EXPECT_THAT(m->NetOut(&n, {}), IsOk());
}

// --- Against the kernel -----------------------------------------------------

struct TestContainer {
  std::unique_ptr<NetnsProcess> proc;
  ContainerNetwork net;
};

class NetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DIEGO_REQUIRE_ROOT();
    options_ = TestOptions();
    ASSERT_OK_AND_ASSIGN(manager_, NetworkManager::Create(options_));
    // A previous crashed run of this pid's name (unlikely) is wiped first.
    (void)manager_->Teardown();
    ASSERT_THAT(manager_->Init(), IsOk());
    initialized_ = true;
  }

  void TearDown() override {
    containers_.clear();
    outside_.reset();
    if (initialized_) {
      EXPECT_THAT(manager_->Teardown(), IsOk());
      EXPECT_THAT(SavedLinesWith(options_.name + "-"), ::testing::IsEmpty());
      EXPECT_FALSE(LinkExists(options_.name + "br0"));
    }
  }

  // A netns process with an allocated and configured network.
  TestContainer* NewContainer(const std::string& handle, const std::string& network = "") {
    auto c = std::make_unique<TestContainer>();
    c->proc = NetnsProcess::Start();
    if (c->proc == nullptr) {
      ADD_FAILURE() << "cannot start a netns process";
      return nullptr;
    }
    absl::StatusOr<ContainerNetwork> net = manager_->Allocate(handle, network);
    if (!net.ok()) {
      ADD_FAILURE() << net.status();
      return nullptr;
    }
    c->net = *net;
    absl::Status s = manager_->Configure(c->net, c->proc->pid());
    if (!s.ok()) {
      ADD_FAILURE() << s;
      return nullptr;
    }
    containers_.push_back(std::move(c));
    return containers_.back().get();
  }

  // The "outside world": a netns routed from the host through its own veth
  // pair (10.253.0.201 host / .202 outside, and .220 on its lo, routed via
  // .202), with greeting servers on port 7000.
  void StartOutside() {
    outside_ = NetnsProcess::Start();
    ASSERT_NE(outside_, nullptr);
    int ns = open(absl::StrCat("/proc/", outside_->pid(), "/ns/net").c_str(),
                  O_RDONLY | O_CLOEXEC);
    ASSERT_GE(ns, 0);
    const std::string host_if = options_.name + "out";
    ASSERT_OK_AND_ASSIGN(uint32_t host_ip, ParseIpv4("10.253.0.201"));
    ASSERT_OK_AND_ASSIGN(uint32_t out_ip, ParseIpv4("10.253.0.202"));
    ASSERT_OK_AND_ASSIGN(uint32_t far_ip, ParseIpv4("10.253.0.220"));
    ASSERT_OK_AND_ASSIGN(NetlinkSocket host, NetlinkSocket::Open());
    NetlinkMessage veth = NewVethMessage(host_if, "eth0", 1500, 0, ns, MacForIpv4(out_ip));
    ASSERT_THAT(host.Request(veth), IsOk());
    ASSERT_OK_AND_ASSIGN(NetlinkSocket inside, NetlinkSocket::OpenInNetns(ns));
    close(ns);
    ASSERT_OK_AND_ASSIGN(int host_index, host.LinkIndex(host_if));
    ASSERT_OK_AND_ASSIGN(int eth0, inside.LinkIndex("eth0"));
    std::vector<NetlinkMessage> in;
    in.push_back(LinkUpMessage(1));
    in.push_back(LinkUpMessage(eth0));
    in.push_back(NewAddressMessage(eth0, out_ip, 30, false));
    in.push_back(NewAddressMessage(1, far_ip, 32, false));
    in.push_back(NewRouteMessage(0, 0, host_ip, eth0));
    ASSERT_THAT(inside.Batch(in), IsOk());
    std::vector<NetlinkMessage> h;
    h.push_back(NewAddressMessage(host_index, host_ip, 30, false));
    h.push_back(NewRouteMessage(far_ip, 32, out_ip, host_index));
    ASSERT_THAT(host.Batch(h), IsOk());
    outside_server_ = std::make_unique<GreetingServer>(outside_->pid(), 7000, "outside\n");
    ASSERT_TRUE(outside_server_->ok());
    // The host itself reaches both outside addresses.
    ASSERT_THAT(Fetch(0, "10.253.0.202", 7000), IsOk());
    ASSERT_THAT(Fetch(0, "10.253.0.220", 7000), IsOk());
  }

  void StopOutside() {
    outside_server_.reset();
    outside_.reset();
  }

  NetworkOptions options_;
  std::unique_ptr<NetworkManager> manager_;
  bool initialized_ = false;
  std::vector<std::unique_ptr<TestContainer>> containers_;
  std::unique_ptr<NetnsProcess> outside_;
  std::unique_ptr<GreetingServer> outside_server_;
};

TEST_F(NetworkTest, InitIsIdempotentAndSetsUpTheHost) {
  ASSERT_THAT(manager_->Init(), IsOk());
  EXPECT_TRUE(LinkExists(options_.name + "br0"));
  // Exactly one jump from each built-in chain, whatever the number of Inits.
  EXPECT_EQ(SavedLinesWith("-A FORWARD -j " + options_.name + "-forward").size(), 1u);
  EXPECT_EQ(SavedLinesWith("-j " + options_.name + "-input").size(), 1u);
  EXPECT_EQ(SavedLinesWith("-A POSTROUTING -j " + options_.name + "-postrouting").size(), 1u);
  EXPECT_EQ(SavedLinesWith("-j " + options_.name + "-netin").size(), 2u);  // PREROUTING, OUTPUT
  std::vector<std::string> deny = SavedLinesWith("-d 10.253.0.220/32");
  ASSERT_EQ(deny.size(), 1u);
  EXPECT_THAT(deny[0], HasSubstr("-j REJECT"));
}

TEST_F(NetworkTest, ConfiguredContainerIsReachableFromTheHost) {
  // Configure is on the container-create path: measure it (logged, not
  // asserted). The namespaces are made first, so their creation is not in
  // the measurement (the kernel serializes netns and netdev work on one lock,
  // so other activity on the host shows up here).
  std::vector<std::unique_ptr<NetnsProcess>> procs;
  for (int i = 0; i < 5; ++i) {
    procs.push_back(NetnsProcess::Start());
    ASSERT_NE(procs.back(), nullptr);
  }
  std::vector<int64_t> micros;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(ContainerNetwork net, manager_->Allocate(absl::StrCat("t", i), ""));
    auto start = std::chrono::steady_clock::now();
    ASSERT_THAT(manager_->Configure(net, procs[i]->pid()), IsOk());
    micros.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count());
    auto c = std::make_unique<TestContainer>();
    c->proc = std::move(procs[i]);
    c->net = net;
    containers_.push_back(std::move(c));
  }
  std::sort(micros.begin(), micros.end());
  std::printf("[ timing ] Configure: min %lld us, median %lld us, max %lld us\n",
              static_cast<long long>(micros.front()), static_cast<long long>(micros[2]),
              static_cast<long long>(micros.back()));
  RecordProperty("configure_median_us", static_cast<int>(micros[2]));

  TestContainer* c = containers_.front().get();
  EXPECT_TRUE(LinkExists(c->net.host_veth));
  EXPECT_TRUE(Ping(0, c->net.container_ip));
  GreetingServer server(c->proc->pid(), 8080, "hello from t0\n");
  ASSERT_TRUE(server.ok());
  EXPECT_THAT(Fetch(0, c->net.container_ip, 8080), IsOkAndHolds("hello from t0\n"));
  // Containers reach each other on the bridge.
  EXPECT_TRUE(Ping(containers_[1]->proc->pid(), c->net.container_ip));
  EXPECT_THAT(Fetch(containers_[1]->proc->pid(), c->net.container_ip, 8080),
              IsOkAndHolds("hello from t0\n"));

  ASSERT_OK_AND_ASSIGN(ContainerNetworkStat stat, manager_->Stats(c->net));
  EXPECT_GT(stat.rx_bytes, 0u);
  EXPECT_GT(stat.tx_bytes, 0u);
  // They are eth0's own counters inside the netns, read from the host side.
  auto eth0_counters = [&]() -> std::pair<uint64_t, uint64_t> {
    return InNetns(c->proc->pid(), []() -> std::pair<uint64_t, uint64_t> {
      FILE* f = fopen("/proc/thread-self/net/dev", "r");  // this thread's netns
      char line[512];
      std::pair<uint64_t, uint64_t> rx_tx{0, 0};
      while (f != nullptr && fgets(line, sizeof(line), f) != nullptr) {
        unsigned long long v[9];
        if (sscanf(line, " eth0: %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) == 9) {
          rx_tx = {v[0], v[8]};
        }
      }
      if (f != nullptr) {
        fclose(f);
      }
      return rx_tx;
    });
  };
  std::pair<uint64_t, uint64_t> inside;
  absl::StatusOr<ContainerNetworkStat> seen;
  EXPECT_TRUE(PollUntil(
      [&] {
        inside = eth0_counters();
        seen = manager_->Stats(c->net);
        return seen.ok() && inside.first == seen->rx_bytes && inside.second == seen->tx_bytes;
      },
      kBound))
      << "eth0 rx " << inside.first << " tx " << inside.second << "; Stats rx "
      << (seen.ok() ? seen->rx_bytes : 0) << " tx " << (seen.ok() ? seen->tx_bytes : 0);

  // Creating and destroying containers without rules runs no iptables: no
  // chain of theirs exists.
  EXPECT_THAT(SavedLinesWith(options_.name + "-o-"), ::testing::IsEmpty());
  EXPECT_THAT(SavedLinesWith(options_.name + "-i-"), ::testing::IsEmpty());
}

TEST_F(NetworkTest, ContainerCannotReachTheHostByDefault) {
  TestContainer* c = NewContainer("c");
  ASSERT_NE(c, nullptr);
  GreetingServer host_server(0, 7001, "host\n");
  ASSERT_TRUE(host_server.ok());
  EXPECT_THAT(Fetch(c->proc->pid(), c->net.host_ip, 7001), Not(IsOk()));
  // ... while the host reaches the container (replies are established).
  EXPECT_TRUE(Ping(0, c->net.container_ip));
}

TEST_F(NetworkTest, Ipv6CannotBypassTheRules) {
  // The rules are IPv4 only: IPv6 link-local must not reach the host or other
  // containers past them. The bridge has no IPv6, and ip6tables drops IPv6
  // arriving from the bridge (bridged between containers, or to the host).
  TestContainer* c = NewContainer("v6");
  ASSERT_NE(c, nullptr);
  std::string disabled;
  {
    FILE* f = fopen(("/proc/sys/net/ipv6/conf/" + options_.name + "br0/disable_ipv6").c_str(), "r");
    char buf[16] = {0};
    if (f != nullptr && fgets(buf, sizeof(buf), f) != nullptr) disabled = buf;
    if (f != nullptr) fclose(f);
  }
  EXPECT_EQ(absl::StripAsciiWhitespace(disabled), "1");
  std::string rules = ::diego::fakes::HostSh("ip6tables -w -S 2>&1").second;
  EXPECT_THAT(rules, HasSubstr("-A FORWARD -i " + options_.name + "br0 -j DROP"));
  EXPECT_THAT(rules, HasSubstr("-A INPUT -i " + options_.name + "br0 -j DROP"));
}

TEST_F(NetworkTest, NetInForwardsHostPortsFromTheHost) {
  TestContainer* c = NewContainer("web");
  ASSERT_NE(c, nullptr);
  GreetingServer server(c->proc->pid(), 8080, "web\n");
  ASSERT_TRUE(server.ok());

  ASSERT_OK_AND_ASSIGN(PortMapping m, manager_->NetIn(&c->net, 0, 8080));
  EXPECT_EQ(m.host_port, options_.port_pool_start);
  EXPECT_EQ(m.container_port, 8080u);
  EXPECT_EQ(c->net.mapped_ports, std::vector<PortMapping>({m}));
  uint16_t port = static_cast<uint16_t>(m.host_port);
  EXPECT_THAT(Fetch(0, manager_->ExternalIp(), port), IsOkAndHolds("web\n"));
  EXPECT_THAT(Fetch(0, "127.0.0.1", port), IsOkAndHolds("web\n"));

  // container_port 0 = the same as the host port.
  GreetingServer same(c->proc->pid(), static_cast<uint16_t>(options_.port_pool_start + 5),
                      "same\n");
  ASSERT_TRUE(same.ok());
  ASSERT_OK_AND_ASSIGN(PortMapping m2, manager_->NetIn(&c->net, options_.port_pool_start + 5, 0));
  EXPECT_EQ(m2.container_port, options_.port_pool_start + 5);
  EXPECT_THAT(Fetch(0, manager_->ExternalIp(), static_cast<uint16_t>(m2.host_port)),
              IsOkAndHolds("same\n"));

  // A host port already mapped (by any container) is refused.
  TestContainer* other = NewContainer("other");
  ASSERT_NE(other, nullptr);
  EXPECT_THAT(manager_->NetIn(&other->net, m.host_port, 80),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr(absl::StrCat("port already acquired: ", m.host_port))));
  EXPECT_TRUE(other->net.mapped_ports.empty());
  // Picking skips used ports.
  ASSERT_OK_AND_ASSIGN(PortMapping m3, manager_->NetIn(&other->net, 0, 80));
  EXPECT_NE(m3.host_port, m.host_port);
  EXPECT_NE(m3.host_port, m2.host_port);

  // Release removes exactly the container's chain and frees its ports.
  ASSERT_THAT(manager_->Release(c->net), IsOk());
  EXPECT_THAT(Fetch(0, "127.0.0.1", port), Not(IsOk()));
  EXPECT_THAT(SavedLinesWith(options_.name + "-i-" + c->net.host_veth.substr(
                                                        options_.name.size() + 1)),
              ::testing::IsEmpty());
  EXPECT_FALSE(SavedLinesWith(options_.name + "-i-").empty());  // other's stays
  ASSERT_OK_AND_ASSIGN(PortMapping again, manager_->NetIn(&other->net, m.host_port, 80));
  EXPECT_EQ(again.host_port, m.host_port);
}

TEST_F(NetworkTest, PortPoolExhaustion) {
  TestContainer* c = NewContainer("greedy");
  ASSERT_NE(c, nullptr);
  for (uint32_t i = 0; i < options_.port_pool_size; ++i) {
    ASSERT_THAT(manager_->NetIn(&c->net, 0, 80), IsOk());
  }
  EXPECT_THAT(manager_->NetIn(&c->net, 0, 80),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("port pool is exhausted")));
  EXPECT_EQ(c->net.mapped_ports.size(), options_.port_pool_size);
}

TEST_F(NetworkTest, EgressIsDeniedByDefaultAndOpenedByNetOut) {
  ASSERT_NO_FATAL_FAILURE(StartOutside());
  TestContainer* c = NewContainer("egress");
  ASSERT_NE(c, nullptr);
  const pid_t pid = c->proc->pid();

  EXPECT_THAT(Fetch(pid, "10.253.0.202", 7000), Not(IsOk()));
  EXPECT_FALSE(Ping(pid, "10.253.0.202", 1000));

  // TCP to one address and port range.
  NetOutRule tcp;
  tcp.protocol = Protocol::kTcp;
  tcp.networks = {{"10.253.0.202", "10.253.0.202"}};
  tcp.ports = {{6990, 7010}};
  ASSERT_THAT(manager_->NetOut(&c->net, {tcp}), IsOk());
  EXPECT_EQ(c->net.net_out, std::vector<NetOutRule>({tcp}));
  EXPECT_THAT(Fetch(pid, "10.253.0.202", 7000), IsOkAndHolds("outside\n"));
  EXPECT_FALSE(Ping(pid, "10.253.0.202", 1000));  // only TCP was opened

  // ICMP echo requests (type 8, any code), logged, to a range.
  NetOutRule icmp;
  icmp.protocol = Protocol::kIcmp;
  icmp.networks = {{"10.253.0.200", "10.253.0.210"}};
  icmp.icmps = IcmpControl{8, std::nullopt};
  icmp.log = true;
  ASSERT_THAT(manager_->NetOut(&c->net, {icmp}), IsOk());
  EXPECT_TRUE(Ping(pid, "10.253.0.202"));
  EXPECT_EQ(c->net.net_out.size(), 2u);
  std::vector<std::string> log_rules = SavedLinesWith("-j LOG");
  ASSERT_EQ(log_rules.size(), 1u);
  EXPECT_THAT(log_rules[0], HasSubstr("egress"));

  // Another container is still denied: rules are per container.
  TestContainer* d = NewContainer("denied");
  ASSERT_NE(d, nullptr);
  EXPECT_THAT(Fetch(d->proc->pid(), "10.253.0.202", 7000), Not(IsOk()));

  // Everything allowed, except deny_networks, which no rule opens.
  NetOutRule all;
  ASSERT_THAT(manager_->NetOut(&d->net, {all}), IsOk());
  EXPECT_THAT(Fetch(d->proc->pid(), "10.253.0.202", 7000), IsOkAndHolds("outside\n"));
  EXPECT_THAT(Fetch(d->proc->pid(), "10.253.0.220", 7000), Not(IsOk()));
  NetOutRule deny_target;
  deny_target.networks = {{"10.253.0.220", ""}};
  ASSERT_THAT(manager_->NetOut(&d->net, {deny_target}), IsOk());
  EXPECT_THAT(Fetch(d->proc->pid(), "10.253.0.220", 7000), Not(IsOk()));

  // Release removes every rule of the container; its IP can be reused and
  // the new user starts denied again.
  ASSERT_THAT(manager_->Release(d->net), IsOk());
  const std::string d_ip = d->net.container_ip;
  std::string d_id = d->net.host_veth.substr(options_.name.size() + 1);
  EXPECT_THAT(SavedLinesWith(options_.name + "-o-" + d_id), ::testing::IsEmpty());
  EXPECT_THAT(SavedLinesWith(d_ip + "/32"), ::testing::IsEmpty());
  d->proc->Kill();
  TestContainer* reuse = NewContainer("reuse", d_ip);
  ASSERT_NE(reuse, nullptr);
  EXPECT_EQ(reuse->net.container_ip, d_ip);
  EXPECT_TRUE(Ping(0, d_ip));
  EXPECT_THAT(Fetch(reuse->proc->pid(), "10.253.0.202", 7000), Not(IsOk()));

  ASSERT_THAT(manager_->Release(c->net), IsOk());
  EXPECT_THAT(SavedLinesWith(options_.name + "-o-"), ::testing::IsEmpty());
  EXPECT_THAT(Fetch(pid, "10.253.0.202", 7000), Not(IsOk()));
}

TEST_F(NetworkTest, KillingTheNetnsRemovesTheHostVeth) {
  TestContainer* c = NewContainer("dies");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(LinkExists(c->net.host_veth));
  c->proc->Kill();
  EXPECT_TRUE(PollUntil([&] { return !LinkExists(c->net.host_veth); }, kBound));
  EXPECT_THAT(manager_->Release(c->net), IsOk());
  // A new container may get the same IP at once (the MAC follows the IP, so
  // the host's neighbour entry stays right).
  TestContainer* next = NewContainer("next", c->net.container_ip);
  ASSERT_NE(next, nullptr);
  EXPECT_TRUE(Ping(0, next->net.container_ip));
}

TEST_F(NetworkTest, CleanupExceptKeepsRestoredContainersOnly) {
  TestContainer* keep = NewContainer("keep");
  TestContainer* drop = NewContainer("drop");
  ASSERT_NE(keep, nullptr);
  ASSERT_NE(drop, nullptr);
  NetOutRule all;
  ASSERT_THAT(manager_->NetOut(&keep->net, {all}), IsOk());
  ASSERT_THAT(manager_->NetOut(&drop->net, {all}), IsOk());
  ASSERT_THAT(manager_->NetIn(&keep->net, 0, 80), IsOk());
  ASSERT_THAT(manager_->NetIn(&drop->net, 0, 80), IsOk());

  // "Restart": a new manager with the same name re-adopts `keep` only.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<NetworkManager> restarted,
                       NetworkManager::Create(options_));
  ASSERT_THAT(restarted->Init(), IsOk());
  ASSERT_THAT(restarted->Restore(keep->net), IsOk());
  ASSERT_THAT(restarted->CleanupExcept({"keep"}), IsOk());

  const std::string keep_id = keep->net.host_veth.substr(options_.name.size() + 1);
  const std::string drop_id = drop->net.host_veth.substr(options_.name.size() + 1);
  EXPECT_TRUE(LinkExists(keep->net.host_veth));
  EXPECT_FALSE(LinkExists(drop->net.host_veth));
  EXPECT_FALSE(SavedLinesWith(options_.name + "-o-" + keep_id).empty());
  EXPECT_FALSE(SavedLinesWith(options_.name + "-i-" + keep_id).empty());
  EXPECT_THAT(SavedLinesWith(options_.name + "-o-" + drop_id), ::testing::IsEmpty());
  EXPECT_THAT(SavedLinesWith(options_.name + "-i-" + drop_id), ::testing::IsEmpty());
  EXPECT_TRUE(Ping(0, keep->net.container_ip));

  // The restarted manager knows keep's IP and port, not drop's.
  EXPECT_THAT(restarted->Allocate("x", keep->net.container_ip),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(restarted->Allocate("y", drop->net.container_ip), IsOk());
  // The old manager's Release of `drop` finds nothing left: still OK.
  EXPECT_THAT(manager_->Release(drop->net), IsOk());
  // It releases keep exactly.
  ASSERT_THAT(restarted->Release(keep->net), IsOk());
  EXPECT_THAT(SavedLinesWith(options_.name + "-o-"), ::testing::IsEmpty());
  EXPECT_THAT(SavedLinesWith(options_.name + "-i-"), ::testing::IsEmpty());
}

}  // namespace
}  // namespace diego::garden
