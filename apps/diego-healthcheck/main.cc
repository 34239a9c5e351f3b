// Copyright 2026 The libdiego Authors.
//
// diego-healthcheck: Diego's `healthcheck` binary (cloudfoundry/healthcheck
// cmd/healthcheck, diego-spec.md 7.1), flag- and exit-code-compatible, for
// running inside containers.
//
// Flags follow Go's `flag` package: `-name=value`, `-name value`, `--name`,
// parsing stops at the first non-flag argument or after `--`; an unknown flag,
// a missing value or a bad value prints the error and the usage to stderr and
// exits 2; `-h`/`-help` print the usage and exit 0 (Go >= 1.15). Durations
// use Go's syntax ("1s", "500ms", "1m30s", "2h", "1.5h", "0").
//
// The target is the first IPv4 address outside 127.0.0.0/8 (looked up before
// every probe, as Diego does), or `-host` — a libdiego extension for tests
// and for hosts where the interface walk picks the wrong address.
//
// Output is Diego's: nothing on success (exit 0); on failure the message and
// a newline on stderr, exit with the probe's code (3, 4, 5, 6, 64, 65).
// `-network` must be tcp or tcp4 for TCP checks (Go would also dial udp,
// unix, ...); anything else exits 2.

#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/healthcheck/health_check.h"
#include "diego/healthcheck/interfaces.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/healthcheck/prober.h"

namespace diego::healthcheck {
namespace {

// ---------------------------------------------------------------------------
// Go's time.ParseDuration.

// Go's leadingInt: digits -> value; false on overflow.
bool LeadingInt(absl::string_view& s, uint64_t* value) {
  uint64_t x = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (x > (uint64_t{1} << 63) / 10) return false;
    x = x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (x > (uint64_t{1} << 63)) return false;
  }
  *value = x;
  s.remove_prefix(i);
  return true;
}

// Go's leadingFraction: digits after '.', dropping precision that would
// overflow.
void LeadingFraction(absl::string_view& s, uint64_t* value, double* scale) {
  uint64_t x = 0;
  double sc = 1;
  bool overflow = false;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    if (overflow) continue;
    if (x > ((uint64_t{1} << 63) - 1) / 10) {
      overflow = true;
      continue;
    }
    uint64_t y = x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (y > (uint64_t{1} << 63)) {
      overflow = true;
      continue;
    }
    x = y;
    sc *= 10;
  }
  *value = x;
  *scale = sc;
  s.remove_prefix(i);
}

std::optional<absl::Duration> ParseGoDuration(absl::string_view s) {
  static const std::map<std::string, uint64_t, std::less<>> kUnits = {
      {"ns", 1},
      {"us", 1000},
      {"\xC2\xB5s", 1000},  // U+00B5
      {"\xCE\xBCs", 1000},  // U+03BC
      {"ms", 1000000},
      {"s", 1000000000},
      {"m", 60ULL * 1000000000},
      {"h", 3600ULL * 1000000000},
  };
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return absl::ZeroDuration();
  if (s.empty()) return std::nullopt;
  const uint64_t kLimit = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return std::nullopt;
    size_t before = s.size();
    uint64_t v = 0;
    if (!LeadingInt(s, &v)) return std::nullopt;
    bool pre = before != s.size();
    bool post = false;
    uint64_t f = 0;
    double scale = 1;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t frac_before = s.size();
      LeadingFraction(s, &f, &scale);
      post = frac_before != s.size();
    }
    if (!pre && !post) return std::nullopt;
    size_t i = 0;
    while (i < s.size() && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9')) ++i;
    if (i == 0) return std::nullopt;  // missing unit
    auto unit = kUnits.find(s.substr(0, i));
    if (unit == kUnits.end()) return std::nullopt;
    s.remove_prefix(i);
    if (v > kLimit / unit->second) return std::nullopt;
    v *= unit->second;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) *
                                 (static_cast<double>(unit->second) / scale));
      if (v > kLimit) return std::nullopt;
    }
    total += v;
    if (total > kLimit) return std::nullopt;
  }
  if (negative) {
    return absl::Nanoseconds(total == kLimit ? INT64_MIN : -static_cast<int64_t>(total));
  }
  if (total > kLimit - 1) return std::nullopt;
  return absl::Nanoseconds(static_cast<int64_t>(total));
}

// ---------------------------------------------------------------------------
// Go's flag package, for string and duration flags.

// strconv.Quote for the ASCII texts flags carry.
std::string GoQuote(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

struct Flag {
  bool is_duration = false;
  std::string usage;
  std::string default_text;  // Go's DefValue
  std::string* string_value = nullptr;
  absl::Duration* duration_value = nullptr;
  // Extra validation (our -host); returns an error text or "".
  std::string (*validate)(absl::string_view) = nullptr;
};

struct Options {
  std::string network = "tcp";
  std::string uri;
  std::string port = "8080";
  std::string host;
  HealthCheckConfig config;
};

std::string ValidateIpv4(absl::string_view value) {
  struct in_addr addr;
  if (inet_pton(AF_INET, std::string(value).c_str(), &addr) != 1) return "not an IPv4 address";
  return "";
}

std::map<std::string, Flag> MakeFlags(Options& o) {
  std::map<std::string, Flag> flags;  // sorted, as PrintDefaults lists them
  auto add_string = [&](const char* name, std::string* value, const char* usage,
                        std::string (*validate)(absl::string_view) = nullptr) {
    flags[name] = Flag{false, usage, *value, value, nullptr, validate};
  };
  auto add_duration = [&](const char* name, absl::Duration* value, const char* usage) {
    flags[name] = Flag{true, usage, FormatGoDuration(*value), nullptr, value, nullptr};
  };
  add_string("network", &o.network, "network type to dial with (e.g. unix, tcp)");
  add_string("uri", &o.uri, "uri to healthcheck");
  add_string("port", &o.port, "port to healthcheck");
  add_string("host", &o.host,
             "libdiego extension: IPv4 address to check instead of the first non-loopback "
             "IPv4 address of the interfaces",
             ValidateIpv4);
  add_duration("timeout", &o.config.timeout, "dial timeout");
  add_duration("startup-interval", &o.config.startup_interval,
               "if set, starts the healthcheck in startup mode, i.e. do not exit until the "
               "healthcheck passes. runs checks every startup-interval");
  add_duration("startup-timeout", &o.config.startup_timeout,
               "Only relevant if healthcheck is running in startup mode. When the timeout is set "
               "to a non-zero value, the healthcheck will return non-zero with any errors if this "
               "timeout is hit without the healthcheck passing");
  add_duration("liveness-interval", &o.config.liveness_interval,
               "if set, starts the healthcheck in liveness mode, i.e. the app is alive and hasn't "
               "crashed, do not exit until the healthcheck fails. runs checks every "
               "liveness-interval");
  add_duration("readiness-interval", &o.config.readiness_interval,
               "if set, starts the healthcheck in readiness mode, i.e. the app is ready to serve "
               "traffic, do not exit until the healthcheck fails because the target isn't serving "
               "traffic or another process doesn't exist. runs checks every readiness-interval");
  add_duration("until-ready-interval", &o.config.until_ready_interval,
               "if set, starts the healthcheck in until-ready mode, i.e. do not exit until the "
               "healthcheck passes and the app is ready to serve traffic. runs checks every "
               "until-ready-interval");
  return flags;
}

// Go's FlagSet.PrintDefaults after "Usage of <argv0>:".
void PrintUsage(const std::string& argv0, const std::map<std::string, Flag>& flags) {
  std::string out = absl::StrCat("Usage of ", argv0, ":\n");
  for (const auto& [name, flag] : flags) {
    std::string line = absl::StrCat("  -", name, flag.is_duration ? " duration" : " string");
    line += "\n    \t";
    line += flag.usage;
    bool zero = flag.is_duration ? flag.default_text == "0s" : flag.default_text.empty();
    if (!zero) {
      absl::StrAppend(&line, " (default ",
                      flag.is_duration ? flag.default_text : GoQuote(flag.default_text), ")");
    }
    absl::StrAppend(&out, line, "\n");
  }
  std::fputs(out.c_str(), stderr);
}

// Parses argv like Go's flag.Parse with ExitOnError; returns the exit code
// to exit with, or -1 to carry on.
int ParseFlags(int argc, char** argv, std::map<std::string, Flag>& flags) {
  const std::string argv0 = argc > 0 ? argv[0] : "diego-healthcheck";
  auto fail = [&](const std::string& error) {
    std::fprintf(stderr, "%s\n", error.c_str());
    PrintUsage(argv0, flags);
    return 2;
  };
  for (int i = 1; i < argc;) {
    absl::string_view s = argv[i];
    if (s.size() < 2 || s[0] != '-') break;  // first non-flag argument
    size_t minuses = 1;
    if (s[1] == '-') {
      ++minuses;
      if (s.size() == 2) break;  // "--" terminates the flags
    }
    absl::string_view name = s.substr(minuses);
    if (name.empty() || name[0] == '-' || name[0] == '=') {
      return fail(absl::StrCat("bad flag syntax: ", s));
    }
    ++i;
    bool has_value = false;
    std::string value;
    if (size_t eq = name.find('=', 1); eq != absl::string_view::npos) {
      value = std::string(name.substr(eq + 1));
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags.find(std::string(name));
    if (it == flags.end()) {
      if (name == "help" || name == "h") {
        PrintUsage(argv0, flags);
        return 0;
      }
      return fail(absl::StrCat("flag provided but not defined: -", name));
    }
    if (!has_value && i < argc) {
      value = argv[i++];
      has_value = true;
    }
    if (!has_value) return fail(absl::StrCat("flag needs an argument: -", name));
    Flag& flag = it->second;
    if (flag.is_duration) {
      std::optional<absl::Duration> d = ParseGoDuration(value);
      if (!d.has_value()) {
        return fail(
            absl::StrCat("invalid value ", GoQuote(value), " for flag -", name, ": parse error"));
      }
      *flag.duration_value = *d;
    } else {
      if (flag.validate != nullptr) {
        std::string error = flag.validate(value);
        if (!error.empty()) {
          return fail(
              absl::StrCat("invalid value ", GoQuote(value), " for flag -", name, ": ", error));
        }
      }
      *flag.string_value = value;
    }
  }
  return -1;
}

// ---------------------------------------------------------------------------
// Probing.

// The TCP port of a service name in /etc/services (case-insensitive), as
// Go's pure resolver reads it; no NSS, so a static binary behaves the same.
std::optional<int> LookupTcpService(absl::string_view name) {
  std::ifstream services("/etc/services");
  std::string line;
  while (std::getline(services, line)) {
    absl::string_view text = line;
    text = text.substr(0, text.find('#'));
    std::vector<absl::string_view> fields =
        absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 2) continue;
    std::vector<absl::string_view> port_proto = absl::StrSplit(fields[1], '/');
    int port = 0;
    if (port_proto.size() != 2 || port_proto[1] != "tcp" ||
        !absl::SimpleAtoi(port_proto[0], &port)) {
      continue;
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i == 1) continue;
      if (absl::EqualsIgnoreCase(fields[i], name)) return port;
    }
  }
  return std::nullopt;
}

// The result Go's dial/url parse gives for a `-port` that is not a port
// number, or nullopt with `port` set when it is one (0..65535).
std::optional<ProbeResult> ResolvePort(const std::string& ip, const std::string& port_text,
                                       const std::string& uri, int* port) {
  if (!uri.empty()) {
    // url.Parse accepts only digits after the colon; an empty port means 80.
    for (char c : port_text) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        return HttpBadRequestResult(uri, port_text);
      }
    }
    if (port_text.empty()) {
      *port = 80;
      return std::nullopt;
    }
    absl::string_view digits = port_text;
    while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
    if (digits.size() > 5 || std::stoi(std::string(digits)) > 65535) {
      // The dial fails ("invalid port"), which Diego reports as any transport
      // error; the port is printed as given.
      return ProbeResult{kExitHttpConnectFailed,
                         absl::StrCat("failed to make HTTP request to '", uri, "' on port ",
                                      port_text, ": connection refused")};
    }
    *port = std::stoi(std::string(digits));
    return std::nullopt;
  }
  const std::string addr = absl::StrCat(ip, ":", port_text);
  // Go's parsePort: optional sign, digits; anything else is a service name.
  absl::string_view s = port_text;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  bool numeric = true;
  uint64_t n = 0;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      numeric = false;
      break;
    }
    if (n < 100000) n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (numeric) {
    if ((negative && n > 0) || n > 65535) {
      return TcpErrorResult(addr, absl::StrCat("dial tcp: address ", port_text, ": invalid port"));
    }
    *port = static_cast<int>(n);
    return std::nullopt;
  }
  std::optional<int> service_port = LookupTcpService(port_text);
  if (!service_port.has_value()) {
    return TcpErrorResult(addr, absl::StrCat("dial tcp: lookup tcp/", port_text, ": unknown port"));
  }
  *port = *service_port;
  return std::nullopt;
}

// One probe of the configured target: finds the address (each time, as
// Diego's CheckInterfaces does), then TCP- or HTTP-probes it.
class BinaryProber final : public Prober {
 public:
  explicit BinaryProber(const Options& options) : options_(options) {}

  ProbeResult Probe(absl::Duration timeout) override {
    std::string ip = options_.host;
    if (ip.empty()) {
      absl::StatusOr<std::string> found = FirstNonLoopbackIpv4();
      if (!found.ok()) return {kExitNoInterface, "failure to find suitable interface"};
      ip = *found;
    }
    int port = 0;
    if (std::optional<ProbeResult> bad = ResolvePort(ip, options_.port, options_.uri, &port)) {
      return *bad;
    }
    if (options_.uri.empty()) {
      return TcpProber(ip, static_cast<uint16_t>(port)).Probe(timeout);
    }
    return HttpProber(ip, static_cast<uint16_t>(port), options_.uri).Probe(timeout);
  }

 private:
  const Options& options_;
};

int Main(int argc, char** argv) {
  Options options;
  std::map<std::string, Flag> flags = MakeFlags(options);
  if (int code = ParseFlags(argc, argv, flags); code >= 0) return code;

  if (options.uri.empty() && options.network != "tcp" && options.network != "tcp4") {
    std::fprintf(stderr, "-network %s is not supported: only tcp and tcp4\n",
                 GoQuote(options.network).c_str());
    return 2;
  }
  if (options.host.empty()) {
    absl::StatusOr<std::string> found = FirstNonLoopbackIpv4();
    if (!found.ok() && !absl::IsNotFound(found.status())) {
      std::fprintf(stderr, "Failed to get interfaces: %s\n",
                   std::string(found.status().message()).c_str());
      return 1;
    }
  }

  BinaryProber prober(options);
  ProbeResult result = RunHealthCheck(options.config, prober, *Clock::Real(), nullptr);
  if (result.ok()) return kExitOk;
  std::fprintf(stderr, "%s\n", result.message.c_str());
  return result.exit_code;
}

}  // namespace
}  // namespace diego::healthcheck

int main(int argc, char** argv) { return diego::healthcheck::Main(argc, argv); }
