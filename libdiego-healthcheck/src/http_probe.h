// Copyright 2026 The libdiego Authors.
//
// Private: the HTTP/1.1 request a health probe sends and an incremental
// parser of the response, shared by the blocking HttpProber and the
// multiplexed checker so both send the same bytes and judge the same way.

#ifndef DIEGO_HEALTHCHECK_HTTP_PROBE_H_
#define DIEGO_HEALTHCHECK_HTTP_PROBE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace diego::healthcheck_internal {

// "GET <path> HTTP/1.1\r\nHost: <ip>:<port>\r\nUser-Agent: diego-healthcheck\r\n"
// "X-Forwarded-Proto: https\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
// (the headers Go's http.Client sends for Diego's request, Connection: close
// because a probe never reuses its connection).
std::string BuildProbeRequest(absl::string_view ip, uint16_t port, absl::string_view path);

// The request target Go's client sends for the URL http://<ip>:<port><uri>
// (escaped path, then "?query"; no fragment), or false when Go's url.Parse
// rejects that URL (the probe then fails with HttpBadRequestResult).
// Shared by HttpProber and the multiplexed checker.
bool ProbeRequestTarget(absl::string_view uri, std::string* target);

// Feeds response bytes; knows when the status is known and when the body has
// been drained (Content-Length, chunked, or end of stream).
class ProbeResponseParser {
 public:
  enum class State { kNeedMore, kDone, kError };

  // Consumes `data`. kError for a malformed status line or headers (more
  // than 64 KiB of headers is malformed).
  State Feed(absl::string_view data);
  // The peer closed the connection: kDone if the status is known (body read
  // until close), else kError.
  State FeedEof();

  int status() const { return status_; }  // 0 until known
  const std::string& error() const { return error_; }

 private:
  // Implementation-defined state.
  std::string buffer_;
  int status_ = 0;
  std::string error_;
  bool headers_done_ = false;
  bool chunked_ = false;
  bool until_close_ = false;
  int64_t remaining_ = 0;
  int chunk_state_ = 0;
  State state_ = State::kNeedMore;
};

}  // namespace diego::healthcheck_internal

#endif  // DIEGO_HEALTHCHECK_HTTP_PROBE_H_
