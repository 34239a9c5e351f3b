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

#ifndef DIEGO_GARDEN_CGROUPS_H_
#define DIEGO_GARDEN_CGROUPS_H_

#include <sys/types.h>

#include <cstdint>
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

  // Handles that have a cgroup under the parent (for restart recovery).
  virtual absl::StatusOr<std::vector<std::string>> List() = 0;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_CGROUPS_H_
