// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: prober.h
// -----------------------------------------------------------------------------
//
// `Prober` is the seam between a health-check loop and the network: one call
// is one probe (one TCP connect, or one HTTP GET). `TcpProber` and
// `HttpProber` are the blocking implementations Diego's `healthcheck` binary
// uses (diego-spec.md 7.1); `MultiplexedChecker::NewProber` (checker.h)
// returns one that runs on the checker's epoll thread instead. Tests use
// `fakes::FakeProber`-style scripted probers.
//
//   TcpProber: passes when a TCP connection to ip:port is established within
//     `timeout`. Timeout -> kExitTcpTimeout
//     "failed to make TCP connection to <ip:port>: timed out after <t> seconds";
//     any other error -> kExitTcpConnectFailed
//     "failed to make TCP connection to <ip:port>: <error>" where <error> is
//     Go's whole dial error, e.g. "dial tcp <ip:port>: connect: connection
//     refused" (GoDialErrorText in probe_result.h). <t> is "%.2f" seconds.
//   HttpProber: GET http://<ip>:<port><uri> with `User-Agent: diego-healthcheck`
//     and `X-Forwarded-Proto: https`, connect + request bounded by `timeout`
//     (the connect also by Go's transport dial timeout, 30 s), body drained;
//     passes only on status 200. Non-200 -> kExitHttpBadStatus
//     "failed to make HTTP request to '<uri>' on port <p>: received status code <n> in <ms>ms";
//     timeout -> kExitHttpTimeout "... timed out after <t> seconds"; other
//     transport errors (refused, reset, closed before or malformed status
//     line) -> kExitHttpConnectFailed "... connection refused"; a `path` that
//     makes http://<ip>:<port><path> unparsable for Go's url.Parse (no
//     leading '/', '?' or '#', a bad %-escape, a control byte) ->
//     kExitHttpBadStatus "failed to create an HTTP request to '<uri>' on port
//     <p>", without connecting. The path is sent as Go's URL.RequestURI()
//     (escaped path, query, no fragment). Once the status is known, a body
//     that times out, breaks or exceeds 1 MiB does not change the verdict
//     (Go ignores body read errors). Redirects are not followed (Go's client
//     would follow them).
//
// Timeouts <= 0 follow Go: `net.DialTimeout(..., 0)` and
// `http.Client{Timeout: 0}` have no deadline. So TCP with 0 and HTTP with
// any timeout <= 0 wait as long as the peer takes (HTTP's connect still at
// most 30 s); TCP with a negative timeout has expired before the dial (a
// timeout, as Go's dialer treats negative timeouts).
//
// Thread-safety: a Prober may be called from one thread at a time.

#ifndef DIEGO_HEALTHCHECK_PROBER_H_
#define DIEGO_HEALTHCHECK_PROBER_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/healthcheck/probe_result.h"

namespace diego::healthcheck {

class Prober {
 public:
  virtual ~Prober() = default;

  // Performs one probe, bounded by `timeout`. With a `timeout` > 0 never
  // blocks longer than `timeout` plus scheduling slack; <= 0 as described in
  // the file comment (may wait without a bound).
  virtual ProbeResult Probe(absl::Duration timeout) = 0;
};

// One TCP or HTTP target. `path` empty = a TCP check (the binary's `-uri`
// semantics); otherwise an HTTP GET of `path` (which should start with '/').
struct ProbeTarget {
  std::string ip;  // IPv4 literal
  uint16_t port = 8080;
  std::string path;

  bool is_http() const { return !path.empty(); }
  bool operator==(const ProbeTarget&) const = default;
};

class TcpProber final : public Prober {
 public:
  TcpProber(std::string ip, uint16_t port);
  ProbeResult Probe(absl::Duration timeout) override;

 private:
  std::string ip_;
  uint16_t port_;
};

class HttpProber final : public Prober {
 public:
  HttpProber(std::string ip, uint16_t port, std::string path);
  ProbeResult Probe(absl::Duration timeout) override;

 private:
  std::string ip_;
  uint16_t port_;
  std::string path_;
};

}  // namespace diego::healthcheck

#endif  // DIEGO_HEALTHCHECK_PROBER_H_
