// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: probe_result.h
// -----------------------------------------------------------------------------
//
// The outcome of one health probe, or of a whole check run, in the terms of
// Diego's `healthcheck` binary (cloudfoundry/healthcheck, diego-spec.md 7.1):
// an exit code and the message the binary prints. Every prober and every
// loop in this library reports a `ProbeResult`, so the binary, the
// multiplexed checker and the executor's check steps all produce the same
// user-visible text.
//
// A failed probe is a *result*, not an error of the caller: it is returned as
// data, and `absl::Status` is kept for misuse (bad flags, no interface).

#ifndef DIEGO_HEALTHCHECK_PROBE_RESULT_H_
#define DIEGO_HEALTHCHECK_PROBE_RESULT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace diego::healthcheck {

// The binary's exit codes (healthcheck's cmd/healthcheck/main.go).
inline constexpr int kExitOk = 0;
inline constexpr int kExitNoInterface = 3;      // "failure to find suitable interface"
inline constexpr int kExitTcpConnectFailed = 4;  // TCP: any error but a timeout
inline constexpr int kExitHttpConnectFailed = 5; // HTTP: connection refused / transport
inline constexpr int kExitHttpBadStatus = 6;     // HTTP: non-200, or a bad request
inline constexpr int kExitTcpTimeout = 64;
inline constexpr int kExitHttpTimeout = 65;
inline constexpr int kExitUnknown = 127;

struct ProbeResult {
  // kExitOk when the probe (or the loop) passed.
  int exit_code = kExitOk;
  // Empty on success; otherwise exactly what Diego's binary prints (without
  // a trailing newline), e.g.
  //   failed to make TCP connection to 10.0.0.2:8080: connection refused
  //   failed to make HTTP request to '/health' on port 8080: received status code 503 in 3ms
  std::string message;

  bool ok() const { return exit_code == kExitOk; }
  bool operator==(const ProbeResult&) const = default;

  static ProbeResult Ok() { return {}; }
};

// Message builders shared by every prober, so each text exists once. `addr`
// is "ip:port". `timeout` renders as Go's `timeout.Seconds()` with %v, i.e. the
// shortest decimal ("1", "0.5", "2.25").
std::string FormatGoSeconds(absl::Duration d);
ProbeResult TcpTimeoutResult(absl::string_view addr, absl::Duration timeout);
ProbeResult TcpErrorResult(absl::string_view addr, absl::string_view error);
ProbeResult HttpTimeoutResult(absl::string_view uri, int port, absl::Duration timeout);
ProbeResult HttpErrorResult(absl::string_view uri, int port, absl::string_view error);
ProbeResult HttpStatusResult(absl::string_view uri, int port, int status, absl::Duration elapsed);

}  // namespace diego::healthcheck

#endif  // DIEGO_HEALTHCHECK_PROBE_RESULT_H_
