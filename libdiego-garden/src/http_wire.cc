// Copyright 2026 The libdiego Authors.

#include "http_wire.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <list>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "posix_fd.h"

namespace diego::garden::http_wire {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxChunkLine = 4096;
// How long (and how much unread input) a server waits for the client to
// close after the server's last response (Go's server waits 500ms too).
constexpr absl::Duration kLingerTime = absl::Milliseconds(500);
constexpr size_t kLingerBytes = 256 * 1024;

bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool BodyForbidden(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

// Parses one "Name: value" line into `headers`.
absl::Status ParseHeaderLine(absl::string_view line, Headers* headers) {
  if (line.front() == ' ' || line.front() == '\t') {
    return absl::InvalidArgumentError("obsolete line folding in header field");
  }
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("malformed header line: no ':' in \"",
                                                   line.substr(0, 64), "\""));
  }
  absl::string_view name = line.substr(0, colon);
  if (!IsToken(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed header field name \"", name.substr(0, 64), "\""));
  }
  absl::string_view value = TrimOws(line.substr(colon + 1));
  for (char c : value) {
    if (c == '\0' || c == '\r' || c == '\n') {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid character in header field \"", name, "\""));
    }
  }
  headers->Add(std::string(name), std::string(value));
  return absl::OkStatus();
}

// Reads header lines up to the blank line. `budget` is what is left of the
// header byte limit.
absl::Status ReadHeaderBlock(Conn& conn, const Limits& limits, size_t budget, IoDeadline deadline,
                             Headers* headers, absl::string_view what) {
  size_t count = 0;
  while (true) {
    if (budget == 0) {
      return absl::ResourceExhaustedError(absl::StrCat(what, " header too large"));
    }
    absl::StatusOr<std::string> line = conn.ReadLine(budget, deadline);
    if (!line.ok()) {
      if (line.status().code() == absl::StatusCode::kResourceExhausted) {
        return absl::ResourceExhaustedError(absl::StrCat(what, " header too large"));
      }
      if (line.status().code() == absl::StatusCode::kOutOfRange) {
        return absl::UnavailableError(absl::StrCat("connection closed inside the ", what, " header"));
      }
      return line.status();
    }
    budget -= std::min(budget, line->size() + 2);
    if (line->empty()) return absl::OkStatus();
    if (++count > limits.max_header_count) {
      return absl::ResourceExhaustedError(absl::StrCat(what, " header too large: more than ",
                                                       limits.max_header_count, " fields"));
    }
    absl::Status s = ParseHeaderLine(*line, headers);
    if (!s.ok()) return s;
  }
}

// Works out how a message body is framed. `chunked` or `length` (-1 = none).
absl::Status BodyFraming(const Headers& headers, bool* chunked, int64_t* length,
                         absl::string_view what) {
  *chunked = false;
  *length = -1;
  std::vector<std::string> te = headers.GetAll("Transfer-Encoding");
  std::vector<std::string> cl = headers.GetAll("Content-Length");
  if (!te.empty()) {
    if (!cl.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has both Transfer-Encoding and Content-Length"));
    }
    std::vector<std::string> codings;
    for (const std::string& v : te) {
      for (absl::string_view c : absl::StrSplit(v, ',')) {
        c = TrimOws(c);
        if (!c.empty()) codings.push_back(absl::AsciiStrToLower(c));
      }
    }
    if (codings.size() == 1 && codings[0] == "chunked") {
      *chunked = true;
      return absl::OkStatus();
    }
    if (codings.size() == 1 && codings[0] == "identity") return absl::OkStatus();
    return absl::UnimplementedError(absl::StrCat("unsupported Transfer-Encoding \"", te[0], "\""));
  }
  if (!cl.empty()) {
    uint64_t first = 0;
    for (size_t i = 0; i < cl.size(); ++i) {
      absl::string_view v = TrimOws(cl[i]);
      uint64_t n = 0;
      bool digits = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
        return c >= '0' && c <= '9';
      });
      if (!digits || v.size() > 19 || !absl::SimpleAtoi(v, &n)) {
        return absl::InvalidArgumentError(absl::StrCat("bad Content-Length \"", cl[i], "\""));
      }
      if (i > 0 && n != first) {
        return absl::InvalidArgumentError("conflicting Content-Length fields");
      }
      first = n;
    }
    *length = static_cast<int64_t>(first);
  }
  return absl::OkStatus();
}

absl::Status ReadChunkedBody(Conn& conn, const Limits& limits, IoDeadline deadline,
                             std::string* body, absl::string_view what) {
  while (true) {
    absl::StatusOr<std::string> line = conn.ReadLine(kMaxChunkLine, deadline);
    if (!line.ok()) {
      if (line.status().code() == absl::StatusCode::kResourceExhausted) {
        return absl::InvalidArgumentError(absl::StrCat("chunk size line too long in ", what));
      }
      if (line.status().code() == absl::StatusCode::kOutOfRange) {
        return absl::UnavailableError(absl::StrCat("connection closed inside the ", what, " body"));
      }
      return line.status();
    }
    absl::string_view size_text = *line;
    size_t semi = size_text.find(';');
    if (semi != absl::string_view::npos) size_text = size_text.substr(0, semi);
    size_text = TrimOws(size_text);
    if (size_text.empty() || size_text.size() > 16) {
      return absl::InvalidArgumentError(absl::StrCat("bad chunk size \"", *line, "\" in ", what));
    }
    uint64_t size = 0;
    for (char c : size_text) {
      int v = HexValue(c);
      if (v < 0) {
        return absl::InvalidArgumentError(absl::StrCat("bad chunk size \"", *line, "\" in ", what));
      }
      size = size * 16 + static_cast<uint64_t>(v);
    }
    if (size == 0) {
      Headers trailers;  // read and dropped
      return ReadHeaderBlock(conn, limits, limits.max_header_bytes, deadline, &trailers, what);
    }
    if (size > limits.max_body_bytes || body->size() + size > limits.max_body_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(what, " body too large"));
    }
    absl::Status s = conn.ReadExactly(static_cast<size_t>(size), body, deadline);
    if (!s.ok()) return s;
    absl::StatusOr<std::string> crlf = conn.ReadLine(2, deadline);
    if (!crlf.ok() || !crlf->empty()) {
      if (!crlf.ok() && crlf.status().code() != absl::StatusCode::kResourceExhausted &&
          crlf.status().code() != absl::StatusCode::kOutOfRange) {
        return crlf.status();
      }
      return absl::InvalidArgumentError(absl::StrCat("missing CRLF after chunk in ", what));
    }
  }
}

absl::Status ReadBody(Conn& conn, const Headers& headers, const Limits& limits,
                      IoDeadline deadline, bool to_end_if_unframed, std::string* body,
                      absl::string_view what) {
  bool chunked = false;
  int64_t length = -1;
  absl::Status s = BodyFraming(headers, &chunked, &length, what);
  if (!s.ok()) return s;
  if (chunked) return ReadChunkedBody(conn, limits, deadline, body, what);
  if (length >= 0) {
    if (static_cast<uint64_t>(length) > limits.max_body_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(what, " body too large"));
    }
    s = conn.ReadExactly(static_cast<size_t>(length), body, deadline);
    if (!s.ok() && s.code() == absl::StatusCode::kUnavailable) {
      return absl::UnavailableError(absl::StrCat("connection closed inside the ", what,
                                                 " body: ", s.message()));
    }
    return s;
  }
  if (to_end_if_unframed) return conn.ReadToEnd(body, limits.max_body_bytes, deadline);
  return absl::OkStatus();
}

std::string HeadersText(const Headers& headers) {
  std::string out;
  for (const auto& [name, value] : headers.entries()) {
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// Headers, Request

void Headers::Add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(absl::string_view name, std::string value) {
  auto first = std::find_if(entries_.begin(), entries_.end(),
                            [&](const Entry& e) { return absl::EqualsIgnoreCase(e.first, name); });
  if (first == entries_.end()) {
    entries_.emplace_back(std::string(name), std::move(value));
    return;
  }
  first->second = std::move(value);
  size_t keep = static_cast<size_t>(first - entries_.begin());
  for (size_t i = entries_.size(); i-- > keep + 1;) {
    if (absl::EqualsIgnoreCase(entries_[i].first, name)) entries_.erase(entries_.begin() + i);
  }
}

void Headers::Remove(absl::string_view name) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return absl::EqualsIgnoreCase(e.first, name); }),
                 entries_.end());
}

std::optional<std::string> Headers::Get(absl::string_view name) const {
  for (const Entry& e : entries_) {
    if (absl::EqualsIgnoreCase(e.first, name)) return e.second;
  }
  return std::nullopt;
}

std::vector<std::string> Headers::GetAll(absl::string_view name) const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) {
    if (absl::EqualsIgnoreCase(e.first, name)) out.push_back(e.second);
  }
  return out;
}

bool Headers::HasToken(absl::string_view name, absl::string_view token) const {
  for (const std::string& v : GetAll(name)) {
    for (absl::string_view t : absl::StrSplit(v, ',')) {
      if (absl::EqualsIgnoreCase(TrimOws(t), token)) return true;
    }
  }
  return false;
}

absl::string_view Request::RawPath() const {
  absl::string_view t = target;
  size_t q = t.find('?');
  return q == absl::string_view::npos ? t : t.substr(0, q);
}

absl::string_view Request::RawQuery() const {
  absl::string_view t = target;
  size_t q = t.find('?');
  return q == absl::string_view::npos ? absl::string_view() : t.substr(q + 1);
}

bool Request::KeepAlive() const {
  if (headers.HasToken("Connection", "close")) return false;
  if (minor_version == 0) return headers.HasToken("Connection", "keep-alive");
  return true;
}

absl::string_view StatusText(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Request Entity Too Large";
    case 414: return "Request URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string SerializeRequest(const Request& request) {
  std::string out = absl::StrCat(request.method, " ", request.target, " HTTP/1.",
                                 request.minor_version, "\r\n");
  out += HeadersText(request.headers);
  bool framed = request.headers.Has("Content-Length") || request.headers.Has("Transfer-Encoding");
  bool wants_length = !request.body.empty() || request.method == "POST" ||
                      request.method == "PUT" || request.method == "PATCH";
  if (!framed && wants_length) absl::StrAppend(&out, "Content-Length: ", request.body.size(), "\r\n");
  out += "\r\n";
  out += request.body;
  return out;
}

std::string SerializeResponseHead(int status, absl::string_view reason, int minor_version,
                                  const Headers& headers) {
  std::string out = absl::StrCat("HTTP/1.", minor_version, " ", status, " ",
                                 reason.empty() ? StatusText(status) : reason, "\r\n");
  out += HeadersText(headers);
  out += "\r\n";
  return out;
}

std::string SerializeResponse(const Response& response) {
  Headers headers = response.headers;
  if (!BodyForbidden(response.status) && !headers.Has("Transfer-Encoding")) {
    headers.Set("Content-Length", std::to_string(response.body.size()));
  }
  std::string out =
      SerializeResponseHead(response.status, response.reason, response.minor_version, headers);
  if (!BodyForbidden(response.status)) out += response.body;
  return out;
}

std::string HttpDate(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", t, absl::UTCTimeZone());
}

// ---------------------------------------------------------------------------
// URLs

namespace {
bool Unreserved(unsigned char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
constexpr char kHex[] = "0123456789ABCDEF";
}  // namespace

std::string EscapePathSegment(absl::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (unsigned char c : segment) {
    if (Unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

absl::StatusOr<std::string> Unescape(absl::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(absl::StrCat("bad percent-escape in \"", s, "\""));
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> SplitPath(absl::string_view raw_path) {
  std::vector<std::string> out;
  for (absl::string_view seg : absl::StrSplit(raw_path, '/', absl::SkipEmpty())) {
    absl::StatusOr<std::string> s = Unescape(seg, /*plus_is_space=*/false);
    if (!s.ok()) return s.status();
    out.push_back(*std::move(s));
  }
  return out;
}

namespace {
std::string QueryEscape(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (Unreserved(c)) {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}
}  // namespace

std::string EncodeQuery(const QueryParams& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    absl::StrAppend(&out, QueryEscape(k), "=", QueryEscape(v));
  }
  return out;
}

absl::StatusOr<QueryParams> ParseQuery(absl::string_view raw_query) {
  QueryParams out;
  for (absl::string_view part : absl::StrSplit(raw_query, '&', absl::SkipEmpty())) {
    size_t eq = part.find('=');
    absl::string_view k = eq == absl::string_view::npos ? part : part.substr(0, eq);
    absl::string_view v = eq == absl::string_view::npos ? absl::string_view() : part.substr(eq + 1);
    absl::StatusOr<std::string> key = Unescape(k, true);
    if (!key.ok()) return key.status();
    absl::StatusOr<std::string> value = Unescape(v, true);
    if (!value.ok()) return value.status();
    out.emplace_back(*std::move(key), *std::move(value));
  }
  return out;
}

std::string QueryValue(const QueryParams& params, absl::string_view key) {
  for (const auto& [k, v] : params) {
    if (k == key) return v;
  }
  return "";
}

bool QueryHas(const QueryParams& params, absl::string_view key) {
  for (const auto& kv : params) {
    if (kv.first == key) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Conn

absl::Time IoDeadline::Next() const {
  if (idle == absl::InfiniteDuration()) return at;
  return std::min(at, absl::Now() + idle);
}

Conn::Conn(int fd) : fd_(fd) {
  int flags = fcntl(fd_, F_GETFL, 0);
  if (flags >= 0) fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
}

Conn::~Conn() { ::close(fd_); }

void Conn::Shutdown() {
  if (!shutdown_.exchange(true)) ::shutdown(fd_, SHUT_RDWR);
}

void Conn::CloseWrite() { ::shutdown(fd_, SHUT_WR); }

void Conn::LingeringClose(absl::Duration max_wait, size_t max_bytes) {
  if (shutdown_.load()) return;
  CloseWrite();
  IoDeadline deadline = IoDeadline::At(absl::Now() + max_wait);
  size_t dropped = 0;
  char buf[4096];
  while (dropped < max_bytes) {
    absl::StatusOr<size_t> n = Read(buf, sizeof(buf), deadline);
    if (!n.ok() || *n == 0) break;
    dropped += *n;
  }
  Shutdown();
}

absl::Status Conn::Wait(short events, absl::Time deadline) {
  while (true) {
    if (shutdown_.load()) return absl::CancelledError("connection shut down");
    int timeout_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("deadline exceeded");
      int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
      timeout_ms = static_cast<int>(std::min<int64_t>(ms, std::numeric_limits<int>::max()));
    }
    pollfd pfd{fd_, events, 0};
    int rc = ::poll(&pfd, 1, timeout_ms);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("poll: ", ErrnoText(errno)));
    }
    if (rc == 0) continue;  // re-evaluates the deadline
    if (pfd.revents & POLLNVAL) return absl::UnavailableError("poll: invalid descriptor");
    return absl::OkStatus();
  }
}

void Conn::Compact() {
  if (rpos_ == rbuf_.size()) {
    rbuf_.clear();
    rpos_ = 0;
  } else if (rpos_ > kReadChunk) {
    rbuf_.erase(0, rpos_);
    rpos_ = 0;
  }
}

absl::StatusOr<size_t> Conn::Fill(IoDeadline deadline) {
  Compact();
  char tmp[kReadChunk];
  while (true) {
    if (shutdown_.load()) return absl::CancelledError("connection shut down");
    ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n > 0) {
      rbuf_.append(tmp, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    if (n == 0) {
      if (shutdown_.load()) return absl::CancelledError("connection shut down");
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      absl::Status s = Wait(POLLIN, deadline.Next());
      if (!s.ok()) return s;
      continue;
    }
    if (shutdown_.load()) return absl::CancelledError("connection shut down");
    return absl::UnavailableError(absl::StrCat("recv: ", ErrnoText(errno)));
  }
}

absl::StatusOr<size_t> Conn::Read(char* buf, size_t n, IoDeadline deadline) {
  if (n == 0) return 0;
  if (buffered() == 0) {
    absl::StatusOr<size_t> got = Fill(deadline);
    if (!got.ok()) return got.status();
    if (*got == 0) return 0;
  }
  size_t take = std::min(n, buffered());
  std::memcpy(buf, rbuf_.data() + rpos_, take);
  rpos_ += take;
  return take;
}

absl::StatusOr<std::string> Conn::ReadLine(size_t max_bytes, IoDeadline deadline) {
  size_t scanned = 0;
  while (true) {
    absl::string_view avail(rbuf_.data() + rpos_, buffered());
    size_t nl = avail.find('\n', scanned);
    if (nl != absl::string_view::npos) {
      if (nl > max_bytes) return absl::ResourceExhaustedError("line too long");
      size_t end = nl;
      if (end > 0 && avail[end - 1] == '\r') --end;
      std::string line(avail.substr(0, end));
      rpos_ += nl + 1;
      return line;
    }
    scanned = avail.size();
    if (avail.size() > max_bytes) return absl::ResourceExhaustedError("line too long");
    size_t before = rpos_;
    absl::StatusOr<size_t> got = Fill(deadline);
    if (!got.ok()) return got.status();
    if (before != rpos_) scanned = 0;  // compaction moved the data; rescan (rare)
    if (*got == 0) {
      if (buffered() == 0) return absl::OutOfRangeError("end of stream");
      return absl::UnavailableError("connection closed inside a line");
    }
  }
}

absl::Status Conn::ReadExactly(size_t n, std::string* out, IoDeadline deadline) {
  while (n > 0) {
    if (buffered() == 0) {
      absl::StatusOr<size_t> got = Fill(deadline);
      if (!got.ok()) return got.status();
      if (*got == 0) return absl::UnavailableError("connection closed early (short body)");
    }
    size_t take = std::min(n, buffered());
    out->append(rbuf_.data() + rpos_, take);
    rpos_ += take;
    n -= take;
  }
  return absl::OkStatus();
}

absl::Status Conn::ReadToEnd(std::string* out, size_t max_bytes, IoDeadline deadline) {
  while (true) {
    if (buffered() > 0) {
      if (out->size() + buffered() > max_bytes) return absl::ResourceExhaustedError("body too large");
      out->append(rbuf_.data() + rpos_, buffered());
      rpos_ = rbuf_.size();
    }
    absl::StatusOr<size_t> got = Fill(deadline);
    if (!got.ok()) return got.status();
    if (*got == 0) return absl::OkStatus();
  }
}

absl::Status Conn::WriteAll(absl::string_view data, absl::Time deadline) {
  while (!data.empty()) {
    if (shutdown_.load()) return absl::CancelledError("connection shut down");
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      absl::Status s = Wait(POLLOUT, deadline);
      if (!s.ok()) return s;
      continue;
    }
    if (shutdown_.load()) return absl::CancelledError("connection shut down");
    return absl::UnavailableError(absl::StrCat("send: ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

bool Conn::IdleAndOpen() {
  if (shutdown_.load() || buffered() > 0) return false;
  pollfd pfd{fd_, POLLIN, 0};
  int rc = ::poll(&pfd, 1, 0);
  if (rc < 0) return false;
  if (rc == 0) return true;
  return false;  // readable while idle: EOF, an error, or stray bytes
}

namespace {

absl::StatusOr<std::pair<std::string, std::string>> SplitHostPort(absl::string_view address) {
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("tcp address \"", address, "\": want host:port"));
  }
  std::string host(address.substr(0, colon));
  std::string port(address.substr(colon + 1));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int p = 0;
  if (port.empty() || !absl::SimpleAtoi(port, &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("tcp address \"", address, "\": bad port"));
  }
  return std::make_pair(host, port);
}

absl::Status FillUnixAddr(absl::string_view path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("unix socket path \"", path, "\" is empty or longer than ",
                                                   sizeof(addr->sun_path) - 1, " bytes"));
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  return absl::OkStatus();
}

// Waits for a non-blocking connect on `fd` to finish.
absl::Status FinishConnect(int fd, absl::Time deadline, absl::string_view what) {
  while (true) {
    int timeout_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(absl::StrCat("connect to ", what, ": timed out"));
      }
      timeout_ms = static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
          std::numeric_limits<int>::max()));
    }
    pollfd pfd{fd, POLLOUT, 0};
    int rc = ::poll(&pfd, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return absl::UnavailableError(absl::StrCat("connect to ", what, ": poll: ", ErrnoText(errno)));
    if (rc == 0) continue;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return absl::UnavailableError(absl::StrCat("connect to ", what, ": ", ErrnoText(err)));
    return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Conn>> Conn::Dial(absl::string_view network,
                                                 absl::string_view address, absl::Time deadline) {
  std::string what = absl::StrCat(network, " ", address);
  if (network == "unix") {
    sockaddr_un addr;
    absl::Status s = FillUnixAddr(address, &addr);
    if (!s.ok()) return s;
    while (true) {
      int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) return absl::UnavailableError(absl::StrCat("socket(AF_UNIX): ", ErrnoText(errno)));
      int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      if (rc == 0) return std::make_unique<Conn>(fd);
      int err = errno;
      if (err == EINPROGRESS) {
        s = FinishConnect(fd, deadline, what);
        if (!s.ok()) {
          ::close(fd);
          return s;
        }
        return std::make_unique<Conn>(fd);
      }
      ::close(fd);
      if (err == EAGAIN) {  // listen backlog full: retry until the deadline
        if (absl::Now() >= deadline) {
          return absl::DeadlineExceededError(absl::StrCat("connect to ", what, ": timed out"));
        }
        absl::SleepFor(absl::Milliseconds(5));
        continue;
      }
      if (err == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("connect to ", what, ": ", ErrnoText(err)));
    }
  }
  if (network != "tcp") {
    return absl::InvalidArgumentError(absl::StrCat("unknown network \"", network, "\" (want unix or tcp)"));
  }
  absl::StatusOr<std::pair<std::string, std::string>> hp = SplitHostPort(address);
  if (!hp.ok()) return hp.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const char* host = hp->first.empty() ? "127.0.0.1" : hp->first.c_str();
  int gai = ::getaddrinfo(host, hp->second.c_str(), &hints, &res);
  if (gai != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", address, ": ", gai_strerror(gai)));
  }
  absl::Status last = absl::UnavailableError(absl::StrCat("connect to ", what, ": no addresses"));
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = absl::UnavailableError(absl::StrCat("socket: ", ErrnoText(errno)));
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
      last = absl::UnavailableError(absl::StrCat("connect to ", what, ": ", ErrnoText(errno)));
      ::close(fd);
      continue;
    }
    if (rc != 0) {
      absl::Status s = FinishConnect(fd, deadline, what);
      if (!s.ok()) {
        ::close(fd);
        last = s;
        if (s.code() == absl::StatusCode::kDeadlineExceeded) break;
        continue;
      }
    }
    ::freeaddrinfo(res);
    return std::make_unique<Conn>(fd);
  }
  ::freeaddrinfo(res);
  return last;
}

// ---------------------------------------------------------------------------
// Reading messages

absl::StatusOr<Request> ReadRequest(Conn& conn, const Limits& limits, IoDeadline first_byte,
                                    IoDeadline rest,
                                    const std::function<absl::Status()>& on_expect_continue) {
  Request req;
  std::string line;
  size_t budget = limits.max_header_bytes;
  // RFC 9112 2.2: ignore at least one empty line before the request line.
  for (int blank = 0;; ++blank) {
    absl::StatusOr<std::string> l =
        conn.ReadLine(budget, blank == 0 ? first_byte : rest);
    if (!l.ok()) {
      if (l.status().code() == absl::StatusCode::kResourceExhausted) {
        return absl::ResourceExhaustedError("request header too large (request line)");
      }
      if (l.status().code() == absl::StatusCode::kUnavailable && blank == 0) {
        return absl::InvalidArgumentError("incomplete request line");
      }
      return l.status();
    }
    budget -= std::min(budget, l->size() + 2);
    if (!l->empty()) {
      line = *std::move(l);
      break;
    }
    if (blank >= 4) return absl::InvalidArgumentError("empty request line");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat("malformed request line \"", line.substr(0, 100), "\""));
  }
  if (!IsToken(parts[0])) {
    return absl::InvalidArgumentError(absl::StrCat("malformed method \"", parts[0].substr(0, 32), "\""));
  }
  req.method = std::string(parts[0]);
  absl::string_view target = parts[1];
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("invalid character in request target");
    }
  }
  if (absl::StartsWithIgnoreCase(target, "http://") || absl::StartsWithIgnoreCase(target, "https://")) {
    // absolute-form: keep the path and query.
    size_t scheme_end = target.find("://") + 3;
    size_t slash = target.find('/', scheme_end);
    target = slash == absl::string_view::npos ? absl::string_view("/") : target.substr(slash);
  }
  if (target.empty() || (target.front() != '/' && target != "*")) {
    return absl::InvalidArgumentError(absl::StrCat("malformed request target \"", target.substr(0, 100), "\""));
  }
  req.target = std::string(target);
  if (parts[2] == "HTTP/1.1") {
    req.minor_version = 1;
  } else if (parts[2] == "HTTP/1.0") {
    req.minor_version = 0;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unsupported protocol version \"", parts[2].substr(0, 16), "\""));
  }
  absl::Status s = ReadHeaderBlock(conn, limits, budget, rest, &req.headers, "request");
  if (!s.ok()) {
    if (s.code() == absl::StatusCode::kUnavailable && !conn.IsShutdown()) {
      return absl::InvalidArgumentError(std::string(s.message()));
    }
    return s;
  }
  if (req.minor_version == 1 && !req.headers.Has("Host")) {
    // RFC 9112 3.2 requires Host; Go's server rejects its absence too.
    return absl::InvalidArgumentError("missing required Host header");
  }
  bool chunked = false;
  int64_t length = -1;
  s = BodyFraming(req.headers, &chunked, &length, "request");
  if (!s.ok()) return s;
  if ((chunked || length > 0) && on_expect_continue && req.minor_version == 1 &&
      req.headers.HasToken("Expect", "100-continue")) {
    s = on_expect_continue();
    if (!s.ok()) return s;
  }
  s = ReadBody(conn, req.headers, limits, rest, /*to_end_if_unframed=*/false, &req.body, "request");
  if (!s.ok()) {
    if (s.code() == absl::StatusCode::kUnavailable && !conn.IsShutdown()) {
      return absl::InvalidArgumentError(std::string(s.message()));
    }
    return s;
  }
  return req;
}

absl::StatusOr<ResponseHead> ReadResponseHead(Conn& conn, const Limits& limits,
                                              IoDeadline deadline) {
  while (true) {
    ResponseHead head;
    absl::StatusOr<std::string> line = conn.ReadLine(limits.max_header_bytes, deadline);
    if (!line.ok()) {
      if (line.status().code() == absl::StatusCode::kResourceExhausted) {
        return absl::ResourceExhaustedError("response header too large (status line)");
      }
      return line.status();
    }
    absl::string_view l = *line;
    if (!absl::StartsWith(l, "HTTP/1.") || l.size() < 12 || l[8] != ' ') {
      return absl::InvalidArgumentError(absl::StrCat("malformed status line \"", l.substr(0, 100), "\""));
    }
    if (l[7] != '0' && l[7] != '1') {
      return absl::InvalidArgumentError(absl::StrCat("unsupported protocol version in \"", l.substr(0, 100), "\""));
    }
    head.minor_version = l[7] - '0';
    absl::string_view code = l.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (l.size() > 12 && l[12] != ' ')) {
      return absl::InvalidArgumentError(absl::StrCat("malformed status line \"", l.substr(0, 100), "\""));
    }
    head.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    head.reason = l.size() > 13 ? std::string(l.substr(13)) : "";
    size_t budget = limits.max_header_bytes - std::min(limits.max_header_bytes, line->size() + 2);
    absl::Status s = ReadHeaderBlock(conn, limits, budget, deadline, &head.headers, "response");
    if (!s.ok()) return s;
    if (head.status >= 100 && head.status < 200 && head.status != 101) continue;  // interim
    return head;
  }
}

absl::StatusOr<std::string> ReadResponseBody(Conn& conn, const ResponseHead& head,
                                             absl::string_view request_method,
                                             const Limits& limits, IoDeadline deadline) {
  std::string body;
  if (request_method == "HEAD" || BodyForbidden(head.status)) return body;
  absl::Status s = ReadBody(conn, head.headers, limits, deadline, /*to_end_if_unframed=*/true,
                            &body, "response");
  if (!s.ok()) return s;
  return body;
}

bool ResponseKeepAlive(const ResponseHead& head, absl::string_view request_method) {
  if (head.headers.HasToken("Connection", "close")) return false;
  if (head.minor_version == 0 && !head.headers.HasToken("Connection", "keep-alive")) return false;
  if (request_method == "HEAD" || BodyForbidden(head.status)) return true;
  bool chunked = false;
  int64_t length = -1;
  if (!BodyFraming(head.headers, &chunked, &length, "response").ok()) return false;
  return chunked || length >= 0;
}

// ---------------------------------------------------------------------------
// Server

struct Server::ConnThread {
  std::shared_ptr<Conn> conn;
  std::thread thread;
  std::atomic<bool> done{false};
};

struct Server::State {
  absl::Mutex mu;
  std::list<std::unique_ptr<ConnThread>> conns ABSL_GUARDED_BY(mu);
  std::thread accept_thread;
  std::string unix_path;
  ino_t unix_ino = 0;
};

bool Exchange::Stopping() const { return server_->Stopping(); }

absl::Status Exchange::Respond(Response response) {
  if (responded_) return absl::FailedPreconditionError("response already written");
  responded_ = true;
  response.minor_version = 1;
  // Go's order: handler fields, Date, Content-Length, Connection.
  if (!response.headers.Has("Date")) response.headers.Set("Date", HttpDate(absl::Now()));
  if (!BodyForbidden(response.status) && !response.headers.Has("Transfer-Encoding")) {
    response.headers.Set("Content-Length", std::to_string(response.body.size()));
  }
  if (!keep_alive_ || server_->Stopping()) {
    keep_alive_ = false;
    response.headers.Set("Connection", "close");
  }
  std::string wire = SerializeResponse(response);
  if (request_.method == "HEAD") {
    wire.resize(wire.size() - (BodyForbidden(response.status) ? 0 : response.body.size()));
  }
  absl::Status s = conn_->WriteAll(wire, absl::Now() + server_->options_.write_timeout);
  if (!s.ok()) keep_alive_ = false;
  return s;
}

absl::StatusOr<std::shared_ptr<Conn>> Exchange::Hijack(int status, Headers headers) {
  if (responded_) return absl::FailedPreconditionError("response already written");
  responded_ = true;
  hijacked_ = true;
  keep_alive_ = false;
  if (!headers.Has("Date")) headers.Add("Date", HttpDate(absl::Now()));
  absl::Status s = conn_->WriteAll(SerializeResponseHead(status, "", 1, headers),
                                   absl::Now() + server_->options_.write_timeout);
  if (!s.ok()) return s;
  return conn_;
}

Server::Server(ServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)), state_(std::make_unique<State>()) {}

Server::~Server() { Stop(); }

int Server::Port() const { return port_; }

absl::Status Server::Start() {
  if (started_) return absl::FailedPreconditionError("server already started");
  std::string what = absl::StrCat(options_.network, " ", options_.address);
  int fd = -1;
  if (options_.network == "unix") {
    sockaddr_un addr;
    absl::Status s = FillUnixAddr(options_.address, &addr);
    if (!s.ok()) return s;
    struct stat st;
    if (::lstat(options_.address.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat("listen on ", what, ": the path exists and is not a socket"));
      }
      if (::unlink(options_.address.c_str()) != 0) {
        return absl::UnavailableError(
            absl::StrCat("error deleting existing socket ", options_.address, ": ", ErrnoText(errno)));
      }
    }
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::UnavailableError(absl::StrCat("socket(AF_UNIX): ", ErrnoText(errno)));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      int err = errno;
      ::close(fd);
      return absl::UnavailableError(absl::StrCat("listen on ", what, ": bind: ", ErrnoText(err)));
    }
    if (::chmod(options_.address.c_str(), options_.unix_socket_mode) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(options_.address.c_str());
      return absl::UnavailableError(absl::StrCat("listen on ", what, ": chmod: ", ErrnoText(err)));
    }
    if (::stat(options_.address.c_str(), &st) == 0) state_->unix_ino = st.st_ino;
    state_->unix_path = options_.address;
  } else if (options_.network == "tcp") {
    absl::StatusOr<std::pair<std::string, std::string>> hp = SplitHostPort(options_.address);
    if (!hp.ok()) return hp.status();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* res = nullptr;
    int gai = ::getaddrinfo(hp->first.empty() ? nullptr : hp->first.c_str(), hp->second.c_str(),
                            &hints, &res);
    if (gai != 0) {
      return absl::UnavailableError(absl::StrCat("listen on ", what, ": resolve: ", gai_strerror(gai)));
    }
    fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ::freeaddrinfo(res);
      return absl::UnavailableError(absl::StrCat("socket: ", ErrnoText(errno)));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
      int err = errno;
      ::freeaddrinfo(res);
      ::close(fd);
      return absl::UnavailableError(absl::StrCat("listen on ", what, ": bind: ", ErrnoText(err)));
    }
    ::freeaddrinfo(res);
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      if (ss.ss_family == AF_INET) {
        port_ = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
      } else if (ss.ss_family == AF_INET6) {
        port_ = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
      }
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown listen network \"", options_.network, "\" (want unix or tcp)"));
  }
  if (::listen(fd, 128) != 0) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("listen on ", what, ": ", ErrnoText(err)));
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("eventfd: ", ErrnoText(err)));
  }
  listen_fd_ = fd;
  started_ = true;
  state_->accept_thread = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void Server::AcceptLoop() {
  while (!stopping_.load()) {
    pollfd pfds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int rc = ::poll(pfds, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (stopping_.load() || (pfds[1].revents & POLLIN)) return;
    if (!(pfds[0].revents & POLLIN)) continue;
    int cfd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (cfd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) continue;
      // EMFILE/ENFILE/ENOBUFS: back off briefly instead of spinning.
      pollfd wake{wake_fd_, POLLIN, 0};
      ::poll(&wake, 1, 50);
      continue;
    }
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // fails harmlessly on unix
    auto conn = std::make_shared<Conn>(cfd);
    ReapFinished();
    absl::MutexLock lock(&state_->mu);
    if (stopping_.load()) break;
    auto ct = std::make_unique<ConnThread>();
    ConnThread* raw = ct.get();
    ct->conn = conn;
    state_->conns.push_back(std::move(ct));
    raw->thread = std::thread([this, raw] {
      ServeConn(raw->conn);
      raw->done.store(true);
    });
  }
}

void Server::ReapFinished() {
  std::list<std::unique_ptr<ConnThread>> finished;
  {
    absl::MutexLock lock(&state_->mu);
    for (auto it = state_->conns.begin(); it != state_->conns.end();) {
      if ((*it)->done.load()) {
        finished.push_back(std::move(*it));
        it = state_->conns.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& ct : finished) {
    if (ct->thread.joinable()) ct->thread.join();
  }
}

void Server::ServeConn(std::shared_ptr<Conn> conn) {
  const IoDeadline idle = IoDeadline::Idle(options_.idle_timeout);
  while (!stopping_.load()) {
    auto continue_cb = [&conn, this]() {
      return conn->WriteAll("HTTP/1.1 100 Continue\r\n\r\n", absl::Now() + options_.write_timeout);
    };
    absl::StatusOr<Request> req = ReadRequest(*conn, options_.limits, idle, idle, continue_cb);
    if (!req.ok()) {
      int status = 0;
      switch (req.status().code()) {
        case absl::StatusCode::kInvalidArgument: status = 400; break;
        case absl::StatusCode::kUnimplemented: status = 501; break;
        case absl::StatusCode::kResourceExhausted:
          status = absl::StrContains(req.status().message(), "header") ? 431 : 413;
          break;
        default: break;  // end of stream, idle timeout, shutdown, I/O error
      }
      if (status != 0 && !stopping_.load()) {
        Response r;
        r.status = status;
        r.headers.Set("Content-Type", "text/plain; charset=utf-8");
        r.headers.Set("Connection", "close");
        r.headers.Set("Date", HttpDate(absl::Now()));
        r.body = absl::StrCat(status, " ", StatusText(status), ": ", req.status().message(), "\n");
        if (conn->WriteAll(SerializeResponse(r), absl::Now() + options_.write_timeout).ok()) {
          conn->LingeringClose(kLingerTime, kLingerBytes);
        }
      }
      break;
    }
    bool keep_alive = req->KeepAlive();
    Exchange ex(this, conn, *std::move(req), keep_alive);
    handler_(ex);
    if (ex.hijacked()) break;
    if (!ex.responded()) {
      Response r;
      r.status = 500;
      r.headers.Set("Content-Type", "text/plain; charset=utf-8");
      r.body = "handler wrote no response\n";
      (void)ex.Respond(std::move(r));
    }
    if (!ex.keep_alive_) {
      if (!stopping_.load()) conn->LingeringClose(kLingerTime, kLingerBytes);
      break;
    }
  }
  conn->Shutdown();
}

void Server::Stop() {
  if (!started_ || stopped_) {
    stopping_.store(true);
    return;
  }
  stopped_ = true;
  stopping_.store(true);
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  if (state_->accept_thread.joinable()) state_->accept_thread.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
  if (!state_->unix_path.empty()) {
    struct stat st;
    if (::stat(state_->unix_path.c_str(), &st) == 0 && st.st_ino == state_->unix_ino) {
      ::unlink(state_->unix_path.c_str());
    }
  }
  std::list<std::unique_ptr<ConnThread>> all;
  {
    absl::MutexLock lock(&state_->mu);
    for (auto& ct : state_->conns) ct->conn->Shutdown();
    all.swap(state_->conns);
  }
  for (auto& ct : all) {
    if (ct->thread.joinable()) ct->thread.join();
  }
  ::close(wake_fd_);
  wake_fd_ = -1;
}

}  // namespace diego::garden::http_wire
