// Copyright 2026 The libdiego Authors.
//
// Private (LinuxBackend): a container's init and the processes it runs.
//
// Start posix_spawns the helper `diego-garden-init` (a small static binary)
// and sends it the config over a socketpair. Its outer process, host root in
// the host's namespaces, joins the container's cgroups, binds the control
// socket `<container_dir>/init.sock` on the host filesystem (so a restarted
// backend can reconnect), and clones pid 1 into new mount, uts, ipc and pid
// namespaces, plus a user namespace when unprivileged, whose uid/gid maps
// ("0 <uid_map_start> <uid_map_length>", setgroups allowed) it writes itself
// (host root can; this saves a round trip through the backend). It reports
// pid 1's host pid and a pidfd, then creates the network namespace (inside
// pid 1's user namespace, so the container's root owns it) while pid 1
// mounts /proc and /dev, hands it over, and exits (reaped by Start). Pid 1
// sets up the root (bind mounts, pivot_root into `rootfs`, fresh /proc with
// masked paths, a minimal /dev with devpts and shm, read-only /sys,
// hostname, /etc/hosts and /etc/resolv.conf), listens on init.sock, and then
// serves requests: run a process, signal it, list processes. It reaps every
// child and keeps exit statuses.
//
// Cost (see the latency test): Start ~3 ms on a 2-core VM when not starved
// of CPU (exec of the helper ~0.6 ms, namespaces ~0.9 ms, half of it the
// network namespace, overlapped with the first mounts; pivot_root ~0.3 ms);
// the seccomp filter is compiled at build time.
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
//
// How LinuxBackend uses it:
//
//   Create:   mount the rootfs (rootfs.h), create the cgroups (cgroups.h),
//             then `ContainerInit::Start(config)` with
//             config.cgroup_procs_files = CgroupManager::ProcsFiles(handle)
//             and config.rootfs = the mounted overlay; once it returns,
//             configure networking in the netns of `Pid()` (network.h) and
//             record Pid() (and its start time) in the depot.
//   Run:      `Run(spec, container_spec.env, io)`; Attach likewise.
//   Stop:     `SignalAll(kTerminate)` / `SignalAll(kKill)`.
//   Destroy:  `Kill()`, then tear down networking, cgroups, rootfs.
//   Backend Stop: destroy the ContainerInit objects WITHOUT Kill: the
//             containers and their processes keep running (pid 1 holds the
//             read ends of every process's output pipes, so nobody gets
//             SIGPIPE; a process blocks once ~64 KiB of its output is
//             unread).
//   Recovery: `Reconnect(container_dir, recorded_pid)`; output still in the
//             pipes is delivered to later attachers, stdin of processes that
//             were running is closed.
//
// Process details (Garden/Guardian semantics; spec.limits, spec.image and
// spec.bind_mounts are the backend's business and ignored here):
//   - env: container env, then spec.env; PATH (Guardian's default, without
//     sbin for non-root users), USER (spec.user or "root") and HOME (the
//     user's home) are added when absent.
//   - user: name or uid from the container's /etc/passwd (an unknown numeric
//     uid runs with gid 0); no supplementary groups (as Guardian).
//   - dir: default the user's home; missing directories are created owned by
//     the user.
//   - executable lookup: ExecutableNotFoundError with runc's message, as
//     Guardian reports it: `exec: "nope": executable file not found in
//     $PATH` or `exec: "/bin/nope": stat /bin/nope: no such file or
//     directory`. Other start failures (unknown user, setuid, rlimits) are
//     plain errors whose message names the step.
//   - tty: a pty from the container's devpts; stderr is merged into stdout
//     (the stdout sink); default window 80x24; CloseStdin writes EOT (^D).
//   - unprivileged containers: capability bounding set = Garden's set
//     (CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID,
//     SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE),
//     root gets them effective, other users none; no_new_privs; a default
//     seccomp filter (Docker-like: mount, kexec, modules, keyctl, bpf, ...
//     and new user namespaces denied with EPERM; ptrace allowed).
//     Privileged containers get none of these restrictions.
//   - /sys: read-only sysfs; if the kernel refuses sysfs in the user
//     namespace, an unprivileged container has no /sys.
//   - Masked: /proc/{kcore,latency_stats,sched_debug,timer_list,timer_stats,
//     keys} (bound to /dev/null), /proc/scsi and /sys/firmware (empty
//     read-only tmpfs).
//   - hostname: the handle (its last 49 characters when longer, as
//     Guardian).
//
// Output: each Process handle registers its sinks; after the handle is
// destroyed its sinks are never called again. Attach replays the kept
// output into the new sinks (from the calling thread) before returning.
// Pid 1 remembers the last 1024 exited processes and this object the last
// 256 (older exit statuses are forgotten: Attach then gives
// ProcessNotFoundError).

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
  std::string init_binary;    // path of diego-garden-init
  std::string handle;         // also the hostname
  std::string container_dir;  // holds init.sock; the host-side depot dir
  std::string rootfs;         // mounted root filesystem (container_dir/rootfs)
  bool privileged = false;
  uint32_t uid_map_start = 100000;  // unprivileged only
  uint32_t uid_map_length = 65536;
  std::vector<BindMount> bind_mounts;
  std::vector<std::string> cgroup_procs_files;  // joined before the namespaces
  std::vector<std::string> etc_hosts_lines;     // written to /etc/hosts (empty: image's kept)
  std::vector<std::string> dns_servers;         // "nameserver <ip>" lines of /etc/resolv.conf
                                                // (empty: image's kept)
  absl::Duration start_timeout = absl::Seconds(10);
};

// The backend's handle on one container's pid 1. Thread-safe.
class ContainerInit {
 public:
  // Starts the container; returns once pid 1 is serving its control socket.
  // On error every process started is killed and init.sock removed.
  // InvalidArgument for a config missing init_binary, handle, container_dir
  // or rootfs; DeadlineExceeded after start_timeout; Internal with the
  // init's message (naming the step, path and errno) otherwise.
  //
  // Pid 1 is not a child of the calling process (the init's outer process
  // exits), so it is reaped by the host's init or the caller's subreaper;
  // this object watches it through a pidfd.
  static absl::StatusOr<std::unique_ptr<ContainerInit>> Start(const InitConfig& config);

  // Reconnects to a pid 1 started by a previous backend run (restart
  // recovery). Processes it ran are listed again; their exit statuses are
  // known; output produced while no backend was attached is lost, except
  // what is still unread in the processes' pipes. NotFound when `pid` is not
  // running; FailedPrecondition when <container_dir>/init.sock is not served
  // by `pid`; Unavailable when it cannot be connected to.
  static absl::StatusOr<std::unique_ptr<ContainerInit>> Reconnect(absl::string_view container_dir,
                                                                  pid_t pid);

  // Closes the connection without killing anything: the container keeps
  // running and can be re-adopted with Reconnect. Process handles stay
  // usable; Wait on a process that had not exited returns Unavailable.
  virtual ~ContainerInit() = default;

  // Host pid of the container's pid 1.
  virtual pid_t Pid() const = 0;

  // Runs `spec` with `container_env` (the container's env, before spec.env).
  // ExecutableNotFoundError when the path is not found; AlreadyExists
  // ("process ID '<id>' already in use") for the id of a running process (an
  // exited process's id may be reused); Unavailable when pid 1 is gone. An
  // empty spec.id gets a random UUID.
  virtual absl::StatusOr<std::unique_ptr<Process>> Run(
      const ProcessSpec& spec, const std::vector<std::string>& container_env, ProcessIO io) = 0;
  // ProcessNotFoundError for an id this object does not know.
  virtual absl::StatusOr<std::unique_ptr<Process>> Attach(absl::string_view process_id,
                                                          ProcessIO io) = 0;

  // Ids of processes still running.
  virtual std::vector<std::string> RunningProcessIds() = 0;

  // Signals every process run through Run (not pid 1).
  virtual absl::Status SignalAll(Signal signal) = 0;

  // Kills pid 1 (and so the whole pid namespace), waits for it, and closes
  // the control connection. Idempotent. When it returns OK no process of the
  // container is left (the kernel kills the namespace before pid 1 counts as
  // exited), processes that were running report 137 (SIGKILL), and
  // init.sock is removed. DeadlineExceeded if pid 1 survives 10 s.
  virtual absl::Status Kill() = 0;

  // True while pid 1 is alive.
  virtual bool Alive() = 0;
};

}  // namespace diego::garden

#endif  // DIEGO_GARDEN_CONTAINER_INIT_H_
