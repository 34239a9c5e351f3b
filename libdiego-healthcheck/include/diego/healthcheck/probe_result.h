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
// is "ip:port". `timeout` renders as Go's `fmt.Sprintf("%.2f",
// timeout.Seconds())`, which is what healthcheck.go uses ("1.00", "0.50",
// "2.25"; "0.00" for 1ns).
std::string FormatGoSeconds(absl::Duration d);
// Go's `time.Duration.String()`: "0s", "1ns", "1.5µs" (U+00B5), "500ms",
// "1.5s", "1m0s", "2h0m0s", "-1s". Used for "Timed out after 1m0s ..." and
// any other text Diego prints with %s/%v of a Duration. Sub-nanosecond
// precision is truncated.
std::string FormatGoDuration(absl::Duration d);
// Go's text of a failed dial as healthcheck prints it (net.OpError):
// "dial tcp <addr>: <syscall>: <errno text>", e.g.
// "dial tcp 10.0.0.2:8080: connect: connection refused". The errno text is
// Go's (strerror with a lower-case first letter).
std::string GoDialErrorText(absl::string_view addr, absl::string_view syscall, int error_number);
// kExitTcpTimeout "failed to make TCP connection to <addr>: timed out after <t> seconds".
ProbeResult TcpTimeoutResult(absl::string_view addr, absl::Duration timeout);
// kExitTcpConnectFailed "failed to make TCP connection to <addr>: <error>";
// `error` is the whole Go error text (see GoDialErrorText).
ProbeResult TcpErrorResult(absl::string_view addr, absl::string_view error);
// kExitHttpTimeout "failed to make HTTP request to '<uri>' on port <p>: timed out after <t> seconds".
ProbeResult HttpTimeoutResult(absl::string_view uri, int port, absl::Duration timeout);
// kExitHttpConnectFailed "failed to make HTTP request to '<uri>' on port <p>: <error>"
// (Diego always says "connection refused" for any transport error).
ProbeResult HttpErrorResult(absl::string_view uri, int port, absl::string_view error);
// kExitHttpBadStatus "... received status code <n> in <ms>ms" (ms truncated).
ProbeResult HttpStatusResult(absl::string_view uri, int port, int status, absl::Duration elapsed);
// kExitHttpBadStatus "failed to create an HTTP request to '<uri>' on port <p>"
// (the URL http://<ip>:<p><uri> does not parse).
ProbeResult HttpBadRequestResult(absl::string_view uri, absl::string_view port);

}  // namespace diego::healthcheck

#endif  // DIEGO_HEALTHCHECK_PROBE_RESULT_H_
