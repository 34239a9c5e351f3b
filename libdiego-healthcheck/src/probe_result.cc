// Copyright 2026 The libdiego Authors.
//
// The texts of Diego's healthcheck (healthcheck.go), in one place, and the
// Go formatting helpers they need.

#include "diego/healthcheck/probe_result.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace diego::healthcheck {
namespace {

// Go's fmtFrac: appends "." and the `prec` fractional digits of `v` (trailing
// zeros dropped, nothing if all are zero) and returns v / 10^prec.
uint64_t AppendFraction(std::string& out, uint64_t v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    int digit = static_cast<int>(v % 10);
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) absl::StrAppend(&out, ".", digits);
  return v;
}

}  // namespace

std::string FormatGoSeconds(absl::Duration d) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f", absl::ToDoubleSeconds(d));
  return buf;
}

std::string FormatGoDuration(absl::Duration d) {
  int64_t ns = absl::ToInt64Nanoseconds(d);
  if (ns == 0) return "0s";
  bool negative = ns < 0;
  // Magnitude as unsigned so INT64_MIN works, as in Go.
  uint64_t u = negative ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  std::string out;
  if (u < 1000000000ULL) {
    std::string frac;
    const char* unit;
    if (u < 1000ULL) {
      absl::StrAppend(&out, negative ? "-" : "", u, "ns");
      return out;
    } else if (u < 1000000ULL) {
      unit = "\xC2\xB5s";  // "µs", U+00B5 as Go writes it
      u = AppendFraction(frac, u, 3);
    } else {
      unit = "ms";
      u = AppendFraction(frac, u, 6);
    }
    absl::StrAppend(&out, negative ? "-" : "", u, frac, unit);
    return out;
  }
  std::string frac;
  u = AppendFraction(frac, u, 9);
  std::string text = absl::StrCat(u % 60, frac, "s");
  u /= 60;
  if (u > 0) {
    text = absl::StrCat(u % 60, "m", text);
    u /= 60;
    if (u > 0) text = absl::StrCat(u, "h", text);
  }
  return absl::StrCat(negative ? "-" : "", text);
}

std::string GoDialErrorText(absl::string_view addr, absl::string_view syscall, int error_number) {
  char buf[256];
  // GNU strerror_r returns the message (maybe not in buf).
  std::string text = strerror_r(error_number, buf, sizeof(buf));
  if (!text.empty()) text[0] = absl::ascii_tolower(static_cast<unsigned char>(text[0]));
  return absl::StrCat("dial tcp ", addr, ": ", syscall, ": ", text);
}

ProbeResult TcpTimeoutResult(absl::string_view addr, absl::Duration timeout) {
  return {kExitTcpTimeout,
          absl::StrCat("failed to make TCP connection to ", addr, ": timed out after ",
                       FormatGoSeconds(timeout), " seconds")};
}

ProbeResult TcpErrorResult(absl::string_view addr, absl::string_view error) {
  return {kExitTcpConnectFailed,
          absl::StrCat("failed to make TCP connection to ", addr, ": ", error)};
}

ProbeResult HttpTimeoutResult(absl::string_view uri, int port, absl::Duration timeout) {
  return {kExitHttpTimeout,
          absl::StrCat("failed to make HTTP request to '", uri, "' on port ", port,
                       ": timed out after ", FormatGoSeconds(timeout), " seconds")};
}

ProbeResult HttpErrorResult(absl::string_view uri, int port, absl::string_view error) {
  return {kExitHttpConnectFailed,
          absl::StrCat("failed to make HTTP request to '", uri, "' on port ", port, ": ", error)};
}

ProbeResult HttpStatusResult(absl::string_view uri, int port, int status, absl::Duration elapsed) {
  return {kExitHttpBadStatus, absl::StrCat("failed to make HTTP request to '", uri, "' on port ",
                                           port, ": received status code ", status, " in ",
                                           absl::ToInt64Milliseconds(elapsed), "ms")};
}

ProbeResult HttpBadRequestResult(absl::string_view uri, absl::string_view port) {
  return {kExitHttpBadStatus,
          absl::StrCat("failed to create an HTTP request to '", uri, "' on port ", port)};
}

}  // namespace diego::healthcheck
