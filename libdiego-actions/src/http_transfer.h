// Copyright 2026 The libdiego Authors.
//
// Private: the HTTP plumbing the downloader (download.cc) and the uploader
// (upload.cc) share: URL splitting, client construction (https through
// cpp-httplib's OpenSSL client), and a watchdog that aborts a transfer when
// it is cancelled or its deadline passes.
//
// Nothing here ever puts a URL (or any part of one that may carry
// credentials: user info, path, query) into an error message.

#ifndef DIEGO_ACTIONS_HTTP_TRANSFER_H_
#define DIEGO_ACTIONS_HTTP_TRANSFER_H_

#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace diego::actions_internal {

// An http:// or https:// URL split as Go's net/url does for requests.
struct TransferUrl {
  bool tls = false;
  std::string host;    // Without an IPv6 literal's brackets.
  int port = 0;        // As written, else 80 / 443.
  std::string target;  // Path and query ("/" when the path is empty); no fragment.
  bool has_user = false;
  std::string user;      // Percent-decoded.
  std::string password;  // Percent-decoded.
};

// kInvalidArgument naming the defect ("scheme must be http:// or https://",
// "empty host", "invalid port", ...) but never quoting the URL.
absl::StatusOr<TransferUrl> ParseTransferUrl(absl::string_view url);

// Resolves a redirect's Location against `base` (absolute URL, absolute
// path or relative path).
absl::StatusOr<TransferUrl> ResolveRedirect(const TransferUrl& base, absl::string_view location);

struct HttpClientConfig {
  bool skip_tls_verify = false;
  std::string ca_cert_file;  // "" = system roots
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration io_timeout = absl::Minutes(10);  // per read / write
};

// A one-shot (no keep-alive, no automatic redirects) client for `url`'s
// origin, with basic auth from its user info.
std::unique_ptr<httplib::ClientImpl> NewHttpClient(const TransferUrl& url,
                                                   const HttpClientConfig& config);

// Aborts `client`'s transfer (ClientImpl::stop, repeated until the watchdog
// is destroyed) once `cancelled` (may be null) is notified or `deadline`
// passes. Destroy it before `client`.
class TransferWatchdog {
 public:
  TransferWatchdog(httplib::ClientImpl* client, absl::Notification* cancelled, absl::Time deadline);
  TransferWatchdog(const TransferWatchdog&) = delete;
  TransferWatchdog& operator=(const TransferWatchdog&) = delete;
  ~TransferWatchdog();

  bool cancelled() const { return cancelled_.load(); }
  bool timed_out() const { return timed_out_.load(); }

 private:
  void Loop();

  httplib::ClientImpl* const client_;
  absl::Notification* const cancel_;
  const absl::Time deadline_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> timed_out_{false};
  std::thread thread_;
};

// "connection error (Could not establish connection)"-style text.
std::string DescribeHttpError(httplib::Error error);

}  // namespace diego::actions_internal

#endif  // DIEGO_ACTIONS_HTTP_TRANSFER_H_
