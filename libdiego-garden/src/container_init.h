// Copyright 2026 The libdiego Authors.
//
// Private (LinuxBackend): a container's init and the processes it runs.
//
// Start spawns the helper `diego-garden-init`, which joins the container's
// cgroups, unshares the user (unprivileged only; the backend writes the
// uid/gid maps), mount, uts, ipc, net and pid namespaces, and forks the
// container's pid 1. Pid 1 binds its control socket `<dir>/init.sock` (on the
// host filesystem, so a restarted backend can reconnect), sets up the root
// (bind mounts, pivot_root into `rootfs`, fresh /proc with masked paths, a
// minimal /dev with devpts and shm, read-only /sys, hostname, /etc/hosts and
// /etc/resolv.conf), and then serves requests: run a process, signal it,
// list processes. It reaps every child and keeps exit statuses.
//
// Processes: Run passes the spec and the stdio pipe ends (or a pty) over the
// control socket (SCM_RIGHTS); pid 1 forks, applies user (from the
// container's /etc/passwd), groups, env, dir, rlimits, the capability
// bounding set, no_new_privs and the seccomp filter (unprivileged only), and
// execs. The backend side reads stdout/stderr into per-process buffers (the
// last 64 KiB of each kept for later Attach) and fans them out to sinks.
//
// Exit status 128+N for death by signal N. Killing pid 1 ends the container's
// pid namespace, so every process in it dies.

#ifndef DIEGO_GARDEN_CONTAINER_INIT_H_
#define DIEGO_GARDEN_CONTAINER_INIT_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/garden/client.h"
#include "diego/garden/spec.h"

namespace diego::garden {

struct InitConfig {
  std::string init_binary;     // path of diego-garden-init
  std::string handle;          // also the hostname
  std::string container_dir;   // holds init.sock; the host-side depot dir
  std::string rootfs;          // mounted root filesystem (container_dir/rootfs)
  bool privileged = false;
  uint32_t uid_map_start = 100000;   // unprivileged only
  uint32_t uid_map_length = 65536;
  std::vector<BindMount> bind_mounts;
  std::vector<std::string> cgroup_procs_files;  // joined before the namespaces
  std::vector<std::string> etc_hosts_lines;     // written to /etc/hosts
  std::vector<std::string> dns_servers;         // written to /etc/resolv.conf
  absl::Duration start_timeout = absl::Seconds(10);
};

// The backend's handle on one container's pid 1. Thread-safe.
class ContainerInit {
 public:
  // Starts the container; returns once pid 1 is serving its control socket.
  // On error every process started is killed and init.sock removed.
  static absl::StatusOr<std::unique_ptr<ContainerInit>> Start(const InitConfig& config);

  // Reconnects to a pid 1 started by a previous backend run (restart
  // recovery). Processes it ran are listed again; their exit statuses are
  // known; output produced while no backend was attached is lost.
  static absl::StatusOr<std::unique_ptr<ContainerInit>> Reconnect(absl::string_view container_dir,
                                                                   pid_t pid);

  virtual ~ContainerInit() = default;

  // Host pid of the container's pid 1.
  virtual pid_t Pid() const = 0;

  // Runs `spec` with `container_env` (the container's env, before spec.env).
  // ExecutableNotFoundError when the path is not found; AlreadyExists for a
  // process id in use.
  virtual absl::StatusOr<std::unique_ptr<Process>> Run(
      const ProcessSpec& spec, const std::vector<std::string>& container_env, ProcessIO io) = 0;
  virtual absl::StatusOr<std::unique_ptr<Process>> Attach(absl::string_view process_id,
                                                          ProcessIO io) = 0;

  // Ids of processes still running.
  virtual std::vector<std::string> RunningProcessIds() = 0;

  // Signals every process run through Run (not pid 1).
  virtual absl::Status SignalAll(Signal signal) = 0;

  // Kills pid 1 (and so the whole pid namespace), waits for it, and closes
  // the control connection. Idempotent.
  virtual absl::Status Kill() = 0;

  // True while pid 1 is alive.
  virtual bool Alive() = 0;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_CONTAINER_INIT_H_
