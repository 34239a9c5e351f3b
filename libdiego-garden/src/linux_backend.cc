// Copyright 2026 The libdiego Authors.
//
// LinuxBackend assembles the private parts (cgroups.h, rootfs.h, network.h,
// container_init.h, depot.h) into Garden's Backend, the way guardian's
// gardener assembles its containerizer, networker and volumizer.
//
// Locking: `Impl::mu_` guards only the handle -> record map and is held for
// map operations, never across kernel work, so creates of different handles
// run in parallel. Each container's `Record::mu` guards its state;
// `Record::lifecycle_mu` serializes Destroy (and the reaper) per container.

#include "diego/garden/linux_backend.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "cgroups.h"
#include "container_init.h"
#include "depot.h"
#include "diego/base/guid.h"
#include "diego/base/status_macros.h"
#include "diego/garden/errors.h"
#include "network.h"
#include "rootfs.h"

#ifndef DIEGO_GARDEN_BUILD_HELPER_DIR
#define DIEGO_GARDEN_BUILD_HELPER_DIR ""
#endif
#ifndef DIEGO_GARDEN_INSTALL_HELPER_DIR
#define DIEGO_GARDEN_INSTALL_HELPER_DIR ""
#endif

namespace diego::garden {
namespace {

// Garden's OOM event (what Diego's executor looks for in ContainerInfo.Events).
constexpr char kOutOfMemoryEvent[] = "out of memory";
// Container::Stop(false): SIGTERM, then SIGKILL after this long.
constexpr absl::Duration kStopGracePeriod = absl::Seconds(10);
constexpr absl::Duration kStopPollInterval = absl::Milliseconds(20);
// The reaper looks at least this often (grace times and activity change
// without waking it).
constexpr absl::Duration kReaperInterval = absl::Seconds(1);
constexpr char kInitBinary[] = "diego-garden-init";
constexpr char kNstarBinary[] = "diego-garden-nstar";
constexpr size_t kMaxHandleLength = 128;
// cpu.shares range of cgroup v1 (v2 weights are converted from shares).
constexpr uint64_t kMaxCpuShares = 262144;
// Below this the container's init cannot even start.
constexpr uint64_t kMinMemoryLimit = 1 << 20;

bool IsExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The directory holding both helpers: options, next to the executable, the
// build tree, the install tree.
absl::StatusOr<std::string> FindHelperDir(const std::string& configured) {
  auto has_helpers = [](const std::string& dir) {
    return !dir.empty() && IsExecutable(absl::StrCat(dir, "/", kInitBinary)) &&
           IsExecutable(absl::StrCat(dir, "/", kNstarBinary));
  };
  if (!configured.empty()) {
    if (has_helpers(configured)) return configured;
    return absl::FailedPreconditionError(absl::StrCat("helper_dir ", configured, ": no executable ",
                                                      kInitBinary, " and ", kNstarBinary));
  }
  std::vector<std::string> candidates;
  char exe[4096];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) candidates.push_back(Dirname(std::string(exe, static_cast<size_t>(n))));
  candidates.push_back(DIEGO_GARDEN_BUILD_HELPER_DIR);
  candidates.push_back(DIEGO_GARDEN_INSTALL_HELPER_DIR);
  for (const std::string& dir : candidates) {
    if (has_helpers(dir)) return dir;
  }
  std::string tried;
  for (const std::string& dir : candidates) {
    if (!dir.empty()) absl::StrAppend(&tried, tried.empty() ? "" : ", ", dir);
  }
  return absl::FailedPreconditionError(absl::StrCat("cannot find ", kInitBinary, " and ",
                                                    kNstarBinary, " (looked in ", tried,
                                                    "); set helper_dir"));
}

absl::Status MkdirAll(const std::string& dir, mode_t mode) {
  std::string path;
  for (absl::string_view part : absl::StrSplit(dir, '/', absl::SkipEmpty())) {
    absl::StrAppend(&path, "/", part);
    if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
      return absl::InternalError(absl::StrCat("mkdir ", path, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> HostMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  if (!in) return absl::InternalError("open /proc/meminfo: cannot read");
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, "MemTotal:")) continue;
    absl::string_view rest = absl::StripAsciiWhitespace(absl::string_view(line).substr(9));
    std::vector<absl::string_view> parts = absl::StrSplit(rest, ' ', absl::SkipEmpty());
    uint64_t kb = 0;
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &kb)) return kb * 1024;
  }
  return absl::InternalError("/proc/meminfo: no MemTotal");
}

absl::StatusOr<uint64_t> DiskBytes(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) {
    return absl::InternalError(absl::StrCat("statvfs ", path, ": ", std::strerror(errno)));
  }
  return static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
}

// Nameservers of the host's resolv.conf a container can reach (loopback
// resolvers are not reachable from a container's network namespace).
std::vector<std::string> HostNameservers() {
  std::vector<std::string> servers;
  std::ifstream in("/etc/resolv.conf");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<absl::string_view> parts =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() >= 2 && parts[0] == "nameserver" && !absl::StartsWith(parts[1], "127.") &&
        parts[1] != "::1") {
      servers.emplace_back(parts[1]);
    }
  }
  return servers;
}

// Usable container addresses of an IPv4 pool: all but the network,
// broadcast and gateway (bridge) addresses.
uint64_t PoolCapacity(const std::string& cidr) {
  size_t slash = cidr.find('/');
  int prefix = 0;
  if (slash == std::string::npos || !absl::SimpleAtoi(cidr.substr(slash + 1), &prefix) ||
      prefix < 1 || prefix > 30) {
    return 0;
  }
  uint64_t size = uint64_t{1} << (32 - prefix);
  return size > 3 ? size - 3 : 0;
}

bool ValidHandleChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

absl::Status ValidateSpec(const ContainerSpec& spec) {
  const std::string& h = spec.handle;
  if (h.size() > kMaxHandleLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("handle: longer than ", kMaxHandleLength, " characters"));
  }
  if (!absl::ascii_isalnum(static_cast<unsigned char>(h[0])) ||
      !std::all_of(h.begin(), h.end(), ValidHandleChar)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "handle: '", h, "' must start with a letter or digit and contain only letters, digits, "
        "'-', '_' and '.'"));
  }
  if (spec.grace_time < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("grace_time: must not be negative");
  }
  for (size_t i = 0; i < spec.bind_mounts.size(); ++i) {
    const BindMount& m = spec.bind_mounts[i];
    if (!absl::StartsWith(m.src_path, "/")) {
      return absl::InvalidArgumentError(
          absl::StrCat("bind_mounts[", i, "].src_path: '", m.src_path, "' is not absolute"));
    }
    if (!absl::StartsWith(m.dst_path, "/") || m.dst_path == "/") {
      return absl::InvalidArgumentError(absl::StrCat(
          "bind_mounts[", i, "].dst_path: '", m.dst_path, "' is not an absolute path below /"));
    }
    if (absl::StrContains(m.dst_path, "/../") || absl::EndsWith(m.dst_path, "/..")) {
      return absl::InvalidArgumentError(
          absl::StrCat("bind_mounts[", i, "].dst_path: '", m.dst_path, "' contains '..'"));
    }
  }
  const Limits& l = spec.limits;
  if (l.cpu.weight > kMaxCpuShares) {
    return absl::InvalidArgumentError(
        absl::StrCat("limits.cpu_limits.weight: ", l.cpu.weight, " is above ", kMaxCpuShares));
  }
  if (l.cpu.limit_in_shares > kMaxCpuShares) {
    return absl::InvalidArgumentError(absl::StrCat("limits.cpu_limits.limit_in_shares: ",
                                                   l.cpu.limit_in_shares, " is above ",
                                                   kMaxCpuShares));
  }
  if (l.memory.limit_in_bytes != 0 && l.memory.limit_in_bytes < kMinMemoryLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limits.memory_limits.limit_in_bytes: ", l.memory.limit_in_bytes,
                     " is below the minimum of ", kMinMemoryLimit, " (0 = unlimited)"));
  }
  for (size_t i = 0; i < spec.env.size(); ++i) {
    if (spec.env[i].find('=') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("env[", i, "]: '", spec.env[i], "' is not KEY=VALUE"));
    }
  }
  return absl::OkStatus();
}

// Garden: cpu weight wins; limit_in_shares is its deprecated spelling.
uint64_t SpecShares(const ContainerSpec& spec) {
  return spec.limits.cpu.weight != 0 ? spec.limits.cpu.weight : spec.limits.cpu.limit_in_shares;
}

absl::Status Annotate(const absl::Status& s, absl::string_view what) {
  if (s.ok()) return s;
  absl::Status out(s.code(), absl::StrCat(what, ": ", s.message()));
  s.ForEachPayload([&out](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

// One container. Created by Create (invisible until `ready`), removed from
// the map by a successful Destroy.
struct ContainerRecord {
  ContainerRecord(std::string h, std::string d) : handle(std::move(h)), dir(std::move(d)) {}

  const std::string handle;
  const std::string dir;

  // Held exclusively by Destroy for its whole duration, and shared by calls
  // that act on the container's init by pid (stream in/out), so that pid
  // cannot die and be reused by another process in between.
  absl::Mutex lifecycle_mu;

  absl::Mutex mu;
  ContainerState state ABSL_GUARDED_BY(mu);
  std::shared_ptr<ContainerInit> init ABSL_GUARDED_BY(mu);  // null after a failed recovery
  bool ready ABSL_GUARDED_BY(mu) = false;
  bool destroyed ABSL_GUARDED_BY(mu) = false;
  absl::Time last_activity ABSL_GUARDED_BY(mu);
  int busy ABSL_GUARDED_BY(mu) = 0;  // clients waiting on a process
};

void Touch(const std::weak_ptr<ContainerRecord>& weak, Clock* clock) {
  if (std::shared_ptr<ContainerRecord> rec = weak.lock()) {
    absl::Time now = clock->Now();
    absl::MutexLock lock(&rec->mu);
    rec->last_activity = now;
  }
}

// A process of a container; every use (and a client blocked in Wait) counts
// as activity for the container's grace time.
class TrackedProcess final : public Process {
 public:
  TrackedProcess(std::unique_ptr<Process> inner, std::weak_ptr<ContainerRecord> rec, Clock* clock)
      : inner_(std::move(inner)), rec_(std::move(rec)), clock_(clock) {}

  std::string Id() const override { return inner_->Id(); }

  absl::StatusOr<int> Wait(absl::Time deadline) override {
    SetBusy(+1);
    absl::StatusOr<int> result = inner_->Wait(deadline);
    SetBusy(-1);
    return result;
  }
  absl::Status Signal(garden::Signal signal) override {
    Touch(rec_, clock_);
    return inner_->Signal(signal);
  }
  absl::Status WriteStdin(absl::string_view data) override {
    Touch(rec_, clock_);
    return inner_->WriteStdin(data);
  }
  absl::Status CloseStdin() override {
    Touch(rec_, clock_);
    return inner_->CloseStdin();
  }
  absl::Status SetTty(const TtySpec& tty) override {
    Touch(rec_, clock_);
    return inner_->SetTty(tty);
  }

 private:
  void SetBusy(int delta) {
    if (std::shared_ptr<ContainerRecord> rec = rec_.lock()) {
      absl::Time now = clock_->Now();
      absl::MutexLock lock(&rec->mu);
      rec->busy += delta;
      rec->last_activity = now;
    }
  }

  std::unique_ptr<Process> inner_;
  std::weak_ptr<ContainerRecord> rec_;
  Clock* clock_;
};

// Output read from a process counts as activity.
ProcessIO TrackIO(ProcessIO io, const std::weak_ptr<ContainerRecord>& rec, Clock* clock) {
  auto wrap = [&rec, clock](std::function<void(absl::string_view)> sink) {
    return [rec, clock, sink = std::move(sink)](absl::string_view chunk) {
      Touch(rec, clock);
      if (sink) sink(chunk);
    };
  };
  io.stdout_sink = wrap(std::move(io.stdout_sink));
  io.stderr_sink = wrap(std::move(io.stderr_sink));
  return io;
}

}  // namespace

class LinuxBackend::Impl : public std::enable_shared_from_this<LinuxBackend::Impl> {
 public:
  using RecordPtr = std::shared_ptr<ContainerRecord>;

  explicit Impl(LinuxBackendOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
        depot_(options_.depot_dir) {
    if (options_.logger != nullptr) log_.emplace(options_.logger->Session("linux-backend"));
  }

  ~Impl() { Stop(); }

  absl::Status Start();
  void Stop();

  absl::StatusOr<Capacity> GetCapacity();
  absl::StatusOr<RecordPtr> CreateContainer(const ContainerSpec& spec);
  absl::Status Destroy(absl::string_view handle);
  absl::StatusOr<std::vector<std::string>> Handles(const Properties& filter);
  absl::StatusOr<absl::Duration> GraceTime(absl::string_view handle);

  // The ready record of `handle`, or ContainerNotFoundError. `touch` records
  // client activity.
  absl::StatusOr<RecordPtr> Find(absl::string_view handle, bool touch = true);

  absl::Status Stop(const RecordPtr& rec, bool kill);
  absl::StatusOr<ContainerInfo> Info(const RecordPtr& rec);
  absl::StatusOr<Metrics> GetMetrics(const RecordPtr& rec);
  absl::Status StreamIn(const RecordPtr& rec, absl::string_view path, absl::string_view user,
                        absl::string_view tar);
  // Where StreamIn/StreamOut run tar: the container's init and id mapping;
  // FailedPrecondition when its init is not running.
  absl::StatusOr<StreamTarget> StreamTargetOf(const RecordPtr& rec);
  absl::StatusOr<std::string> StreamOut(const RecordPtr& rec, absl::string_view path,
                                        absl::string_view user);
  absl::StatusOr<CpuLimits> CurrentCpuLimits(const RecordPtr& rec);
  absl::StatusOr<MemoryLimits> CurrentMemoryLimits(const RecordPtr& rec);
  absl::StatusOr<PortMapping> NetIn(const RecordPtr& rec, uint32_t host_port,
                                    uint32_t container_port);
  absl::Status NetOut(const RecordPtr& rec, const std::vector<NetOutRule>& rules);
  absl::StatusOr<std::unique_ptr<Process>> Run(const RecordPtr& rec, const ProcessSpec& spec,
                                               ProcessIO io);
  absl::StatusOr<std::unique_ptr<Process>> Attach(const RecordPtr& rec,
                                                  absl::string_view process_id, ProcessIO io);
  absl::Status SetGraceTime(const RecordPtr& rec, absl::Duration grace_time);
  absl::StatusOr<Properties> GetProperties(const RecordPtr& rec);
  absl::StatusOr<std::string> GetProperty(const RecordPtr& rec, absl::string_view name);
  absl::Status SetProperty(const RecordPtr& rec, absl::string_view name, absl::string_view value);
  absl::Status RemoveProperty(const RecordPtr& rec, absl::string_view name);

  Clock* clock() const { return clock_; }

 private:
  absl::Status CheckStarted() {
    absl::MutexLock lock(&mu_);
    if (!started_) return absl::FailedPreconditionError("linux backend: not started");
    return absl::OkStatus();
  }
  absl::Status ValidateOptions() const;
  // Runs every creation step; on error undoes the ones done.
  absl::Status Build(const RecordPtr& rec, const ContainerSpec& spec, const std::string& image);
  // Kills the container and releases everything it holds (the depot
  // directory last). Stops at the first failing step.
  absl::Status TearDown(const std::string& handle, const ContainerState& state,
                        ContainerInit* init);
  // Destroy of a found record. With `only_if_idle_since`, destroys only when
  // the container had no activity since then and no client waits on it (the
  // reaper's check, repeated under the lock).
  absl::Status DestroyRecord(const RecordPtr& rec, std::optional<absl::Time> only_if_expired_at);
  // Persists the record's state (rec->mu held).
  absl::Status Save(ContainerRecord* rec) ABSL_EXCLUSIVE_LOCKS_REQUIRED(rec->mu);
  absl::Status Recover();
  void ReaperLoop();
  std::vector<std::string> DnsServersFor(const ContainerNetwork& net) const;

  void LogDebug(absl::string_view message, const LogData& data = {}) const {
    if (log_.has_value()) log_->Debug(message, data);
  }
  void LogInfo(absl::string_view message, const LogData& data = {}) const {
    if (log_.has_value()) log_->Info(message, data);
  }
  void LogError(absl::string_view message, const absl::Status& s,
                const LogData& data = {}) const {
    if (log_.has_value()) log_->Error(message, s, data);
  }
  bool DebugEnabled() const { return log_.has_value() && log_->IsEnabled(LogLevel::kDebug); }

  const LinuxBackendOptions options_;
  Clock* const clock_;
  std::optional<Logger> log_;
  const Depot depot_;

  // Set once by Start, then read-only.
  std::unique_ptr<RootfsManager> rootfs_;
  std::unique_ptr<CgroupManager> cgroups_;
  std::unique_ptr<NetworkManager> network_;
  std::string init_binary_;
  std::string nstar_binary_;
  std::vector<std::string> host_dns_;
  uint64_t capacity_memory_ = 0;
  double cpu_entitlement_per_share_ = 0;  // guardian's default: 100 * cores / memory MiB

  absl::Mutex mu_;
  std::map<std::string, RecordPtr> containers_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;

  absl::Notification stop_;
  std::thread reaper_;
};

// --- Start / Stop -----------------------------------------------------------

absl::Status LinuxBackend::Impl::ValidateOptions() const {
  const std::string& name = options_.name;
  if (name.empty() || name.size() > 8 ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      })) {
    return absl::InvalidArgumentError(
        absl::StrCat("name: '", name, "' must be 1 to 8 characters of [a-z0-9]"));
  }
  if (!absl::StartsWith(options_.depot_dir, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("depot_dir: '", options_.depot_dir, "' is not an absolute path"));
  }
  if (!absl::StartsWith(options_.image_dir, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("image_dir: '", options_.image_dir, "' is not an absolute path"));
  }
  if (options_.uid_map_length == 0) {
    return absl::InvalidArgumentError("uid_map_length: must be positive");
  }
  if (options_.uid_map_start == 0) {
    return absl::InvalidArgumentError("uid_map_start: must not map container root to host root");
  }
  if (options_.port_pool_size == 0 ||
      uint64_t{options_.port_pool_start} + options_.port_pool_size > 65536) {
    return absl::InvalidArgumentError(absl::StrCat("port_pool_start/port_pool_size: ",
                                                   options_.port_pool_start, "+",
                                                   options_.port_pool_size, " exceeds 65535"));
  }
  if (options_.default_grace_time < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("default_grace_time: must not be negative");
  }
  return absl::OkStatus();
}

absl::Status LinuxBackend::Impl::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (started_ || stopped_) {
      return absl::FailedPreconditionError("linux backend: Start may be called only once");
    }
  }
  if (::geteuid() != 0) {
    return absl::PermissionDeniedError("linux backend: must run as root (effective uid is not 0)");
  }
  DIEGO_RETURN_IF_ERROR(ValidateOptions());
  DIEGO_RETURN_IF_ERROR(depot_.Init());
  DIEGO_RETURN_IF_ERROR(MkdirAll(options_.image_dir, 0711));
  DIEGO_ASSIGN_OR_RETURN(std::string helper_dir, FindHelperDir(options_.helper_dir));
  init_binary_ = absl::StrCat(helper_dir, "/", kInitBinary);
  nstar_binary_ = absl::StrCat(helper_dir, "/", kNstarBinary);

  if (options_.capacity_memory_bytes != 0) {
    capacity_memory_ = options_.capacity_memory_bytes;
  } else {
    DIEGO_ASSIGN_OR_RETURN(capacity_memory_, HostMemoryBytes());
  }
  long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  const double memory_mib = static_cast<double>(capacity_memory_) / (1024.0 * 1024.0);
  cpu_entitlement_per_share_ = memory_mib > 0 ? 100.0 * static_cast<double>(cores) / memory_mib : 0;
  host_dns_ = HostNameservers();

  RootfsOptions rootfs_options;
  rootfs_options.image_dir = options_.image_dir;
  rootfs_options.uid_map_start = options_.uid_map_start;
  rootfs_options.uid_map_length = options_.uid_map_length;
  rootfs_options.nstar_binary = nstar_binary_;
  rootfs_ = std::make_unique<RootfsManager>(std::move(rootfs_options));
  DIEGO_ASSIGN_OR_RETURN(cgroups_,
                         CgroupManager::Create(absl::StrCat("diego-garden-", options_.name)));
  NetworkOptions net_options;
  net_options.name = options_.name;
  net_options.pool_cidr = options_.network_pool;
  net_options.port_pool_start = options_.port_pool_start;
  net_options.port_pool_size = options_.port_pool_size;
  net_options.external_ip = options_.external_ip;
  net_options.deny_networks = options_.deny_networks;
  net_options.mtu = options_.mtu;
  net_options.logger = options_.logger;
  DIEGO_ASSIGN_OR_RETURN(network_, NetworkManager::Create(std::move(net_options)));
  DIEGO_RETURN_IF_ERROR(Annotate(network_->Init(), "network init"));

  DIEGO_RETURN_IF_ERROR(Recover());

  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  reaper_ = std::thread([this] { ReaperLoop(); });
  LogInfo("started", {{"depot_dir", options_.depot_dir},
                   {"network_pool", options_.network_pool},
                   {"helper_dir", helper_dir}});
  return absl::OkStatus();
}

void LinuxBackend::Impl::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (reaper_.joinable()) reaper_.join();
}

// Restart recovery (guardian's Restorer plus its start-up cleanup):
// containers whose init still runs are re-adopted (or destroyed with
// destroy_containers_on_startup); everything else a previous run left is
// removed.
absl::Status LinuxBackend::Impl::Recover() {
  DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> handles, depot_.Handles());
  std::set<std::string> keep;  // handles whose cgroups/chains must stay
  int adopted = 0, destroyed = 0;
  for (const std::string& handle : handles) {
    const std::string dir = depot_.ContainerDir(handle);
    absl::StatusOr<ContainerState> state = depot_.LoadState(handle);
    if (!state.ok()) {
      // Half-created (or unreadable): kill whatever joined its cgroups, then
      // remove its rootfs and directory.
      LogInfo("recover.removing-incomplete", {{"handle", handle}, {"reason", state.status()}});
      absl::Status s = cgroups_->Destroy(handle);
      if (s.ok()) s = rootfs_->RemoveRootfs(dir);
      if (s.ok()) s = depot_.RemoveContainerDir(handle);
      if (!s.ok()) LogError("recover.remove-incomplete-failed", s, {{"handle", handle}});
      continue;
    }
    std::unique_ptr<ContainerInit> init;
    const bool alive = ProcessIsRunning(state->init_pid, state->init_start_time);
    if (alive && !options_.destroy_containers_on_startup) {
      absl::StatusOr<std::unique_ptr<ContainerInit>> reconnected =
          ContainerInit::Reconnect(dir, state->init_pid);
      absl::Status s = reconnected.status();
      if (s.ok()) {
        init = *std::move(reconnected);
        s = network_->Restore(state->network);
      }
      if (s.ok()) {
        auto rec = std::make_shared<ContainerRecord>(handle, dir);
        {
          absl::MutexLock lock(&rec->mu);
          rec->state = *state;
          rec->init = std::move(init);
          rec->ready = true;
          rec->last_activity = clock_->Now();
        }
        absl::MutexLock lock(&mu_);
        containers_[handle] = rec;
        keep.insert(handle);
        ++adopted;
        LogInfo("recover.adopted", {{"handle", handle}, {"pid", state->init_pid}});
        continue;
      }
      LogError("recover.adopt-failed", s, {{"handle", handle}});
    }
    absl::Status s = TearDown(handle, *state, init.get());
    if (!s.ok()) {
      // Keep it listed (stopped) so a client's Destroy can retry.
      LogError("recover.destroy-failed", s, {{"handle", handle}});
      auto rec = std::make_shared<ContainerRecord>(handle, dir);
      {
        absl::MutexLock lock(&rec->mu);
        rec->state = *state;
        rec->state.stopped = true;
        rec->ready = true;
        rec->last_activity = clock_->Now();
      }
      absl::MutexLock lock(&mu_);
      containers_[handle] = rec;
      keep.insert(handle);
      continue;
    }
    ++destroyed;
    LogInfo("recover.destroyed", {{"handle", handle}});
  }
  // Cgroups and network state of containers without a depot directory.
  DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> cgroup_handles, cgroups_->List());
  for (const std::string& handle : cgroup_handles) {
    if (keep.count(handle) != 0) continue;
    if (absl::Status s = cgroups_->Destroy(handle); !s.ok()) {
      LogError("recover.cgroup-cleanup-failed", s, {{"handle", handle}});
    }
  }
  if (absl::Status s = network_->CleanupExcept(keep); !s.ok()) {
    LogError("recover.network-cleanup-failed", s);
  }
  LogInfo("recovered", {{"adopted", adopted}, {"destroyed", destroyed}});
  return absl::OkStatus();
}

void LinuxBackend::Impl::ReaperLoop() {
  while (true) {
    const absl::Time now = clock_->Now();
    absl::Time next = now + kReaperInterval;
    std::vector<std::pair<RecordPtr, absl::Time>> expired;
    std::vector<RecordPtr> records;
    {
      absl::MutexLock lock(&mu_);
      records.reserve(containers_.size());
      for (const auto& [handle, rec] : containers_) records.push_back(rec);
    }
    for (const RecordPtr& rec : records) {
      absl::MutexLock lock(&rec->mu);
      if (!rec->ready || rec->destroyed || rec->busy > 0) continue;
      if (rec->state.grace_time <= absl::ZeroDuration()) continue;
      const absl::Time expiry = rec->last_activity + rec->state.grace_time;
      if (expiry <= now) {
        expired.emplace_back(rec, now);
      } else {
        next = std::min(next, expiry);
      }
    }
    for (const auto& [rec, at] : expired) {
      if (stop_.HasBeenNotified()) return;
      LogInfo("grace-time-expired", {{"handle", rec->handle}});
      absl::Status s = DestroyRecord(rec, at);
      if (!s.ok() && !absl::IsNotFound(s) && !absl::IsAborted(s)) {
        LogError("reap-failed", s, {{"handle", rec->handle}});
      }
    }
    if (!clock_->SleepUntil(next, &stop_)) return;
  }
}

// --- Create -------------------------------------------------------------------

absl::StatusOr<LinuxBackend::Impl::RecordPtr> LinuxBackend::Impl::CreateContainer(
    const ContainerSpec& in) {
  DIEGO_RETURN_IF_ERROR(CheckStarted());
  ContainerSpec spec = in;
  if (spec.handle.empty()) spec.handle = GenerateGuid();
  DIEGO_RETURN_IF_ERROR(ValidateSpec(spec));
  // Guardian's messages.
  if (spec.privileged && options_.disable_privileged_containers) {
    return absl::FailedPreconditionError("privileged container creation is disabled");
  }
  std::string image = spec.image.uri;
  if (image.empty()) image = spec.rootfs_path;
  if (image.empty()) image = options_.default_rootfs;
  if (image.empty()) {
    return absl::InvalidArgumentError(
        "image.uri: no image given and the backend has no default rootfs");
  }

  auto rec = std::make_shared<ContainerRecord>(spec.handle, depot_.ContainerDir(spec.handle));
  {
    absl::MutexLock lock(&mu_);
    if (containers_.count(spec.handle) != 0) {
      return absl::AlreadyExistsError(absl::StrCat("Handle '", spec.handle, "' already in use"));
    }
    if (options_.max_containers != 0 && containers_.size() >= options_.max_containers) {
      return absl::ResourceExhaustedError("max containers reached");
    }
    containers_[spec.handle] = rec;
  }
  absl::Status s = Build(rec, spec, image);
  if (!s.ok()) {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(spec.handle);
    if (it != containers_.end() && it->second == rec) containers_.erase(it);
    LogError("create-failed", s, {{"handle", spec.handle}});
    return s;
  }
  return rec;
}

absl::Status LinuxBackend::Impl::Build(const RecordPtr& rec, const ContainerSpec& spec,
                                       const std::string& image) {
  const std::string& handle = spec.handle;
  std::vector<std::function<void()>> undo;
  std::vector<std::pair<const char*, absl::Duration>> phases;
  absl::Time phase_start = clock_->Now();
  const absl::Time create_start = phase_start;
  auto phase_done = [&](const char* name) {
    absl::Time now = clock_->Now();
    phases.emplace_back(name, now - phase_start);
    phase_start = now;
  };
  auto fail = [&](const absl::Status& s, absl::string_view step) {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) (*it)();
    return Annotate(s, step);
  };

  if (absl::Status s = depot_.CreateContainerDir(handle); !s.ok()) {
    if (absl::IsAlreadyExists(s)) {
      return absl::AlreadyExistsError(absl::StrCat("Handle '", handle, "' already in use"));
    }
    return Annotate(s, "depot");
  }
  undo.push_back([this, handle] {
    if (absl::Status s = depot_.RemoveContainerDir(handle); !s.ok()) {
      LogError("create-undo.depot-failed", s, {{"handle", handle}});
    }
  });
  phase_done("depot");

  // The cgroups are independent of the rootfs: created on a second thread
  // while the image is prepared and mounted.
  CgroupLimits limits;
  limits.memory_bytes = spec.limits.memory.limit_in_bytes;
  limits.cpu_shares = SpecShares(spec);
  limits.pids_max = spec.limits.pid.max;
  absl::Status cgroup_status;
  absl::Duration cgroup_took;
  std::thread cgroup_thread([this, &handle, &limits, &cgroup_status, &cgroup_took] {
    const absl::Time start = clock_->Now();
    cgroup_status = cgroups_->CreateContainer(handle, limits);
    cgroup_took = clock_->Now() - start;
  });
  absl::StatusOr<std::string> lower = rootfs_->PrepareImage(image, spec.privileged);
  absl::StatusOr<std::string> rootfs =
      lower.ok() ? rootfs_->MountRootfs(rec->dir, *lower, spec.privileged) : lower.status();
  cgroup_thread.join();
  if (rootfs.ok()) {
    undo.push_back([this, rec] {
      if (absl::Status s = rootfs_->RemoveRootfs(rec->dir); !s.ok()) {
        LogError("create-undo.rootfs-failed", s, {{"handle", rec->handle}});
      }
    });
  }
  if (cgroup_status.ok()) {
    undo.push_back([this, handle] {
      if (absl::Status s = cgroups_->Destroy(handle); !s.ok()) {
        LogError("create-undo.cgroups-failed", s, {{"handle", handle}});
      }
    });
  }
  if (!lower.ok()) return fail(lower.status(), "image");
  if (!rootfs.ok()) return fail(rootfs.status(), "rootfs");
  if (!cgroup_status.ok()) return fail(cgroup_status, "cgroups");
  phases.emplace_back("cgroups", cgroup_took);
  phase_done("rootfs+cgroups");

  absl::StatusOr<ContainerNetwork> allocated = network_->Allocate(handle, spec.network);
  if (!allocated.ok()) return fail(allocated.status(), "network");
  ContainerNetwork net = *std::move(allocated);
  // `net` grows with NetIn below; release what it holds then.
  undo.push_back([this, &net] {
    if (absl::Status s = network_->Release(net); !s.ok()) {
      LogError("create-undo.network-failed", s, {{"handle", net.handle}});
    }
  });
  phase_done("network-allocate");

  InitConfig config;
  config.init_binary = init_binary_;
  config.handle = handle;
  config.container_dir = rec->dir;
  config.rootfs = *rootfs;
  config.privileged = spec.privileged;
  config.uid_map_start = options_.uid_map_start;
  config.uid_map_length = options_.uid_map_length;
  config.bind_mounts = spec.bind_mounts;
  config.cgroup_procs_files = cgroups_->ProcsFiles(handle);
  config.etc_hosts_lines = {"127.0.0.1 localhost", absl::StrCat(net.container_ip, " ", handle)};
  config.dns_servers = DnsServersFor(net);
  absl::StatusOr<std::unique_ptr<ContainerInit>> started = ContainerInit::Start(config);
  if (!started.ok()) return fail(started.status(), "init");
  std::shared_ptr<ContainerInit> init = *std::move(started);
  undo.push_back([this, init, handle] {
    if (absl::Status s = init->Kill(); !s.ok()) {
      LogError("create-undo.init-failed", s, {{"handle", handle}});
    }
  });
  phase_done("init");

  if (absl::Status s = network_->Configure(net, init->Pid()); !s.ok()) {
    return fail(s, "network configure");
  }
  phase_done("network-configure");
  for (const NetInSpec& in : spec.net_in) {
    absl::StatusOr<PortMapping> mapped = network_->NetIn(&net, in.host_port, in.container_port);
    if (!mapped.ok()) return fail(mapped.status(), "netin");
  }
  if (absl::Status s = network_->NetOut(&net, spec.net_out); !s.ok()) return fail(s, "netout");
  phase_done("net-rules");

  ContainerState state;
  state.handle = handle;
  state.spec = spec;
  state.created_at = clock_->Now();
  state.privileged = spec.privileged;
  state.grace_time =
      spec.grace_time > absl::ZeroDuration() ? spec.grace_time : options_.default_grace_time;
  state.properties = spec.properties;
  state.network = net;
  state.image_lower = *lower;
  state.init_pid = init->Pid();
  absl::StatusOr<uint64_t> start_time = ProcessStartTime(state.init_pid);
  if (!start_time.ok()) return fail(start_time.status(), "init");
  state.init_start_time = *start_time;
  if (absl::Status s = depot_.SaveState(state); !s.ok()) return fail(s, "state");
  phase_done("state");

  {
    absl::MutexLock lock(&rec->mu);
    rec->state = std::move(state);
    rec->init = std::move(init);
    rec->ready = true;
    rec->last_activity = clock_->Now();
  }
  if (DebugEnabled()) {
    LogData data{{"handle", handle}, {"total", clock_->Now() - create_start}};
    for (const auto& [name, took] : phases) data.push_back({name, took});
    LogDebug("create.phases", data);
  }
  LogInfo("created", {{"handle", handle}, {"ip", net.container_ip}});
  return absl::OkStatus();
}

std::vector<std::string> LinuxBackend::Impl::DnsServersFor(const ContainerNetwork& net) const {
  if (!options_.dns_servers.empty()) return options_.dns_servers;
  if (!host_dns_.empty()) return host_dns_;
  // Only loopback resolvers on the host: point at the host side of the bridge.
  return {net.host_ip};
}

// --- Destroy ------------------------------------------------------------------

absl::Status LinuxBackend::Impl::TearDown(const std::string& handle, const ContainerState& state,
                                          ContainerInit* init) {
  const std::string dir = depot_.ContainerDir(handle);
  LogData phases{{"handle", handle}};
  absl::Time phase_start = clock_->Now();
  auto step = [&](const char* name, absl::Status s) {
    const absl::Time now = clock_->Now();
    phases.push_back({name, now - phase_start});
    phase_start = now;
    return Annotate(s, name);
  };
  // Killing pid 1 ends the pid namespace; the cgroup destroy below catches
  // anything that escaped it, so a failed Kill is not fatal.
  if (init != nullptr) {
    if (absl::Status s = step("kill-init", init->Kill()); !s.ok()) {
      LogError("destroy.kill-init-failed", s, {{"handle", handle}});
    }
  }
  DIEGO_RETURN_IF_ERROR(step("destroying cgroups", cgroups_->Destroy(handle)));
  if (!state.network.container_ip.empty()) {
    DIEGO_RETURN_IF_ERROR(step("releasing network", network_->Release(state.network)));
  }
  DIEGO_RETURN_IF_ERROR(step("removing rootfs", rootfs_->RemoveRootfs(dir)));
  DIEGO_RETURN_IF_ERROR(step("removing depot directory", depot_.RemoveContainerDir(handle)));
  if (DebugEnabled()) LogDebug("destroy.phases", phases);
  return absl::OkStatus();
}

absl::Status LinuxBackend::Impl::Destroy(absl::string_view handle) {
  DIEGO_RETURN_IF_ERROR(CheckStarted());
  DIEGO_ASSIGN_OR_RETURN(RecordPtr rec, Find(handle, /*touch=*/false));
  return DestroyRecord(rec, std::nullopt);
}

absl::Status LinuxBackend::Impl::DestroyRecord(const RecordPtr& rec,
                                               std::optional<absl::Time> only_if_expired_at) {
  absl::MutexLock lifecycle(&rec->lifecycle_mu);
  ContainerState state;
  std::shared_ptr<ContainerInit> init;
  {
    absl::MutexLock lock(&rec->mu);
    if (rec->destroyed || !rec->ready) return ContainerNotFoundError(rec->handle);
    if (only_if_expired_at.has_value() &&
        (rec->busy > 0 || rec->state.grace_time <= absl::ZeroDuration() ||
         rec->last_activity + rec->state.grace_time > *only_if_expired_at)) {
      return absl::AbortedError("container became active");
    }
    state = rec->state;
    init = rec->init;
  }
  const absl::Time start = clock_->Now();
  absl::Status s = TearDown(rec->handle, state, init.get());
  if (!s.ok()) {
    absl::MutexLock lock(&rec->mu);
    rec->state.stopped = true;
    if (absl::Status saved = Save(rec.get()); !saved.ok() && !absl::IsNotFound(saved)) {
      LogError("destroy.save-state-failed", saved, {{"handle", rec->handle}});
    }
    LogError("destroy-failed", s, {{"handle", rec->handle}});
    return s;
  }
  {
    absl::MutexLock lock(&rec->mu);
    rec->destroyed = true;
    rec->ready = false;
    rec->init.reset();
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(rec->handle);
    if (it != containers_.end() && it->second == rec) containers_.erase(it);
  }
  LogInfo("destroyed", {{"handle", rec->handle}, {"took", clock_->Now() - start}});
  return absl::OkStatus();
}

// --- Lookup, capacity ---------------------------------------------------------

absl::StatusOr<LinuxBackend::Impl::RecordPtr> LinuxBackend::Impl::Find(absl::string_view handle,
                                                                       bool touch) {
  RecordPtr rec;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(std::string(handle));
    if (it != containers_.end()) rec = it->second;
  }
  if (rec == nullptr) return ContainerNotFoundError(handle);
  const absl::Time now = touch ? clock_->Now() : absl::InfinitePast();
  absl::MutexLock lock(&rec->mu);
  if (!rec->ready || rec->destroyed) return ContainerNotFoundError(handle);
  if (touch) rec->last_activity = now;
  return rec;
}

absl::StatusOr<std::vector<std::string>> LinuxBackend::Impl::Handles(const Properties& filter) {
  DIEGO_RETURN_IF_ERROR(CheckStarted());
  std::vector<RecordPtr> records;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [handle, rec] : containers_) records.push_back(rec);
  }
  std::vector<std::string> handles;
  for (const RecordPtr& rec : records) {
    absl::MutexLock lock(&rec->mu);
    if (!rec->ready || rec->destroyed) continue;
    bool match = true;
    for (const auto& [key, value] : filter) {
      auto it = rec->state.properties.find(key);
      if (it == rec->state.properties.end() || it->second != value) {
        match = false;
        break;
      }
    }
    if (match) handles.push_back(rec->handle);
  }
  return handles;
}

absl::StatusOr<absl::Duration> LinuxBackend::Impl::GraceTime(absl::string_view handle) {
  DIEGO_ASSIGN_OR_RETURN(RecordPtr rec, Find(handle, /*touch=*/false));
  absl::MutexLock lock(&rec->mu);
  return rec->state.grace_time;
}

absl::StatusOr<Capacity> LinuxBackend::Impl::GetCapacity() {
  DIEGO_RETURN_IF_ERROR(CheckStarted());
  Capacity c;
  c.memory_in_bytes = capacity_memory_;
  if (options_.capacity_disk_bytes != 0) {
    c.disk_in_bytes = options_.capacity_disk_bytes;
  } else {
    DIEGO_ASSIGN_OR_RETURN(c.disk_in_bytes, DiskBytes(options_.depot_dir));
  }
  c.schedulable_disk_in_bytes = c.disk_in_bytes;
  // Guardian: the network pool's capacity, lowered by max_containers.
  c.max_containers = PoolCapacity(options_.network_pool);
  if (options_.max_containers != 0 &&
      (c.max_containers == 0 || options_.max_containers < c.max_containers)) {
    c.max_containers = options_.max_containers;
  }
  return c;
}

absl::Status LinuxBackend::Impl::Save(ContainerRecord* rec) {
  return depot_.SaveState(rec->state);
}

// --- Container operations -------------------------------------------------------

absl::Status LinuxBackend::Impl::Stop(const RecordPtr& rec, bool kill) {
  std::shared_ptr<ContainerInit> init;
  {
    absl::MutexLock lock(&rec->mu);
    init = rec->init;
    rec->state.stopped = true;
    DIEGO_RETURN_IF_ERROR(Save(rec.get()));
  }
  if (init == nullptr) return absl::OkStatus();  // nothing runs in it
  if (!kill) {
    DIEGO_RETURN_IF_ERROR(init->SignalAll(Signal::kTerminate));
    const absl::Time deadline = clock_->Now() + kStopGracePeriod;
    while (!init->RunningProcessIds().empty()) {
      const absl::Time now = clock_->Now();
      if (now >= deadline) break;
      if (!clock_->SleepUntil(std::min(deadline, now + kStopPollInterval), &stop_)) break;
    }
    if (init->RunningProcessIds().empty()) return absl::OkStatus();
  }
  return init->SignalAll(Signal::kKill);
}

absl::StatusOr<ContainerInfo> LinuxBackend::Impl::Info(const RecordPtr& rec) {
  ContainerState state;
  std::shared_ptr<ContainerInit> init;
  {
    absl::MutexLock lock(&rec->mu);
    state = rec->state;
    init = rec->init;
  }
  ContainerInfo info;
  const bool alive = init != nullptr && init->Alive();
  info.state = state.stopped || !alive ? "stopped" : "active";
  info.events = state.events;
  absl::StatusOr<uint64_t> ooms = cgroups_->OomKillCount(rec->handle);
  if (ooms.ok() && *ooms > 0 &&
      std::find(info.events.begin(), info.events.end(), kOutOfMemoryEvent) == info.events.end()) {
    info.events.push_back(kOutOfMemoryEvent);
    absl::MutexLock lock(&rec->mu);
    if (std::find(rec->state.events.begin(), rec->state.events.end(), kOutOfMemoryEvent) ==
        rec->state.events.end()) {
      rec->state.events.push_back(kOutOfMemoryEvent);
      if (absl::Status s = Save(rec.get()); !s.ok()) {
        LogError("info.save-event-failed", s, {{"handle", rec->handle}});
      }
    }
  }
  info.host_ip = state.network.host_ip;
  info.container_ip = state.network.container_ip;
  info.external_ip = network_->ExternalIp();
  info.container_path = rec->dir;
  if (alive) info.process_ids = init->RunningProcessIds();
  info.properties = state.properties;
  info.mapped_ports = state.network.mapped_ports;
  return info;
}

absl::StatusOr<Metrics> LinuxBackend::Impl::GetMetrics(const RecordPtr& rec) {
  ContainerState state;
  {
    absl::MutexLock lock(&rec->mu);
    state = rec->state;
  }
  Metrics m;
  DIEGO_ASSIGN_OR_RETURN(CgroupStats stats, cgroups_->Stats(rec->handle));
  m.memory = stats.memory;
  m.cpu = stats.cpu;
  m.pid = stats.pids;
  DIEGO_ASSIGN_OR_RETURN(m.disk, rootfs_->DiskUsage(rec->dir, state.image_lower));
  absl::StatusOr<ContainerNetworkStat> net = network_->Stats(state.network);
  if (net.ok()) m.network = *net;
  m.age = std::max(absl::ZeroDuration(), clock_->Now() - state.created_at);
  // Guardian: shares * (entitlement per share / 100) * age in ns.
  m.cpu_entitlement = static_cast<uint64_t>(
      static_cast<double>(SpecShares(state.spec)) * (cpu_entitlement_per_share_ / 100.0) *
      static_cast<double>(absl::ToInt64Nanoseconds(m.age)));
  return m;
}

absl::StatusOr<StreamTarget> LinuxBackend::Impl::StreamTargetOf(const RecordPtr& rec) {
  StreamTarget target;
  std::shared_ptr<ContainerInit> init;
  {
    absl::MutexLock lock(&rec->mu);
    if (rec->destroyed || !rec->ready) return ContainerNotFoundError(rec->handle);
    init = rec->init;
    target.privileged = rec->state.privileged;
  }
  // Not under rec->mu: Alive() takes the init's lock, and process output
  // sinks (holding the process's lock) take rec->mu (Touch).
  target.init_pid = init != nullptr && init->Alive() ? init->Pid() : 0;
  if (target.init_pid == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("container '", rec->handle, "' has no running init"));
  }
  target.nstar_binary = nstar_binary_;
  target.uid_map_start = options_.uid_map_start;
  target.uid_map_length = options_.uid_map_length;
  return target;
}

absl::Status LinuxBackend::Impl::StreamIn(const RecordPtr& rec, absl::string_view path,
                                          absl::string_view user, absl::string_view tar) {
  absl::ReaderMutexLock lifecycle(&rec->lifecycle_mu);  // see ContainerRecord
  DIEGO_ASSIGN_OR_RETURN(StreamTarget target, StreamTargetOf(rec));
  absl::Status s = garden::StreamIn(target, path, user, tar);
  Touch(rec, clock_);
  return s;
}

absl::StatusOr<std::string> LinuxBackend::Impl::StreamOut(const RecordPtr& rec,
                                                          absl::string_view path,
                                                          absl::string_view user) {
  absl::ReaderMutexLock lifecycle(&rec->lifecycle_mu);  // see ContainerRecord
  DIEGO_ASSIGN_OR_RETURN(StreamTarget target, StreamTargetOf(rec));
  absl::StatusOr<std::string> tar = garden::StreamOut(target, path, user);
  Touch(rec, clock_);
  return tar;
}

absl::StatusOr<CpuLimits> LinuxBackend::Impl::CurrentCpuLimits(const RecordPtr& rec) {
  ContainerSpec spec;
  {
    absl::MutexLock lock(&rec->mu);
    spec = rec->state.spec;
  }
  CpuLimits limits;
  if (SpecShares(spec) == 0) return limits;  // none set: the kernel's default applies
  DIEGO_ASSIGN_OR_RETURN(CgroupLimits applied, cgroups_->CurrentLimits(rec->handle));
  // Reported in the field(s) the spec used.
  if (spec.limits.cpu.weight != 0) limits.weight = applied.cpu_shares;
  if (spec.limits.cpu.limit_in_shares != 0) limits.limit_in_shares = applied.cpu_shares;
  return limits;
}

absl::StatusOr<MemoryLimits> LinuxBackend::Impl::CurrentMemoryLimits(const RecordPtr& rec) {
  DIEGO_ASSIGN_OR_RETURN(CgroupLimits applied, cgroups_->CurrentLimits(rec->handle));
  return MemoryLimits{applied.memory_bytes};
}

absl::StatusOr<PortMapping> LinuxBackend::Impl::NetIn(const RecordPtr& rec, uint32_t host_port,
                                                      uint32_t container_port) {
  absl::MutexLock lock(&rec->mu);
  DIEGO_ASSIGN_OR_RETURN(PortMapping mapping,
                         network_->NetIn(&rec->state.network, host_port, container_port));
  DIEGO_RETURN_IF_ERROR(Save(rec.get()));
  return mapping;
}

absl::Status LinuxBackend::Impl::NetOut(const RecordPtr& rec,
                                        const std::vector<NetOutRule>& rules) {
  if (rules.empty()) return absl::OkStatus();
  absl::MutexLock lock(&rec->mu);
  DIEGO_RETURN_IF_ERROR(network_->NetOut(&rec->state.network, rules));
  return Save(rec.get());
}

absl::StatusOr<std::unique_ptr<Process>> LinuxBackend::Impl::Run(const RecordPtr& rec,
                                                                 const ProcessSpec& spec,
                                                                 ProcessIO io) {
  if (!spec.image.uri.empty()) {
    return absl::InvalidArgumentError(
        "image: processes with their own image (sidecars) are not supported by the Linux "
        "backend");
  }
  std::shared_ptr<ContainerInit> init;
  std::vector<std::string> env;
  {
    absl::MutexLock lock(&rec->mu);
    init = rec->init;
    env = rec->state.spec.env;
  }
  if (init == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("container '", rec->handle, "' has no running init"));
  }
  std::weak_ptr<ContainerRecord> weak = rec;
  DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<Process> process,
                         init->Run(spec, env, TrackIO(std::move(io), weak, clock_)));
  return std::unique_ptr<Process>(new TrackedProcess(std::move(process), weak, clock_));
}

absl::StatusOr<std::unique_ptr<Process>> LinuxBackend::Impl::Attach(const RecordPtr& rec,
                                                                    absl::string_view process_id,
                                                                    ProcessIO io) {
  std::shared_ptr<ContainerInit> init;
  {
    absl::MutexLock lock(&rec->mu);
    init = rec->init;
  }
  if (init == nullptr) return ProcessNotFoundError(process_id);
  std::weak_ptr<ContainerRecord> weak = rec;
  DIEGO_ASSIGN_OR_RETURN(std::unique_ptr<Process> process,
                         init->Attach(process_id, TrackIO(std::move(io), weak, clock_)));
  return std::unique_ptr<Process>(new TrackedProcess(std::move(process), weak, clock_));
}

absl::Status LinuxBackend::Impl::SetGraceTime(const RecordPtr& rec, absl::Duration grace_time) {
  if (grace_time < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("grace_time: must not be negative");
  }
  absl::MutexLock lock(&rec->mu);
  rec->state.grace_time = grace_time;
  return Save(rec.get());
}

absl::StatusOr<Properties> LinuxBackend::Impl::GetProperties(const RecordPtr& rec) {
  absl::MutexLock lock(&rec->mu);
  return rec->state.properties;
}

absl::StatusOr<std::string> LinuxBackend::Impl::GetProperty(const RecordPtr& rec,
                                                            absl::string_view name) {
  absl::MutexLock lock(&rec->mu);
  auto it = rec->state.properties.find(std::string(name));
  if (it == rec->state.properties.end()) {
    return absl::NotFoundError(absl::StrCat("property does not exist: ", name));
  }
  return it->second;
}

absl::Status LinuxBackend::Impl::SetProperty(const RecordPtr& rec, absl::string_view name,
                                             absl::string_view value) {
  absl::MutexLock lock(&rec->mu);
  rec->state.properties[std::string(name)] = std::string(value);
  return Save(rec.get());
}

absl::Status LinuxBackend::Impl::RemoveProperty(const RecordPtr& rec, absl::string_view name) {
  absl::MutexLock lock(&rec->mu);
  // Guardian ignores the removal of a missing property.
  if (rec->state.properties.erase(std::string(name)) == 0) return absl::OkStatus();
  return Save(rec.get());
}

// --- Container handle -----------------------------------------------------------

namespace {

class LinuxContainer final : public Container {
 public:
  using Impl = LinuxBackend::Impl;

  LinuxContainer(std::shared_ptr<Impl> impl, std::string handle)
      : impl_(std::move(impl)), handle_(std::move(handle)) {}

  std::string Handle() const override { return handle_; }

  absl::Status Stop(bool kill) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->Stop(rec, kill);
  }
  absl::StatusOr<ContainerInfo> Info() override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->Info(rec);
  }
  absl::Status StreamIn(absl::string_view path, absl::string_view user,
                        absl::string_view tar) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->StreamIn(rec, path, user, tar);
  }
  absl::StatusOr<std::string> StreamOut(absl::string_view path, absl::string_view user) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->StreamOut(rec, path, user);
  }
  // Not enforced (no traffic shaping), as in guardian: no limits.
  absl::StatusOr<BandwidthLimits> CurrentBandwidthLimits() override {
    DIEGO_RETURN_IF_ERROR(impl_->Find(handle_).status());
    return BandwidthLimits{};
  }
  absl::StatusOr<CpuLimits> CurrentCpuLimits() override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->CurrentCpuLimits(rec);
  }
  // Not enforced (no disk quotas), as in guardian without a quota-capable
  // image plugin: no limits.
  absl::StatusOr<DiskLimits> CurrentDiskLimits() override {
    DIEGO_RETURN_IF_ERROR(impl_->Find(handle_).status());
    return DiskLimits{};
  }
  absl::StatusOr<MemoryLimits> CurrentMemoryLimits() override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->CurrentMemoryLimits(rec);
  }
  absl::StatusOr<PortMapping> NetIn(uint32_t host_port, uint32_t container_port) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->NetIn(rec, host_port, container_port);
  }
  absl::Status NetOut(const NetOutRule& rule) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->NetOut(rec, {rule});
  }
  absl::Status BulkNetOut(const std::vector<NetOutRule>& rules) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->NetOut(rec, rules);
  }
  absl::StatusOr<std::unique_ptr<Process>> Run(const ProcessSpec& spec, ProcessIO io) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->Run(rec, spec, std::move(io));
  }
  absl::StatusOr<std::unique_ptr<Process>> Attach(absl::string_view process_id,
                                                  ProcessIO io) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->Attach(rec, process_id, std::move(io));
  }
  absl::StatusOr<Metrics> GetMetrics() override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->GetMetrics(rec);
  }
  absl::Status SetGraceTime(absl::Duration grace_time) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->SetGraceTime(rec, grace_time);
  }
  absl::StatusOr<Properties> GetProperties() override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->GetProperties(rec);
  }
  absl::StatusOr<std::string> GetProperty(absl::string_view name) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->GetProperty(rec, name);
  }
  absl::Status SetProperty(absl::string_view name, absl::string_view value) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->SetProperty(rec, name, value);
  }
  absl::Status RemoveProperty(absl::string_view name) override {
    DIEGO_ASSIGN_OR_RETURN(auto rec, impl_->Find(handle_));
    return impl_->RemoveProperty(rec, name);
  }

 private:
  std::shared_ptr<Impl> impl_;
  std::string handle_;
};

}  // namespace

// --- LinuxBackend -----------------------------------------------------------------

LinuxBackend::LinuxBackend(LinuxBackendOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {}

LinuxBackend::~LinuxBackend() { Stop(); }

absl::Status LinuxBackend::Start() { return impl_->Start(); }

void LinuxBackend::Stop() { impl_->Stop(); }

absl::StatusOr<absl::Duration> LinuxBackend::GraceTime(absl::string_view handle) {
  return impl_->GraceTime(handle);
}

absl::Status LinuxBackend::Ping() { return absl::OkStatus(); }

absl::StatusOr<Capacity> LinuxBackend::GetCapacity() { return impl_->GetCapacity(); }

absl::StatusOr<std::unique_ptr<Container>> LinuxBackend::Create(const ContainerSpec& spec) {
  DIEGO_ASSIGN_OR_RETURN(Impl::RecordPtr rec, impl_->CreateContainer(spec));
  return std::unique_ptr<Container>(new LinuxContainer(impl_, rec->handle));
}

absl::Status LinuxBackend::Destroy(absl::string_view handle) { return impl_->Destroy(handle); }

absl::StatusOr<std::vector<std::unique_ptr<Container>>> LinuxBackend::Containers(
    const Properties& filter) {
  DIEGO_ASSIGN_OR_RETURN(std::vector<std::string> handles, impl_->Handles(filter));
  std::vector<std::unique_ptr<Container>> out;
  out.reserve(handles.size());
  for (std::string& h : handles) out.push_back(std::make_unique<LinuxContainer>(impl_, std::move(h)));
  return out;
}

absl::StatusOr<std::unique_ptr<Container>> LinuxBackend::Lookup(absl::string_view handle) {
  DIEGO_ASSIGN_OR_RETURN(Impl::RecordPtr rec, impl_->Find(handle));
  return std::unique_ptr<Container>(new LinuxContainer(impl_, rec->handle));
}

absl::StatusOr<BulkInfoResult> LinuxBackend::BulkInfo(const std::vector<std::string>& handles) {
  // Bulk calls do not count as activity (Garden's server pauses the grace
  // timer only for requests on a container's own routes).
  return CollectBulk<ContainerInfo>(handles, [this](const std::string& handle) {
    absl::StatusOr<Impl::RecordPtr> rec = impl_->Find(handle, /*touch=*/false);
    return rec.ok() ? impl_->Info(*rec) : absl::StatusOr<ContainerInfo>(rec.status());
  });
}

absl::StatusOr<BulkMetricsResult> LinuxBackend::BulkMetrics(
    const std::vector<std::string>& handles) {
  return CollectBulk<Metrics>(handles, [this](const std::string& handle) {
    absl::StatusOr<Impl::RecordPtr> rec = impl_->Find(handle, /*touch=*/false);
    return rec.ok() ? impl_->GetMetrics(*rec) : absl::StatusOr<Metrics>(rec.status());
  });
}

}  // namespace diego::garden
