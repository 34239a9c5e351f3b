// Copyright 2026 The libdiego Authors.
//
// Server-sent-event framing of BBS events (bbs-wire-reference.md 6.2): the
// writer side as go-sse's Event.Write produces it, and an incremental reader
// with go-sse's line rules.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "diego/bbs/events.h"

namespace diego::bbs {
namespace {

// Base64 (standard alphabet) decoding that, like Go's base64.StdEncoding,
// ignores line breaks inside the text (they appear when an event has several
// data lines).
bool DecodeBase64(absl::string_view text, std::string* out) {
  if (text.find_first_of("\r\n") == absl::string_view::npos) {
    return absl::Base64Unescape(text, out);
  }
  std::string joined;
  joined.reserve(text.size());
  for (char c : text) {
    if (c != '\r' && c != '\n') joined.push_back(c);
  }
  return absl::Base64Unescape(joined, out);
}

}  // namespace

std::string EncodeSseEvent(int64_t id, const BbsEvent& event) {
  return absl::StrCat("id: ", id, "\nevent: ", event.type,
                      "\ndata: ", absl::Base64Escape(event.payload), "\n\n");
}

absl::Status SseParser::Feed(absl::string_view bytes) {
  absl::Status first_error;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t newline = bytes.find('\n', pos);
    if (newline == absl::string_view::npos) {
      line_.append(bytes.data() + pos, bytes.size() - pos);
      break;
    }
    absl::string_view line;
    if (line_.empty()) {
      line = bytes.substr(pos, newline - pos);
    } else {
      line_.append(bytes.data() + pos, newline - pos);
      line = line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    absl::Status status = ProcessLine(line);
    if (first_error.ok()) first_error = std::move(status);
    line_.clear();
    pos = newline + 1;
  }
  return first_error;
}

absl::Status SseParser::ProcessLine(absl::string_view line) {
  if (line.empty()) return Dispatch();
  if (line.front() == ':') return absl::OkStatus();  // A comment.

  absl::string_view field = line;
  absl::string_view value;
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }

  if (field == "id") {
    current_.id = std::string(value);
  } else if (field == "event") {
    current_.type = std::string(value);
  } else if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value.data(), value.size());
    has_data_ = true;
  } else {
    return absl::OkStatus();  // Unknown fields (e.g. "retry") are ignored.
  }
  pending_ = true;
  return absl::OkStatus();
}

absl::Status SseParser::Dispatch() {
  if (!pending_) return absl::OkStatus();
  SseEvent event = std::move(current_);
  std::string data = std::move(data_);
  current_ = SseEvent();
  data_.clear();
  has_data_ = false;
  pending_ = false;
  if (!DecodeBase64(data, &event.data)) {
    return absl::InvalidArgumentError(
        absl::StrCat("event stream: data of event \"", absl::CEscape(event.type), "\" (id \"",
                     absl::CEscape(event.id), "\") is not valid base64"));
  }
  ready_.push_back(std::move(event));
  return absl::OkStatus();
}

std::vector<SseEvent> SseParser::TakeEvents() {
  std::vector<SseEvent> events;
  events.swap(ready_);
  return events;
}

}  // namespace diego::bbs
