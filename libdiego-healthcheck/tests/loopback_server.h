// Copyright 2026 The libdiego Authors.
//
// Test-only servers on 127.0.0.1 for the probers and the diego-healthcheck
// binary (header-only; used by tests/probers_test.cc, tests/checker_test.cc
// and apps/diego-healthcheck/healthcheck_app_test.cc):
//
//   - `ScriptedHttpServer`: accepts connections one at a time on a thread,
//     reads each request head, records it, then writes the configured raw
//     response bytes and closes, or (with `hang`) keeps the connection open
//     without answering until the server is destroyed.
//   - `FullBacklogListener`: a listener (backlog 0) whose accept queue is
//     filled by one connection it never accepts, so further SYNs are dropped
//     and a connect times out: a TCP timeout on loopback.
//   - `RefusingPort`: a port held by a socket that is bound but not listening,
//     so a connect to it is refused (ECONNREFUSED) for as long as the object
//     lives, and no other process can take the port meanwhile.

#ifndef DIEGO_HEALTHCHECK_TESTS_LOOPBACK_SERVER_H_
#define DIEGO_HEALTHCHECK_TESTS_LOOPBACK_SERVER_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/testing/child_process.h"

namespace diego::healthcheck_test {

// A socket bound to 127.0.0.1:0 and listening with `backlog`; -1 on error.
inline int ListenLoopback(int backlog, int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in sin = {};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sin);
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&sin), sizeof(sin)) != 0 ||
      listen(fd, backlog) != 0 ||
      getsockname(fd, reinterpret_cast<struct sockaddr*>(&sin), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(sin.sin_port);
  return fd;
}

class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    struct sockaddr_in sin = {};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    // Bound, never listen(): SYNs to the port are answered with RST.
    if (bind(fd_, reinterpret_cast<struct sockaddr*>(&sin), sizeof(sin)) != 0 ||
        getsockname(fd_, reinterpret_cast<struct sockaddr*>(&sin), &len) != 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
    port_ = ntohs(sin.sin_port);
  }
  ~RefusingPort() {
    if (fd_ >= 0) close(fd_);
  }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  // The port; 0 if the socket could not be bound.
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class ScriptedHttpServer {
 public:
  ScriptedHttpServer() {
    listen_fd_ = ListenLoopback(16, &port_);
    if (pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedHttpServer() {
    char c = 'x';
    if (write(wake_[1], &c, 1) < 0) {
    }
    thread_.join();
    for (int fd : held_) close(fd);
    if (listen_fd_ >= 0) close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
  }

  int port() const { return port_; }
  bool ok() const { return listen_fd_ >= 0 && wake_[0] >= 0; }

  // The raw bytes written after each request head ("" writes nothing), and
  // whether the connection is then held open instead of closed.
  void Respond(std::string response, bool hang = false) {
    absl::MutexLock lock(&mu_);
    response_ = std::move(response);
    hang_ = hang;
  }
  // Shorthand: an HTTP/1.1 response with `status` and `body`.
  void RespondStatus(int status, const std::string& body = "ok") {
    Respond("HTTP/1.1 " + std::to_string(status) +
            " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  // The request heads received so far (through the blank line).
  std::vector<std::string> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  // Waits for `fd` to be readable; false once the server is shutting down.
  bool WaitReadable(int fd) {
    struct pollfd pfds[2] = {{fd, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    for (;;) {
      int n = poll(pfds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || (pfds[1].revents & POLLIN)) return false;
      if (pfds[0].revents != 0) return true;
    }
  }

  void Serve() {
    while (WaitReadable(listen_fd_)) {
      int conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      std::string head;
      char buf[4096];
      bool complete = false;
      while (!complete && WaitReadable(conn)) {
        ssize_t n = read(conn, buf, sizeof(buf));
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
        complete = head.find("\r\n\r\n") != std::string::npos;
      }
      std::string response;
      bool hang;
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(head);
        response = response_;
        hang = hang_;
      }
      size_t sent = 0;
      while (sent < response.size()) {
        ssize_t n = send(conn, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      if (hang) {
        held_.push_back(conn);
      } else {
        close(conn);
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};
  std::vector<int> held_;  // server thread only, then the destructor
  mutable absl::Mutex mu_;
  std::string response_ ABSL_GUARDED_BY(mu_) = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  bool hang_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class FullBacklogListener {
 public:
  FullBacklogListener() {
    listen_fd_ = ListenLoopback(0, &port_);
    if (listen_fd_ < 0) return;
    filler_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(static_cast<uint16_t>(port_));
    if (connect(filler_, reinterpret_cast<struct sockaddr*>(&sin), sizeof(sin)) != 0) return;
    // The listener's TCP_INFO reports its accept queue length in
    // tcpi_unacked: wait (bounded) until the filler sits in it.
    full_ = fakes::PollUntil(
        [this] {
          struct tcp_info info = {};
          socklen_t len = sizeof(info);
          return getsockopt(listen_fd_, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
                 info.tcpi_unacked >= 1;
        },
        absl::Seconds(5), absl::Milliseconds(1));
  }
  ~FullBacklogListener() {
    if (filler_ >= 0) close(filler_);
    if (listen_fd_ >= 0) close(listen_fd_);
  }

  int port() const { return port_; }
  // Whether the accept queue is full (connects to port() will time out).
  bool full() const { return full_; }

 private:
  int listen_fd_ = -1;
  int filler_ = -1;
  int port_ = 0;
  bool full_ = false;
};

}  // namespace diego::healthcheck_test

#endif  // DIEGO_HEALTHCHECK_TESTS_LOOPBACK_SERVER_H_
