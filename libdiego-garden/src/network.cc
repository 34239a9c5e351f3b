// Copyright 2026 The libdiego Authors.

#include "network.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "diego/base/status_macros.h"
#include "netlink.h"
#include "posix_fd.h"

extern char** environ;

namespace diego::garden {
namespace {

// --- Addresses --------------------------------------------------------------

struct Cidr {
  uint32_t network = 0;
  int prefix = 0;

  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
  uint32_t broadcast() const { return network | ~mask(); }
  bool Contains(uint32_t ip) const { return (ip & mask()) == network; }
  std::string ToString() const { return absl::StrCat(FormatIpv4(network), "/", prefix); }
};

// "a.b.c.d/n" (host bits are masked off) or "a.b.c.d" (a /32).
absl::StatusOr<Cidr> ParseCidr(absl::string_view text, absl::string_view what) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(text, '/');
  absl::StatusOr<uint32_t> ip = ParseIpv4(parts.first);
  int prefix = 32;
  bool has_prefix = absl::StrContains(text, '/');
  if (!ip.ok() || (has_prefix && (!absl::SimpleAtoi(parts.second, &prefix) || prefix < 0 ||
                                  prefix > 32))) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": invalid CIDR \"", std::string(text), "\""));
  }
  Cidr c;
  c.prefix = prefix;
  c.network = *ip & c.mask();
  return c;
}

// --- Running iptables -------------------------------------------------------

struct CommandResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

absl::StatusOr<std::string> ReadAllFromStart(int fd) {
  if (lseek(fd, 0, SEEK_SET) < 0) {
    return absl::InternalError(absl::StrCat("lseek: ", ErrnoText(errno)));
  }
  std::string data;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return absl::InternalError(absl::StrCat("read: ", ErrnoText(errno)));
    }
    if (n == 0) {
      break;
    }
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

// Runs `argv` (argv[0] an absolute path) with `input` on stdin; captures
// stdout and stderr through memfds (no pipes, so no deadlock on big output).
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::string& input) {
  Fd in(memfd_create("diego-net-in", MFD_CLOEXEC));
  Fd out(memfd_create("diego-net-out", MFD_CLOEXEC));
  Fd err(memfd_create("diego-net-err", MFD_CLOEXEC));
  if (in.get() < 0 || out.get() < 0 || err.get() < 0) {
    return absl::InternalError(absl::StrCat("memfd_create: ", ErrnoText(errno)));
  }
  size_t off = 0;
  while (off < input.size()) {
    ssize_t n = write(in.get(), input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return absl::InternalError(absl::StrCat("write to memfd: ", ErrnoText(errno)));
    }
    off += static_cast<size_t>(n);
  }
  if (lseek(in.get(), 0, SEEK_SET) < 0) {
    return absl::InternalError(absl::StrCat("lseek: ", ErrnoText(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err.get(), 2);
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], ": ", ErrnoText(rc)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid ", argv[0], ": ", ErrnoText(errno)));
    }
  }
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  DIEGO_ASSIGN_OR_RETURN(result.out, ReadAllFromStart(out.get()));
  DIEGO_ASSIGN_OR_RETURN(result.err, ReadAllFromStart(err.get()));
  return result;
}

absl::StatusOr<std::string> FindBinary(const std::string& name) {
  std::vector<std::string> dirs = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
  if (const char* path = getenv("PATH"); path != nullptr) {
    for (absl::string_view d : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      dirs.emplace_back(d);
    }
  }
  for (const std::string& d : dirs) {
    std::string p = absl::StrCat(d, "/", name);
    if (access(p.c_str(), X_OK) == 0) {
      return p;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("network: ", name, " not found (install Debian's iptables package)"));
}

// What iptables-save printed for one table.
struct SavedTable {
  std::set<std::string> chains;
  std::vector<std::string> rules;  // "-A CHAIN ..." lines
};
using SavedTables = std::map<std::string, SavedTable>;

SavedTables ParseIptablesSave(const std::string& text) {
  SavedTables tables;
  SavedTable* current = nullptr;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "*")) {
      current = &tables[std::string(line.substr(1))];
    } else if (current == nullptr || absl::StartsWith(line, "#")) {
      continue;
    } else if (absl::StartsWith(line, ":")) {
      std::vector<absl::string_view> f = absl::StrSplit(line.substr(1), ' ');
      current->chains.insert(std::string(f[0]));
    } else if (absl::StartsWith(line, "-A ")) {
      current->rules.emplace_back(absl::StripTrailingAsciiWhitespace(line));
    }
  }
  return tables;
}

// The chain a rule line ("-A CHAIN ...") is in.
std::string RuleChain(absl::string_view rule) {
  std::vector<absl::string_view> f = absl::StrSplit(rule, ' ');
  return f.size() > 1 ? std::string(f[1]) : "";
}

// The target of a rule line ("... -j TARGET [options]" or "-g TARGET").
std::string RuleTarget(absl::string_view rule) {
  std::vector<absl::string_view> f = absl::StrSplit(rule, ' ', absl::SkipEmpty());
  for (size_t i = 0; i + 1 < f.size(); ++i) {
    if (f[i] == "-j" || f[i] == "-g" || f[i] == "--jump" || f[i] == "--goto") {
      return std::string(f[i + 1]);
    }
  }
  return "";
}

// "-A X ..." -> "-D X ...".
std::string DeleteOf(absl::string_view rule) { return absl::StrCat("-D", rule.substr(2)); }

// iptables-restore input removing, in the filter and nat tables, the chains
// for which `doomed(chain)` is true: first the rules of other chains that jump
// to them, then the chains themselves (flush, delete). "" when none match.
template <typename Pred>
std::string RemoveChainsScript(SavedTables& saved, Pred doomed_chain) {
  std::string b;
  for (const char* table : {"filter", "nat"}) {
    const SavedTable& t = saved[table];
    std::set<std::string> doomed;
    for (const std::string& c : t.chains) {
      if (doomed_chain(c)) {
        doomed.insert(c);
      }
    }
    if (doomed.empty()) {
      continue;
    }
    absl::StrAppend(&b, "*", table, "\n");
    for (const std::string& r : t.rules) {
      if (doomed.count(RuleTarget(r)) > 0 && doomed.count(RuleChain(r)) == 0) {
        absl::StrAppend(&b, DeleteOf(r), "\n");
      }
    }
    for (const std::string& c : doomed) {
      absl::StrAppend(&b, "-F ", c, "\n");
    }
    for (const std::string& c : doomed) {
      absl::StrAppend(&b, "-X ", c, "\n");
    }
    absl::StrAppend(&b, "COMMIT\n");
  }
  return b;
}

std::string Base36(uint64_t v) {
  const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s;
  do {
    s.insert(s.begin(), digits[v % 36]);
    v /= 36;
  } while (v != 0);
  return s;
}

// LOG prefixes: at most 29 characters, no quotes or spaces.
std::string LogPrefix(absl::string_view handle) {
  std::string p;
  for (char c : handle) {
    if (p.size() >= 28) {
      break;
    }
    p += (isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  }
  return p + " ";
}

absl::Status WriteProcFile(const std::string& path, const std::string& value) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("network: open ", path, ": ", ErrnoText(errno)));
  }
  ssize_t n = write(fd, value.data(), value.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return absl::InternalError(absl::StrCat("network: write ", path, ": ", ErrnoText(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ReadCounter(const std::string& path) {
  std::ifstream f(path);
  uint64_t v = 0;
  if (!(f >> v)) {
    return absl::NotFoundError(absl::StrCat("network: cannot read ", path));
  }
  return v;
}

// The host's IPv4 address for NetIn: the first address of the interface
// holding the default route, else the first non-loopback address outside
// `pool`, else 127.0.0.1.
std::string DetectExternalIp(const Cidr& pool) {
  std::string default_iface;
  std::ifstream route("/proc/net/route");
  std::string line;
  std::getline(route, line);  // header
  while (std::getline(route, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t', absl::SkipWhitespace());
    if (f.size() > 2 && absl::StripAsciiWhitespace(f[1]) == "00000000") {
      default_iface = std::string(absl::StripAsciiWhitespace(f[0]));
      break;
    }
  }
  ifaddrs* addrs = nullptr;
  if (getifaddrs(&addrs) != 0) {
    return "127.0.0.1";
  }
  std::string on_default, any;
  for (ifaddrs* a = addrs; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET ||
        (a->ifa_flags & IFF_LOOPBACK)) {
      continue;
    }
    uint32_t ip = ntohl(reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
    if (pool.Contains(ip)) {
      continue;
    }
    if (on_default.empty() && default_iface == a->ifa_name) {
      on_default = FormatIpv4(ip);
    }
    if (any.empty()) {
      any = FormatIpv4(ip);
    }
  }
  freeifaddrs(addrs);
  if (!on_default.empty()) {
    return on_default;
  }
  return any.empty() ? "127.0.0.1" : any;
}

// --- The manager ------------------------------------------------------------

class LinuxNetworkManager final : public NetworkManager {
 public:
  LinuxNetworkManager(NetworkOptions options, Cidr pool, std::vector<std::string> deny,
                      std::string external_ip)
      : options_(std::move(options)),
        pool_(pool),
        deny_(std::move(deny)),
        external_ip_(std::move(external_ip)),
        bridge_(options_.name + "br0"),
        ip_used_(static_cast<size_t>(pool.broadcast() - pool.network + 1), false) {}

  absl::Status Init() override;
  absl::StatusOr<ContainerNetwork> Allocate(absl::string_view handle,
                                            absl::string_view network) override;
  absl::Status Configure(const ContainerNetwork& net, pid_t pid) override;
  absl::StatusOr<PortMapping> NetIn(ContainerNetwork* net, uint32_t host_port,
                                    uint32_t container_port) override;
  absl::Status NetOut(ContainerNetwork* net, const std::vector<NetOutRule>& rules) override;
  absl::Status Release(const ContainerNetwork& net) override;
  absl::Status Restore(const ContainerNetwork& net) override;
  absl::Status CleanupExcept(const std::set<std::string>& keep) override;
  absl::Status Teardown() override;
  absl::StatusOr<ContainerNetworkStat> Stats(const ContainerNetwork& net) override;
  std::string ExternalIp() const override { return external_ip_; }

 private:
  struct Entry {
    uint32_t ip = 0;
    std::string id;
    std::set<uint32_t> ports;
    bool out_chain = false;  // <name>-o-<id> exists
    bool in_chain = false;   // <name>-i-<id> exists
  };

  uint32_t gateway() const { return pool_.network + 1; }
  std::string VethName(const std::string& id) const { return absl::StrCat(options_.name, "-", id); }
  std::string Chain(absl::string_view suffix) const {
    return absl::StrCat(options_.name, "-", std::string(suffix));
  }
  std::string OutChain(const std::string& id) const { return Chain("o-" + id); }
  std::string InChain(const std::string& id) const { return Chain("i-" + id); }
  // The id of a host veth name "<name>-<id>", or "" when it is not ours.
  std::string IdOfVeth(absl::string_view veth) const;
  // The id of a chain "<name>-o-<id>" / "<name>-i-<id>", or "".
  std::string IdOfChain(absl::string_view chain) const;

  absl::StatusOr<uint32_t> PickIp(absl::string_view network) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IpUsed(uint32_t ip) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ip_used_[ip - pool_.network];
  }
  void SetIpUsed(uint32_t ip, bool used) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ip_used_[ip - pool_.network] = used;
  }
  // The entry of `handle`; FailedPrecondition when it has no address.
  absl::StatusOr<Entry*> EntryLocked(const std::string& handle) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FreeEntry(const Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::StatusOr<std::string> Binary(const std::string& name);
  // Inserts (or with `remove`, deletes) ip6tables DROP rules for IPv6 from
  // the bridge in FORWARD and INPUT. Idempotent.
  absl::Status DropBridgedIpv6(bool remove);
  // iptables-restore --noflush with `batch`; errors carry its stderr.
  absl::Status IptablesRestore(const std::string& action, const std::string& batch);
  absl::StatusOr<SavedTables> Save();
  // Removes the container chains (filter and nat) of `ids` (or, with
  // `all_except`, of every id not in `except`) and every rule jumping to them.
  absl::Status RemoveContainerChains(const std::set<std::string>& ids, bool all_except,
                                     const std::set<std::string>& except);
  absl::StatusOr<int> BridgeIndex(NetlinkSocket& nl);

  void LogError(absl::string_view msg, const absl::Status& s, const LogData& data = {}) const {
    if (options_.logger != nullptr) {
      options_.logger->Error(msg, s, data);
    }
  }
  void LogDebug(absl::string_view msg, const LogData& data = {}) const {
    if (options_.logger != nullptr && options_.logger->IsEnabled(LogLevel::kDebug)) {
      options_.logger->Debug(msg, data);
    }
  }

  const NetworkOptions options_;
  const Cidr pool_;
  const std::vector<std::string> deny_;  // canonical CIDRs
  const std::string external_ip_;
  const std::string bridge_;

  absl::Mutex bin_mu_;
  std::map<std::string, std::string> binaries_ ABSL_GUARDED_BY(bin_mu_);

  // Serializes per-container iptables changes (a container's chain is created
  // by its first NetIn/NetOut; two batches must not both create it).
  absl::Mutex ipt_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);  // by handle
  std::vector<bool> ip_used_ ABSL_GUARDED_BY(mu_);              // by offset in pool
  std::set<uint32_t> ports_used_ ABSL_GUARDED_BY(mu_);
  uint32_t port_cursor_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> ids_used_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  int bridge_index_ ABSL_GUARDED_BY(mu_) = 0;
};

std::string LinuxNetworkManager::IdOfVeth(absl::string_view veth) const {
  absl::string_view rest = veth;
  if (!absl::ConsumePrefix(&rest, options_.name + "-") || rest.empty()) {
    return "";
  }
  for (char c : rest) {
    if (!(isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'z'))) {
      return "";
    }
  }
  return std::string(rest);
}

std::string LinuxNetworkManager::IdOfChain(absl::string_view chain) const {
  absl::string_view rest = chain;
  if (!absl::ConsumePrefix(&rest, options_.name + "-")) {
    return "";
  }
  if (!absl::ConsumePrefix(&rest, "o-") && !absl::ConsumePrefix(&rest, "i-")) {
    return "";
  }
  return std::string(rest);
}

absl::StatusOr<std::string> LinuxNetworkManager::Binary(const std::string& name) {
  absl::MutexLock lock(&bin_mu_);
  auto it = binaries_.find(name);
  if (it != binaries_.end()) {
    return it->second;
  }
  DIEGO_ASSIGN_OR_RETURN(std::string path, FindBinary(name));
  binaries_[name] = path;
  return path;
}

absl::Status LinuxNetworkManager::IptablesRestore(const std::string& action,
                                                    const std::string& batch) {
  DIEGO_ASSIGN_OR_RETURN(std::string bin, Binary("iptables-restore"));
  DIEGO_ASSIGN_OR_RETURN(CommandResult r, RunCommand({bin, "-w", "--noflush"}, batch));
  if (r.exit_code != 0) {
    absl::Status s = absl::InternalError(absl::StrCat(
        "network: iptables-restore (", action, ") exited ", r.exit_code, ": ",
        std::string(absl::StripAsciiWhitespace(r.err))));
    LogError("iptables-restore-failed", s, {{"batch", batch}});
    return s;
  }
  LogDebug("iptables-restore", {{"action", action}});
  return absl::OkStatus();
}

absl::StatusOr<SavedTables> LinuxNetworkManager::Save() {
  DIEGO_ASSIGN_OR_RETURN(std::string bin, Binary("iptables-save"));
  DIEGO_ASSIGN_OR_RETURN(CommandResult r, RunCommand({bin}, ""));
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("network: iptables-save exited ", r.exit_code, ": ",
                                            std::string(absl::StripAsciiWhitespace(r.err))));
  }
  return ParseIptablesSave(r.out);
}

absl::StatusOr<int> LinuxNetworkManager::BridgeIndex(NetlinkSocket& nl) {
  {
    absl::MutexLock lock(&mu_);
    if (bridge_index_ > 0) {
      return bridge_index_;
    }
  }
  absl::StatusOr<int> index = nl.LinkIndex(bridge_);
  if (!index.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("network: bridge ", bridge_, " missing (Init not run?): ",
                     index.status().message()));
  }
  absl::MutexLock lock(&mu_);
  bridge_index_ = *index;
  return *index;
}

// --- Init / Teardown --------------------------------------------------------

namespace {

// Writes 1 to /proc/sys/net/ipv6/conf/<device>/disable_ipv6 in the calling
// thread's netns. OK when the kernel has no IPv6 at all.
absl::Status DisableIpv6(absl::string_view device) {
  std::string path = absl::StrCat("/proc/sys/net/ipv6/conf/", device, "/disable_ipv6");
  if (access("/proc/sys/net/ipv6", F_OK) != 0) return absl::OkStatus();
  return WriteProcFile(path, "1");
}

}  // namespace

absl::Status LinuxNetworkManager::Init() {
  DIEGO_ASSIGN_OR_RETURN(NetlinkSocket nl, NetlinkSocket::Open());
  NetlinkMessage create = NewBridgeMessage(bridge_, options_.mtu, MacForIpv4(gateway()));
  absl::Status s = nl.Request(create);
  if (!s.ok() && !absl::IsAlreadyExists(s)) {
    return s;
  }
  DIEGO_ASSIGN_OR_RETURN(int index, nl.LinkIndex(bridge_));
  std::vector<NetlinkMessage> setup;
  setup.push_back(LinkUpMessage(index));
  setup.push_back(NewAddressMessage(index, gateway(), pool_.prefix, /*replace=*/true));
  DIEGO_RETURN_IF_ERROR(nl.Batch(setup));
  {
    absl::MutexLock lock(&mu_);
    bridge_index_ = index;
  }
  // IPv6: the iptables rules (default-deny egress, no host access) are IPv4
  // only, so link-local IPv6 must not reach the host or other containers.
  // The bridge gets no IPv6 (nothing on the host to reach), and bridged IPv6
  // between containers is dropped by ip6tables. (Disabling IPv6 inside each
  // container's netns instead costs milliseconds per create.)
  DIEGO_RETURN_IF_ERROR(DisableIpv6(bridge_));
  DIEGO_RETURN_IF_ERROR(DropBridgedIpv6(/*remove=*/false));
  DIEGO_RETURN_IF_ERROR(WriteProcFile("/proc/sys/net/ipv4/ip_forward", "1"));
  DIEGO_RETURN_IF_ERROR(
      WriteProcFile(absl::StrCat("/proc/sys/net/ipv4/conf/", bridge_, "/route_localnet"), "1"));

  absl::MutexLock ipt_lock(&ipt_mu_);
  DIEGO_ASSIGN_OR_RETURN(SavedTables saved, Save());
  auto has_hook = [&](const std::string& table, absl::string_view builtin,
                      const std::string& target) {
    for (const std::string& r : saved[table].rules) {
      if (RuleChain(r) == builtin && RuleTarget(r) == target) {
        return true;
      }
    }
    return false;
  };
  const std::string fwd = Chain("forward"), input = Chain("input"), netout = Chain("netout");
  const std::string netin = Chain("netin"), post = Chain("postrouting");
  const std::string pool = pool_.ToString();
  std::string b;
  absl::StrAppend(&b, "*filter\n");
  // Declaring an existing user chain in --noflush mode flushes it: the fixed
  // chains are rebuilt, the per-container jump chains are created once.
  absl::StrAppend(&b, ":", fwd, " - [0:0]\n:", input, " - [0:0]\n");
  if (saved["filter"].chains.count(netout) == 0) {
    absl::StrAppend(&b, ":", netout, " - [0:0]\n");
  }
  absl::StrAppend(&b, "-A ", fwd, " -o ", bridge_, " -j ACCEPT\n");
  absl::StrAppend(&b, "-A ", fwd, " -i ", bridge_,
                  " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
  for (const std::string& d : deny_) {
    absl::StrAppend(&b, "-A ", fwd, " -i ", bridge_, " -d ", d, " -j REJECT\n");
  }
  absl::StrAppend(&b, "-A ", fwd, " -i ", bridge_, " -j ", netout, "\n");
  absl::StrAppend(&b, "-A ", fwd, " -i ", bridge_, " -j REJECT\n");
  absl::StrAppend(&b, "-A ", input, " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
  absl::StrAppend(&b, "-A ", input, " -j ",
                  options_.allow_host_access ? "ACCEPT" : "REJECT --reject-with icmp-host-prohibited",
                  "\n");
  if (!has_hook("filter", "FORWARD", fwd)) {
    absl::StrAppend(&b, "-I FORWARD 1 -j ", fwd, "\n");
  }
  if (!has_hook("filter", "INPUT", input)) {
    absl::StrAppend(&b, "-I INPUT 1 -i ", bridge_, " -j ", input, "\n");
  }
  absl::StrAppend(&b, "COMMIT\n*nat\n");
  absl::StrAppend(&b, ":", post, " - [0:0]\n");
  if (saved["nat"].chains.count(netin) == 0) {
    absl::StrAppend(&b, ":", netin, " - [0:0]\n");
  }
  absl::StrAppend(&b, "-A ", post, " -s ", pool, " ! -d ", pool, " -j MASQUERADE\n");
  absl::StrAppend(&b, "-A ", post, " -s 127.0.0.0/8 -o ", bridge_, " -j MASQUERADE\n");
  if (!has_hook("nat", "PREROUTING", netin)) {
    absl::StrAppend(&b, "-A PREROUTING -m addrtype --dst-type LOCAL -j ", netin, "\n");
  }
  if (!has_hook("nat", "OUTPUT", netin)) {
    absl::StrAppend(&b, "-A OUTPUT -m addrtype --dst-type LOCAL -j ", netin, "\n");
  }
  if (!has_hook("nat", "POSTROUTING", post)) {
    absl::StrAppend(&b, "-A POSTROUTING -j ", post, "\n");
  }
  absl::StrAppend(&b, "COMMIT\n");
  return IptablesRestore("init", b);
}

absl::Status LinuxNetworkManager::RemoveContainerChains(const std::set<std::string>& ids,
                                                        bool all_except,
                                                        const std::set<std::string>& except) {
  DIEGO_ASSIGN_OR_RETURN(SavedTables saved, Save());
  const std::string b = RemoveChainsScript(saved, [&](const std::string& c) {
    const std::string id = IdOfChain(c);
    return !id.empty() && (all_except ? except.count(id) == 0 : ids.count(id) > 0);
  });
  if (b.empty()) {
    return absl::OkStatus();
  }
  return IptablesRestore("remove-container-chains", b);
}

absl::Status LinuxNetworkManager::CleanupExcept(const std::set<std::string>& keep) {
  std::set<std::string> kept_ids;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (keep.count(it->first) > 0) {
        kept_ids.insert(it->second.id);
        ++it;
      } else {
        FreeEntry(it->second);
        it = entries_.erase(it);
      }
    }
  }
  absl::Status result;
  {
    absl::MutexLock ipt_lock(&ipt_mu_);
    result.Update(RemoveContainerChains({}, /*all_except=*/true, kept_ids));
  }
  absl::StatusOr<NetlinkSocket> nl = NetlinkSocket::Open();
  if (!nl.ok()) {
    result.Update(nl.status());
    return result;
  }
  absl::StatusOr<std::vector<LinkInfo>> links = nl->ListLinks();
  if (!links.ok()) {
    result.Update(links.status());
    return result;
  }
  std::vector<NetlinkMessage> deletes;
  for (const LinkInfo& l : *links) {
    std::string id = IdOfVeth(l.name);
    if (!id.empty() && l.kind == "veth" && kept_ids.count(id) == 0) {
      deletes.push_back(DeleteLinkMessage(l.name));
    }
  }
  absl::Status del = nl->Batch(deletes);
  if (!absl::IsNotFound(del)) {  // gone meanwhile (its netns died): fine
    result.Update(del);
  }
  LogDebug("cleanup", {{"kept", static_cast<int64_t>(kept_ids.size())},
                       {"deleted_veths", static_cast<int64_t>(deletes.size())}});
  return result;
}

absl::Status LinuxNetworkManager::DropBridgedIpv6(bool remove) {
  if (access("/proc/sys/net/ipv6", F_OK) != 0) return absl::OkStatus();  // no IPv6 at all
  if (!remove && access("/proc/sys/net/bridge/bridge-nf-call-ip6tables", F_OK) == 0) {
    DIEGO_RETURN_IF_ERROR(WriteProcFile("/proc/sys/net/bridge/bridge-nf-call-ip6tables", "1"));
  }
  DIEGO_ASSIGN_OR_RETURN(std::string bin, Binary("ip6tables"));
  for (const char* chain : {"FORWARD", "INPUT"}) {
    DIEGO_ASSIGN_OR_RETURN(CommandResult present,
                           RunCommand({bin, "-w", "-C", chain, "-i", bridge_, "-j", "DROP"}, ""));
    if ((present.exit_code == 0) != remove) continue;  // already as wanted
    DIEGO_ASSIGN_OR_RETURN(
        CommandResult r,
        RunCommand({bin, "-w", remove ? "-D" : "-I", chain, "-i", bridge_, "-j", "DROP"}, ""));
    if (r.exit_code != 0) {
      return absl::InternalError(absl::StrCat("network: ip6tables ", remove ? "-D " : "-I ", chain,
                                              " -i ", bridge_, " -j DROP exited ", r.exit_code,
                                              ": ", r.err));
    }
  }
  return absl::OkStatus();
}

absl::Status LinuxNetworkManager::Teardown() {
  absl::Status result = CleanupExcept({});
  result.Update(DropBridgedIpv6(/*remove=*/true));
  {
    absl::MutexLock ipt_lock(&ipt_mu_);
    absl::StatusOr<SavedTables> saved = Save();
    if (!saved.ok()) {
      result.Update(saved.status());
    } else {
      const std::string b = RemoveChainsScript(*saved, [this](const std::string& c) {
        return absl::StartsWith(c, options_.name + "-");
      });
      if (!b.empty()) {
        result.Update(IptablesRestore("teardown", b));
      }
    }
  }
  absl::StatusOr<NetlinkSocket> nl = NetlinkSocket::Open();
  if (!nl.ok()) {
    result.Update(nl.status());
  } else {
    NetlinkMessage del = DeleteLinkMessage(bridge_);
    absl::Status s = nl->Request(del);
    if (!absl::IsNotFound(s)) {
      result.Update(s);
    }
  }
  absl::MutexLock lock(&mu_);
  bridge_index_ = 0;
  return result;
}

// --- Allocation -------------------------------------------------------------

absl::StatusOr<uint32_t> LinuxNetworkManager::PickIp(absl::string_view network) {
  const uint32_t first = pool_.network + 2;  // network, gateway
  const uint32_t last = pool_.broadcast() - 1;
  const std::string pool_text = pool_.ToString();
  if (network.empty()) {
    for (uint32_t ip = first; ip <= last; ++ip) {
      if (!IpUsed(ip)) {
        return ip;
      }
    }
    return absl::ResourceExhaustedError(
        absl::StrCat("network: insufficient IPs remaining in the pool ", pool_text));
  }
  std::string text(network);
  bool has_prefix = absl::StrContains(text, '/');
  absl::StatusOr<Cidr> cidr = ParseCidr(text, "network");
  if (!cidr.ok()) {
    return cidr.status();
  }
  DIEGO_ASSIGN_OR_RETURN(uint32_t ip, ParseIpv4(text.substr(0, text.find('/'))));
  if (has_prefix && cidr->prefix < 31 && ip == cidr->network) {
    // A subnet: any free address of it (inside the pool).
    if (!pool_.Contains(cidr->network) || !pool_.Contains(cidr->broadcast())) {
      return absl::InvalidArgumentError(absl::StrCat("network: the requested subnet ", text,
                                                     " is not within the pool ", pool_text));
    }
    for (uint32_t c = std::max(cidr->network + 1, first);
         c <= std::min(cidr->broadcast() - 1, last); ++c) {
      if (!IpUsed(c)) {
        return c;
      }
    }
    return absl::ResourceExhaustedError(
        absl::StrCat("network: insufficient IPs remaining in the requested subnet ", text));
  }
  if (!pool_.Contains(ip)) {
    return absl::InvalidArgumentError(absl::StrCat("network: the requested IP ", FormatIpv4(ip),
                                                   " is not within the pool ", pool_text));
  }
  if (ip == gateway()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "network: a container IP must not equal the gateway IP (", FormatIpv4(ip), ")"));
  }
  if (ip == pool_.network) {
    return absl::InvalidArgumentError(absl::StrCat(
        "network: a container IP must not equal the network IP (", FormatIpv4(ip), ")"));
  }
  if (ip == pool_.broadcast()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "network: a container IP must not equal the broadcast IP (", FormatIpv4(ip), ")"));
  }
  if (IpUsed(ip)) {
    return absl::AlreadyExistsError(
        absl::StrCat("network: the requested IP is already allocated: ", FormatIpv4(ip)));
  }
  return ip;
}

absl::StatusOr<LinuxNetworkManager::Entry*> LinuxNetworkManager::EntryLocked(
    const std::string& handle) {
  auto it = entries_.find(handle);
  if (it == entries_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("network: no address allocated for handle ", handle));
  }
  return &it->second;
}

void LinuxNetworkManager::FreeEntry(const Entry& e) {
  if (pool_.Contains(e.ip)) {
    SetIpUsed(e.ip, false);
  }
  for (uint32_t p : e.ports) {
    ports_used_.erase(p);
  }
  ids_used_.erase(e.id);
}

absl::StatusOr<ContainerNetwork> LinuxNetworkManager::Allocate(absl::string_view handle,
                                                               absl::string_view network) {
  absl::MutexLock lock(&mu_);
  std::string h(handle);
  if (entries_.count(h) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("network: handle ", h, " already has an address"));
  }
  DIEGO_ASSIGN_OR_RETURN(uint32_t ip, PickIp(network));
  // A host veth name nobody uses: not a live container's, and not one still
  // on the host (a veth lingers briefly after its netns died).
  std::string id;
  for (;;) {
    id = Base36(next_id_++);
    if (VethName(id).size() > 15) {
      return absl::ResourceExhaustedError("network: no host veth names left");
    }
    if (ids_used_.count(id) == 0 && if_nametoindex(VethName(id).c_str()) == 0) {
      break;
    }
  }
  Entry e;
  e.ip = ip;
  e.id = id;
  SetIpUsed(ip, true);
  ids_used_.insert(id);
  entries_[h] = e;

  ContainerNetwork net;
  net.handle = h;
  net.container_ip = FormatIpv4(ip);
  net.host_ip = FormatIpv4(gateway());
  net.prefix_length = pool_.prefix;
  net.host_veth = VethName(id);
  return net;
}

absl::Status LinuxNetworkManager::Restore(const ContainerNetwork& net) {
  DIEGO_ASSIGN_OR_RETURN(uint32_t ip, ParseIpv4(net.container_ip));
  std::string id = IdOfVeth(net.host_veth);
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("network: host veth \"", net.host_veth,
                                                   "\" is not named ", options_.name, "-<id>"));
  }
  if (!pool_.Contains(ip) || ip == gateway() || ip == pool_.network || ip == pool_.broadcast()) {
    return absl::InvalidArgumentError(absl::StrCat("network: restored IP ", net.container_ip,
                                                   " is not a container IP of the pool ",
                                                   pool_.ToString()));
  }
  absl::MutexLock lock(&mu_);
  auto existing = entries_.find(net.handle);
  if (existing != entries_.end()) {
    if (existing->second.ip == ip && existing->second.id == id) {
      return absl::OkStatus();  // already known
    }
    return absl::AlreadyExistsError(
        absl::StrCat("network: handle ", net.handle, " already has another address"));
  }
  if (IpUsed(ip)) {
    return absl::AlreadyExistsError(
        absl::StrCat("network: the requested IP is already allocated: ", net.container_ip));
  }
  if (ids_used_.count(id) > 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("network: host veth ", net.host_veth, " is already in use"));
  }
  for (const PortMapping& m : net.mapped_ports) {
    if (ports_used_.count(m.host_port) > 0) {
      return absl::AlreadyExistsError(absl::StrCat("port already acquired: ", m.host_port));
    }
  }
  Entry e;
  e.ip = ip;
  e.id = id;
  e.out_chain = !net.net_out.empty();
  e.in_chain = !net.mapped_ports.empty();
  for (const PortMapping& m : net.mapped_ports) {
    e.ports.insert(m.host_port);
    ports_used_.insert(m.host_port);
  }
  SetIpUsed(ip, true);
  ids_used_.insert(id);
  entries_[net.handle] = e;
  return absl::OkStatus();
}

// --- Configure --------------------------------------------------------------

absl::Status LinuxNetworkManager::Configure(const ContainerNetwork& net, pid_t pid) {
  auto start = std::chrono::steady_clock::now();
  DIEGO_ASSIGN_OR_RETURN(uint32_t ip, ParseIpv4(net.container_ip));
  if (IdOfVeth(net.host_veth).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("network: host veth \"", net.host_veth, "\" is not ours"));
  }
  std::string ns_path = absl::StrCat("/proc/", pid, "/ns/net");
  Fd ns(open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (ns.get() < 0) {
    return absl::NotFoundError(absl::StrCat("network: open ", ns_path, ": ", ErrnoText(errno)));
  }
  // The socket inside the netns is opened by a thread of its own while this
  // one creates the veth (the kernel's netdev registration dominates).
  absl::StatusOr<NetlinkSocket> inside = absl::InternalError("unset");
  absl::Status opened;
  std::thread opener = RunInNetnsAsync(
      ns.get(),
      [&]() -> absl::Status {
        inside = NetlinkSocket::Open();
        return inside.status();
      },
      &opened);
  absl::StatusOr<NetlinkSocket> host = NetlinkSocket::Open();
  absl::Status created = [&]() -> absl::Status {
    if (!host.ok()) {
      return host.status();
    }
    DIEGO_ASSIGN_OR_RETURN(int bridge_index, BridgeIndex(*host));
    NetlinkMessage veth = NewVethMessage(net.host_veth, "eth0", options_.mtu, bridge_index,
                                         ns.get(), MacForIpv4(ip));
    return host->Request(veth);
  }();
  opener.join();
  DIEGO_RETURN_IF_ERROR(created);
  DIEGO_RETURN_IF_ERROR(opened);
  DIEGO_ASSIGN_OR_RETURN(int eth0, inside->LinkIndex("eth0"));
  std::vector<NetlinkMessage> batch;
  batch.push_back(LinkUpMessage(1));  // lo is ifindex 1 in every netns
  batch.push_back(LinkUpMessage(eth0));
  batch.push_back(NewAddressMessage(eth0, ip, net.prefix_length > 0 ? net.prefix_length
                                                                     : pool_.prefix,
                                    /*replace=*/false));
  batch.push_back(NewRouteMessage(0, 0, gateway(), eth0));
  DIEGO_RETURN_IF_ERROR(inside->Batch(batch));
  // Point the bridge's forwarding entry for the container's MAC at the new
  // port: a reused IP has the same MAC, and the bridge may still map it to
  // the old veth until its dying netns is gone. (A gratuitous ARP would do
  // too, but closing an AF_PACKET socket costs a synchronize_net().)
  absl::StatusOr<int> port = host->LinkIndex(net.host_veth);
  absl::Status fdb_status = port.status();
  if (port.ok()) {
    NetlinkMessage fdb = BridgeFdbMessage(*port, MacForIpv4(ip));
    fdb_status = host->Request(fdb);
  }
  if (!fdb_status.ok()) {  // connectivity still comes once the container talks
    LogError("bridge-fdb-update-failed", fdb_status, {{"handle", net.handle}});
  }
  LogDebug("configured",
           {{"handle", net.handle},
            {"took_us", static_cast<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                 std::chrono::steady_clock::now() - start)
                                                 .count())}});
  return absl::OkStatus();
}

// --- NetIn / NetOut ---------------------------------------------------------

absl::StatusOr<PortMapping> LinuxNetworkManager::NetIn(ContainerNetwork* net, uint32_t host_port,
                                                       uint32_t container_port) {
  if (host_port > 65535 || container_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("network: invalid port: host ", host_port, ", container ", container_port));
  }
  absl::MutexLock ipt_lock(&ipt_mu_);
  std::string id;
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    DIEGO_ASSIGN_OR_RETURN(Entry * entry, EntryLocked(net->handle));
    if (host_port == 0) {
      const uint32_t size = options_.port_pool_size;
      for (uint32_t i = 0; i < size; ++i) {
        uint32_t candidate = options_.port_pool_start + (port_cursor_ + i) % size;
        if (ports_used_.count(candidate) == 0) {
          host_port = candidate;
          port_cursor_ = (port_cursor_ + i + 1) % size;
          break;
        }
      }
      if (host_port == 0) {
        return absl::ResourceExhaustedError("port pool is exhausted");
      }
    } else if (ports_used_.count(host_port) > 0) {
      return absl::AlreadyExistsError(absl::StrCat("port already acquired: ", host_port));
    }
    ports_used_.insert(host_port);
    id = entry->id;
    first = !entry->in_chain;
  }
  if (container_port == 0) {
    container_port = host_port;
  }
  const std::string chain = InChain(id);
  std::string b = "*nat\n";
  if (first) {
    absl::StrAppend(&b, ":", chain, " - [0:0]\n-A ", Chain("netin"), " -j ", chain, "\n");
  }
  std::vector<std::string> dests = {external_ip_};
  if (external_ip_ != "127.0.0.1") {
    dests.push_back("127.0.0.1");
  }
  for (const std::string& d : dests) {
    absl::StrAppend(&b, "-A ", chain, " -d ", d, "/32 -p tcp -m tcp --dport ", host_port,
                    " -j DNAT --to-destination ", net->container_ip, ":", container_port, "\n");
  }
  absl::StrAppend(&b, "COMMIT\n");
  absl::Status s = IptablesRestore("net-in", b);
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(net->handle);
  if (!s.ok()) {
    ports_used_.erase(host_port);
    return s;
  }
  if (it != entries_.end()) {
    it->second.in_chain = true;
    it->second.ports.insert(host_port);
  }
  PortMapping m{host_port, container_port};
  net->mapped_ports.push_back(m);
  return m;
}

absl::StatusOr<std::vector<std::string>> TranslateNetOutRule(const NetOutRule& rule,
                                                             const std::string& handle) {
  std::string proto;
  switch (rule.protocol) {
    case Protocol::kAll:
      proto = "all";
      break;
    case Protocol::kTcp:
      proto = "tcp";
      break;
    case Protocol::kUdp:
      proto = "udp";
      break;
    case Protocol::kIcmp:
      proto = "icmp";
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("invalid protocol: ", static_cast<int>(rule.protocol)));
  }
  if (!rule.ports.empty() && rule.protocol != Protocol::kTcp && rule.protocol != Protocol::kUdp) {
    std::string upper = proto;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    return absl::InvalidArgumentError(
        absl::StrCat("Ports cannot be specified for Protocol ", upper));
  }
  if (rule.icmps.has_value() && rule.protocol != Protocol::kIcmp) {
    return absl::InvalidArgumentError("ICMPs can only be specified for Protocol ICMP");
  }
  std::vector<std::string> nets;
  for (const IpRange& r : rule.networks) {
    if (r.start.empty() && r.end.empty()) {
      return absl::InvalidArgumentError("network range needs a start or an end");
    }
    absl::StatusOr<uint32_t> start = ParseIpv4(r.start.empty() ? r.end : r.start);
    absl::StatusOr<uint32_t> end = ParseIpv4(r.end.empty() ? r.start : r.end);
    if (!start.ok()) {
      return start.status();
    }
    if (!end.ok()) {
      return end.status();
    }
    if (*start > *end) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid network range ", r.start, "-", r.end));
    }
    nets.push_back(*start == *end
                       ? absl::StrCat(" -d ", FormatIpv4(*start), "/32")
                       : absl::StrCat(" -m iprange --dst-range ", FormatIpv4(*start), "-",
                                      FormatIpv4(*end)));
  }
  std::vector<std::string> ports;
  for (const PortRange& p : rule.ports) {
    if (p.start > p.end) {
      return absl::InvalidArgumentError(absl::StrCat("invalid port range ", p.start, ":", p.end));
    }
    ports.push_back(p.start == p.end
                        ? absl::StrCat(" -m ", proto, " --dport ", p.start)
                        : absl::StrCat(" -m ", proto, " --dport ", p.start, ":", p.end));
  }
  std::string icmp;
  if (rule.icmps.has_value()) {
    icmp = absl::StrCat(" -m icmp --icmp-type ", rule.icmps->type);
    if (rule.icmps->code.has_value()) {
      absl::StrAppend(&icmp, "/", *rule.icmps->code);
    }
  }
  if (nets.empty()) {
    nets.push_back("");
  }
  if (ports.empty()) {
    ports.push_back("");
  }
  std::vector<std::string> matches;
  for (const std::string& p : ports) {
    for (const std::string& n : nets) {
      std::string m = absl::StrCat(" -p ", proto, n, p, icmp);
      if (rule.log) {
        matches.push_back(absl::StrCat(m, " -m conntrack --ctstate NEW,UNTRACKED,INVALID -j LOG",
                                       " --log-prefix \"", LogPrefix(handle), "\""));
      }
      matches.push_back(absl::StrCat(m, " -j ACCEPT"));
    }
  }
  return matches;
}

absl::Status LinuxNetworkManager::NetOut(ContainerNetwork* net,
                                         const std::vector<NetOutRule>& rules) {
  if (rules.empty()) {
    return absl::OkStatus();
  }
  std::vector<std::string> lines;
  for (const NetOutRule& r : rules) {
    DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> l, TranslateNetOutRule(r, net->handle));
    lines.insert(lines.end(), l.begin(), l.end());
  }
  absl::MutexLock ipt_lock(&ipt_mu_);
  std::string id;
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    DIEGO_ASSIGN_OR_RETURN(Entry * entry, EntryLocked(net->handle));
    id = entry->id;
    first = !entry->out_chain;
  }
  const std::string chain = OutChain(id);
  std::string b = "*filter\n";
  if (first) {
    absl::StrAppend(&b, ":", chain, " - [0:0]\n-A ", Chain("netout"), " -s ", net->container_ip,
                    "/32 -j ", chain, "\n");
  }
  for (const std::string& l : lines) {
    absl::StrAppend(&b, "-A ", chain, l, "\n");
  }
  absl::StrAppend(&b, "COMMIT\n");
  DIEGO_RETURN_IF_ERROR(IptablesRestore("net-out", b));
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(net->handle);
  if (it != entries_.end()) {
    it->second.out_chain = true;
  }
  net->net_out.insert(net->net_out.end(), rules.begin(), rules.end());
  return absl::OkStatus();
}

// --- Release / Stats --------------------------------------------------------

absl::Status LinuxNetworkManager::Release(const ContainerNetwork& net) {
  absl::MutexLock ipt_lock(&ipt_mu_);
  std::string id = IdOfVeth(net.host_veth);
  bool out_chain = !net.net_out.empty();
  bool in_chain = !net.mapped_ports.empty();
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(net.handle);
    if (it != entries_.end()) {
      id = it->second.id;
      out_chain = out_chain || it->second.out_chain;
      in_chain = in_chain || it->second.in_chain;
    }
  }
  absl::Status result;
  if (!id.empty() && (out_chain || in_chain)) {
    std::string b;
    if (out_chain) {
      const std::string chain = OutChain(id);
      absl::StrAppend(&b, "*filter\n-D ", Chain("netout"), " -s ", net.container_ip, "/32 -j ",
                      chain, "\n-F ", chain, "\n-X ", chain, "\nCOMMIT\n");
    }
    if (in_chain) {
      const std::string chain = InChain(id);
      absl::StrAppend(&b, "*nat\n-D ", Chain("netin"), " -j ", chain, "\n-F ", chain, "\n-X ",
                      chain, "\nCOMMIT\n");
    }
    absl::Status s = IptablesRestore("release", b);
    if (!s.ok()) {
      // Something differs from what we added (or is already gone): remove
      // whatever is left of this container's chains.
      result = RemoveContainerChains({id}, /*all_except=*/false, {});
    }
  }
  if (!result.ok()) {
    return result;
  }
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(net.handle);
  if (it != entries_.end()) {
    FreeEntry(it->second);
    entries_.erase(it);
  }
  return absl::OkStatus();
}

absl::StatusOr<ContainerNetworkStat> LinuxNetworkManager::Stats(const ContainerNetwork& net) {
  if (IdOfVeth(net.host_veth).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("network: host veth \"", net.host_veth, "\" is not ours"));
  }
  const std::string dir = absl::StrCat("/sys/class/net/", net.host_veth, "/statistics/");
  DIEGO_ASSIGN_OR_RETURN(uint64_t host_rx, ReadCounter(dir + "rx_bytes"));
  DIEGO_ASSIGN_OR_RETURN(uint64_t host_tx, ReadCounter(dir + "tx_bytes"));
  // What the host side receives, the container sent, and the reverse.
  ContainerNetworkStat stat;
  stat.rx_bytes = host_tx;
  stat.tx_bytes = host_rx;
  return stat;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NetworkManager>> NetworkManager::Create(NetworkOptions options) {
  if (options.name.empty() || options.name.size() > 8 ||
      !std::all_of(options.name.begin(), options.name.end(), [](char c) {
        return isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'z');
      })) {
    return absl::InvalidArgumentError(
        absl::StrCat("network: name \"", options.name, "\" must be 1-8 characters [a-z0-9]"));
  }
  DIEGO_ASSIGN_OR_RETURN(Cidr pool, ParseCidr(options.pool_cidr, "network pool"));
  if (pool.prefix < 8 || pool.prefix > 30) {
    return absl::InvalidArgumentError(
        absl::StrCat("network pool: ", options.pool_cidr, " must be a /8 to /30"));
  }
  if (options.port_pool_size == 0 || options.port_pool_start == 0 ||
      uint64_t{options.port_pool_start} + options.port_pool_size > 65536) {
    return absl::InvalidArgumentError(absl::StrCat("port pool: invalid range ",
                                                   options.port_pool_start, " + ",
                                                   options.port_pool_size));
  }
  if (options.mtu < 68 || options.mtu > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("network: invalid mtu ", options.mtu));
  }
  std::vector<std::string> deny;
  for (const std::string& d : options.deny_networks) {
    DIEGO_ASSIGN_OR_RETURN(Cidr c, ParseCidr(d, "deny_networks"));
    deny.push_back(c.ToString());
  }
  std::string external_ip = options.external_ip;
  if (external_ip.empty()) {
    external_ip = DetectExternalIp(pool);
  } else {
    absl::StatusOr<uint32_t> ip = ParseIpv4(external_ip);
    if (!ip.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("external_ip: invalid IPv4 address \"", external_ip, "\""));
    }
  }
  return std::unique_ptr<NetworkManager>(
      new LinuxNetworkManager(std::move(options), pool, std::move(deny), std::move(external_ip)));
}

}  // namespace diego::garden
