// Copyright 2026 The libdiego Authors.
//
// The request target of a probe URL (Go's url.Parse + URL.RequestURI()),
// the probe request, and an incremental HTTP/1.x response parser: status
// line, headers (Content-Length, Transfer-Encoding), then the body is
// drained without being kept (Content-Length, chunked, or until close).
// 1xx interim responses (except 101) are skipped, as Go's client does.

#include "http_probe.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace diego::healthcheck_internal {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;
constexpr size_t kMaxChunkLineBytes = 4096;

// Chunked body sub-states (chunk_state_).
constexpr int kChunkSize = 0;     // reading "<hex>[;ext]\r\n"
constexpr int kChunkData = 1;     // skipping remaining_ data bytes
constexpr int kChunkDataEnd = 2;  // reading the CRLF after the data
constexpr int kChunkTrailer = 3;  // reading trailer lines until an empty one

bool IsHex(char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); }

// Whether Go's url.Parse accepts the %-escapes of `s` (each '%' followed by
// two hex digits).
bool ValidEscapes(absl::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size()) return false;
    if (!IsHex(s[i + 1]) || !IsHex(s[i + 2])) return false;
    i += 2;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
}

// Go's shouldEscape(c, encodePath) == false.
bool PathCharOk(unsigned char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '-':
    case '_':
    case '.':
    case '~':
    case '$':
    case '&':
    case '+':
    case ',':
    case '/':
    case ':':
    case ';':
    case '=':
    case '@':
      return true;
    default:
      return false;
  }
}

// Go's validEncoded(s, encodePath).
bool ValidEncodedPath(absl::string_view s) {
  for (unsigned char c : s) {
    switch (c) {
      case '!':
      case '$':
      case '&':
      case '\'':
      case '(':
      case ')':
      case '*':
      case '+':
      case ',':
      case ';':
      case '=':
      case ':':
      case '@':
      case '[':
      case ']':
      case '%':
        continue;
      default:
        if (!PathCharOk(c)) return false;
    }
  }
  return true;
}

// Go's URL.RequestURI() for http://ip:port<uri>: escaped path, then
// "?query"; the fragment is dropped.
}  // namespace

bool ProbeRequestTarget(absl::string_view uri, std::string* target) {
  for (unsigned char c : uri) {
    if (c < 0x20 || c == 0x7f) return false;  // "invalid control character in URL"
  }
  // Anything else right after the port would make the port invalid.
  if (uri.empty() || (uri[0] != '/' && uri[0] != '?' && uri[0] != '#')) return false;
  absl::string_view rest = uri;
  absl::string_view fragment;
  bool has_fragment = false;
  if (size_t hash = rest.find('#'); hash != absl::string_view::npos) {
    fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
    has_fragment = true;
  }
  if (has_fragment && !ValidEscapes(fragment)) return false;
  absl::string_view path = rest;
  absl::string_view query;
  bool has_query = false;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
    has_query = true;
  }
  if (!ValidEscapes(path)) return false;
  std::string escaped;
  if (ValidEncodedPath(path)) {
    escaped = std::string(path);
  } else {
    // Unescape, then escape every byte Go would.
    for (size_t i = 0; i < path.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(path[i]);
      if (c == '%') {
        c = static_cast<unsigned char>(HexValue(path[i + 1]) * 16 + HexValue(path[i + 2]));
        i += 2;
      }
      if (PathCharOk(c)) {
        escaped.push_back(static_cast<char>(c));
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        escaped.push_back('%');
        escaped.push_back(kHex[c >> 4]);
        escaped.push_back(kHex[c & 15]);
      }
    }
  }
  if (escaped.empty()) escaped.push_back('/');
  if (has_query) absl::StrAppend(&escaped, "?", query);
  *target = std::move(escaped);
  return true;
}

std::string BuildProbeRequest(absl::string_view ip, uint16_t port, absl::string_view path) {
  return absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", ip, ":", port,
                      "\r\nUser-Agent: diego-healthcheck\r\n"
                      "X-Forwarded-Proto: https\r\n"
                      "Accept-Encoding: gzip\r\n"
                      "Connection: close\r\n\r\n");
}

ProbeResponseParser::State ProbeResponseParser::Feed(absl::string_view data) {
  if (state_ != State::kNeedMore) return state_;
  buffer_.append(data.data(), data.size());

  auto fail = [this](std::string message) {
    error_ = std::move(message);
    state_ = State::kError;
    return state_;
  };

  while (state_ == State::kNeedMore) {
    if (!headers_done_) {
      size_t end = buffer_.find("\r\n\r\n");
      size_t sep_len = 4;
      size_t lf_end = buffer_.find("\n\n");
      if (lf_end != std::string::npos && (end == std::string::npos || lf_end < end)) {
        end = lf_end;
        sep_len = 2;
      }
      if (end == std::string::npos) {
        if (buffer_.size() > kMaxHeaderBytes) return fail("response headers too large");
        return state_;
      }
      if (end > kMaxHeaderBytes) return fail("response headers too large");
      std::string head = buffer_.substr(0, end);
      buffer_.erase(0, end + sep_len);

      std::vector<absl::string_view> lines = absl::StrSplit(head, '\n');
      absl::string_view status_line = absl::StripSuffix(lines[0], "\r");
      // "HTTP/1.1 200 OK"
      if (!absl::StartsWith(status_line, "HTTP/")) {
        return fail(absl::StrCat("malformed HTTP response \"", status_line, "\""));
      }
      std::vector<absl::string_view> parts = absl::StrSplit(status_line, absl::MaxSplits(' ', 2));
      int code = 0;
      if (parts.size() < 2 || parts[1].size() != 3 || !absl::SimpleAtoi(parts[1], &code) ||
          code < 100) {
        return fail(absl::StrCat("malformed HTTP status code \"",
                                 parts.size() >= 2 ? parts[1] : absl::string_view(), "\""));
      }
      bool has_length = false;
      int64_t length = 0;
      bool chunked = false;
      for (size_t i = 1; i < lines.size(); ++i) {
        absl::string_view line = absl::StripSuffix(lines[i], "\r");
        size_t colon = line.find(':');
        if (colon == absl::string_view::npos) {
          return fail(absl::StrCat("malformed MIME header line: ", line));
        }
        absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, colon));
        absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
        if (absl::EqualsIgnoreCase(name, "Content-Length")) {
          int64_t n = 0;
          if (!absl::SimpleAtoi(value, &n) || n < 0) {
            return fail(absl::StrCat("bad Content-Length \"", value, "\""));
          }
          has_length = true;
          length = n;
        } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
          if (absl::StrContains(absl::AsciiStrToLower(value), "chunked")) chunked = true;
        }
      }
      if (code >= 100 && code < 200 && code != 101) {
        continue;  // interim response; the real one follows
      }
      status_ = code;
      headers_done_ = true;
      if (code == 204 || code == 304 || code == 101) {
        state_ = State::kDone;
        break;
      }
      if (chunked) {
        chunked_ = true;
        chunk_state_ = kChunkSize;
      } else if (has_length) {
        remaining_ = length;
      } else {
        until_close_ = true;
      }
      continue;
    }

    // Body.
    if (until_close_) {
      buffer_.clear();
      return state_;
    }
    if (!chunked_) {
      int64_t take = std::min<int64_t>(remaining_, static_cast<int64_t>(buffer_.size()));
      remaining_ -= take;
      buffer_.clear();  // bytes past the body are ignored (Connection: close)
      if (remaining_ == 0) state_ = State::kDone;
      return state_;
    }

    switch (chunk_state_) {
      case kChunkSize:
      case kChunkDataEnd:
      case kChunkTrailer: {
        size_t nl = buffer_.find('\n');
        if (nl == std::string::npos) {
          if (buffer_.size() > kMaxChunkLineBytes) return fail("malformed chunked encoding");
          return state_;
        }
        absl::string_view line(buffer_.data(), nl);
        line = absl::StripSuffix(line, "\r");
        if (chunk_state_ == kChunkSize) {
          absl::string_view size_text = line.substr(0, line.find(';'));
          size_text = absl::StripAsciiWhitespace(size_text);
          uint64_t size = 0;
          if (size_text.empty() || size_text.size() > 15 ||
              !absl::SimpleHexAtoi(size_text, &size)) {
            return fail("malformed chunked encoding");
          }
          remaining_ = static_cast<int64_t>(size);
          chunk_state_ = size == 0 ? kChunkTrailer : kChunkData;
        } else if (chunk_state_ == kChunkDataEnd) {
          if (!line.empty()) return fail("malformed chunked encoding");
          chunk_state_ = kChunkSize;
        } else {  // trailer
          if (line.empty()) state_ = State::kDone;
        }
        buffer_.erase(0, nl + 1);
        break;
      }
      case kChunkData: {
        int64_t take = std::min<int64_t>(remaining_, static_cast<int64_t>(buffer_.size()));
        buffer_.erase(0, static_cast<size_t>(take));
        remaining_ -= take;
        if (remaining_ > 0) return state_;
        chunk_state_ = kChunkDataEnd;
        break;
      }
      default:
        return fail("malformed chunked encoding");
    }
  }
  return state_;
}

ProbeResponseParser::State ProbeResponseParser::FeedEof() {
  if (state_ != State::kNeedMore) return state_;
  if (headers_done_ && until_close_) {
    state_ = State::kDone;
    return state_;
  }
  // Go reports a connection closed before the status as "EOF" and one closed
  // mid-body as "unexpected EOF"; the status is known in the latter case,
  // and the probe judges by status, so a truncated body still counts as done.
  if (headers_done_) {
    state_ = State::kDone;
    return state_;
  }
  error_ = "EOF";
  state_ = State::kError;
  return state_;
}

}  // namespace diego::healthcheck_internal
