// Copyright 2026 The libdiego Authors.
//
// The container log streamer (log_streamer.h), after Diego's
// executor/depot/log_streamer (log_streamer.go, stream_destination.go,
// log_rate_limiter.go).
//
// Implementation notes (the facts the header states, with their origin):
//
//   * Splitting (stream_destination.processMessage): every '\n' *and* every
//     '\r' ends a line; the terminator is not part of the message. A line
//     that ends with nothing buffered emits nothing, so empty lines (and the
//     empty "line" between the "\r" and "\n" of "\r\n") are dropped.
//   * Long lines (appendToBuffer): when the buffered bytes plus the new text
//     reach kMaxLogLineBytes (>=, not >), the buffer is filled up to exactly
//     kMaxLogLineBytes, cut back by up to 3 bytes so that it does not end in
//     the middle of a UTF-8 sequence, and emitted; the rest continues in a
//     fresh buffer. A line of exactly kMaxLogLineBytes is one message.
//   * Each of a streamer's two streams (stdout, stderr) has its own buffer;
//     `Flush()` emits stdout's partial line, then stderr's.
//   * Tags (models.LogConfig.GetSourceNameAndTagsForLogging): the config's
//     tags plus "source_id" = guid and "instance_id" = index unless the tags
//     already have them. A line's guid / instance are those two tags (as
//     diego-logging-client's SendAppLog reads them).
//   * An empty guid gives a streamer that emits nothing (Diego's
//     noopStreamer); its SourceName/WithSource still work.
//   * Rate limit (log_rate_limiter.go Limit), per container, checked for
//     every message about to be emitted, with the message's byte length:
//       - bytes_per_second == 0: every message is dropped, nothing reported;
//       - within 1 s (LogRateLimitExceededLogInterval) of the last overage,
//         every message is dropped silently;
//       - otherwise a token bucket (Go's x/time/rate: `bytes_per_second`
//         tokens per second, burst `bytes_per_second`, starting full, refilled
//         continuously on the injected Clock) must hold the message's bytes
//         (a message larger than the burst never fits). When it does not, the
//         message is dropped, the overage time is recorded, the counter
//         "AppInstanceExceededLogRateLimitCount" is incremented and the line
//         "app instance exceeded log rate limit (<n> bytes/sec)" is sent on
//         *stdout* with the *dropping streamer's* source name and the
//         container's tags, bypassing the limit;
//       - then, when `max_log_lines_per_second > 0`, a second bucket of that
//         many lines (burst the same) must hold one line; when it does not,
//         the same happens with "app instance exceeded log rate limit (<n>
//         log-lines/sec) set by platform operator".
//     So at most one report per second, and one per overage episode.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "diego/actions/log_streamer.h"

namespace diego::actions {
namespace {

constexpr absl::Duration kOverageSilence = absl::Seconds(1);

// Go's golang.org/x/time/rate Limiter, reduced to AllowN: `rate` tokens per
// second, at most `burst` tokens, full at first. A request for more than
// `burst` never succeeds; a failed request takes nothing. Not thread-safe.
class TokenBucket {
 public:
  TokenBucket(double rate, int64_t burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  bool AllowN(absl::Time now, int64_t n) {
    double tokens = tokens_;
    if (last_ != absl::InfinitePast() && now > last_) {
      tokens = std::min(static_cast<double>(burst_),
                        tokens + absl::ToDoubleSeconds(now - last_) * rate_);
    }
    if (n > burst_ || tokens < static_cast<double>(n)) return false;
    tokens_ = tokens - static_cast<double>(n);
    last_ = std::max(now, last_);
    return true;
  }

 private:
  const double rate_;
  const int64_t burst_;
  double tokens_;
  absl::Time last_ = absl::InfinitePast();
};

// True when `buf` ends inside a UTF-8 sequence or with an invalid byte
// (Go's utf8.DecodeLastRune returning RuneError of width 1).
bool EndsWithBrokenRune(absl::string_view buf) {
  if (buf.empty()) return false;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(buf[i]); };
  size_t end = buf.size();
  if (byte(end - 1) < 0x80) return false;
  // Find the lead byte among the last (at most) 4 bytes.
  size_t start = end - 1;
  while (start > 0 && end - start < 4 && (byte(start) & 0xC0) == 0x80) --start;
  unsigned char lead = byte(start);
  size_t want;
  if (lead >= 0xC2 && lead <= 0xDF) {
    want = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    want = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    want = 4;
  } else {
    return true;  // a continuation byte without a lead, or an invalid lead
  }
  if (end - start != want) return true;
  for (size_t i = start + 1; i < end; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return true;
  }
  // Overlong / surrogate / out-of-range second bytes, as Go rejects them.
  unsigned char second = byte(start + 1);
  if (lead == 0xE0 && second < 0xA0) return true;
  if (lead == 0xED && second > 0x9F) return true;
  if (lead == 0xF0 && second < 0x90) return true;
  if (lead == 0xF4 && second > 0x8F) return true;
  return false;
}

// What every streamer of one container shares: the sink, clock, identity,
// tags and the rate limit.
class ContainerState {
 public:
  ContainerState(const LogConfig& config, AppLogSink* sink, Clock* clock)
      : sink_(sink),
        clock_(clock),
        enabled_(!config.guid.empty()),
        tags_(config.tags),
        bytes_per_second_(config.bytes_per_second),
        lines_per_second_(config.max_log_lines_per_second),
        increment_counter_(config.increment_counter),
        bytes_bucket_(static_cast<double>(std::max<int64_t>(config.bytes_per_second, 0)),
                      std::max<int64_t>(config.bytes_per_second, 0)),
        lines_bucket_(static_cast<double>(std::max(config.max_log_lines_per_second, 0)),
                      std::max(config.max_log_lines_per_second, 0)) {
    tags_.emplace("source_id", config.guid);
    tags_.emplace("instance_id", std::to_string(config.index));
    guid_ = tags_["source_id"];
    instance_ = tags_["instance_id"];
  }

  // Emits `message` (non-empty) unless the rate limit drops it; a drop may
  // emit the over-limit report instead.
  void Send(const std::string& source, std::string message, bool is_stderr) {
    if (!enabled_) return;
    const absl::Time now = clock_->Now();
    std::string report;
    bool allowed;
    {
      absl::MutexLock lock(&mu_);
      allowed = AllowLocked(now, message.size(), &report);
      if (allowed) {
        stats_.lines_emitted++;
      } else {
        stats_.lines_dropped++;
        stats_.bytes_dropped += message.size();
        if (!report.empty()) stats_.rate_limit_reports++;
      }
    }
    if (allowed) {
      sink_->Emit(MakeLine(source, std::move(message), is_stderr, now));
    } else if (!report.empty()) {
      if (increment_counter_) increment_counter_(kAppInstanceExceededLogRateLimitCount);
      sink_->Emit(MakeLine(source, std::move(report), /*is_stderr=*/false, now));
    }
  }

  LogStreamerStats Stats() const {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

 private:
  AppLogLine MakeLine(const std::string& source, std::string message, bool is_stderr,
                      absl::Time now) const {
    AppLogLine line;
    line.guid = guid_;
    line.source_type = source;
    line.instance = instance_;
    line.message = std::move(message);
    line.is_stderr = is_stderr;
    line.timestamp = now;
    line.tags = tags_;
    return line;
  }

  // Diego's logRateLimiter.Limit. Returns whether to emit; sets `*report`
  // to the over-limit message when one must be sent.
  bool AllowLocked(absl::Time now, size_t length, std::string* report)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (bytes_per_second_ == 0) return false;
    if (last_overage_ + kOverageSilence > now) return false;
    if (bytes_per_second_ > 0 &&
        !bytes_bucket_.AllowN(now, static_cast<int64_t>(length))) {
      *report = absl::StrCat("app instance exceeded log rate limit (", bytes_per_second_,
                             " bytes/sec)");
      last_overage_ = now;
      return false;
    }
    if (lines_per_second_ > 0 && !lines_bucket_.AllowN(now, 1)) {
      *report = absl::StrCat("app instance exceeded log rate limit (", lines_per_second_,
                             " log-lines/sec) set by platform operator");
      last_overage_ = now;
      return false;
    }
    return true;
  }

  AppLogSink* const sink_;
  Clock* const clock_;
  const bool enabled_;
  std::map<std::string, std::string> tags_;
  std::string guid_;
  std::string instance_;
  const int64_t bytes_per_second_;
  const int lines_per_second_;
  const std::function<void(absl::string_view)> increment_counter_;

  mutable absl::Mutex mu_;
  TokenBucket bytes_bucket_ ABSL_GUARDED_BY(mu_);
  TokenBucket lines_bucket_ ABSL_GUARDED_BY(mu_);
  absl::Time last_overage_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  LogStreamerStats stats_ ABSL_GUARDED_BY(mu_);
};

// One stream (stdout or stderr) of one streamer: Diego's streamDestination.
class StreamDestination {
 public:
  StreamDestination(std::shared_ptr<ContainerState> container, std::string source, bool is_stderr)
      : container_(std::move(container)), source_(std::move(source)), is_stderr_(is_stderr) {}

  // Splits `chunk` on '\n' and '\r' (processMessage).
  void Write(absl::string_view chunk) {
    absl::MutexLock lock(&mu_);
    size_t start = 0;
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i] == '\n' || chunk[i] == '\r') {
        AppendLocked(chunk.substr(start, i - start));
        FlushLocked();
        start = i + 1;
      }
    }
    if (start < chunk.size()) AppendLocked(chunk.substr(start));
  }

  void Flush() {
    absl::MutexLock lock(&mu_);
    FlushLocked();
  }

  const std::string& source() const { return source_; }

 private:
  // processString without the terminator: fills the buffer, emitting a
  // message each time it reaches kMaxLogLineBytes.
  void AppendLocked(absl::string_view text) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!text.empty()) {
      if (buffer_.size() + text.size() < kMaxLogLineBytes) {
        buffer_.append(text.data(), text.size());
        return;
      }
      const size_t room = kMaxLogLineBytes - buffer_.size();
      const size_t old_size = buffer_.size();
      buffer_.append(text.data(), room);
      size_t cut = 0;
      while (cut < 3 && EndsWithBrokenRune(absl::string_view(buffer_).substr(
                            0, buffer_.size() - cut))) {
        ++cut;
      }
      size_t taken;
      if (cut > room) {
        buffer_.resize(old_size);
        taken = 0;
      } else {
        buffer_.resize(buffer_.size() - cut);
        taken = room - cut;
      }
      text.remove_prefix(taken);
      if (text.empty()) return;  // exactly full: stays until its terminator
      FlushLocked();
    }
  }

  void FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (buffer_.empty()) return;
    std::string message;
    message.swap(buffer_);
    container_->Send(source_, std::move(message), is_stderr_);
  }

  const std::shared_ptr<ContainerState> container_;
  const std::string source_;
  const bool is_stderr_;
  absl::Mutex mu_;
  std::string buffer_ ABSL_GUARDED_BY(mu_);
};

class ContainerLogStreamerImpl final : public ContainerLogStreamer {
 public:
  ContainerLogStreamerImpl(std::shared_ptr<ContainerState> container, std::string source)
      : container_(container),
        stdout_(container, source, /*is_stderr=*/false),
        stderr_(container, source, /*is_stderr=*/true) {}

  void Stdout(absl::string_view chunk) override { stdout_.Write(chunk); }
  void Stderr(absl::string_view chunk) override { stderr_.Write(chunk); }

  void Flush() override {
    stdout_.Flush();
    stderr_.Flush();
  }

  std::shared_ptr<LogStreamer> WithSource(absl::string_view source) override {
    std::string name = source.empty() ? stdout_.source() : std::string(source);
    return std::make_shared<ContainerLogStreamerImpl>(container_, std::move(name));
  }

  std::string SourceName() const override { return stdout_.source(); }

  LogStreamerStats Stats() const override { return container_->Stats(); }

 private:
  const std::shared_ptr<ContainerState> container_;
  StreamDestination stdout_;
  StreamDestination stderr_;
};

// The captured output of a BufferLogStreamer and its WithSource views.
struct SharedBuffer {
  mutable absl::Mutex mu;
  std::string contents ABSL_GUARDED_BY(mu);
};

class BufferLogStreamerImpl final : public BufferLogStreamer {
 public:
  BufferLogStreamerImpl(std::shared_ptr<SharedBuffer> buffer, std::string source)
      : buffer_(std::move(buffer)), source_(std::move(source)) {}

  void Stdout(absl::string_view chunk) override { Append(chunk); }
  void Stderr(absl::string_view chunk) override { Append(chunk); }
  void Flush() override {}

  std::shared_ptr<LogStreamer> WithSource(absl::string_view source) override {
    return std::make_shared<BufferLogStreamerImpl>(
        buffer_, source.empty() ? source_ : std::string(source));
  }

  std::string SourceName() const override { return source_; }

  std::string Contents() const override {
    absl::MutexLock lock(&buffer_->mu);
    return buffer_->contents;
  }

 private:
  void Append(absl::string_view chunk) {
    absl::MutexLock lock(&buffer_->mu);
    buffer_->contents.append(chunk.data(), chunk.size());
  }

  const std::shared_ptr<SharedBuffer> buffer_;
  const std::string source_;
};

}  // namespace

std::shared_ptr<ContainerLogStreamer> NewContainerLogStreamer(const LogConfig& config,
                                                              AppLogSink* sink, Clock* clock) {
  std::string source = config.source_name.empty() ? kDefaultLogSource : config.source_name;
  return std::make_shared<ContainerLogStreamerImpl>(
      std::make_shared<ContainerState>(config, sink, clock), std::move(source));
}

std::shared_ptr<BufferLogStreamer> NewBufferLogStreamer(absl::string_view source) {
  return std::make_shared<BufferLogStreamerImpl>(std::make_shared<SharedBuffer>(),
                                                 std::string(source));
}

}  // namespace diego::actions
