// Copyright 2026 The libdiego Authors.
//
// diego-garden-init: a container's init. The backend posix_spawns it with its
// end of the start socketpair as fd 3 and sends the Config there
// (init_protocol.h). This outer process, still host root in the host's
// namespaces:
//
//   1. joins the container's cgroups (so everything forked later is counted);
//   2. creates and binds <container_dir>/init.sock on the host filesystem
//      (pid 1 listens on it once the container is set up);
//   3. clones pid 1 with new mount, uts, ipc and pid namespaces, plus a user
//      namespace when unprivileged; as host root it writes the child's
//      uid_map and gid_map ("0 <start> <length>") itself, which saves a round
//      trip through the backend; setgroups stays allowed so processes can
//      have supplementary groups;
//   4. reports pid 1's host pid and a pidfd for it (kStarted) and lets pid 1
//      go on;
//   5. creates the network namespace, the costliest one (~0.6 ms of kernel
//      work), while pid 1 mounts /proc and /dev on the other CPU: it enters
//      pid 1's user namespace first (so the container's root owns the
//      netns, as if pid 1 had created it: it may mount sysfs, bind low
//      ports, use raw sockets), unshares CLONE_NEWNET and hands the netns to
//      pid 1 (SCM_RIGHTS), then exits (the backend reaps it).
//
// Pid 1 waits for the go-ahead, so it never runs unless the backend knows
// its pid (and can kill it); it joins the network namespace before mounting
// sysfs. It then finishes the container's root (init_rootfs.cc), starts
// listening, answers kReady and serves (init_server.cc).
//
// Pid 1 is created with a raw clone(2) (fork semantics plus namespace
// flags). glibc's cached thread id in pid 1 is then stale; pid 1 is single
// threaded and does not use the functions that read it (pthread mutex
// ownership, raise), and the processes it forks get correct state from
// fork(2).

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "init.h"
#include "init_protocol.h"

namespace diego::garden::init {
namespace {

namespace ip = init_protocol;

void SendFailed(const Error& error) {
  ip::Message m;
  m.type = ip::MessageType::kFailed;
  m.message = error;
  ip::SendMessage(ip::kConfigFd, m);
}

[[noreturn]] void Fail(const Error& error) {
  SendFailed(error);
  _exit(1);
}

Error WriteFile(const std::string& path, const std::string& content) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening " + path, errno);
  return WriteAndClose(fd, path, content);
}

// Binds a SEQPACKET socket at `path`. Paths longer than sun_path are reached
// through /proc/self/fd/<dir fd>/<name>.
int BindSocket(const std::string& path, Error* error) {
  int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    *error = ErrnoError("creating the control socket", errno);
    return -1;
  }
  unlink(path.c_str());  // a stale socket of an earlier init
  std::string bind_path = path;
  int dir_fd = -1;
  struct sockaddr_un addr;
  if (path.size() >= sizeof(addr.sun_path)) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    dir_fd = open(dir.empty() ? "/" : dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
      *error = ErrnoError("opening " + dir, errno);
      close(sock);
      return -1;
    }
    bind_path = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + path.substr(slash + 1);
  }
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (bind_path.size() >= sizeof(addr.sun_path)) {
    *error = "control socket path too long: " + path;
    if (dir_fd >= 0) close(dir_fd);
    close(sock);
    return -1;
  }
  std::memcpy(addr.sun_path, bind_path.c_str(), bind_path.size() + 1);
  // Only host root (the backend) may connect.
  mode_t old_umask = umask(077);
  int rc = bind(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  umask(old_umask);
  if (dir_fd >= 0) close(dir_fd);
  if (rc != 0) {
    *error = ErrnoError("binding " + path, err);
    close(sock);
    return -1;
  }
  return sock;
}

// Receives one byte (and at most one fd) on the stage socket; false on EOF.
bool RecvStage(int sock, char expected, int* fd) {
  std::string bytes;
  std::vector<int> fds;
  long n = ip::RecvPacket(sock, &bytes, &fds, false);
  if (n != 1 || bytes[0] != expected) {
    for (int f : fds) close(f);
    return false;
  }
  if (fd != nullptr && fds.size() == 1) {
    *fd = fds[0];
  } else {
    for (int f : fds) close(f);
  }
  return true;
}

[[noreturn]] void RunPid1(const ip::Config& config, int listen_fd, int stage_fd) {
  // Wait until the outer process has written the id maps and reported our
  // pid; EOF without the byte means it failed.
  if (!RecvStage(stage_fd, 'g', nullptr)) _exit(1);
  auto join_network = [stage_fd]() -> Error {
    int netns = -1;
    if (!RecvStage(stage_fd, 'n', &netns) || netns < 0) {
      return "the init's outer process did not create the network namespace";
    }
    int rc = setns(netns, CLONE_NEWNET);
    int err = errno;
    close(netns);
    close(stage_fd);
    return rc == 0 ? "" : ErrnoError("joining the network namespace", err);
  };
  Error error = SetupContainer(config, join_network);
  if (!error.empty()) Fail(error);
  // Keep processes in the container from ptrace-attaching to or reading the
  // memory of pid 1 (which holds host paths and fds).
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (listen(listen_fd, 64) != 0) Fail(ErrnoError("listening on " + config.socket_path, errno));
  ip::Message ready;
  ready.type = ip::MessageType::kReady;
  ip::SendMessage(ip::kConfigFd, ready);
  Serve(config, listen_fd, ip::kConfigFd);
}

// The outer process's part of the network namespace: see (5) above.
Error CreateNetworkNamespace(bool privileged, pid_t pid1, int* netns) {
  if (!privileged) {
    int userns = open(("/proc/" + std::to_string(pid1) + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
    if (userns < 0) return ErrnoError("opening pid 1's user namespace", errno);
    int rc = setns(userns, CLONE_NEWUSER);
    int err = errno;
    close(userns);
    if (rc != 0) return ErrnoError("entering pid 1's user namespace", err);
  }
  if (unshare(CLONE_NEWNET) != 0) return ErrnoError("creating the network namespace", errno);
  *netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (*netns < 0) return ErrnoError("opening the network namespace", errno);
  return "";
}

int Main() {
  // Whatever else the backend leaked into us without close-on-exec (pipes
  // of other helpers...) must not live on in a long-lived pid 1.
  syscall(SYS_close_range, ip::kConfigFd + 1, ~0U, 0);
  umask(022);
  signal(SIGPIPE, SIG_IGN);
  fcntl(ip::kConfigFd, F_SETFD, FD_CLOEXEC);

  ip::Message message;
  std::vector<int> fds;
  long n = ip::RecvMessage(ip::kConfigFd, &message, &fds, false);
  for (int fd : fds) close(fd);
  if (n <= 0 || message.type != ip::MessageType::kConfig) {
    Fail(n < 0 ? ErrnoError("reading the init config", static_cast<int>(-n))
               : std::string("reading the init config: no config message"));
  }
  const ip::Config& config = message.config;

  for (const auto& procs : config.cgroup_procs_files) {
    Error e = WriteFile(procs, "0");
    if (!e.empty()) Fail("joining cgroup: " + e);
  }

  Error error;
  int listen_fd = BindSocket(config.socket_path, &error);
  if (listen_fd < 0) Fail(error);

  // Stage messages to pid 1: "g" (go: maps written, pid reported), then
  // "n" with the network namespace's fd.
  int stage[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, stage) != 0) {
    Fail(ErrnoError("socketpair", errno));
  }

  unsigned long flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID;
  if (!config.privileged) flags |= CLONE_NEWUSER;
  // x86_64 argument order: flags, stack, parent_tid, child_tid, tls. A null
  // stack gives fork semantics (the child runs on a copy of our stack).
  long pid = syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) {
    int err = errno;
    unlink(config.socket_path.c_str());
    Fail(ErrnoError("clone with new namespaces", err));
  }
  if (pid == 0) {
    close(stage[1]);
    RunPid1(config, listen_fd, stage[0]);
  }
  close(stage[0]);

  auto fail_after_clone = [&](const Error& e) {
    kill(static_cast<pid_t>(pid), SIGKILL);
    unlink(config.socket_path.c_str());
    Fail(e);
  };

  if (!config.privileged) {
    const std::string map = "0 " + std::to_string(config.uid_map_start) + " " +
                            std::to_string(config.uid_map_length) + "\n";
    const std::string proc = "/proc/" + std::to_string(pid);
    Error e = WriteFile(proc + "/uid_map", map);
    if (e.empty()) e = WriteFile(proc + "/gid_map", map);
    if (!e.empty()) fail_after_clone("writing the user namespace's id maps: " + e);
  }

  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
  if (pidfd < 0) fail_after_clone(ErrnoError("pidfd_open", errno));
  ip::Message started;
  started.type = ip::MessageType::kStarted;
  started.pid = static_cast<int32_t>(pid);
  int rc = ip::SendMessage(ip::kConfigFd, started, &pidfd, 1);
  if (rc != 0) fail_after_clone(ErrnoError("reporting the init pid", -rc));
  rc = ip::SendPacket(stage[1], "g", nullptr, 0);
  if (rc != 0) fail_after_clone(ErrnoError("releasing pid 1", -rc));

  int netns = -1;
  Error e = CreateNetworkNamespace(config.privileged, static_cast<pid_t>(pid), &netns);
  if (!e.empty()) fail_after_clone(e);
  rc = ip::SendPacket(stage[1], "n", &netns, 1);
  if (rc != 0) fail_after_clone(ErrnoError("handing over the network namespace", -rc));
  return 0;
}

}  // namespace
}  // namespace diego::garden::init

int main() { return diego::garden::init::Main(); }
