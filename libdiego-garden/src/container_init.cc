// Copyright 2026 The libdiego Authors.
//
// The backend side of a container's init (see container_init.h for the
// design, init_protocol.h for the wire protocol, helpers/init for pid 1).
//
// One I/O thread per ContainerInit (epoll) reads the control connection
// (replies and exit events), the processes' stdout/stderr pipes (or pty
// masters), writes their stdin, and watches pid 1 through a pidfd. It owns
// every stream fd: streams are registered, read, written and closed only on
// that thread (Run and Reconnect hand fds over in callbacks that run there
// when pid 1's reply arrives; stdin writes are queued and the thread is
// woken), so no fd is ever used after another thread closed it.
//
// Exit statuses: pid 1 reports a process's exit only after reaping it, so
// all the output it wrote is already in the pipe; the I/O thread drains the
// pipe (non-blocking, to EAGAIN or EOF) before publishing the status, which
// is why Wait returning means the output was delivered. Output that
// grandchildren holding the pipe write later is still delivered.
//
// Lock order: Core::mu_ before ProcState::mu (never the reverse); sinks are
// called with ProcState::mu held, so Attach's replay and live output never
// interleave or duplicate.

#include "container_init.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "diego/base/status_macros.h"
#include "diego/garden/errors.h"
#include "init_protocol.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace diego::garden {
namespace {

namespace ip = init_protocol;

constexpr size_t kKeptOutputBytes = 64 * 1024;
constexpr size_t kMaxExitedProcesses = 256;
constexpr size_t kHostnameMax = 49;  // Guardian keeps the last 49 characters
constexpr absl::Duration kCallTimeout = absl::Seconds(30);
constexpr absl::Duration kKillTimeout = absl::Seconds(10);
constexpr int kSocketSendBuffer = 16 << 20;  // > ip::kMaxMessageSize

constexpr uint64_t kControlToken = 1;
constexpr uint64_t kPidfdToken = 2;
constexpr uint64_t kWakeToken = 3;
constexpr uint64_t kFirstStreamToken = 16;

absl::Status ErrnoStatus(absl::StatusCode code, absl::string_view what, int err) {
  return absl::Status(code, absl::StrCat(what, ": ", std::strerror(err)));
}

void CloseFd(int fd) {
  if (fd >= 0) close(fd);
}

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

int PidfdSignal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// True once the process behind `pidfd` has exited; waits up to `timeout`.
bool WaitPidfd(int pidfd, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    struct pollfd p = {pidfd, POLLIN, 0};
    const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
    int n = poll(&p, 1, static_cast<int>(ms));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

void RaiseSendBuffer(int sock) {
  int size = kSocketSendBuffer;
  if (setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
}

std::string NewProcessId() {
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 0xf]);
  }
  return s;
}

std::string SocketPath(absl::string_view container_dir) {
  std::string dir(container_dir);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/init.sock";
}

// Connects a SEQPACKET socket to `path`; long paths go through
// /proc/self/fd/<dir fd>/<name>.
absl::StatusOr<int> ConnectSocket(const std::string& path) {
  int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock < 0) return ErrnoStatus(absl::StatusCode::kInternal, "socket", errno);
  struct sockaddr_un addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  std::string target = path;
  int dir_fd = -1;
  if (path.size() >= sizeof(addr.sun_path)) {
    const size_t slash = path.rfind('/');
    dir_fd = open(path.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
      int err = errno;
      close(sock);
      return ErrnoStatus(absl::StatusCode::kUnavailable, absl::StrCat("connecting to ", path), err);
    }
    target = absl::StrCat("/proc/self/fd/", dir_fd, "/", path.substr(slash + 1));
  }
  std::memcpy(addr.sun_path, target.c_str(), std::min(target.size() + 1, sizeof(addr.sun_path)));
  int rc;
  do {
    rc = connect(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  int err = errno;
  CloseFd(dir_fd);
  if (rc != 0) {
    close(sock);
    return ErrnoStatus(absl::StatusCode::kUnavailable, absl::StrCat("connecting to ", path), err);
  }
  return sock;
}

struct Sinks {
  std::function<void(absl::string_view)> out;
  std::function<void(absl::string_view)> err;
};

// One process, shared by the Core and every handle on it.
struct ProcState {
  ProcState(std::string process_id, bool has_tty) : id(std::move(process_id)), tty(has_tty) {}
  ~ProcState() { CloseFd(tty_ctl); }

  // Appends to the kept output and calls the sinks (stream 0 = stdout).
  void Deliver(int stream, absl::string_view data) {
    absl::MutexLock lock(&mu);
    std::string& kept_stream = kept[stream];
    kept_stream.append(data.data(), data.size());
    if (kept_stream.size() > 2 * kKeptOutputBytes) {
      kept_stream.erase(0, kept_stream.size() - kKeptOutputBytes);
    }
    for (auto& [handle, s] : sinks) {
      const auto& sink = stream == 0 ? s.out : s.err;
      if (sink) sink(data);
    }
  }

  const std::string id;
  const bool tty;

  absl::Mutex mu;
  absl::CondVar cv;
  pid_t pid ABSL_GUARDED_BY(mu) = 0;
  std::string kept[2] ABSL_GUARDED_BY(mu);
  std::map<uint64_t, Sinks> sinks ABSL_GUARDED_BY(mu);
  std::optional<int> exit_status ABSL_GUARDED_BY(mu);
  bool lost ABSL_GUARDED_BY(mu) = false;  // no exit status will ever come
  std::string stdin_pending ABSL_GUARDED_BY(mu);
  bool stdin_open ABSL_GUARDED_BY(mu) = false;     // a stdin fd is registered
  bool stdin_closing ABSL_GUARDED_BY(mu) = false;  // close once pending is written
  bool stdin_from_data ABSL_GUARDED_BY(mu) = false;
  int tty_ctl ABSL_GUARDED_BY(mu) = -1;  // a dup of the pty master, for SetTty
};

enum class StreamKind { kStdout, kStderr, kStdin, kTty };

struct Stream {
  StreamKind kind;
  int fd;
  std::shared_ptr<ProcState> proc;
  bool want_write = false;
};

class Core;

class InitProcess : public Process {
 public:
  InitProcess(std::shared_ptr<Core> core, std::shared_ptr<ProcState> state, uint64_t handle)
      : core_(std::move(core)), state_(std::move(state)), handle_(handle) {}
  ~InitProcess() override {
    absl::MutexLock lock(&state_->mu);
    state_->sinks.erase(handle_);
  }

  std::string Id() const override { return state_->id; }
  absl::StatusOr<int> Wait(absl::Time deadline) override;
  absl::Status Signal(garden::Signal signal) override;
  absl::Status WriteStdin(absl::string_view data) override;
  absl::Status CloseStdin() override;
  absl::Status SetTty(const TtySpec& tty) override;

 private:
  std::shared_ptr<Core> core_;
  std::shared_ptr<ProcState> state_;
  const uint64_t handle_;
};

class Core : public std::enable_shared_from_this<Core> {
 public:
  Core(int control_fd, int pidfd, pid_t pid, std::string container_dir)
      : control_fd_(control_fd),
        pidfd_(pidfd),
        pid_(pid),
        container_dir_(std::move(container_dir)) {}
  ~Core() { Shutdown(); }

  absl::Status StartThread() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return ErrnoStatus(absl::StatusCode::kInternal, "epoll_create1", errno);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return ErrnoStatus(absl::StatusCode::kInternal, "eventfd", errno);
    fcntl(control_fd_, F_SETFL, fcntl(control_fd_, F_GETFL) | O_NONBLOCK);
    if (!Watch(control_fd_, kControlToken, EPOLLIN) || !Watch(pidfd_, kPidfdToken, EPOLLIN) ||
        !Watch(wake_fd_, kWakeToken, EPOLLIN)) {
      return ErrnoStatus(absl::StatusCode::kInternal, "epoll_ctl", errno);
    }
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  // Stops the I/O thread and closes everything; processes keep running.
  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    if (thread_.joinable()) {
      Wake();
      thread_.join();
    }
    {
      absl::MutexLock lock(&send_mu_);
      CloseFd(control_fd_);
      control_fd_ = -1;
    }
    for (auto& [token, stream] : streams_) CloseFd(stream->fd);
    streams_.clear();
    FailPendingCalls("the connection to the container init was closed");
    MarkRunningLost();
    CloseFd(pidfd_);
    CloseFd(epoll_fd_);
    absl::MutexLock lock(&mu_);
    CloseFd(wake_fd_);
    wake_fd_ = -1;
  }

  pid_t pid() const { return pid_; }

  absl::StatusOr<std::unique_ptr<Process>> Run(const ProcessSpec& spec,
                                               const std::vector<std::string>& container_env,
                                               ProcessIO io);
  absl::StatusOr<std::unique_ptr<Process>> Attach(absl::string_view process_id, ProcessIO io);
  std::vector<std::string> RunningProcessIds();
  absl::Status SignalAll(Signal signal);
  absl::Status SignalProcess(const std::shared_ptr<ProcState>& state, Signal signal);
  absl::Status WriteStdin(const std::shared_ptr<ProcState>& state, absl::string_view data,
                          bool close);
  absl::Status Kill();
  bool Alive();
  // Reconnect: learns the processes pid 1 knows and resumes their output.
  absl::Status Recover();

 private:
  using OnReply = std::function<void(const ip::Message&, std::vector<int>&)>;
  using OnFail = std::function<void()>;

  struct PendingCall {
    OnReply on_reply;  // on the I/O thread, before the caller wakes
    OnFail on_fail;    // when no reply will come
    bool done = false;
    bool failed = false;
    std::string failure;
    ip::Message reply;
  };

  absl::StatusOr<ip::Message> Call(ip::Message request, const std::vector<int>& fds,
                                   OnReply on_reply = nullptr, OnFail on_fail = nullptr);
  uint64_t NextHandle() {
    absl::MutexLock lock(&mu_);
    return ++next_handle_;
  }
  absl::Status Unavailable() const {
    return absl::UnavailableError(absl::StrCat("container init (pid ", pid_, ") is not running"));
  }

  bool Watch(int fd, uint64_t token, uint32_t events) {
    struct epoll_event ev;
    std::memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
  }
  void Wake() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    WakeLocked();
  }
  void WakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (wake_fd_ >= 0) {
      uint64_t one = 1;
      ssize_t ignored = write(wake_fd_, &one, sizeof(one));
      (void)ignored;
    }
  }

  // I/O thread.
  void Loop();
  void ReadControl();
  void Dispatch(ip::Message& m, std::vector<int>& fds);
  void OnControlClosed();
  void OnInitExited();
  void OnExited(const std::string& id, int status);
  void FinishProcess(const std::shared_ptr<ProcState>& state, int status);
  void RegisterStreams(const std::shared_ptr<ProcState>& state, int out, int err, int in,
                       int master);
  uint64_t AddStream(StreamKind kind, int fd, const std::shared_ptr<ProcState>& state);
  void CloseStream(uint64_t token);
  void HandleStream(uint64_t token, uint32_t events);
  enum class ReadResult { kData, kAgain, kClosed };
  ReadResult ReadOnce(uint64_t token);
  void WritePending(uint64_t token);
  void SetWantWrite(uint64_t token, bool want);
  void ProcessStdinRequests();
  uint64_t StdinToken(const std::shared_ptr<ProcState>& state);
  void FailPendingCalls(const std::string& why);
  void MarkRunningLost();

  int control_fd_;  // guarded by send_mu_ for sending and closing
  int pidfd_;
  const pid_t pid_;
  const std::string container_dir_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // closed under mu_
  std::thread thread_;

  absl::Mutex send_mu_;

  absl::Mutex mu_;
  absl::CondVar cv_;  // calls completing, init exit
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool init_dead_ ABSL_GUARDED_BY(mu_) = false;
  bool control_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool killed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_request_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, std::shared_ptr<PendingCall>> pending_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<ProcState>> procs_ ABSL_GUARDED_BY(mu_);
  std::deque<std::weak_ptr<ProcState>> exited_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<ProcState>> stdin_dirty_ ABSL_GUARDED_BY(mu_);

  // I/O thread only (and Shutdown after the thread is joined).
  std::map<uint64_t, std::unique_ptr<Stream>> streams_;
  uint64_t next_token_ = kFirstStreamToken;
};

absl::Status StatusFromReply(const ip::Message& reply, absl::string_view process_id) {
  switch (reply.code) {
    case ip::ReplyCode::kOk:
      return absl::OkStatus();
    case ip::ReplyCode::kAlreadyExists:
      return absl::AlreadyExistsError(reply.message);
    case ip::ReplyCode::kNotFound:
      return ProcessNotFoundError(process_id);
    case ip::ReplyCode::kExecutableNotFound:
      return ExecutableNotFoundError(reply.message);
    case ip::ReplyCode::kInvalid:
      return absl::InvalidArgumentError(reply.message);
    case ip::ReplyCode::kError:
      break;
  }
  return absl::InternalError(reply.message);
}

absl::StatusOr<ip::Message> Core::Call(ip::Message request, const std::vector<int>& fds,
                                       OnReply on_reply, OnFail on_fail) {
  auto call = std::make_shared<PendingCall>();
  call->on_reply = std::move(on_reply);
  call->on_fail = std::move(on_fail);
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!shut_down_ && !init_dead_ && !control_closed_) {
      id = ++next_request_;
      pending_[id] = call;
    }
  }
  if (id == 0) {
    if (call->on_fail) call->on_fail();
    return Unavailable();
  }
  request.request_id = id;
  int rc;
  {
    absl::MutexLock lock(&send_mu_);
    rc = control_fd_ < 0 ? -EPIPE : ip::SendMessage(control_fd_, request, fds.data(), fds.size());
  }
  if (rc != 0) {
    bool mine;
    {
      absl::MutexLock lock(&mu_);
      mine = pending_.erase(id) > 0;
    }
    if (mine && call->on_fail) call->on_fail();
    return ErrnoStatus(absl::StatusCode::kUnavailable, "sending to the container init", -rc);
  }
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + kCallTimeout;
  while (!call->done) {
    if (cv_.WaitWithDeadline(&mu_, deadline) && !call->done) {
      return absl::DeadlineExceededError(absl::StrCat("the container init (pid ", pid_,
                                                      ") did not answer within ",
                                                      absl::FormatDuration(kCallTimeout)));
    }
  }
  if (call->failed) return absl::UnavailableError(call->failure);
  return call->reply;
}

void Core::FailPendingCalls(const std::string& why) {
  std::map<uint64_t, std::shared_ptr<PendingCall>> pending;
  {
    absl::MutexLock lock(&mu_);
    pending.swap(pending_);
  }
  for (auto& [id, call] : pending) {
    if (call->on_fail) call->on_fail();
  }
  absl::MutexLock lock(&mu_);
  for (auto& [id, call] : pending) {
    call->done = true;
    call->failed = true;
    call->failure = why;
  }
  cv_.SignalAll();
}

void Core::MarkRunningLost() {
  std::vector<std::shared_ptr<ProcState>> procs;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, st] : procs_) procs.push_back(st);
  }
  for (auto& st : procs) {
    absl::MutexLock lock(&st->mu);
    if (!st->exit_status) {
      st->lost = true;
      st->stdin_open = false;
      st->cv.SignalAll();
    }
  }
}

void Core::Loop() {
  // Writes to a stdin pipe whose reader is gone must fail with EPIPE, not
  // kill the backend.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t token = events[i].data.u64;
      if (token == kWakeToken) {
        uint64_t value;
        ssize_t ignored = read(wake_fd_, &value, sizeof(value));
        (void)ignored;
        {
          absl::MutexLock lock(&mu_);
          if (shut_down_) return;
        }
        ProcessStdinRequests();
      } else if (token == kControlToken) {
        ReadControl();
      } else if (token == kPidfdToken) {
        OnInitExited();
      } else {
        HandleStream(token, events[i].events);
      }
    }
  }
}

void Core::ReadControl() {
  {
    absl::MutexLock lock(&mu_);
    if (control_closed_) return;
  }
  for (;;) {
    ip::Message m;
    std::vector<int> fds;
    long n = ip::RecvMessage(control_fd_, &m, &fds, true);
    if (n == -EAGAIN || n == -EWOULDBLOCK) return;
    if (n == -EBADMSG || n == -EMSGSIZE) continue;  // dropped
    if (n <= 0) {
      OnControlClosed();
      return;
    }
    Dispatch(m, fds);
    for (int fd : fds) CloseFd(fd);
  }
}

void Core::Dispatch(ip::Message& m, std::vector<int>& fds) {
  if (m.type == ip::MessageType::kExited) {
    OnExited(m.process_id, m.exit_status);
    return;
  }
  if (m.type != ip::MessageType::kReply) return;
  std::shared_ptr<PendingCall> call;
  {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(m.request_id);
    if (it == pending_.end()) return;
    call = it->second;
    pending_.erase(it);
  }
  if (call->on_reply) call->on_reply(m, fds);
  absl::MutexLock lock(&mu_);
  call->reply = std::move(m);
  call->done = true;
  cv_.SignalAll();
}

void Core::OnControlClosed() {
  {
    absl::MutexLock lock(&mu_);
    control_closed_ = true;
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, control_fd_, nullptr);
  FailPendingCalls(absl::StrCat("the container init (pid ", pid_, ") closed the connection"));
  // Pid 1 closes its sockets while exiting, a moment before its pidfd says
  // so: give it that moment before calling the processes lost.
  if (WaitPidfd(pidfd_, absl::Seconds(1))) {
    OnInitExited();
  } else {
    MarkRunningLost();
  }
}

void Core::OnInitExited() {
  {
    absl::MutexLock lock(&mu_);
    if (init_dead_) return;
    init_dead_ = true;  // also stops re-entry through ReadControl's EOF
  }
  // Exit events pid 1 sent before dying.
  ReadControl();
  std::vector<std::shared_ptr<ProcState>> running;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, st] : procs_) running.push_back(st);
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, pidfd_, nullptr);
  // The kernel SIGKILLs everything in the pid namespace when pid 1 dies.
  for (auto& st : running) {
    bool exited;
    {
      absl::MutexLock lock(&st->mu);
      exited = st->exit_status.has_value();
    }
    if (!exited) FinishProcess(st, 128 + SIGKILL);
  }
  FailPendingCalls(absl::StrCat("the container init (pid ", pid_, ") exited"));
  absl::MutexLock lock(&mu_);
  cv_.SignalAll();
}

void Core::OnExited(const std::string& id, int status) {
  std::shared_ptr<ProcState> st;
  {
    absl::MutexLock lock(&mu_);
    auto it = procs_.find(id);
    if (it != procs_.end()) {
      st = it->second;
    } else {
      // Started by an earlier backend and not listed yet.
      st = std::make_shared<ProcState>(id, false);
      procs_[id] = st;
    }
  }
  FinishProcess(st, status);
}

void Core::FinishProcess(const std::shared_ptr<ProcState>& state, int status) {
  std::vector<uint64_t> tokens;
  for (auto& [token, stream] : streams_) {
    if (stream->proc == state) tokens.push_back(token);
  }
  for (uint64_t token : tokens) {
    auto it = streams_.find(token);
    if (it == streams_.end()) continue;
    if (it->second->kind == StreamKind::kStdin) {
      CloseStream(token);
      continue;
    }
    while (ReadOnce(token) == ReadResult::kData) {
    }
  }
  {
    absl::MutexLock lock(&state->mu);
    if (!state->exit_status) state->exit_status = status;
    state->lost = false;
    state->stdin_open = false;
    state->stdin_pending.clear();
    CloseFd(state->tty_ctl);
    state->tty_ctl = -1;
    state->cv.SignalAll();
  }
  absl::MutexLock lock(&mu_);
  exited_.push_back(state);
  while (exited_.size() > kMaxExitedProcesses) {
    std::shared_ptr<ProcState> old = exited_.front().lock();
    exited_.pop_front();
    if (old == nullptr) continue;
    auto it = procs_.find(old->id);
    if (it != procs_.end() && it->second == old) procs_.erase(it);
  }
}

uint64_t Core::AddStream(StreamKind kind, int fd, const std::shared_ptr<ProcState>& state) {
  const uint64_t token = next_token_++;
  uint32_t events = 0;
  if (kind != StreamKind::kStdin) events |= EPOLLIN;
  if (!Watch(fd, token, events)) {
    CloseFd(fd);
    return 0;
  }
  auto stream = std::make_unique<Stream>();
  stream->kind = kind;
  stream->fd = fd;
  stream->proc = state;
  streams_[token] = std::move(stream);
  return token;
}

void Core::CloseStream(uint64_t token) {
  auto it = streams_.find(token);
  if (it == streams_.end()) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second->fd, nullptr);
  CloseFd(it->second->fd);
  if (it->second->kind == StreamKind::kStdin || it->second->kind == StreamKind::kTty) {
    absl::MutexLock lock(&it->second->proc->mu);
    it->second->proc->stdin_open = false;
    it->second->proc->stdin_pending.clear();
  }
  streams_.erase(it);
}

void Core::RegisterStreams(const std::shared_ptr<ProcState>& state, int out, int err, int in,
                           int master) {
  uint64_t stdin_token = 0;
  if (master >= 0) {
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    int ctl = fcntl(master, F_DUPFD_CLOEXEC, 0);
    stdin_token = AddStream(StreamKind::kTty, master, state);
    absl::MutexLock lock(&state->mu);
    CloseFd(state->tty_ctl);
    state->tty_ctl = ctl;
    state->stdin_open = stdin_token != 0;
  } else {
    for (int fd : {out, err, in}) {
      if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    if (out >= 0) AddStream(StreamKind::kStdout, out, state);
    if (err >= 0) AddStream(StreamKind::kStderr, err, state);
    if (in >= 0) stdin_token = AddStream(StreamKind::kStdin, in, state);
    absl::MutexLock lock(&state->mu);
    state->stdin_open = stdin_token != 0;
  }
  if (stdin_token != 0) WritePending(stdin_token);
}

Core::ReadResult Core::ReadOnce(uint64_t token) {
  auto it = streams_.find(token);
  if (it == streams_.end()) return ReadResult::kClosed;
  Stream& s = *it->second;
  char buf[64 * 1024];
  ssize_t n;
  do {
    n = read(s.fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    s.proc->Deliver(s.kind == StreamKind::kStderr ? 1 : 0,
                    absl::string_view(buf, static_cast<size_t>(n)));
    return ReadResult::kData;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return ReadResult::kAgain;
  // EOF, or EIO from a pty master whose slave side is closed.
  CloseStream(token);
  return ReadResult::kClosed;
}

void Core::HandleStream(uint64_t token, uint32_t events) {
  auto it = streams_.find(token);
  if (it == streams_.end()) return;
  if (it->second->kind == StreamKind::kStdin) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      CloseStream(token);  // the process closed its stdin
    } else if (events & EPOLLOUT) {
      WritePending(token);
    }
    return;
  }
  const bool is_tty = it->second->kind == StreamKind::kTty;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    if (ReadOnce(token) == ReadResult::kClosed) return;
  }
  if (is_tty && (events & EPOLLOUT)) WritePending(token);
}

void Core::WritePending(uint64_t token) {
  auto it = streams_.find(token);
  if (it == streams_.end()) return;
  Stream& s = *it->second;
  bool close_stream = false;
  bool want_write = false;
  {
    absl::MutexLock lock(&s.proc->mu);
    std::string& pending = s.proc->stdin_pending;
    while (!pending.empty()) {
      ssize_t n = write(s.fd, pending.data(), pending.size());
      if (n > 0) {
        pending.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      // The reader is gone (EPIPE): drop what is left, and the SIGPIPE we
      // blocked.
      pending.clear();
      s.proc->stdin_open = false;
      close_stream = s.kind == StreamKind::kStdin;
      struct timespec zero = {0, 0};
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      sigtimedwait(&pipe_set, nullptr, &zero);
      break;
    }
    if (pending.empty() && s.proc->stdin_closing && s.kind == StreamKind::kStdin) {
      close_stream = true;
    }
    want_write = !pending.empty();
  }
  if (close_stream) {
    CloseStream(token);
  } else {
    SetWantWrite(token, want_write);
  }
}

void Core::SetWantWrite(uint64_t token, bool want) {
  auto it = streams_.find(token);
  if (it == streams_.end() || it->second->want_write == want) return;
  struct epoll_event ev;
  std::memset(&ev, 0, sizeof(ev));
  ev.events = (it->second->kind == StreamKind::kTty ? uint32_t{EPOLLIN} : 0u) |
              (want ? uint32_t{EPOLLOUT} : 0u);
  ev.data.u64 = token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, it->second->fd, &ev) == 0) it->second->want_write = want;
}

uint64_t Core::StdinToken(const std::shared_ptr<ProcState>& state) {
  for (auto& [token, stream] : streams_) {
    if (stream->proc == state &&
        (stream->kind == StreamKind::kStdin || stream->kind == StreamKind::kTty)) {
      return token;
    }
  }
  return 0;
}

void Core::ProcessStdinRequests() {
  std::vector<std::shared_ptr<ProcState>> dirty;
  {
    absl::MutexLock lock(&mu_);
    dirty.swap(stdin_dirty_);
  }
  for (auto& st : dirty) {
    uint64_t token = StdinToken(st);
    if (token != 0) WritePending(token);
  }
}

absl::StatusOr<std::unique_ptr<Process>> Core::Run(const ProcessSpec& spec,
                                                   const std::vector<std::string>& container_env,
                                                   ProcessIO io) {
  const std::string id = spec.id.empty() ? NewProcessId() : spec.id;
  const bool tty = spec.tty.has_value();
  auto st = std::make_shared<ProcState>(id, tty);
  const uint64_t handle = NextHandle();
  {
    absl::MutexLock lock(&st->mu);
    st->sinks[handle] = Sinks{io.stdout_sink, io.stderr_sink};
    if (io.stdin_data.has_value()) {
      st->stdin_pending = *io.stdin_data;
      if (tty) st->stdin_pending.push_back('\x04');
      st->stdin_closing = true;
      st->stdin_from_data = true;
    }
  }
  std::shared_ptr<ProcState> previous;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_ || init_dead_ || control_closed_) return Unavailable();
    auto it = procs_.find(id);
    if (it != procs_.end()) {
      absl::MutexLock plock(&it->second->mu);
      if (!it->second->exit_status && !it->second->lost) {
        return absl::AlreadyExistsError(absl::StrCat("process ID '", id, "' already in use"));
      }
      previous = it->second;
    }
    procs_[id] = st;
  }

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  std::vector<int> send_fds;
  if (!tty) {
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      int e = errno;
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) CloseFd(fd);
      absl::MutexLock lock(&mu_);
      procs_.erase(id);
      if (previous) procs_[id] = previous;
      return ErrnoStatus(absl::StatusCode::kInternal, "pipe", e);
    }
    // The child's ends, then the read ends pid 1 keeps while it runs.
    send_fds = {in[0], out[1], err[1], out[0], err[0]};
  }

  ip::Message request;
  request.type = ip::MessageType::kRun;
  ip::RunRequest& run = request.run;
  run.id = id;
  run.path = spec.path;
  run.args = spec.args;
  run.env = container_env;
  run.env.insert(run.env.end(), spec.env.begin(), spec.env.end());
  run.dir = spec.dir;
  run.user = spec.user;
  const std::pair<int, const std::optional<uint64_t>*> limits[] = {
      {RLIMIT_AS, &spec.rlimits.as},           {RLIMIT_CORE, &spec.rlimits.core},
      {RLIMIT_CPU, &spec.rlimits.cpu},         {RLIMIT_DATA, &spec.rlimits.data},
      {RLIMIT_FSIZE, &spec.rlimits.fsize},     {RLIMIT_LOCKS, &spec.rlimits.locks},
      {RLIMIT_MEMLOCK, &spec.rlimits.memlock}, {RLIMIT_MSGQUEUE, &spec.rlimits.msgqueue},
      {RLIMIT_NICE, &spec.rlimits.nice},       {RLIMIT_NOFILE, &spec.rlimits.nofile},
      {RLIMIT_NPROC, &spec.rlimits.nproc},     {RLIMIT_RSS, &spec.rlimits.rss},
      {RLIMIT_RTPRIO, &spec.rlimits.rtprio},   {RLIMIT_SIGPENDING, &spec.rlimits.sigpending},
      {RLIMIT_STACK, &spec.rlimits.stack},
  };
  for (const auto& [resource, value] : limits) {
    if (value->has_value()) run.rlimits.push_back(ip::Rlimit{resource, **value});
  }
  run.tty = tty;
  if (tty && spec.tty->window_size.has_value()) {
    run.columns = spec.tty->window_size->columns;
    run.rows = spec.tty->window_size->rows;
  }

  const int keep_in = in[1], keep_out = out[0], keep_err = err[0];
  auto forget = [this, st, previous] {
    absl::MutexLock lock(&mu_);
    auto it = procs_.find(st->id);
    if (it != procs_.end() && it->second == st) {
      if (previous) {
        it->second = previous;
      } else {
        procs_.erase(it);
      }
    }
  };
  auto on_reply = [this, st, keep_in, keep_out, keep_err, forget](const ip::Message& m,
                                                                  std::vector<int>& fds) {
    if (m.code != ip::ReplyCode::kOk) {
      for (int fd : {keep_in, keep_out, keep_err}) CloseFd(fd);
      forget();
      return;
    }
    {
      absl::MutexLock lock(&st->mu);
      st->pid = m.pid;
    }
    int master = -1;
    if (st->tty && !fds.empty()) {
      master = fds[0];
      fds[0] = -1;
    }
    RegisterStreams(st, keep_out, keep_err, keep_in, master);
  };
  auto on_fail = [st, keep_in, keep_out, keep_err, forget] {
    for (int fd : {keep_in, keep_out, keep_err}) CloseFd(fd);
    forget();
    absl::MutexLock lock(&st->mu);
    st->lost = true;
    st->cv.SignalAll();
  };
  absl::StatusOr<ip::Message> reply = Call(std::move(request), send_fds, on_reply, on_fail);
  for (int fd : {in[0], out[1], err[1]}) CloseFd(fd);
  absl::Status status = reply.ok() ? StatusFromReply(*reply, id) : reply.status();
  if (!status.ok()) {
    absl::MutexLock lock(&st->mu);
    st->sinks.erase(handle);
    return status;
  }
  return std::make_unique<InitProcess>(shared_from_this(), st, handle);
}

absl::StatusOr<std::unique_ptr<Process>> Core::Attach(absl::string_view process_id, ProcessIO io) {
  std::shared_ptr<ProcState> st;
  {
    absl::MutexLock lock(&mu_);
    auto it = procs_.find(std::string(process_id));
    if (it != procs_.end()) st = it->second;
  }
  if (st == nullptr) return ProcessNotFoundError(process_id);
  const uint64_t handle = NextHandle();
  {
    absl::MutexLock lock(&st->mu);
    if (io.stdout_sink && !st->kept[0].empty()) io.stdout_sink(st->kept[0]);
    if (io.stderr_sink && !st->kept[1].empty()) io.stderr_sink(st->kept[1]);
    st->sinks[handle] = Sinks{io.stdout_sink, io.stderr_sink};
  }
  if (io.stdin_data.has_value()) {
    // Best effort: stdin may be closed (exited, or given to Run already).
    WriteStdin(st, *io.stdin_data, /*close=*/true).IgnoreError();
  }
  return std::make_unique<InitProcess>(shared_from_this(), st, handle);
}

std::vector<std::string> Core::RunningProcessIds() {
  std::vector<std::string> ids;
  absl::MutexLock lock(&mu_);
  for (auto& [id, st] : procs_) {
    absl::MutexLock plock(&st->mu);
    if (!st->exit_status && !st->lost) ids.push_back(id);
  }
  return ids;
}

int SignalNumber(Signal signal) { return signal == Signal::kKill ? SIGKILL : SIGTERM; }

absl::Status Core::SignalAll(Signal signal) {
  ip::Message request;
  request.type = ip::MessageType::kSignalAll;
  request.signal = SignalNumber(signal);
  absl::StatusOr<ip::Message> reply = Call(std::move(request), {});
  if (!reply.ok()) return reply.status();
  return StatusFromReply(*reply, "");
}

absl::Status Core::SignalProcess(const std::shared_ptr<ProcState>& state, Signal signal) {
  {
    absl::MutexLock lock(&state->mu);
    if (state->exit_status) return absl::OkStatus();
  }
  ip::Message request;
  request.type = ip::MessageType::kSignal;
  request.process_id = state->id;
  request.signal = SignalNumber(signal);
  absl::StatusOr<ip::Message> reply = Call(std::move(request), {});
  if (!reply.ok()) return reply.status();
  return StatusFromReply(*reply, state->id);
}

absl::Status Core::WriteStdin(const std::shared_ptr<ProcState>& state, absl::string_view data,
                              bool close) {
  {
    absl::MutexLock lock(&state->mu);
    if (state->stdin_from_data) {
      if (close) return absl::OkStatus();
      return absl::FailedPreconditionError(
          absl::StrCat("stdin of process '", state->id, "' was given as stdin_data"));
    }
    if (!state->stdin_open || state->stdin_closing) {
      if (close) return absl::OkStatus();
      return absl::FailedPreconditionError(
          absl::StrCat("stdin of process '", state->id, "' is closed"));
    }
    state->stdin_pending.append(data.data(), data.size());
    if (close) {
      if (state->tty) state->stdin_pending.push_back('\x04');
      state->stdin_closing = true;
    }
  }
  absl::MutexLock lock(&mu_);
  stdin_dirty_.push_back(state);
  WakeLocked();
  return absl::OkStatus();
}

absl::Status Core::Kill() {
  {
    absl::MutexLock lock(&mu_);
    if (killed_) return absl::OkStatus();
    if (shut_down_) return absl::FailedPreconditionError("container init handle is shut down");
  }
  if (PidfdSignal(pidfd_, SIGKILL) != 0 && errno != ESRCH) {
    return ErrnoStatus(absl::StatusCode::kInternal,
                       absl::StrCat("killing the container init (pid ", pid_, ")"), errno);
  }
  if (!WaitPidfd(pidfd_, kKillTimeout)) {
    return absl::DeadlineExceededError(
        absl::StrCat("the container init (pid ", pid_, ") did not exit within ",
                     absl::FormatDuration(kKillTimeout), " of SIGKILL"));
  }
  // Reaps it when we happen to be its parent (a subreaper); harmless if not.
  siginfo_t info;
  syscall(SYS_waitid, P_PIDFD, pidfd_, &info, WEXITED | WNOHANG, nullptr);
  {
    // Let the I/O thread record the processes' ends.
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + kKillTimeout;
    while (!init_dead_ && !shut_down_) {
      if (cv_.WaitWithDeadline(&mu_, deadline)) break;
    }
    killed_ = true;
  }
  const std::string socket_path = SocketPath(container_dir_);
  if (unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(absl::StatusCode::kInternal, absl::StrCat("removing ", socket_path), errno);
  }
  return absl::OkStatus();
}

bool Core::Alive() {
  {
    absl::MutexLock lock(&mu_);
    if (init_dead_ || killed_ || shut_down_) return false;
  }
  struct pollfd p = {pidfd_, POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

absl::Status Core::Recover() {
  ip::Message list;
  list.type = ip::MessageType::kList;
  auto merge = [this](const ip::Message& m, std::vector<int>&) {
    for (const auto& e : m.processes) {
      std::shared_ptr<ProcState> st;
      {
        absl::MutexLock lock(&mu_);
        if (procs_.count(e.id) != 0) continue;  // an exit event came first
        st = std::make_shared<ProcState>(e.id, e.tty);
        procs_[e.id] = st;
        if (!e.running) exited_.push_back(st);
      }
      absl::MutexLock lock(&st->mu);
      st->pid = e.pid;
      if (!e.running) st->exit_status = e.exit_status;
    }
  };
  absl::StatusOr<ip::Message> reply = Call(std::move(list), {}, merge);
  if (!reply.ok()) return reply.status();
  for (const auto& e : reply->processes) {
    if (!e.running) continue;
    std::shared_ptr<ProcState> st;
    {
      absl::MutexLock lock(&mu_);
      auto it = procs_.find(e.id);
      if (it == procs_.end()) continue;
      st = it->second;
    }
    ip::Message get;
    get.type = ip::MessageType::kGetFds;
    get.process_id = e.id;
    auto resume = [this, st](const ip::Message& m, std::vector<int>& fds) {
      if (m.code != ip::ReplyCode::kOk) return;
      {
        absl::MutexLock lock(&st->mu);
        if (st->exit_status) return;
      }
      if (st->tty && fds.size() == 1) {
        RegisterStreams(st, -1, -1, -1, fds[0]);
        fds[0] = -1;
      } else if (!st->tty && fds.size() == 2) {
        RegisterStreams(st, fds[0], fds[1], -1, -1);
        fds[0] = fds[1] = -1;
      }
    };
    absl::StatusOr<ip::Message> got = Call(std::move(get), {}, resume);
    if (!got.ok()) return got.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<int> InitProcess::Wait(absl::Time deadline) {
  absl::MutexLock lock(&state_->mu);
  while (!state_->exit_status && !state_->lost) {
    if (state_->cv.WaitWithDeadline(&state_->mu, deadline) && !state_->exit_status &&
        !state_->lost) {
      return absl::DeadlineExceededError(
          absl::StrCat("process '", state_->id, "' is still running"));
    }
  }
  if (state_->exit_status) return *state_->exit_status;
  return absl::UnavailableError(absl::StrCat(
      "lost the connection to the container init before process '", state_->id, "' exited"));
}

absl::Status InitProcess::Signal(garden::Signal signal) {
  return core_->SignalProcess(state_, signal);
}

absl::Status InitProcess::WriteStdin(absl::string_view data) {
  return core_->WriteStdin(state_, data, false);
}

absl::Status InitProcess::CloseStdin() { return core_->WriteStdin(state_, "", true); }

absl::Status InitProcess::SetTty(const TtySpec& tty) {
  if (!state_->tty) {
    return absl::FailedPreconditionError(absl::StrCat("process '", state_->id, "' has no tty"));
  }
  if (!tty.window_size.has_value()) return absl::OkStatus();
  absl::MutexLock lock(&state_->mu);
  if (state_->tty_ctl < 0) return absl::OkStatus();  // exited
  struct winsize ws;
  std::memset(&ws, 0, sizeof(ws));
  ws.ws_col = tty.window_size->columns;
  ws.ws_row = tty.window_size->rows;
  if (ioctl(state_->tty_ctl, TIOCSWINSZ, &ws) != 0) {
    return ErrnoStatus(absl::StatusCode::kInternal, "setting the window size", errno);
  }
  return absl::OkStatus();
}

class LinuxContainerInit : public ContainerInit {
 public:
  explicit LinuxContainerInit(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~LinuxContainerInit() override { core_->Shutdown(); }

  pid_t Pid() const override { return core_->pid(); }
  absl::StatusOr<std::unique_ptr<Process>> Run(const ProcessSpec& spec,
                                               const std::vector<std::string>& container_env,
                                               ProcessIO io) override {
    return core_->Run(spec, container_env, std::move(io));
  }
  absl::StatusOr<std::unique_ptr<Process>> Attach(absl::string_view process_id,
                                                  ProcessIO io) override {
    return core_->Attach(process_id, std::move(io));
  }
  std::vector<std::string> RunningProcessIds() override { return core_->RunningProcessIds(); }
  absl::Status SignalAll(Signal signal) override { return core_->SignalAll(signal); }
  absl::Status Kill() override { return core_->Kill(); }
  bool Alive() override { return core_->Alive(); }

 private:
  std::shared_ptr<Core> core_;
};

// Cleans up a failed start: kills pid 1 (if known) and the outer process,
// removes init.sock.
void AbortStart(pid_t outer, bool outer_reaped, int pidfd, const std::string& socket_path) {
  if (pidfd >= 0) {
    PidfdSignal(pidfd, SIGKILL);
    WaitPidfd(pidfd, kKillTimeout);
    close(pidfd);
  }
  if (!outer_reaped) {
    kill(outer, SIGKILL);  // our unreaped child: its pid cannot be reused
    while (waitpid(outer, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  unlink(socket_path.c_str());
}

absl::StatusOr<pid_t> SpawnInit(const std::string& binary, int child_end) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, child_end, ip::kConfigFd);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  char arg0[] = "diego-garden-init";
  char* argv[] = {arg0, nullptr};
  char* envp[] = {nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return ErrnoStatus(absl::StatusCode::kInternal, absl::StrCat("starting ", binary), rc);
  }
  return pid;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContainerInit>> ContainerInit::Start(const InitConfig& config) {
  for (const auto& [value, name] :
       {std::pair{&config.init_binary, "init_binary"}, std::pair{&config.handle, "handle"},
        std::pair{&config.container_dir, "container_dir"}, std::pair{&config.rootfs, "rootfs"}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("init config: ", name, " is empty"));
    }
  }
  const std::string socket_path = SocketPath(config.container_dir);
  ip::Message message;
  message.type = ip::MessageType::kConfig;
  ip::Config& c = message.config;
  c.hostname = config.handle.size() > kHostnameMax
                   ? config.handle.substr(config.handle.size() - kHostnameMax)
                   : config.handle;
  c.rootfs = config.rootfs;
  c.socket_path = socket_path;
  c.privileged = config.privileged;
  c.uid_map_start = config.uid_map_start;
  c.uid_map_length = config.uid_map_length;
  for (const auto& b : config.bind_mounts) {
    c.bind_mounts.push_back(ip::BindMountEntry{b.src_path, b.dst_path,
                                               b.mode == BindMountMode::kReadOnly,
                                               b.origin == BindMountOrigin::kContainer});
  }
  c.cgroup_procs_files = config.cgroup_procs_files;
  if (!config.etc_hosts_lines.empty()) {
    c.write_hosts = true;
    for (const auto& line : config.etc_hosts_lines) absl::StrAppend(&c.hosts, line, "\n");
  }
  if (!config.dns_servers.empty()) {
    c.write_resolv_conf = true;
    for (const auto& server : config.dns_servers) {
      absl::StrAppend(&c.resolv_conf, "nameserver ", server, "\n");
    }
  }

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoStatus(absl::StatusCode::kInternal, "socketpair", errno);
  }
  // Keep the child's end away from 0-3, which the spawn rearranges.
  int child_end = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  close(sv[1]);
  if (child_end < 0) {
    int e = errno;
    close(sv[0]);
    return ErrnoStatus(absl::StatusCode::kInternal, "fcntl", e);
  }
  const int control = sv[0];
  RaiseSendBuffer(control);
  // Queued before the init runs: it finds its config at once.
  int rc = ip::SendMessage(control, message);
  if (rc != 0) {
    close(control);
    close(child_end);
    return ErrnoStatus(absl::StatusCode::kInternal, "sending the init config", -rc);
  }
  absl::StatusOr<pid_t> outer = SpawnInit(config.init_binary, child_end);
  close(child_end);
  if (!outer.ok()) {
    close(control);
    return outer.status();
  }

  const absl::Time deadline = absl::Now() + config.start_timeout;
  pid_t init_pid = 0;
  int pidfd = -1;
  bool ready = false;
  absl::Status failure;
  while (failure.ok() && (!ready || init_pid == 0)) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) {
      failure = absl::DeadlineExceededError(absl::StrCat(
          "the container init did not start within ", absl::FormatDuration(config.start_timeout)));
      break;
    }
    struct pollfd p = {control, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(ms));
    if (n < 0 && errno != EINTR) {
      failure = ErrnoStatus(absl::StatusCode::kInternal, "poll", errno);
    }
    if (n <= 0) continue;
    ip::Message m;
    std::vector<int> fds;
    long got = ip::RecvMessage(control, &m, &fds, true);
    if (got == -EAGAIN || got == -EINTR) continue;
    if (got <= 0) {
      failure = absl::InternalError(
          got == 0 ? std::string("the container init exited before it was ready")
                   : absl::StrCat("reading from the container init: ",
                                  std::strerror(static_cast<int>(-got))));
    } else if (m.type == ip::MessageType::kStarted && fds.size() == 1) {
      init_pid = m.pid;
      pidfd = fds[0];
      fds.clear();
    } else if (m.type == ip::MessageType::kReady) {
      ready = true;
    } else if (m.type == ip::MessageType::kFailed) {
      failure = absl::InternalError(absl::StrCat("starting the container init: ", m.message));
    } else {
      failure = absl::InternalError("unexpected message from the container init");
    }
    for (int fd : fds) CloseFd(fd);
  }
  if (!failure.ok()) {
    AbortStart(*outer, false, pidfd, socket_path);
    close(control);
    return failure;
  }
  // The outer process exits right after releasing pid 1.
  while (waitpid(*outer, nullptr, 0) < 0 && errno == EINTR) {
  }
  auto core = std::make_shared<Core>(control, pidfd, init_pid, config.container_dir);
  absl::Status started = core->StartThread();
  if (!started.ok()) {
    PidfdSignal(pidfd, SIGKILL);
    WaitPidfd(pidfd, kKillTimeout);
    unlink(socket_path.c_str());
    return started;  // ~Core closes the fds
  }
  return std::make_unique<LinuxContainerInit>(std::move(core));
}

absl::StatusOr<std::unique_ptr<ContainerInit>> ContainerInit::Reconnect(
    absl::string_view container_dir, pid_t pid) {
  int pidfd = PidfdOpen(pid);
  if (pidfd < 0) {
    return absl::NotFoundError(
        absl::StrCat("container init (pid ", pid, ") is not running: ", std::strerror(errno)));
  }
  const std::string socket_path = SocketPath(container_dir);
  absl::StatusOr<int> sock = ConnectSocket(socket_path);
  if (!sock.ok()) {
    close(pidfd);
    return sock.status();
  }
  // Pid 1 itself called listen(), so the peer credentials name it.
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(*sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid != pid) {
    close(*sock);
    close(pidfd);
    return absl::FailedPreconditionError(absl::StrCat(socket_path, " is not served by pid ", pid));
  }
  RaiseSendBuffer(*sock);
  auto core = std::make_shared<Core>(*sock, pidfd, pid, std::string(container_dir));
  DIEGO_RETURN_IF_ERROR(core->StartThread());
  DIEGO_RETURN_IF_ERROR(core->Recover());
  return std::make_unique<LinuxContainerInit>(std::move(core));
}

}  // namespace diego::garden
