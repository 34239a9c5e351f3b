// Copyright 2026 The libdiego Authors.
//
// Pid 1's request loop (single threaded, epoll): control connections, the
// listening init.sock, and a signalfd for SIGCHLD. It forks the processes
// the backend runs, keeps their exit statuses, and reaps every orphan that
// the pid namespace hands it.
//
// Run: everything that can fail for a reason the caller should see (user,
// working directory, executable lookup, pty) is checked before fork; the
// child reports a failure of the remaining steps (setuid, rlimits, exec...)
// over a close-on-exec pipe, so Run answers only once the exec happened.

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "init.h"
#include "init_protocol.h"
#include "seccomp_filter.inc"  // kSeccompFilter, generated at build time

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace diego::garden::init {
namespace {

namespace ip = init_protocol;

// The steps of the child after fork, for error messages.
enum ChildStep : int32_t {
  kStepSignals = 1,
  kStepSetsid,
  kStepTty,
  kStepStdio,
  kStepRlimit,
  kStepBounding,
  kStepSetgroups,
  kStepSetgid,
  kStepSetuid,
  kStepCapset,
  kStepChdir,
  kStepNoNewPrivs,
  kStepSeccomp,
  kStepExec,
};

struct ChildFailure {
  int32_t step = 0;
  int32_t err = 0;
  int64_t arg = 0;
};

// Everything the child needs, prepared before fork (the child only makes
// system calls).
struct ChildPlan {
  bool privileged = false;
  bool tty = false;
  int master = -1;
  int stdio[3] = {-1, -1, -1};
  int report = -1;
  std::vector<ip::Rlimit> rlimits;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string dir;
  std::string exec_path;
  std::vector<char*> argv;
  std::vector<char*> envp;
  uint64_t caps = 0;
  const struct sock_fprog* seccomp = nullptr;
};

[[noreturn]] void ChildFail(const ChildPlan& plan, ChildStep step, int err, int64_t arg = 0) {
  ChildFailure f;
  f.step = step;
  f.err = err;
  f.arg = arg;
  ssize_t ignored = write(plan.report, &f, sizeof(f));
  (void)ignored;
  _exit(127);
}

[[noreturn]] void ExecChild(const ChildPlan& plan) {
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) ChildFail(plan, kStepSignals, errno);
  signal(SIGPIPE, SIG_DFL);
  if (setsid() < 0) ChildFail(plan, kStepSetsid, errno);
  if (plan.tty) {
    int slave = ioctl(plan.master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) ChildFail(plan, kStepTty, errno);
    if (ioctl(slave, TIOCSCTTY, 0) != 0) ChildFail(plan, kStepTty, errno);
    if (fchown(slave, plan.uid, static_cast<gid_t>(-1)) != 0) ChildFail(plan, kStepTty, errno);
    for (int i = 0; i < 3; ++i) {
      if (dup2(slave, i) < 0) ChildFail(plan, kStepStdio, errno);
    }
  } else {
    // The received fds are all >= 3 (0-2 are pid 1's /dev/null), so dup2
    // never aliases and clears close-on-exec on the copies.
    for (int i = 0; i < 3; ++i) {
      if (dup2(plan.stdio[i], i) < 0) ChildFail(plan, kStepStdio, errno);
    }
  }
  // Nothing of pid 1's (sockets, kept pipe ends, the pty master) leaks into
  // the process; the report pipe closes on a successful exec.
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

  for (const auto& l : plan.rlimits) {
    struct rlimit r;
    r.rlim_cur = l.value;
    r.rlim_max = l.value;
    if (setrlimit(l.resource, &r) != 0) ChildFail(plan, kStepRlimit, errno, l.resource);
  }
  if (!plan.privileged) {
    // Every capability the kernel may know (EINVAL past its last one), so a
    // kernel newer than our headers cannot leave one in the set.
    for (int cap = 0; cap < 64; ++cap) {
      if ((plan.caps >> cap) & 1) continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
        if (errno == EINVAL) break;  // past the kernel's last capability
        ChildFail(plan, kStepBounding, errno, cap);
      }
    }
  }
  if (setgroups(0, nullptr) != 0) ChildFail(plan, kStepSetgroups, errno);
  if (setresgid(plan.gid, plan.gid, plan.gid) != 0) ChildFail(plan, kStepSetgid, errno, plan.gid);
  // Leaving uid 0 clears the permitted and effective sets: non-root users get
  // no capabilities.
  if (setresuid(plan.uid, plan.uid, plan.uid) != 0) ChildFail(plan, kStepSetuid, errno, plan.uid);
  if (!plan.privileged && plan.uid == 0) {
    struct __user_cap_header_struct header;
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    struct __user_cap_data_struct data[2];
    std::memset(data, 0, sizeof(data));
    data[0].effective = data[0].permitted = static_cast<uint32_t>(plan.caps);
    data[1].effective = data[1].permitted = static_cast<uint32_t>(plan.caps >> 32);
    if (syscall(SYS_capset, &header, data) != 0) ChildFail(plan, kStepCapset, errno);
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (chdir(plan.dir.c_str()) != 0) ChildFail(plan, kStepChdir, errno);
  if (!plan.privileged) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ChildFail(plan, kStepNoNewPrivs, errno);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, plan.seccomp, 0, 0) != 0) {
      ChildFail(plan, kStepSeccomp, errno);
    }
  }
  execve(plan.exec_path.c_str(), plan.argv.data(), plan.envp.data());
  ChildFail(plan, kStepExec, errno);
}

std::string LowerErrno(int err) {
  // Go's syscall error texts are lower-case ("no such file or directory"),
  // and Garden's messages quote them.
  std::string s = std::strerror(err);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

std::string DescribeFailure(const ChildFailure& f, const ChildPlan& plan, const std::string& path) {
  const std::string err = std::strerror(f.err);
  switch (f.step) {
    case kStepSignals:
      return "resetting signals: " + err;
    case kStepSetsid:
      return "setsid: " + err;
    case kStepTty:
      return "setting up the tty: " + err;
    case kStepStdio:
      return "setting up stdio: " + err;
    case kStepRlimit:
      return "setrlimit " + std::to_string(f.arg) + ": " + err;
    case kStepBounding:
      return "dropping capability " + std::to_string(f.arg) + ": " + err;
    case kStepSetgroups:
      return "setgroups: " + err;
    case kStepSetgid:
      return "setgid " + std::to_string(f.arg) + ": " + err;
    case kStepSetuid:
      return "setuid " + std::to_string(f.arg) + ": " + err;
    case kStepCapset:
      return "capset: " + err;
    case kStepChdir:
      return "chdir " + plan.dir + ": " + err;
    case kStepNoNewPrivs:
      return "setting no_new_privs: " + err;
    case kStepSeccomp:
      return "loading the seccomp filter: " + err;
    case kStepExec:
      return "exec: \"" + path + "\": " + LowerErrno(f.err);
    default:
      return "starting the process failed: " + err;
  }
}

// Go's exec.LookPath: the first `dir/file` on PATH that is a regular file
// with an execute bit.
bool LookPath(const std::string& file, const std::string& path_value, std::string* found) {
  size_t i = 0;
  for (;;) {
    size_t j = path_value.find(':', i);
    std::string dir = path_value.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + file;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0) {
      *found = candidate;
      return true;
    }
    if (j == std::string::npos) return false;
    i = j + 1;
  }
}

// Creates the missing directories of `dir` (0755) owned by the user, like
// Guardian's MkdirAs. We are in the container's root, so symlinks resolve
// inside it.
Error EnsureDir(const std::string& dir, uid_t uid, gid_t gid) {
  std::string prefix;
  size_t i = 1;
  while (i <= dir.size()) {
    size_t j = dir.find('/', i);
    if (j == std::string::npos) j = dir.size();
    if (j > i) {
      prefix = dir.substr(0, j);
      if (mkdir(prefix.c_str(), 0755) == 0) {
        if (lchown(prefix.c_str(), uid, gid) != 0) {
          return ErrnoError("create working directory: chown " + prefix, errno);
        }
      } else if (errno != EEXIST) {
        return ErrnoError("create working directory: mkdir " + prefix, errno);
      }
    }
    i = j + 1;
  }
  return "";
}

int ExitStatusOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

class Server {
 public:
  Server(const ip::Config& config, int listen_fd) : config_(config), listen_fd_(listen_fd) {}

  [[noreturn]] void Run(int first_client) {
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, nullptr);
    signal_fd_ = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (signal_fd_ < 0 || epoll_fd_ < 0) _exit(1);
    Watch(signal_fd_);
    Watch(listen_fd_);
    AddClient(first_client);
    // Children that exited before the signalfd existed.
    Reap();
    struct epoll_event events[32];
    for (;;) {
      int n = epoll_wait(epoll_fd_, events, 32, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        _exit(1);
      }
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == signal_fd_) {
          struct signalfd_siginfo info;
          while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
          }
          Reap();
        } else if (fd == listen_fd_) {
          int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (client >= 0) AddClient(client);
        } else if (clients_.count(fd) != 0) {
          ReadClient(fd);
        }
      }
    }
  }

 private:
  struct Proc {
    pid_t pid = 0;
    bool running = false;
    int exit_status = -1;
    bool tty = false;
    std::vector<int> kept;  // stdout/stderr read ends, or the pty master
    uint64_t exit_seq = 0;
  };

  void Watch(int fd) {
    struct epoll_event ev;
    std::memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }

  void AddClient(int fd) {
    // A backend that stops reading must not stall pid 1 for long.
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    clients_.insert(fd);
    Watch(fd);
  }

  void DropClient(int fd) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    clients_.erase(fd);
  }

  void Send(int client, const ip::Message& m, const int* fds = nullptr, size_t nfds = 0) {
    if (clients_.count(client) == 0) return;
    if (ip::SendMessage(client, m, fds, nfds) != 0) DropClient(client);
  }

  void ReadClient(int fd) {
    ip::Message m;
    std::vector<int> fds;
    long n = ip::RecvMessage(fd, &m, &fds, true);
    if (n == -EAGAIN || n == -EINTR) return;
    if (n == -EBADMSG || n == -EMSGSIZE) {
      ip::Message reply;
      reply.type = ip::MessageType::kReply;
      reply.code = ip::ReplyCode::kInvalid;
      reply.message = "malformed request";
      Send(fd, reply);
      return;
    }
    if (n <= 0) {
      DropClient(fd);
      return;
    }
    Handle(fd, m, fds);
    for (int f : fds) {
      if (f >= 0) close(f);
    }
  }

  void Handle(int client, const ip::Message& m, std::vector<int>& fds) {
    ip::Message reply;
    reply.type = ip::MessageType::kReply;
    reply.request_id = m.request_id;
    switch (m.type) {
      case ip::MessageType::kRun:
        HandleRun(client, m, fds);
        return;
      case ip::MessageType::kSignal: {
        auto it = procs_.find(m.process_id);
        if (it == procs_.end()) {
          reply.code = ip::ReplyCode::kNotFound;
          reply.message = "unknown process: " + m.process_id;
        } else if (it->second.running && kill(it->second.pid, m.signal) != 0 && errno != ESRCH) {
          reply.code = ip::ReplyCode::kError;
          reply.message = ErrnoError("kill " + std::to_string(it->second.pid), errno);
        }
        break;
      }
      case ip::MessageType::kSignalAll:
        for (const auto& [id, p] : procs_) {
          if (p.running) kill(p.pid, m.signal);
        }
        break;
      case ip::MessageType::kList:
        for (const auto& [id, p] : procs_) {
          ip::ProcessEntry e;
          e.id = id;
          e.pid = p.pid;
          e.running = p.running;
          e.exit_status = p.exit_status;
          e.tty = p.tty;
          reply.processes.push_back(e);
        }
        break;
      case ip::MessageType::kGetFds: {
        auto it = procs_.find(m.process_id);
        if (it == procs_.end()) {
          reply.code = ip::ReplyCode::kNotFound;
          reply.message = "unknown process: " + m.process_id;
          break;
        }
        const auto& kept = it->second.kept;
        Send(client, reply, kept.data(), kept.size());
        return;
      }
      default:
        reply.code = ip::ReplyCode::kInvalid;
        reply.message = "unexpected request type " + std::to_string(static_cast<int>(m.type));
        break;
    }
    Send(client, reply);
  }

  void HandleRun(int client, const ip::Message& m, std::vector<int>& fds) {
    ip::Message reply;
    reply.type = ip::MessageType::kReply;
    reply.request_id = m.request_id;
    auto fail = [&](ip::ReplyCode code, const std::string& message) {
      reply.code = code;
      reply.message = message;
      Send(client, reply);
    };
    const ip::RunRequest& run = m.run;
    if (run.id.empty() || fds.size() != (run.tty ? 0u : 5u)) {
      return fail(ip::ReplyCode::kInvalid, "run: bad request (id or stdio fds)");
    }
    auto existing = procs_.find(run.id);
    if (existing != procs_.end() && existing->second.running) {
      return fail(ip::ReplyCode::kAlreadyExists, "process ID '" + run.id + "' already in use");
    }

    ExecUser user;
    Error error = LookupUser(run.user, &user);
    if (!error.empty()) return fail(ip::ReplyCode::kError, error);
    const std::vector<std::string> env = BuildEnv(run.env, user, run.user);
    std::string dir = run.dir.empty() ? user.home : run.dir;
    if (dir.empty() || dir[0] != '/') dir = "/" + dir;
    error = EnsureDir(dir, user.uid, user.gid);
    if (!error.empty()) return fail(ip::ReplyCode::kError, error);

    std::string exec_path;
    if (run.path.find('/') != std::string::npos) {
      exec_path = run.path;
      const std::string stat_path = run.path[0] == '/' ? run.path : dir + "/" + run.path;
      struct stat st;
      if (stat(stat_path.c_str(), &st) != 0) {
        // runc's wording, which Garden matches to detect ExecutableNotFoundError.
        const std::string message =
            "exec: \"" + run.path + "\": stat " + run.path + ": " + LowerErrno(errno);
        return fail(errno == ENOENT ? ip::ReplyCode::kExecutableNotFound : ip::ReplyCode::kError,
                    message);
      }
    } else {
      std::string path_value;
      for (const auto& e : env) {
        if (e.compare(0, 5, "PATH=") == 0) path_value = e.substr(5);  // the last one wins
      }
      if (run.path.empty() || !LookPath(run.path, path_value, &exec_path)) {
        return fail(ip::ReplyCode::kExecutableNotFound,
                    "exec: \"" + run.path + "\": executable file not found in $PATH");
      }
    }

    int master = -1;
    if (run.tty) {
      // The container's /dev/ptmx: a pty of its own devpts instance.
      master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
      int unlock = 0;
      if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) != 0) {
        int err = errno;
        if (master >= 0) close(master);
        return fail(ip::ReplyCode::kError, ErrnoError("allocating a pty", err));
      }
      // Guardian's default console size.
      struct winsize ws;
      std::memset(&ws, 0, sizeof(ws));
      ws.ws_col = run.columns != 0 ? run.columns : 80;
      ws.ws_row = run.rows != 0 ? run.rows : 24;
      ioctl(master, TIOCSWINSZ, &ws);
    }

    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
      int err = errno;
      if (master >= 0) close(master);
      return fail(ip::ReplyCode::kError, ErrnoError("pipe", err));
    }

    ChildPlan plan;
    plan.privileged = config_.privileged;
    plan.tty = run.tty;
    plan.master = master;
    if (!run.tty) {
      for (int i = 0; i < 3; ++i) plan.stdio[i] = fds[static_cast<size_t>(i)];
    }
    plan.report = report[1];
    plan.rlimits = run.rlimits;
    plan.uid = user.uid;
    plan.gid = user.gid;
    plan.dir = dir;
    plan.exec_path = exec_path;
    std::vector<std::string> argv_strings;
    argv_strings.push_back(run.path);
    argv_strings.insert(argv_strings.end(), run.args.begin(), run.args.end());
    for (auto& s : argv_strings) plan.argv.push_back(s.data());
    plan.argv.push_back(nullptr);
    std::vector<std::string> env_strings = env;
    for (auto& s : env_strings) plan.envp.push_back(s.data());
    plan.envp.push_back(nullptr);
    plan.caps = GardenCapabilities();
    struct sock_fprog prog;
    prog.len = static_cast<unsigned short>(sizeof(kSeccompFilter) / sizeof(kSeccompFilter[0]));
    prog.filter = const_cast<struct sock_filter*>(kSeccompFilter);
    plan.seccomp = &prog;

    pid_t pid = fork();
    if (pid == 0) ExecChild(plan);
    int fork_errno = errno;
    close(report[1]);
    if (pid < 0) {
      close(report[0]);
      if (master >= 0) close(master);
      return fail(ip::ReplyCode::kError, ErrnoError("fork", fork_errno));
    }
    ChildFailure failure;
    ssize_t n;
    do {
      n = read(report[0], &failure, sizeof(failure));
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    // The child's stdio ends are its own now.
    if (!run.tty) {
      for (int i = 0; i < 3; ++i) {
        close(fds[static_cast<size_t>(i)]);
        fds[static_cast<size_t>(i)] = -1;
      }
    }
    if (n > 0) {
      int status;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (master >= 0) close(master);
      return fail(ip::ReplyCode::kError, DescribeFailure(failure, plan, run.path));
    }

    Proc& proc = procs_[run.id];
    for (int fd : proc.kept) close(fd);  // an exited process of the same id
    proc = Proc();
    proc.pid = pid;
    proc.running = true;
    proc.tty = run.tty;
    if (run.tty) {
      proc.kept.push_back(master);
    } else {
      proc.kept.push_back(fds[3]);
      proc.kept.push_back(fds[4]);
      fds[3] = fds[4] = -1;
    }
    running_.emplace(pid, run.id);
    reply.pid = pid;
    if (run.tty) {
      Send(client, reply, &master, 1);
    } else {
      Send(client, reply);
    }
  }

  void Reap() {
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) {
        if (pid < 0 && errno == EINTR) continue;
        return;
      }
      auto it = running_.find(pid);
      if (it == running_.end()) continue;  // an orphan we adopted
      const std::string id = it->second;
      running_.erase(it);
      Proc& proc = procs_[id];
      proc.running = false;
      proc.exit_status = ExitStatusOf(status);
      for (int fd : proc.kept) close(fd);
      proc.kept.clear();
      proc.exit_seq = ++exit_seq_;
      exited_.emplace_back(id, proc.exit_seq);
      while (exited_.size() > ip::kMaxExitedProcesses) {
        auto [old_id, seq] = exited_.front();
        exited_.pop_front();
        auto old = procs_.find(old_id);
        if (old != procs_.end() && !old->second.running && old->second.exit_seq == seq) {
          procs_.erase(old);
        }
      }
      ip::Message event;
      event.type = ip::MessageType::kExited;
      event.process_id = id;
      event.exit_status = proc.exit_status;
      std::vector<int> clients(clients_.begin(), clients_.end());
      for (int c : clients) Send(c, event);
    }
  }

  const ip::Config& config_;
  int listen_fd_;
  int signal_fd_ = -1;
  int epoll_fd_ = -1;
  std::set<int> clients_;
  std::map<std::string, Proc> procs_;
  std::map<pid_t, std::string> running_;
  std::deque<std::pair<std::string, uint64_t>> exited_;
  uint64_t exit_seq_ = 0;
};

}  // namespace

void Serve(const ip::Config& config, int listen_fd, int first_client) {
  static Server* server = new Server(config, listen_fd);
  server->Run(first_client);
}

}  // namespace diego::garden::init
