// Copyright 2026 The libdiego Authors.
//
// Shared internal (not API): the one parser of the http:// and https:// URLs
// libdiego dials: libdiego-bbs' own API (BbsClient), the auctioneer's and the
// reps' (the HTTP outbound clients), task completion callbacks
// (TaskCallbackPool), and libdiego-actions' downloads and uploads. URLs are
// split as Go's net/url does for these:
//
//   scheme://[user[:password]@]host[:port][/path][?query][#fragment]
//
// Base URLs of an API (`ParseHttpBaseUrl`) take no user info, query or
// fragment, and their path is a prefix of every request path; a callback URL
// (`ParseHttpUrl`) may have all of them.
//
// Error messages never quote the URL (its user info or query may be secret);
// callers that may quote it add it themselves.

#ifndef DIEGO_BASE_INTERNAL_HTTP_URL_H_
#define DIEGO_BASE_INTERNAL_HTTP_URL_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace diego::base_internal {

struct HttpUrl {
  bool tls = false;                     // https
  std::string host;                     // Never empty; without an IPv6 literal's brackets.
  int port = 0;                         // As written, else the scheme's (80, 443).
  std::string path;                     // As written: empty or from the first '/'.
  std::optional<std::string> query;     // After '?', up to any '#'.
  std::optional<std::string> fragment;  // After '#'.
  bool has_user = false;                // Whether there is a "...@".
  std::string user;                     // Percent-decoded.
  std::string password;                 // Percent-decoded; empty without ':'.

  // The path and query as an HTTP request target: "/path?query", with "/"
  // for an empty path.
  std::string Target() const;

  // "scheme://host:port" (IPv6 hosts in brackets): the part of the URL that
  // may be logged.
  std::string Origin() const;
};

// Splits `url`. kInvalidArgument when the scheme is not http:// or https://
// ("scheme must be http:// or https://"), an IPv6 host's '[' is unclosed or
// followed by anything but ":port", the host is empty ("empty host"), the port
// is not a number in 1..65535 ("invalid port '<port>'"; an empty port after
// ':' is the scheme's), the user info has a bad %-escape, or the URL holds an
// ASCII control character ("invalid control character in URL", as Go).
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);

// The base URL of an HTTP API.
struct HttpBaseUrl {
  bool tls = false;
  std::string host;      // Without IPv6 brackets.
  int port = 0;          // As written, else the scheme's (80, 443).
  std::string prefix;    // The path without trailing '/': "" or "/prefix".
  std::string base_url;  // The URL as given, without trailing '/' (for messages).
};

// `ParseHttpUrl`, refusing user info ("user info is not supported") and a
// query or fragment ("query and fragment are not supported").
absl::StatusOr<HttpBaseUrl> ParseHttpBaseUrl(absl::string_view url);

}  // namespace diego::base_internal

#endif  // DIEGO_BASE_INTERNAL_HTTP_URL_H_
