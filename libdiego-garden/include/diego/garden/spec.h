// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: spec.h
// -----------------------------------------------------------------------------
//
// The value types of the Garden API (diego-spec.md section 6): what a client
// asks for (`ContainerSpec`, `ProcessSpec`, `NetOutRule`, ...) and what it gets
// back (`ContainerInfo`, `Metrics`, `Capacity`, ...). They mirror
// code.cloudfoundry.org/garden's Go structs field for field; the JSON form of
// each (Garden's wire names) lives in the HTTP layer, not here.
//
// Units: byte counts are bytes, CPU times are nanoseconds, durations are
// `absl::Duration` (nanoseconds on the wire).

#ifndef DIEGO_GARDEN_SPEC_H_
#define DIEGO_GARDEN_SPEC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace diego::garden {

// Container properties: free-form string pairs a client stores with a
// container and filters on (`Client::Containers`).
using Properties = std::map<std::string, std::string>;

// Garden's `ImageRef`: `uri` is a path to a directory ("/var/rootfs" or
// "raw:///var/rootfs") or to a tarball ("/images/busybox.tar[.gz]"). Username
// and password are for registries, which the Linux backend does not pull from.
struct ImageRef {
  std::string uri;
  std::string username;
  std::string password;
  bool operator==(const ImageRef&) const = default;
};

enum class BindMountMode : int { kReadOnly = 0, kReadWrite = 1 };
enum class BindMountOrigin : int { kHost = 0, kContainer = 1 };

// Garden's `BindMount`: `src_path` (host path, or a path inside the container
// when `origin` is kContainer) is mounted at `dst_path` inside the container.
struct BindMount {
  std::string src_path;
  std::string dst_path;
  BindMountMode mode = BindMountMode::kReadOnly;
  BindMountOrigin origin = BindMountOrigin::kHost;
  bool operator==(const BindMount&) const = default;
};

struct BandwidthLimits {
  uint64_t rate_in_bytes_per_second = 0;        // JSON "rate"
  uint64_t burst_rate_in_bytes_per_second = 0;  // JSON "burst"
  bool operator==(const BandwidthLimits&) const = default;
};

// CPU weight. Garden's current field is `weight`; `limit_in_shares` is the
// deprecated spelling of the same thing and is used when weight is 0.
struct CpuLimits {
  uint64_t weight = 0;
  uint64_t limit_in_shares = 0;
  bool operator==(const CpuLimits&) const = default;
};

enum class DiskLimitScope : int { kTotal = 0, kExclusive = 1 };

struct DiskLimits {
  uint64_t inode_soft = 0;
  uint64_t inode_hard = 0;
  uint64_t byte_soft = 0;
  uint64_t byte_hard = 0;
  DiskLimitScope scope = DiskLimitScope::kTotal;
  bool operator==(const DiskLimits&) const = default;
};

struct MemoryLimits {
  uint64_t limit_in_bytes = 0;  // 0 = unlimited
  bool operator==(const MemoryLimits&) const = default;
};

struct PidLimits {
  uint64_t max = 0;  // 0 = unlimited
  bool operator==(const PidLimits&) const = default;
};

struct Limits {
  BandwidthLimits bandwidth;  // JSON "bandwidth_limits"
  CpuLimits cpu;              // JSON "cpu_limits"
  DiskLimits disk;            // JSON "disk_limits"
  MemoryLimits memory;        // JSON "memory_limits"
  PidLimits pid;              // JSON "pid_limits"
  bool operator==(const Limits&) const = default;
};

enum class Protocol : int { kAll = 0, kTcp = 1, kUdp = 2, kIcmp = 3, kIcmpv6 = 4 };

// Inclusive IPv4 range, dotted quads. A single address has start == end.
struct IpRange {
  std::string start;
  std::string end;
  bool operator==(const IpRange&) const = default;
};

// Inclusive port range. A single port has start == end.
struct PortRange {
  uint16_t start = 0;
  uint16_t end = 0;
  bool operator==(const PortRange&) const = default;
};

struct IcmpControl {
  int32_t type = 0;
  std::optional<int32_t> code;  // absent = any code
  bool operator==(const IcmpControl&) const = default;
};

// An egress rule: traffic from the container matching protocol, one of
// `networks` (empty = any) and one of `ports` (TCP/UDP only; empty = any) is
// allowed. Containers start with all egress denied.
struct NetOutRule {
  Protocol protocol = Protocol::kAll;
  std::vector<IpRange> networks;
  std::vector<PortRange> ports;
  std::optional<IcmpControl> icmps;
  bool log = false;
  bool operator==(const NetOutRule&) const = default;
};

// A host port forwarded to a container port. 0 as the host port picks one from
// the backend's port pool; 0 as the container port means "same as host".
struct NetInSpec {
  uint32_t host_port = 0;
  uint32_t container_port = 0;
  bool operator==(const NetInSpec&) const = default;
};

struct ContainerSpec {
  std::string handle;                 // empty = the backend picks a unique one
  absl::Duration grace_time = absl::ZeroDuration();  // 0 = never reaped
  std::string rootfs_path;            // legacy JSON "rootfs"; used if image.uri is empty
  ImageRef image;
  std::vector<BindMount> bind_mounts;
  std::string network;                // "" or an IPv4 address / CIDR request
  Properties properties;
  std::vector<std::string> env;       // "KEY=VALUE", the default for every process
  bool privileged = false;            // no user namespace, wider capabilities
  Limits limits;
  std::vector<NetOutRule> net_out;    // JSON "netout_rules"
  std::vector<NetInSpec> net_in;      // JSON "netin"
  bool operator==(const ContainerSpec&) const = default;
};

// Garden's `ResourceLimits` (setrlimit values; soft = hard). Unset = inherit.
struct ResourceLimits {
  std::optional<uint64_t> as, core, cpu, data, fsize, locks, memlock, msgqueue,
      nice, nofile, nproc, rss, rtprio, sigpending, stack;
  bool operator==(const ResourceLimits&) const = default;
};

struct WindowSize {
  uint16_t columns = 0;
  uint16_t rows = 0;
  bool operator==(const WindowSize&) const = default;
};

struct TtySpec {
  std::optional<WindowSize> window_size;
  bool operator==(const TtySpec&) const = default;
};

// Per-process limit overrides (sidecars). JSON "limits".
struct ProcessLimits {
  CpuLimits cpu;
  MemoryLimits memory;
  bool operator==(const ProcessLimits&) const = default;
};

struct ProcessSpec {
  std::string id;                  // empty = the backend picks a unique one
  std::string path;                // looked up in PATH when it has no '/'
  std::vector<std::string> args;
  std::vector<std::string> env;    // "KEY=VALUE", appended to the container's env
  std::string dir;                 // working directory; "" = the user's home
  std::string user;                // name or uid in the container; "" = root
  ResourceLimits rlimits;          // JSON "rlimits"
  ProcessLimits limits;            // JSON "limits"
  std::optional<TtySpec> tty;      // present = run on a pseudo-terminal
  ImageRef image;                  // non-empty = sidecar rootfs (unsupported by LinuxBackend)
  std::vector<BindMount> bind_mounts;
  bool operator==(const ProcessSpec&) const = default;
};

struct PortMapping {
  uint32_t host_port = 0;
  uint32_t container_port = 0;
  bool operator==(const PortMapping&) const = default;
};

// Garden's `ContainerInfo`.
struct ContainerInfo {
  std::string state;               // "active" or "stopped"
  std::vector<std::string> events; // e.g. "out of memory"
  std::string host_ip;
  std::string container_ip;
  std::string container_ipv6;
  std::string external_ip;
  std::string container_path;
  std::vector<std::string> process_ids;
  Properties properties;
  std::vector<PortMapping> mapped_ports;
  bool operator==(const ContainerInfo&) const = default;
};

// Garden's `ContainerMemoryStat` (cgroup memory.stat fields; bytes or counts).
struct ContainerMemoryStat {
  uint64_t active_anon = 0, active_file = 0, cache = 0,
           hierarchical_memory_limit = 0, inactive_anon = 0, inactive_file = 0,
           mapped_file = 0, pgfault = 0, pgmajfault = 0, pgpgin = 0, pgpgout = 0,
           rss = 0, rss_huge = 0, total_active_anon = 0, total_active_file = 0,
           total_cache = 0, total_inactive_anon = 0, total_inactive_file = 0,
           total_mapped_file = 0, total_pgfault = 0, total_pgmajfault = 0,
           total_pgpgin = 0, total_pgpgout = 0, total_rss = 0,
           total_rss_huge = 0, total_unevictable = 0, unevictable = 0, swap = 0,
           hierarchical_memsw_limit = 0, total_swap = 0;
  // What the memory limit is enforced against: usage minus inactive file cache.
  uint64_t total_usage_toward_limit = 0;
  bool operator==(const ContainerMemoryStat&) const = default;
};

struct ContainerCpuStat {
  uint64_t usage = 0;   // ns
  uint64_t user = 0;    // ns
  uint64_t system = 0;  // ns
  bool operator==(const ContainerCpuStat&) const = default;
};

struct ContainerDiskStat {
  uint64_t total_bytes_used = 0;
  uint64_t total_inodes_used = 0;
  uint64_t exclusive_bytes_used = 0;
  uint64_t exclusive_inodes_used = 0;
  bool operator==(const ContainerDiskStat&) const = default;
};

struct ContainerNetworkStat {
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  bool operator==(const ContainerNetworkStat&) const = default;
};

struct ContainerPidStat {
  uint64_t current = 0;
  uint64_t max = 0;
  bool operator==(const ContainerPidStat&) const = default;
};

// Garden's `Metrics`.
struct Metrics {
  ContainerMemoryStat memory;
  ContainerCpuStat cpu;
  ContainerDiskStat disk;
  std::optional<ContainerNetworkStat> network;
  ContainerPidStat pid;
  absl::Duration age = absl::ZeroDuration();
  uint64_t cpu_entitlement = 0;  // ns of CPU the container is entitled to so far
  bool operator==(const Metrics&) const = default;
};

struct Capacity {
  uint64_t memory_in_bytes = 0;
  uint64_t disk_in_bytes = 0;
  uint64_t schedulable_disk_in_bytes = 0;
  uint64_t max_containers = 0;  // 0 = unlimited
  bool operator==(const Capacity&) const = default;
};

// Process signals Garden can deliver: SIGTERM and SIGKILL.
enum class Signal : int { kTerminate = 0, kKill = 1 };

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_SPEC_H_
