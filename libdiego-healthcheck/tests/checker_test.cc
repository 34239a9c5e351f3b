// Copyright 2026 The libdiego Authors.
//
// Tests of `MultiplexedChecker` against real sockets on 127.0.0.1: listeners
// that the kernel completes handshakes for, listeners whose accept queue is
// full (connects hang: timeouts), and small scripted HTTP servers run on
// threads of this process. Waits are bounded (`Collector::Await`,
// `fakes::PollUntil`); no assertion depends on how long anything took.

#include "diego/healthcheck/checker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/healthcheck/health_check.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/healthcheck/prober.h"
#include "diego/testing/child_process.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http_probe.h"
#include "loopback_server.h"

namespace diego::healthcheck {
namespace {

using ::testing::ContainsRegex;
using ::testing::UnorderedElementsAre;

constexpr char kLoopback[] = "127.0.0.1";
// Long enough never to fire in a test that does not want a timeout.
constexpr absl::Duration kNoTimeout = absl::Seconds(20);
// Bound of every wait for real I/O.
constexpr absl::Duration kBound = absl::Seconds(8);

// A listening socket on 127.0.0.1:0 that nobody accepts from: the kernel
// completes up to `backlog` + 1 handshakes on its own.
class Listener {
 public:
  explicit Listener(int backlog) {
    int port = 0;
    fd_ = healthcheck_test::ListenLoopback(backlog, &port);
    if (fd_ < 0) {
      ADD_FAILURE() << "listen: " << strerror(errno);
      return;
    }
    port_ = static_cast<uint16_t>(port);
  }
  ~Listener() {
    for (int fd : fillers_) close(fd);
    close(fd_);
  }

  // Fills the accept queue of a listen(fd, 0) listener so further SYNs are
  // dropped and connects hang until their deadline; waits (bounded) until
  // the listener reports the queue full, so no probe can connect by chance.
  void FillAcceptQueue() {
    for (int i = 0; i < 2; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (i == 0 ? 0 : SOCK_NONBLOCK), 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(port_);
      int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      if (i == 0) {
        EXPECT_EQ(rc, 0) << strerror(errno);
      }
      fillers_.push_back(fd);
    }
    // TCP_INFO of a listener reports its accept queue length in tcpi_unacked.
    EXPECT_TRUE(fakes::PollUntil(
        [this] {
          struct tcp_info info = {};
          socklen_t len = sizeof(info);
          return getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
                 info.tcpi_unacked >= 1;
        },
        absl::Seconds(5), absl::Milliseconds(1)))
        << "the accept queue never filled";
  }

  int fd() const { return fd_; }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fillers_;
};

// Writes all of `data` (false once the peer is gone).
bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// An HTTP server on its own thread. Connections are served one at a time by
// the accept thread: it reads the request head, records it, and runs the
// handler, which answers and closes, or keeps the connection (`Hold`).
class TestServer {
 public:
  using Handler = std::function<void(TestServer& server, int fd)>;

  explicit TestServer(Handler handler) : listener_(1024), handler_(std::move(handler)) {
    thread_ = std::thread([this] { AcceptLoop(); });
  }
  // A server answering every request with `response`, then closing.
  static std::unique_ptr<TestServer> Answering(std::string response) {
    return std::make_unique<TestServer>([response](TestServer&, int fd) {
      SendAll(fd, response);
      close(fd);
    });
  }
  // A server that reads the request and never answers.
  static std::unique_ptr<TestServer> Silent() {
    return std::make_unique<TestServer>([](TestServer& server, int fd) { server.Hold(fd); });
  }

  ~TestServer() {
    shutdown(listener_.fd(), SHUT_RDWR);  // wakes accept()
    thread_.join();
    absl::MutexLock lock(&mu_);
    for (int fd : held_) close(fd);
  }

  uint16_t port() const { return listener_.port(); }

  // Keeps `fd` open until the server is destroyed, or until `ReleaseHeld`;
  // after `ReleaseHeld` it answers at once.
  void Hold(int fd) {
    absl::MutexLock lock(&mu_);
    if (released_response_.has_value()) {
      SendAll(fd, *released_response_);
      close(fd);
      return;
    }
    held_.push_back(fd);
  }
  // Writes `response` to every held connection and to those held later, and
  // closes them.
  void ReleaseHeld(absl::string_view response) {
    absl::MutexLock lock(&mu_);
    released_response_ = std::string(response);
    for (int fd : held_) {
      SendAll(fd, response);
      close(fd);
    }
    held_.clear();
  }

  std::vector<std::string> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  size_t request_count() const {
    absl::MutexLock lock(&mu_);
    return requests_.size();
  }

 private:
  void AcceptLoop() {
    while (true) {
      int fd = accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // shut down
      }
      timeval tv{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(request);
      }
      handler_(*this, fd);
    }
  }

  Listener listener_;
  Handler handler_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<int> held_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> released_response_ ABSL_GUARDED_BY(mu_);
};

// Collects the results of `n` probes by index and counts calls per index.
class Collector {
 public:
  explicit Collector(int n) : results_(n), calls_(n, 0) {}

  std::function<void(const ProbeResult&)> Callback(int i) {
    return [this, i](const ProbeResult& result) {
      absl::MutexLock lock(&mu_);
      results_[i] = result;
      ++calls_[i];
      ++total_;
    };
  }

  // Waits (bounded) until `n` callbacks ran in all.
  bool Await(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return total_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kBound);
  }

  ProbeResult result(int i) {
    absl::MutexLock lock(&mu_);
    return results_[i].value_or(ProbeResult{-1, "no result"});
  }
  int calls(int i) {
    absl::MutexLock lock(&mu_);
    return calls_[i];
  }
  int total() {
    absl::MutexLock lock(&mu_);
    return total_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::optional<ProbeResult>> results_ ABSL_GUARDED_BY(mu_);
  std::vector<int> calls_ ABSL_GUARDED_BY(mu_);
  int total_ ABSL_GUARDED_BY(mu_) = 0;
};

std::unique_ptr<MultiplexedChecker> NewChecker(int max_in_flight = 1024) {
  auto checker = MultiplexedChecker::Create({.max_in_flight = max_in_flight});
  EXPECT_OK(checker.status());
  return checker.ok() ? std::move(checker).value() : nullptr;
}

// Runs one probe and waits for its result.
ProbeResult ProbeOnce(MultiplexedChecker& checker, const ProbeTarget& target,
                      absl::Duration timeout) {
  Collector collector(1);
  checker.ProbeAsync(target, timeout, collector.Callback(0));
  EXPECT_TRUE(collector.Await(1));
  return collector.result(0);
}

ProbeTarget Tcp(uint16_t port) { return ProbeTarget{kLoopback, port, ""}; }
ProbeTarget Http(uint16_t port, std::string path = "/health") {
  return ProbeTarget{kLoopback, port, std::move(path)};
}
std::string Addr(uint16_t port) { return absl::StrCat(kLoopback, ":", port); }

// What the blocking TcpProber says about a refused connect.
ProbeResult TcpRefused(uint16_t port) {
  return TcpErrorResult(Addr(port), GoDialErrorText(Addr(port), "connect", ECONNREFUSED));
}

// The elapsed-milliseconds part of a status message replaced by "N".
std::string WithoutMillis(std::string message) {
  size_t in = message.rfind(" in ");
  if (in != std::string::npos && absl::EndsWith(message, "ms")) {
    message = absl::StrCat(message.substr(0, in), " in Nms");
  }
  return message;
}

constexpr char k200[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST(CheckerTest, CreateRejectsNonPositiveMaxInFlight) {
  EXPECT_THAT(MultiplexedChecker::Create({.max_in_flight = 0}).status(),
              fakes::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CheckerTest, TcpProbePassesWhenTheConnectionIsEstablished) {
  Listener listener(16);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(ProbeOnce(*checker, Tcp(listener.port()), kNoTimeout), ProbeResult::Ok());
  CheckerStats stats = checker->Stats();
  EXPECT_EQ(stats.probes_started, 1u);
  EXPECT_EQ(stats.probes_passed, 1u);
  EXPECT_EQ(stats.probes_failed, 0u);
  EXPECT_EQ(stats.in_flight, 0u);
}

TEST(CheckerTest, TcpProbeOfAClosedPortIsConnectionRefused) {
  healthcheck_test::RefusingPort refusing;
  int port = refusing.port();
  ASSERT_GT(port, 0);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Tcp(port), kNoTimeout);
  EXPECT_EQ(result.exit_code, kExitTcpConnectFailed);
  EXPECT_EQ(result, TcpRefused(port));
  EXPECT_EQ(result.message, absl::StrCat("failed to make TCP connection to 127.0.0.1:", port,
                                         ": dial tcp 127.0.0.1:", port,
                                         ": connect: connection refused"));
  EXPECT_EQ(checker->Stats().probes_failed, 1u);
}

TEST(CheckerTest, TcpProbeTimesOutWhenTheAcceptQueueIsFull) {
  Listener listener(0);
  listener.FillAcceptQueue();
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Tcp(listener.port()), absl::Milliseconds(200));
  EXPECT_EQ(result.exit_code, kExitTcpTimeout);
  EXPECT_EQ(result, TcpTimeoutResult(Addr(listener.port()), absl::Milliseconds(200)));
}

TEST(CheckerTest, EachProbeTimesOutOnItsOwnDeadline) {
  // Different timeouts submitted out of order: every probe reports its own.
  Listener listener(0);
  listener.FillAcceptQueue();
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  const std::vector<int> timeouts_ms = {250, 50, 200, 100, 150, 60, 240, 80};
  Collector collector(timeouts_ms.size());
  for (size_t i = 0; i < timeouts_ms.size(); ++i) {
    checker->ProbeAsync(Tcp(listener.port()), absl::Milliseconds(timeouts_ms[i]),
                        collector.Callback(i));
  }
  ASSERT_TRUE(collector.Await(timeouts_ms.size()));
  for (size_t i = 0; i < timeouts_ms.size(); ++i) {
    EXPECT_EQ(collector.result(i),
              TcpTimeoutResult(Addr(listener.port()), absl::Milliseconds(timeouts_ms[i])));
    EXPECT_EQ(collector.calls(i), 1);
  }
}

TEST(CheckerTest, HttpProbeSendsTheSharedRequestAndPassesOn200) {
  auto server = TestServer::Answering(k200);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(ProbeOnce(*checker, Http(server->port()), kNoTimeout), ProbeResult::Ok());
  EXPECT_THAT(server->requests(), UnorderedElementsAre(healthcheck_internal::BuildProbeRequest(
                                      kLoopback, server->port(), "/health")));
}

TEST(CheckerTest, HttpProbeReportsANon200StatusWithItsElapsedMilliseconds) {
  auto server = TestServer::Answering(
      "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!");
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Http(server->port(), "/ready"), kNoTimeout);
  EXPECT_EQ(result.exit_code, kExitHttpBadStatus);
  EXPECT_THAT(result.message,
              ContainsRegex(absl::StrCat("^failed to make HTTP request to '/ready' on port ",
                                         server->port(), ": received status code 500 in [0-9]+ms$")));
  // Same text as the shared builder, whatever the milliseconds were.
  EXPECT_EQ(WithoutMillis(result.message),
            WithoutMillis(HttpStatusResult("/ready", server->port(), 500, absl::Milliseconds(1))
                              .message));
}

TEST(CheckerTest, HttpProbeDrainsChunkedBodies) {
  auto ok = TestServer::Answering(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto unavailable = TestServer::Answering(
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nbusy\r\n0\r\n\r\n");
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(ProbeOnce(*checker, Http(ok->port()), kNoTimeout), ProbeResult::Ok());
  ProbeResult result = ProbeOnce(*checker, Http(unavailable->port()), kNoTimeout);
  EXPECT_EQ(result.exit_code, kExitHttpBadStatus);
  EXPECT_THAT(result.message, ContainsRegex("received status code 503 in [0-9]+ms$"));
}

TEST(CheckerTest, HttpProbeCompletesOnContentLengthWithoutWaitingForClose) {
  // The server answers and keeps the connection open: Content-Length alone
  // must end the probe (the 20 s timeout would otherwise decide).
  TestServer server([](TestServer& self, int fd) {
    SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
    self.Hold(fd);
  });
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(ProbeOnce(*checker, Http(server.port()), kNoTimeout), ProbeResult::Ok());
}

TEST(CheckerTest, HttpProbeReadsACloseDelimitedBody) {
  auto ok = TestServer::Answering("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until close");
  auto not_found = TestServer::Answering("HTTP/1.0 404 Not Found\r\n\r\nnothing here");
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(ProbeOnce(*checker, Http(ok->port()), kNoTimeout), ProbeResult::Ok());
  ProbeResult result = ProbeOnce(*checker, Http(not_found->port()), kNoTimeout);
  EXPECT_EQ(result.exit_code, kExitHttpBadStatus);
  EXPECT_THAT(result.message, ContainsRegex("received status code 404 in [0-9]+ms$"));
}

TEST(CheckerTest, HttpProbeReportsAMalformedResponseAsConnectionRefused) {
  // Diego's binary says "connection refused" for every transport error.
  auto server = TestServer::Answering("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Http(server->port()), kNoTimeout);
  EXPECT_EQ(result.exit_code, kExitHttpConnectFailed);
  EXPECT_EQ(result, HttpErrorResult("/health", server->port(), "connection refused"));
}

TEST(CheckerTest, HttpProbeOfAServerClosingWithoutAnswerIsATransportError) {
  auto server = TestServer::Answering("");
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Http(server->port()), kNoTimeout);
  EXPECT_EQ(result.exit_code, kExitHttpConnectFailed);
  EXPECT_EQ(result, HttpErrorResult("/health", server->port(), "connection refused"));
}

TEST(CheckerTest, HttpProbeOfAResetConnectionIsConnectionRefused) {
  TestServer server([](TestServer&, int fd) {
    linger abort{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    close(fd);  // RST
  });
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Http(server.port()), kNoTimeout);
  EXPECT_EQ(result, HttpErrorResult("/health", server.port(), "connection refused"));
}

TEST(CheckerTest, HttpProbeStopsDrainingAnOversizedBody) {
  // The body never ends (Content-Length 1 GiB, streamed until the checker
  // hangs up): the probe ends after the 1 MiB bound, judged by its status.
  auto streaming = [](int status) {
    return [status](TestServer&, int fd) {
      if (SendAll(fd, absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: 1073741824\r\n\r\n"))) {
        const std::string chunk(64 * 1024, 'x');
        for (int i = 0; i < 1024 && SendAll(fd, chunk); ++i) {
        }
      }
      close(fd);
    };
  };
  TestServer ok(streaming(200));
  TestServer bad(streaming(502));
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(ProbeOnce(*checker, Http(ok.port()), kNoTimeout), ProbeResult::Ok());
  ProbeResult result = ProbeOnce(*checker, Http(bad.port()), kNoTimeout);
  EXPECT_EQ(result.exit_code, kExitHttpBadStatus);
  EXPECT_THAT(result.message, ContainsRegex("received status code 502 in [0-9]+ms$"));
}

TEST(CheckerTest, HttpProbeEscapesThePathAsGoDoes) {
  auto server = TestServer::Answering(k200);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(ProbeOnce(*checker, Http(server->port(), "/a b?x=1"), kNoTimeout), ProbeResult::Ok());
  std::vector<std::string> requests = server->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(requests[0], "GET /a%20b?x=1 HTTP/1.1\r\n")) << requests[0];
}

TEST(CheckerTest, HttpProbeOfAnUnparsableUrlIsABadRequest) {
  auto server = TestServer::Answering(k200);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Http(server->port(), "/bad%zz"), kNoTimeout);
  EXPECT_EQ(result.exit_code, kExitHttpBadStatus);
  EXPECT_EQ(result, HttpBadRequestResult("/bad%zz", absl::StrCat(server->port())));
  EXPECT_EQ(server->request_count(), 0u);
}

TEST(CheckerTest, NonPositiveTimeoutsFollowGo) {
  // net.DialTimeout(..., 0) and http.Client{Timeout: <= 0} have no deadline;
  // Go's dialer treats a negative timeout as already expired.
  Listener listener(16);
  auto server = TestServer::Answering(k200);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  EXPECT_EQ(ProbeOnce(*checker, Tcp(listener.port()), absl::ZeroDuration()), ProbeResult::Ok());
  EXPECT_EQ(ProbeOnce(*checker, Http(server->port()), absl::ZeroDuration()), ProbeResult::Ok());
  EXPECT_EQ(ProbeOnce(*checker, Http(server->port()), absl::Seconds(-1)), ProbeResult::Ok());
  EXPECT_EQ(ProbeOnce(*checker, Http(server->port(), "/bad%zz"), absl::ZeroDuration()),
            HttpBadRequestResult("/bad%zz", absl::StrCat(server->port())));
  EXPECT_EQ(ProbeOnce(*checker, Tcp(listener.port()), absl::Seconds(-1)),
            TcpTimeoutResult(Addr(listener.port()), absl::Seconds(-1)));
}

TEST(CheckerTest, AProbeWithoutDeadlineWaitsForTheServer) {
  // No deadline: the probe stays in flight until the server answers, which
  // it does only once the test has seen the request.
  auto server = TestServer::Silent();
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  Collector collector(1);
  checker->ProbeAsync(Http(server->port()), absl::ZeroDuration(), collector.Callback(0));
  ASSERT_TRUE(fakes::PollUntil([&] { return server->request_count() == 1; }, kBound,
                               absl::Milliseconds(1)));
  EXPECT_EQ(checker->Stats().in_flight, 1u);
  EXPECT_EQ(collector.total(), 0);
  server->ReleaseHeld(k200);
  ASSERT_TRUE(collector.Await(1));
  EXPECT_EQ(collector.result(0), ProbeResult::Ok());
}

TEST(CheckerTest, HttpProbeOfAClosedPortIsConnectionRefused) {
  healthcheck_test::RefusingPort refusing;
  int port = refusing.port();
  ASSERT_GT(port, 0);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Http(port), kNoTimeout);
  EXPECT_EQ(result.exit_code, kExitHttpConnectFailed);
  EXPECT_EQ(result, HttpErrorResult("/health", port, "connection refused"));
}

TEST(CheckerTest, HttpProbeTimesOutWhenTheServerNeverAnswers) {
  auto server = TestServer::Silent();
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Http(server->port()), absl::Milliseconds(200));
  EXPECT_EQ(result.exit_code, kExitHttpTimeout);
  EXPECT_EQ(result, HttpTimeoutResult("/health", server->port(), absl::Milliseconds(200)));
}

TEST(CheckerTest, HttpProbeTimesOutWhenTheConnectHangs) {
  Listener listener(0);
  listener.FillAcceptQueue();
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  ProbeResult result = ProbeOnce(*checker, Http(listener.port()), absl::Milliseconds(150));
  EXPECT_EQ(result, HttpTimeoutResult("/health", listener.port(), absl::Milliseconds(150)));
}

TEST(CheckerTest, HttpBodyStillDrainingAtTheDeadlineIsJudgedByItsStatus) {
  // Go's client returns once the headers are in and the healthcheck ignores
  // the error of draining the body: the status decides.
  TestServer server([](TestServer& self, int fd) {
    SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
    self.Hold(fd);
  });
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  // The deadline must fire while the body drains, so it cannot be
  // generous; it still leaves the server thread 2 s to send the headers on
  // a loaded machine (the test waits for it in full).
  EXPECT_EQ(ProbeOnce(*checker, Http(server.port()), absl::Seconds(2)), ProbeResult::Ok());
}

TEST(CheckerTest, ManyConcurrentProbesEachCompleteExactlyOnce) {
  constexpr int kTcp = 400;
  constexpr int kHttp = 100;
  constexpr int kRefused = 20;
  Listener listener(1024);  // handshakes completed by the kernel
  auto server = TestServer::Answering(k200);
  healthcheck_test::RefusingPort refusing;
  int closed_port = refusing.port();
  ASSERT_GT(closed_port, 0);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);

  constexpr int kTotal = kTcp + kHttp + kRefused;
  Collector collector(kTotal);
  // Submitted from two threads at once.
  std::thread other([&] {
    for (int i = 0; i < kTcp; ++i) {
      checker->ProbeAsync(Tcp(listener.port()), kNoTimeout, collector.Callback(i));
    }
  });
  for (int i = 0; i < kHttp; ++i) {
    checker->ProbeAsync(Http(server->port()), kNoTimeout, collector.Callback(kTcp + i));
  }
  for (int i = 0; i < kRefused; ++i) {
    checker->ProbeAsync(Tcp(closed_port), kNoTimeout, collector.Callback(kTcp + kHttp + i));
  }
  other.join();
  ASSERT_TRUE(collector.Await(kTotal));

  for (int i = 0; i < kTotal; ++i) {
    ASSERT_EQ(collector.calls(i), 1) << "probe " << i;
    if (i < kTcp + kHttp) {
      EXPECT_EQ(collector.result(i), ProbeResult::Ok()) << "probe " << i;
    } else {
      EXPECT_EQ(collector.result(i), TcpRefused(closed_port));
    }
  }
  EXPECT_EQ(server->request_count(), static_cast<size_t>(kHttp));
  CheckerStats stats = checker->Stats();
  EXPECT_EQ(stats.probes_started, static_cast<uint64_t>(kTotal));
  EXPECT_EQ(stats.probes_passed, static_cast<uint64_t>(kTcp + kHttp));
  EXPECT_EQ(stats.probes_failed, static_cast<uint64_t>(kRefused));
  EXPECT_EQ(stats.in_flight, 0u);
}

TEST(CheckerTest, MaxInFlightQueuesTheRest) {
  // Probes /p0../p4 with room for two: the server holds what it gets until
  // released, so only /p0 and /p1 can have started.
  TestServer server([](TestServer& self, int fd) { self.Hold(fd); });
  auto checker = NewChecker(/*max_in_flight=*/2);
  ASSERT_NE(checker, nullptr);
  constexpr int kProbes = 5;
  Collector collector(kProbes);
  for (int i = 0; i < kProbes; ++i) {
    checker->ProbeAsync(Http(server.port(), absl::StrCat("/p", i)), kNoTimeout,
                        collector.Callback(i));
  }
  ASSERT_TRUE(fakes::PollUntil([&] { return server.request_count() == 2; }, kBound));
  EXPECT_EQ(checker->Stats().probes_started, 2u);
  EXPECT_EQ(checker->Stats().in_flight, 2u);
  std::vector<std::string> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_THAT(std::vector<std::string>({requests[0].substr(0, 8), requests[1].substr(0, 8)}),
              UnorderedElementsAre("GET /p0 ", "GET /p1 "));
  EXPECT_EQ(collector.total(), 0);

  server.ReleaseHeld(k200);
  ASSERT_TRUE(collector.Await(kProbes));
  requests = server.requests();
  ASSERT_EQ(requests.size(), static_cast<size_t>(kProbes));
  std::vector<std::string> lines;
  for (const std::string& request : requests) lines.push_back(request.substr(0, 8));
  EXPECT_THAT(lines, UnorderedElementsAre("GET /p0 ", "GET /p1 ", "GET /p2 ", "GET /p3 ",
                                          "GET /p4 "));
  for (int i = 0; i < kProbes; ++i) {
    EXPECT_EQ(collector.calls(i), 1);
    EXPECT_EQ(collector.result(i), ProbeResult::Ok());
  }
  EXPECT_EQ(checker->Stats().probes_started, static_cast<uint64_t>(kProbes));
}

TEST(CheckerTest, CallbacksMaySubmitProbes) {
  Listener listener(16);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  Collector collector(2);
  auto second = collector.Callback(1);
  auto first = collector.Callback(0);
  MultiplexedChecker* raw = checker.get();
  uint16_t port = listener.port();
  checker->ProbeAsync(Tcp(port), kNoTimeout, [&, raw, port](const ProbeResult& result) {
    first(result);
    raw->ProbeAsync(Tcp(port), kNoTimeout, second);
  });
  ASSERT_TRUE(collector.Await(2));
  EXPECT_EQ(collector.result(0), ProbeResult::Ok());
  EXPECT_EQ(collector.result(1), ProbeResult::Ok());
}

TEST(CheckerTest, DestructorCancelsInFlightAndQueuedProbesOnce) {
  auto server = TestServer::Silent();
  auto checker = NewChecker(/*max_in_flight=*/3);
  ASSERT_NE(checker, nullptr);
  constexpr int kProbes = 6;  // three in flight, three queued
  Collector collector(kProbes);
  for (int i = 0; i < kProbes; ++i) {
    checker->ProbeAsync(Http(server->port()), kNoTimeout, collector.Callback(i));
  }
  ASSERT_TRUE(fakes::PollUntil([&] { return server->request_count() == 3; }, kBound));
  EXPECT_EQ(collector.total(), 0);
  checker.reset();
  EXPECT_EQ(collector.total(), kProbes);
  for (int i = 0; i < kProbes; ++i) {
    EXPECT_EQ(collector.calls(i), 1);
    EXPECT_EQ(collector.result(i), CancelledResult());
    EXPECT_EQ(collector.result(i), (ProbeResult{kExitUnknown, "cancelled"}));
  }
}

TEST(CheckerTest, NewProberIsABlockingAdapter) {
  Listener listener(16);
  auto server = TestServer::Answering(k200);
  healthcheck_test::RefusingPort refusing;
  int closed_port = refusing.port();
  ASSERT_GT(closed_port, 0);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);

  std::unique_ptr<Prober> tcp = checker->NewProber(Tcp(listener.port()));
  std::unique_ptr<Prober> http = checker->NewProber(Http(server->port()));
  std::unique_ptr<Prober> refused = checker->NewProber(Http(closed_port, "/"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(tcp->Probe(kNoTimeout), ProbeResult::Ok());
    EXPECT_EQ(http->Probe(kNoTimeout), ProbeResult::Ok());
    EXPECT_EQ(refused->Probe(kNoTimeout), HttpErrorResult("/", closed_port, "connection refused"));
  }
  EXPECT_EQ(checker->Stats().probes_started, 9u);
}

TEST(CheckerTest, NewProberRunsAHealthCheckLoop) {
  // One-shot mode of the shared loop through the adapter (its clock only
  // matters between probes, and there is a single probe).
  healthcheck_test::RefusingPort refusing;
  int closed_port = refusing.port();
  ASSERT_GT(closed_port, 0);
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  std::unique_ptr<Prober> prober = checker->NewProber(Tcp(closed_port));
  HealthCheckConfig config;
  EXPECT_EQ(RunHealthCheck(config, *prober, *Clock::Real(), nullptr), TcpRefused(closed_port));
}

TEST(CheckerDeathTest, DestroyingTheCheckerFromItsOwnCallbackIsACheckFailure) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Listener listener(16);
        auto created = MultiplexedChecker::Create();
        if (!created.ok()) return;
        MultiplexedChecker* checker = created->release();
        absl::Notification never;
        checker->ProbeAsync(Tcp(listener.port()), kNoTimeout,
                            [checker](const ProbeResult&) { delete checker; });
        never.WaitForNotificationWithTimeout(kBound);
      },
      "destroyed from one of its own done callbacks");
}

// The checker and the blocking probers give the same results.
TEST(CheckerTest, MatchesTheBlockingProbers) {
  Listener open_listener(16);
  Listener full_listener(0);
  full_listener.FillAcceptQueue();
  healthcheck_test::RefusingPort refusing;
  int closed_port = refusing.port();
  ASSERT_GT(closed_port, 0);
  auto ok = TestServer::Answering(k200);
  auto error = TestServer::Answering("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n");
  auto garbage = TestServer::Answering("nonsense\r\n\r\n");
  auto silent = TestServer::Silent();
  auto checker = NewChecker();
  ASSERT_NE(checker, nullptr);
  // Cases that must time out get a short deadline (their peers never
  // answer); every other case a generous one, so a slow server thread
  // cannot turn it into a timeout on one side only.
  const absl::Duration expires = absl::Milliseconds(150);

  struct Case {
    std::string name;
    ProbeTarget target;
    std::unique_ptr<Prober> blocking;
    absl::Duration timeout;
  };
  std::vector<Case> cases;
  auto add_tcp = [&](std::string name, uint16_t port, absl::Duration timeout) {
    cases.push_back({name, Tcp(port), std::make_unique<TcpProber>(kLoopback, port), timeout});
  };
  auto add_http = [&](std::string name, uint16_t port, absl::Duration timeout) {
    cases.push_back({name, Http(port), std::make_unique<HttpProber>(kLoopback, port, "/health"),
                     timeout});
  };
  add_tcp("tcp ok", open_listener.port(), kNoTimeout);
  add_tcp("tcp refused", closed_port, kNoTimeout);
  add_tcp("tcp timeout", full_listener.port(), expires);
  add_tcp("tcp no deadline", open_listener.port(), absl::ZeroDuration());
  add_tcp("tcp expired", open_listener.port(), absl::Seconds(-1));
  add_http("http ok", ok->port(), kNoTimeout);
  add_http("http 500", error->port(), kNoTimeout);
  add_http("http malformed", garbage->port(), kNoTimeout);
  add_http("http refused", closed_port, kNoTimeout);
  add_http("http timeout", silent->port(), expires);
  add_http("http connect timeout", full_listener.port(), expires);
  add_http("http no deadline", ok->port(), absl::ZeroDuration());
  add_http("http negative", ok->port(), absl::Seconds(-1));
  cases.push_back({"http bad url", Http(ok->port(), "/bad%zz"),
                   std::make_unique<HttpProber>(kLoopback, ok->port(), "/bad%zz"), kNoTimeout});
  cases.push_back({"tcp bad ip", ProbeTarget{"300.1.2.3", 80, ""},
                   std::make_unique<TcpProber>("300.1.2.3", 80), kNoTimeout});
  for (Case& c : cases) {
    ProbeResult blocking = c.blocking->Probe(c.timeout);
    ProbeResult multiplexed = ProbeOnce(*checker, c.target, c.timeout);
    EXPECT_EQ(multiplexed.exit_code, blocking.exit_code) << c.name;
    EXPECT_EQ(WithoutMillis(multiplexed.message), WithoutMillis(blocking.message)) << c.name;
  }
}

}  // namespace
}  // namespace diego::healthcheck
