// Copyright 2026 The libdiego Authors.

#include "diego/base/internal/http_url.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "diego/base/status_macros.h"

namespace diego::base_internal {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char lower = absl::ascii_tolower(static_cast<unsigned char>(c));
  if (lower >= 'a' && lower <= 'f') return lower - 'a' + 10;
  return -1;
}

// Percent-decodes URL user info (Go's url.User / PathUnescape rules).
absl::StatusOr<std::string> Unescape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int hi = i + 2 < text.size() ? HexDigit(text[i + 1]) : -1;
    const int lo = hi >= 0 ? HexDigit(text[i + 2]) : -1;
    if (lo < 0) return absl::InvalidArgumentError("invalid escape in user info");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// Fills `url`'s host and port from `authority` (without user info).
absl::Status ParseHostPort(absl::string_view authority, HttpUrl& url) {
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::ConsumePrefix(&host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("unclosed '['");
    port = host.substr(close + 1);
    host = host.substr(0, close);
    if (!port.empty() && !absl::ConsumePrefix(&port, ":")) {
      return absl::InvalidArgumentError("unexpected characters after ']'");
    }
  } else if (const size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return absl::InvalidArgumentError("empty host");
  url.host = std::string(host);
  if (port.empty()) return absl::OkStatus();
  // Digits only: SimpleAtoi alone would take "+80" and " 80".
  const bool digits = std::all_of(port.begin(), port.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c));
  });
  int number = 0;
  if (!digits || !absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port '", port, "'"));
  }
  url.port = number;
  return absl::OkStatus();
}

}  // namespace

std::string HttpUrl::Target() const {
  return absl::StrCat(path.empty() ? "/" : path, query.has_value() ? "?" : "", query.value_or(""));
}

std::string HttpUrl::Origin() const {
  const bool ipv6 = absl::StrContains(host, ':');
  return absl::StrCat(tls ? "https" : "http", "://", ipv6 ? "[" : "", host, ipv6 ? "]" : "", ":",
                      port);
}

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view text) {
  // Go's url.Parse refuses ASCII control characters; letting a CR or LF
  // through would let a URL write extra header lines into the request.
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("invalid control character in URL");
    }
  }
  HttpUrl url;
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "http://")) {
    url.port = 80;
  } else if (absl::ConsumePrefix(&rest, "https://")) {
    url.tls = true;
    url.port = 443;
  } else {
    return absl::InvalidArgumentError("scheme must be http:// or https://");
  }
  if (const size_t hash = rest.find('#'); hash != absl::string_view::npos) {
    url.fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  if (const size_t question = rest.find('?'); question != absl::string_view::npos) {
    url.query = std::string(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  if (slash != absl::string_view::npos) url.path = std::string(rest.substr(slash));

  if (const size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    const absl::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    DIEGO_ASSIGN_OR_RETURN(url.user, Unescape(userinfo.substr(0, colon)));
    if (colon != absl::string_view::npos) {
      DIEGO_ASSIGN_OR_RETURN(url.password, Unescape(userinfo.substr(colon + 1)));
    }
    url.has_user = true;
  }
  DIEGO_RETURN_IF_ERROR(ParseHostPort(authority, url));
  return url;
}

absl::StatusOr<HttpBaseUrl> ParseHttpBaseUrl(absl::string_view text) {
  DIEGO_ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(text));
  if (url.query.has_value() || url.fragment.has_value()) {
    return absl::InvalidArgumentError("query and fragment are not supported");
  }
  if (url.has_user) return absl::InvalidArgumentError("user info is not supported");
  HttpBaseUrl base;
  base.tls = url.tls;
  base.host = std::move(url.host);
  base.port = url.port;
  absl::string_view prefix = url.path;
  while (absl::ConsumeSuffix(&prefix, "/")) {
  }
  base.prefix = std::string(prefix);
  absl::string_view whole = text;
  while (absl::ConsumeSuffix(&whole, "/")) {
  }
  base.base_url = std::string(whole);
  return base;
}

}  // namespace diego::base_internal
