// Copyright 2026 The libdiego Authors.
//
// The blocking probers of the healthcheck binary: non-blocking sockets
// driven by ppoll against a CLOCK_MONOTONIC deadline (they bound real
// sockets, so no injectable clock), with Go's error texts.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/healthcheck/prober.h"
#include "http_probe.h"

namespace diego::healthcheck {
namespace {

using healthcheck_internal::BuildProbeRequest;
using healthcheck_internal::ProbeRequestTarget;
using healthcheck_internal::ProbeResponseParser;

// The most response bytes read before judging by the status alone (the body
// is only drained, never used); the multiplexed checker uses the same bound.
constexpr int64_t kMaxResponseBytes = 1 << 20;

// Go's http.DefaultTransport dials with a 30 s timeout of its own, whatever
// the client's Timeout: an HTTP connect never waits longer, even with no
// overall deadline (timeout <= 0). Its expiry is a timeout (code 65).
constexpr absl::Duration kHttpDialTimeout = absl::Seconds(30);

// A deadline that never passes.
constexpr absl::Duration kNoDeadline = absl::InfiniteDuration();

absl::Duration MonotonicNow() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::DurationFromTimespec(ts);
}

// Closes the fd on scope exit.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

enum class Outcome { kOk, kTimeout, kError };

// Waits until `fd` has `events` or `deadline` (monotonic; kNoDeadline waits
// without a bound) passes.
Outcome WaitFor(int fd, short events, absl::Duration deadline, int* error) {
  for (;;) {
    struct timespec ts;
    struct timespec* bound = nullptr;
    if (deadline != kNoDeadline) {
      absl::Duration left = deadline - MonotonicNow();
      if (left <= absl::ZeroDuration()) return Outcome::kTimeout;
      ts = absl::ToTimespec(left);
      bound = &ts;
    }
    struct pollfd pfd = {fd, events, 0};
    int n = ppoll(&pfd, 1, bound, nullptr);
    if (n > 0) return Outcome::kOk;
    if (n < 0 && errno != EINTR) {
      *error = errno;
      return Outcome::kError;
    }
  }
}

// A non-blocking TCP connect to ip:port bounded by `deadline`. On kOk `fd`
// holds the connected socket; on kError `syscall`/`error` say what failed.
Outcome Connect(const std::string& ip, uint16_t port, absl::Duration deadline, int* fd,
                const char** syscall, int* error) {
  *fd = -1;
  struct sockaddr_in sin = {};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &sin.sin_addr) != 1) {
    *syscall = "connect";
    *error = EINVAL;
    return Outcome::kError;
  }
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) {
    *syscall = "socket";
    *error = errno;
    return Outcome::kError;
  }
  *fd = s;
  *syscall = "connect";
  // Go checks the dial deadline before dialing: an expired one is a timeout.
  if (MonotonicNow() >= deadline) return Outcome::kTimeout;
  int rc;
  do {
    rc = connect(s, reinterpret_cast<struct sockaddr*>(&sin), sizeof(sin));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Outcome::kOk;
  if (errno != EINPROGRESS) {
    *error = errno;
    return Outcome::kError;
  }
  Outcome waited = WaitFor(s, POLLOUT, deadline, error);
  if (waited != Outcome::kOk) return waited;
  int so_error = 0;
  socklen_t len = sizeof(so_error);
  if (getsockopt(s, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
  if (so_error != 0) {
    *error = so_error;
    return Outcome::kError;
  }
  return Outcome::kOk;
}

}  // namespace

TcpProber::TcpProber(std::string ip, uint16_t port) : ip_(std::move(ip)), port_(port) {}

ProbeResult TcpProber::Probe(absl::Duration timeout) {
  const std::string addr = absl::StrCat(ip_, ":", port_);
  // net.DialTimeout: 0 is no deadline; a negative one has already expired
  // (Connect then reports a timeout before dialing).
  const absl::Duration deadline =
      timeout == absl::ZeroDuration() ? kNoDeadline : MonotonicNow() + timeout;
  int fd = -1;
  const char* syscall = "connect";
  int error = 0;
  Outcome outcome = Connect(ip_, port_, deadline, &fd, &syscall, &error);
  ScopedFd closer(fd);
  switch (outcome) {
    case Outcome::kOk:
      return ProbeResult::Ok();
    case Outcome::kTimeout:
      return TcpTimeoutResult(addr, timeout);
    case Outcome::kError:
      break;
  }
  return TcpErrorResult(addr, GoDialErrorText(addr, syscall, error));
}

HttpProber::HttpProber(std::string ip, uint16_t port, std::string path)
    : ip_(std::move(ip)), port_(port), path_(std::move(path)) {}

ProbeResult HttpProber::Probe(absl::Duration timeout) {
  std::string target;
  if (!ProbeRequestTarget(path_, &target)) return HttpBadRequestResult(path_, absl::StrCat(port_));
  const absl::Duration start = MonotonicNow();
  // http.Client{Timeout: t}: t <= 0 is no deadline; the dial is bounded by
  // the transport's own 30 s in any case.
  const absl::Duration deadline = timeout > absl::ZeroDuration() ? start + timeout : kNoDeadline;
  const absl::Duration dial_deadline = std::min(deadline, start + kHttpDialTimeout);
  // Every transport failure reads "connection refused" in Diego's binary.
  const ProbeResult refused = HttpErrorResult(path_, port_, "connection refused");
  const ProbeResult timed_out = HttpTimeoutResult(path_, port_, timeout);

  int fd = -1;
  const char* syscall = "connect";
  int error = 0;
  Outcome outcome = Connect(ip_, port_, dial_deadline, &fd, &syscall, &error);
  ScopedFd closer(fd);
  if (outcome == Outcome::kTimeout) return timed_out;
  if (outcome == Outcome::kError) return refused;

  const std::string request = BuildProbeRequest(ip_, port_, target);
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      outcome = WaitFor(fd, POLLOUT, deadline, &error);
      if (outcome == Outcome::kTimeout) return timed_out;
      if (outcome == Outcome::kError) return refused;
      continue;
    }
    return refused;
  }

  // Judged by the status once it is known: like Go, which ignores errors
  // while draining the body, a body that fails or times out still counts.
  ProbeResponseParser parser;
  absl::Duration headers_elapsed;
  bool headers_seen = false;
  auto judge = [&]() -> ProbeResult {
    if (parser.status() == 200) return ProbeResult::Ok();
    return HttpStatusResult(path_, port_, parser.status(), headers_elapsed);
  };
  int64_t received = 0;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    ProbeResponseParser::State state;
    if (n > 0) {
      received += n;
      state = parser.Feed(absl::string_view(buf, static_cast<size_t>(n)));
    } else if (n == 0) {
      state = parser.FeedEof();
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      outcome = WaitFor(fd, POLLIN, deadline, &error);
      if (outcome == Outcome::kOk) continue;
      if (parser.status() != 0) return judge();
      return outcome == Outcome::kTimeout ? timed_out : refused;
    } else {
      state = ProbeResponseParser::State::kError;
    }
    if (parser.status() != 0 && !headers_seen) {
      headers_seen = true;
      headers_elapsed = MonotonicNow() - start;
    }
    if (parser.status() != 0 &&
        (state != ProbeResponseParser::State::kNeedMore || received >= kMaxResponseBytes)) {
      return judge();
    }
    if (state == ProbeResponseParser::State::kError) return refused;
    if (state == ProbeResponseParser::State::kDone) return judge();
    if (received >= kMaxResponseBytes) return refused;  // no status in 1 MiB
  }
}

}  // namespace diego::healthcheck
