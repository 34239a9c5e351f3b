#include "diego/auction/http_cell_client.h"

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include <httplib.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/auction/json.h"
#include "diego/base/clock.h"
#include "diego/base/status_macros.h"

namespace diego::auction {
namespace {

// How much of an error response body is quoted in a status message.
constexpr size_t kMaxQuotedBody = 256;

struct ParsedUrl {
  std::string host;
  int port = 80;
  std::string path_prefix;
};

absl::StatusOr<ParsedUrl> ParseRepUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "http://";
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return absl::InvalidArgumentError("missing 'http://' scheme");
  }
  if (!absl::StartsWithIgnoreCase(url, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported scheme '", url.substr(0, scheme_end), "' (only http)"));
  }
  absl::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  ParsedUrl parsed;
  if (slash != absl::string_view::npos) {
    absl::string_view path = rest.substr(slash);
    while (absl::ConsumeSuffix(&path, "/")) {
    }
    parsed.path_prefix = std::string(path);
  }
  if (absl::StrContains(authority, '@') || absl::StrContains(rest, '?') ||
      absl::StrContains(rest, '#')) {
    return absl::InvalidArgumentError("user info, query and fragment are not supported");
  }
  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("unclosed '[' in host");
    }
    parsed.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!absl::ConsumePrefix(&after, ":")) {
        return absl::InvalidArgumentError("unexpected characters after ']'");
      }
      port_text = after;
      if (port_text.empty()) {
        return absl::InvalidArgumentError("empty port");
      }
    }
  } else {
    const size_t colon = authority.rfind(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) {
        return absl::InvalidArgumentError("empty port");
      }
    }
  }
  if (parsed.host.empty()) {
    return absl::InvalidArgumentError("empty host");
  }
  if (!port_text.empty()) {
    int port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535 ||
        !absl::ascii_isdigit(static_cast<unsigned char>(port_text[0]))) {
      return absl::InvalidArgumentError(absl::StrCat("invalid port '", port_text, "'"));
    }
    parsed.port = port;
  }
  return parsed;
}

std::string QuoteBody(absl::string_view body) {
  body = absl::StripAsciiWhitespace(body);
  if (body.size() > kMaxQuotedBody) {
    return absl::StrCat("'", body.substr(0, kMaxQuotedBody), "...'");
  }
  return absl::StrCat("'", body, "'");
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpCellClient>> HttpCellClient::Create(
    absl::string_view cell_id, absl::string_view rep_url, HttpCellClientOptions options) {
  absl::StatusOr<ParsedUrl> parsed = ParseRepUrl(rep_url);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cell '", cell_id, "': invalid rep url '",
                                                   rep_url, "': ", parsed.status().message()));
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cell '", cell_id, "': timeout must be positive, got ", absl::FormatDuration(options.timeout)));
  }
  if (options.clock == nullptr) {
    options.clock = Clock::Real();
  }
  auto client = std::make_unique<httplib::Client>(parsed->host, parsed->port);
  // Diego's rep client reuses connections (Go's http.Transport keep-alive).
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  const int64_t micros = absl::ToInt64Microseconds(options.timeout);
  const time_t sec = static_cast<time_t>(micros / 1000000);
  const time_t usec = static_cast<time_t>(micros % 1000000);
  client->set_connection_timeout(sec, usec);
  client->set_read_timeout(sec, usec);
  client->set_write_timeout(sec, usec);

  std::string base(rep_url);
  while (absl::EndsWith(base, "/")) {
    base.pop_back();
  }
  return std::unique_ptr<HttpCellClient>(new HttpCellClient(
      std::string(cell_id), std::move(base), std::move(parsed->path_prefix), std::move(client),
      options));
}

HttpCellClient::HttpCellClient(std::string cell_id, std::string rep_url, std::string path_prefix,
                               std::unique_ptr<httplib::Client> client,
                               HttpCellClientOptions options)
    : cell_id_(std::move(cell_id)),
      rep_url_(std::move(rep_url)),
      path_prefix_(std::move(path_prefix)),
      options_(options),
      client_(std::move(client)) {}

HttpCellClient::~HttpCellClient() = default;

namespace {

// The outcome of one HTTP exchange, before the body is decoded.
struct Exchange {
  int status = 0;
  std::string body;
};

// Converts a finished httplib call into a status naming `what` ("GET
// http://.../state"). `elapsed` tells a read timeout from a broken
// connection; httplib reports both as `Error::Read`.
absl::StatusOr<Exchange> CheckResult(const httplib::Result& result, absl::string_view cell_id,
                                     absl::string_view what, absl::Duration elapsed,
                                     absl::Duration timeout) {
  const std::string prefix = absl::StrCat("cell '", cell_id, "': ", what);
  if (!result) {
    const httplib::Error error = result.error();
    if (error == httplib::Error::ConnectionTimeout ||
        ((error == httplib::Error::Read || error == httplib::Error::Write) && elapsed >= timeout)) {
      return absl::DeadlineExceededError(
          absl::StrCat(prefix, " timed out after ", absl::FormatDuration(timeout)));
    }
    return absl::UnavailableError(
        absl::StrCat(prefix, " failed: ", httplib::to_string(error), " error"));
  }
  if (result->status == 503) {
    // The rep answers 503 while its periodic Garden health check fails.
    return absl::UnavailableError(absl::StrCat(prefix, " returned 503 (cell is unhealthy): ",
                                               QuoteBody(result->body)));
  }
  if (result->status != 200) {
    return absl::InternalError(
        absl::StrCat(prefix, " returned unexpected status code ", result->status));
  }
  return Exchange{result->status, result->body};
}

}  // namespace

absl::StatusOr<std::string> HttpCellClient::RoundTrip(absl::string_view endpoint,
                                                      const std::string* body) {
  const std::string path = absl::StrCat(path_prefix_, endpoint);
  const std::string what =
      absl::StrCat(body == nullptr ? "GET " : "POST ", rep_url_, endpoint);
  const absl::Time start = options_.clock->Now();
  httplib::Result result = [&]() -> httplib::Result {
    try {
      return body == nullptr ? client_->Get(path.c_str())
                             : client_->Post(path.c_str(), *body, "application/json");
    } catch (const std::exception&) {
      return httplib::Result(nullptr, httplib::Error::Unknown);
    }
  }();
  const absl::Duration elapsed = options_.clock->Now() - start;
  absl::StatusOr<Exchange> exchange =
      CheckResult(result, cell_id_, what, elapsed, options_.timeout);
  if (!exchange.ok()) {
    return exchange.status();
  }
  return std::move(exchange->body);
}

absl::Status HttpCellClient::InvalidBody(absl::string_view what,
                                         const absl::Status& decode) const {
  return absl::InternalError(absl::StrCat("cell '", cell_id_, "': ", what,
                                          " returned an invalid body: ", decode.message()));
}

absl::StatusOr<CellState> HttpCellClient::State() {
  DIEGO_ASSIGN_OR_RETURN(std::string body, RoundTrip("/state", nullptr));
  absl::StatusOr<CellState> state = CellStateFromJson(body);
  if (!state.ok()) return InvalidBody(absl::StrCat("GET ", rep_url_, "/state"), state.status());
  return state;
}

absl::StatusOr<Work> HttpCellClient::Perform(const Work& work) {
  const std::string request = WorkToJson(work);
  DIEGO_ASSIGN_OR_RETURN(std::string body, RoundTrip("/work", &request));
  absl::StatusOr<Work> failed = WorkFromJson(body);
  if (!failed.ok()) return InvalidBody(absl::StrCat("POST ", rep_url_, "/work"), failed.status());
  return failed;
}

}  // namespace diego::auction
