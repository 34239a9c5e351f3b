// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: linux_backend.h
// -----------------------------------------------------------------------------
//
// `LinuxBackend` runs real containers on this kernel (needs root):
//
// - pid, mount, uts, ipc and net namespaces; unprivileged containers also get
//   a user namespace mapping container uid/gid 0..uid_map_length-1 to host
//   uid_map_start..; privileged ones get none.
// - cgroups (through libcgroup; v1 and v2): memory limit with OOM reported as
//   the "out of memory" event, CPU shares/weight, pids limit.
// - rootfs: a directory or tarball image shared read-only, a per-container
//   overlayfs upper layer, pivot_root, fresh /proc, a minimal /dev, hostname =
//   handle, bind mounts.
// - processes: run through the container's init (pid 1, the helper binary
//   `diego-garden-init`) as a named user with env, dir and rlimits; output is
//   captured and kept for attach.
// - stream in/out as tar, as a given user (helper `diego-garden-nstar`).
// - networking: a netns per container with a veth pair to a host bridge and
//   an IP from `network_pool`; NetIn (DNAT) and NetOut (egress allow rules,
//   default deny) through iptables.
// - hardening for unprivileged containers: Garden's capability set,
//   no_new_privs, a default seccomp filter, masked /proc paths.
// - grace time, metrics from cgroups and the upper layer's disk usage.
// - restart safety: Start finds what a previous run left and re-adopts it or
//   (with destroy_containers_on_startup) removes it completely.
//
// All state lives under `depot_dir` (one directory per container) and in
// cgroups/iptables/interfaces named after `name`, so two backends with
// different names, depots and pools can share a host (tests do).

#ifndef DIEGO_GARDEN_LINUX_BACKEND_H_
#define DIEGO_GARDEN_LINUX_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/garden/backend.h"

namespace diego::garden {

struct LinuxBackendOptions {
  // Short name (<= 8 chars, [a-z0-9]) prefixing the cgroup parent, bridge,
  // veths and iptables chains of this backend.
  std::string name = "garden";
  // One directory per container (rootfs mount point, upper layer, state).
  std::string depot_dir = "/var/lib/diego-garden/depot";
  // Extracted tarball images and uid-shifted copies for unprivileged containers.
  std::string image_dir = "/var/lib/diego-garden/images";
  // The image used when a ContainerSpec names none ("" = such specs fail).
  std::string default_rootfs;
  // Directory holding diego-garden-init and diego-garden-nstar. "" = next to
  // the running executable, then the build tree, then the install libexec dir.
  std::string helper_dir;

  // Networking.
  std::string network_pool = "10.254.0.0/22";
  uint32_t port_pool_start = 61001;
  uint32_t port_pool_size = 4534;
  std::string external_ip;               // "" = the host's first non-loopback IPv4
  std::vector<std::string> deny_networks;  // CIDRs no NetOut rule can open
  std::vector<std::string> dns_servers;  // "" = copy the host's resolv.conf
  int mtu = 1500;

  // User namespace mapping of unprivileged containers.
  uint32_t uid_map_start = 100000;
  uint32_t uid_map_length = 65536;

  uint64_t max_containers = 0;  // 0 = unlimited
  bool disable_privileged_containers = false;
  // Garden's --destroy-containers-on-startup: on Start, destroy everything a
  // previous run left instead of re-adopting it.
  bool destroy_containers_on_startup = false;
  // Applied when a spec's grace_time is 0 (0 = never reaped).
  absl::Duration default_grace_time = absl::ZeroDuration();
  // Capacity overrides (0 = measured from the host).
  uint64_t capacity_memory_bytes = 0;
  uint64_t capacity_disk_bytes = 0;

  Clock* clock = nullptr;    // nullptr = Clock::Real()
  Logger* logger = nullptr;  // nullptr = no logs
};

class LinuxBackend final : public Backend {
 public:
  explicit LinuxBackend(LinuxBackendOptions options);
  ~LinuxBackend() override;  // Stop()s; containers keep running

  LinuxBackend(const LinuxBackend&) = delete;
  LinuxBackend& operator=(const LinuxBackend&) = delete;

  // Backend
  absl::Status Start() override;
  void Stop() override;
  absl::StatusOr<absl::Duration> GraceTime(absl::string_view handle) override;

  // Client
  absl::Status Ping() override;
  absl::StatusOr<Capacity> GetCapacity() override;
  absl::StatusOr<std::unique_ptr<Container>> Create(const ContainerSpec& spec) override;
  absl::Status Destroy(absl::string_view handle) override;
  absl::StatusOr<std::vector<std::unique_ptr<Container>>> Containers(
      const Properties& filter) override;
  absl::StatusOr<std::unique_ptr<Container>> Lookup(absl::string_view handle) override;
  absl::StatusOr<BulkInfoResult> BulkInfo(const std::vector<std::string>& handles) override;
  absl::StatusOr<BulkMetricsResult> BulkMetrics(const std::vector<std::string>& handles) override;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_LINUX_BACKEND_H_
