// Copyright 2026 The libdiego Authors.
//
// Private (LinuxBackend): per-container cgroups through libcgroup, on cgroup v1
// (a hierarchy per controller, as on this machine) and v2 (unified). Each
// container gets `<parent>/<handle>` in the memory, cpu (+cpuacct), pids,
// freezer (v1) and devices (v1) controllers (v2: one directory with the
// memory, cpu and pids controllers enabled in the parent's
// cgroup.subtree_control).
//
// Limits: memory.limit_in_bytes (+ memsw when swap accounting exists) / v2
// memory.max (+ memory.swap.max 0); cpu.shares / v2 cpu.weight converted
// from shares; pids.max. OOM: the oom_kill counter of memory.oom_control /
// memory.events.
//
// Refinements (additive):
// - Version choice: v1 when libcgroup finds the memory controller on a
//   cgroup v1 hierarchy (then memory, cpu, cpuacct, pids and freezer must all
//   be mounted; devices is optional); otherwise v2 on the cgroup2 mount
//   libcgroup reports (or, when it reports none because no controller is
//   available, the first cgroup2 mount in /proc/self/mounts). On v2 the
//   container gets whichever of memory, cpu, pids (+ extras) the parent's
//   cgroup.controllers offers; a limit whose controller is missing makes
//   CreateContainer fail with FailedPrecondition. Stats of a missing
//   controller read as 0; OomKillCount fails with FailedPrecondition.
// - v1 devices: the container's devices cgroup gets the usual container
//   allow-list (deny all; allow mknod of any device, null, zero, full,
//   random, urandom, tty, console, ptmx, pts, tun, fuse). v2 has no device
//   filter here (that needs a BPF program).
// - CurrentLimits on v2 reports cpu_shares converted back from cpu.weight
//   (the smallest shares value that converts to that weight), so it may
//   differ from the shares that were set.
// - AddProcess uses cgroup_attach_task_pid, which on v1 moves the thread
//   `pid` (the whole process when it has one thread); on v2 the whole process.
// - Thread-safe. libcgroup calls are serialised by a process-wide mutex.

#ifndef DIEGO_GARDEN_CGROUPS_H_
#define DIEGO_GARDEN_CGROUPS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "diego/garden/spec.h"

namespace diego::garden {

struct CgroupLimits {
  uint64_t memory_bytes = 0;  // 0 = unlimited
  uint64_t cpu_shares = 0;    // 0 = the kernel default
  uint64_t pids_max = 0;      // 0 = unlimited
};

// One control file written when a container's cgroup is created.
struct CgroupValue {
  std::string controller;  // libcgroup controller name: "memory", "cpu", "pids", ...
  std::string file;        // e.g. "memory.max"
  std::string value;
  bool operator==(const CgroupValue&) const = default;
};

// Options of CgroupManager::Create (additive refinement).
struct CgroupOptions {
  // v2 only: controllers to enable for containers in addition to memory, cpu
  // and pids, when the root offers them (e.g. "io", "hugetlb"). Tests use
  // this to drive libcgroup's v2 paths on a kernel whose memory/cpu/pids are
  // bound to v1 hierarchies.
  std::vector<std::string> extra_v2_controllers;
  // Extra control files written (through libcgroup, after the limits) into
  // every new container cgroup, e.g. {"hugetlb", "hugetlb.2MB.max", "0"}.
  // Their controller must be one the container gets.
  std::vector<CgroupValue> extra_values;
};

struct CgroupStats {
  ContainerMemoryStat memory;
  ContainerCpuStat cpu;
  ContainerPidStat pids;
};

class CgroupManager {
 public:
  // Finds the mounted hierarchies (libcgroup's cgroup_init) and creates the
  // parent cgroup `parent` (e.g. "diego-garden-test1") in every controller.
  static absl::StatusOr<std::unique_ptr<CgroupManager>> Create(absl::string_view parent);
  static absl::StatusOr<std::unique_ptr<CgroupManager>> Create(absl::string_view parent,
                                                               const CgroupOptions& options);
  virtual ~CgroupManager() = default;

  virtual bool IsV2() const = 0;

  // Creates the container's cgroups with `limits`. AlreadyExists if present.
  // On error nothing is left behind.
  virtual absl::Status CreateContainer(absl::string_view handle, const CgroupLimits& limits) = 0;

  // The cgroup.procs (v1: one per hierarchy) files a process writes "0" into
  // to join the container's cgroups (the container init does this for itself
  // before it forks pid 1).
  virtual std::vector<std::string> ProcsFiles(absl::string_view handle) const = 0;

  // Moves `pid` into the container's cgroups.
  virtual absl::Status AddProcess(absl::string_view handle, pid_t pid) = 0;

  virtual absl::StatusOr<CgroupLimits> CurrentLimits(absl::string_view handle) = 0;
  virtual absl::StatusOr<CgroupStats> Stats(absl::string_view handle) = 0;
  // Number of OOM kills in the container so far.
  virtual absl::StatusOr<uint64_t> OomKillCount(absl::string_view handle) = 0;
  // Host pids of every process in the container's cgroups.
  virtual absl::StatusOr<std::vector<pid_t>> Pids(absl::string_view handle) = 0;

  // SIGKILLs everything in the container's cgroups (v2: cgroup.kill; v1:
  // freeze, kill, thaw, until empty) and removes them. OK when absent.
  virtual absl::Status Destroy(absl::string_view handle) = 0;

  // Handles that have a cgroup under the parent (for restart recovery), in
  // any of the hierarchies, sorted.
  virtual absl::StatusOr<std::vector<std::string>> List() = 0;

  // (additive) Destroys every container under the parent, then removes the
  // parent cgroup itself. OK when absent. For teardown (tests, uninstall).
  virtual absl::Status DestroyParent() = 0;
};

// The file logic of both versions, shared by the manager and exposed for
// tests (which run it against directory trees as well as the kernel).
namespace cgroups_internal {

enum class CgroupVersion { kV1, kV2 };

// runc's conversion: 1 + ((shares - 2) * 9999) / 262142, with shares
// clamped to [2, 262144] (so the weight is in [1, 10000]).
uint64_t CpuSharesToWeight(uint64_t shares);
// The smallest shares value whose weight is `weight` (clamped to [1, 10000]).
uint64_t CpuWeightToShares(uint64_t weight);

// The control files CreateContainer writes for `limits`, in order; zero
// fields write nothing.
//   v1: memory.limit_in_bytes, then memory.memsw.limit_in_bytes (same value;
//       when `swap_file`, i.e. swap accounting exists), cpu.shares, pids.max.
//   v2: memory.max, memory.swap.max = 0 (when `swap_file`), cpu.weight
//       (converted from shares), pids.max.
std::vector<CgroupValue> LimitValues(CgroupVersion version, const CgroupLimits& limits,
                                     bool swap_file);

// Parses "key value" lines (memory.stat, cpu.stat, memory.events,
// memory.oom_control, cpuacct.stat). InvalidArgument naming `what` on a line
// that is not a key and an unsigned number.
absl::StatusOr<std::map<std::string, uint64_t>> ParseKeyedValues(absl::string_view text,
                                                                 absl::string_view what);
// A limit file: "max" (v2) or a value >= 2^62 (v1's "unlimited") is 0.
absl::StatusOr<uint64_t> ParseLimit(absl::string_view text, absl::string_view what);

// Garden's ContainerMemoryStat from v1 memory.stat (field by field;
// total_usage_toward_limit = total_rss + total_cache - total_inactive_file).
ContainerMemoryStat MemoryStatFromV1(const std::map<std::string, uint64_t>& stat);
// ... from v2 memory.stat: rss = anon, cache = file, rss_huge = anon_thp,
// mapped_file = file_mapped, the active/inactive/unevictable/pgfault fields by
// name, total_* = the same values (v2 stats are hierarchical), swap =
// memory.swap.current, hierarchical_memory_limit = memory.max (0 = none);
// total_usage_toward_limit = file + anon + swapcached - inactive_file.
ContainerMemoryStat MemoryStatFromV2(const std::map<std::string, uint64_t>& stat,
                                     uint64_t swap_current, uint64_t memory_max);

// One v1 container's directories, by controller ("" = not mounted).
struct V1Dirs {
  std::string memory, cpu, cpuacct, pids;
};
// memory.limit_in_bytes, cpu.shares, pids.max.
absl::StatusOr<CgroupLimits> ReadV1Limits(const V1Dirs& dirs);
// memory.stat; cpuacct.usage, cpuacct.usage_user/usage_sys (ns) or else
// cpuacct.stat (USER_HZ ticks); pids.current, pids.max.
absl::StatusOr<CgroupStats> ReadV1Stats(const V1Dirs& dirs);
// 'oom_kill N' of memory.oom_control.
absl::StatusOr<uint64_t> ReadV1OomKills(const std::string& memory_dir);

// The same for a v2 directory. Files of a controller that is not enabled
// there (absent) read as 0; cpu.stat is always present on v2.
absl::StatusOr<CgroupLimits> ReadV2Limits(const std::string& dir);
absl::StatusOr<CgroupStats> ReadV2Stats(const std::string& dir);
// 'oom_kill N' of memory.events; FailedPrecondition when the memory
// controller is not enabled in `dir`.
absl::StatusOr<uint64_t> ReadV2OomKills(const std::string& dir);

}  // namespace cgroups_internal

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_CGROUPS_H_
