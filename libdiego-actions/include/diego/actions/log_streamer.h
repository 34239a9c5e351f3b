// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: log_streamer.h
// -----------------------------------------------------------------------------
//
// Where a container's output goes: the executor's log streamer (Diego's
// executor/depot/log_streamer) and the seam behind it.
//
//   AppLogSink      the seam: receives complete, tagged log lines (a rep
//                   sends them to Loggregator, syslog, a file, ...).
//   LogStreamer     what steps write to: raw stdout/stderr chunks, split
//                   into lines, tagged with the source name and the instance
//                   index, rate-limited per container.
//   NewContainerLogStreamer   the real one.
//   NewBufferLogStreamer      captures output into a string (monitor actions
//                   and declarative check processes: their output becomes
//                   the error message) and forwards nothing.
//
// Line rules (Diego's stream_destination.go). Each stream (stdout, stderr)
// of each streamer has its own buffer. A chunk is split on '\n' *and* '\r';
// the terminator is not part of the message. A partial line is kept until
// its terminator or `Flush()`. A line that ends with nothing buffered emits
// nothing, so empty lines are dropped (and "a\r\nb" is "a", "b"). When the
// buffered bytes plus new text reach `kMaxLogLineBytes`, the buffer is filled
// to exactly that size, cut back (by at most 3 bytes) so as not to end inside
// a UTF-8 sequence, and emitted; the rest starts the next message (a line of
// exactly `kMaxLogLineBytes` bytes is one message). `Flush()` emits stdout's
// partial line, then stderr's.
//
// Lines carry the streamer's source name (`LogConfig::source_name`, "" =
// "LOG"; `WithSource`), the container's tags plus "source_id" = guid and
// "instance_id" = index (unless the tags already set them), and
// guid = tags["source_id"], instance = tags["instance_id"] (as Diego's
// logging client). A streamer whose `LogConfig::guid` is empty emits
// nothing at all (Diego's noop streamer); its source names still work.
//
// Rate limit (Diego's log_rate_limiter.go; per container, shared by every
// `WithSource` streamer; checked for each message about to be emitted, with
// its length in bytes):
//   * `bytes_per_second` < 0: unlimited; == 0: every message is dropped and
//     nothing is reported.
//   * For 1 s after an overage every message is dropped silently.
//   * Otherwise a token bucket (Go's x/time/rate on the injected Clock:
//     `bytes_per_second` tokens per second, burst `bytes_per_second`, full at
//     first) must hold the message's bytes; a message longer than the burst
//     never fits. If it does not, the message is dropped, the overage starts,
//     `increment_counter("AppInstanceExceededLogRateLimitCount")` is called
//     and the line "app instance exceeded log rate limit (<n> bytes/sec)" is
//     emitted on *stdout* with the *dropping streamer's* source name and the
//     container's tags (not subject to the limit).
//   * Then, when `max_log_lines_per_second` > 0 (the rep's operator limit),
//     a bucket of that many lines per second (same burst) must hold one line;
//     if not, the same happens with "app instance exceeded log rate limit
//     (<n> log-lines/sec) set by platform operator".
// So at most one report per overage, and at most one per second.
// Diego's periodic "log_rate"/"log_rate_limit" gauges are not produced;
// `Stats()` gives the counts instead.

#ifndef DIEGO_ACTIONS_LOG_STREAMER_H_
#define DIEGO_ACTIONS_LOG_STREAMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"

namespace diego::actions {

inline constexpr size_t kMaxLogLineBytes = 61440;  // Diego's MAX_MESSAGE_SIZE
inline constexpr char kDefaultLogSource[] = "LOG";
inline constexpr char kHealthLogSource[] = "HEALTH";
inline constexpr char kCellLogSource[] = "CELL";
// The counter incremented once per rate-limit report.
inline constexpr char kAppInstanceExceededLogRateLimitCount[] =
    "AppInstanceExceededLogRateLimitCount";

// One log line, as Loggregator's envelope carries it.
struct AppLogLine {
  std::string guid;          // the container's log_guid (app id)
  std::string source_type;   // "APP/PROC/WEB", "CELL", "HEALTH", "LOG", ...
  std::string instance;      // the instance index as text ("0", "1", ...)
  std::string message;       // without the trailing newline
  bool is_stderr = false;
  absl::Time timestamp;
  std::map<std::string, std::string> tags;
  bool operator==(const AppLogLine&) const = default;
};

class AppLogSink {
 public:
  virtual ~AppLogSink() = default;
  // Called from any thread; must be thread-safe and quick.
  virtual void Emit(const AppLogLine& line) = 0;
};

class LogStreamer {
 public:
  virtual ~LogStreamer() = default;

  // Raw output chunks (any size, any split). Thread-safe.
  virtual void Stdout(absl::string_view chunk) = 0;
  virtual void Stderr(absl::string_view chunk) = 0;

  // Emits partial lines held back waiting for a newline.
  virtual void Flush() = 0;

  // A streamer for the same container whose lines carry `source`
  // (empty = this streamer's own source). Shares the rate limit.
  virtual std::shared_ptr<LogStreamer> WithSource(absl::string_view source) = 0;

  virtual std::string SourceName() const = 0;
};

struct LogConfig {
  std::string guid;
  int index = 0;
  std::string source_name = kDefaultLogSource;  // "" = kDefaultLogSource
  std::map<std::string, std::string> tags;
  // Diego's log_rate_limit.bytes_per_second: < 0 unlimited, 0 = nothing.
  int64_t bytes_per_second = -1;
  // The rep's max_log_lines_per_second: <= 0 unlimited.
  int max_log_lines_per_second = 0;
  // Called with kAppInstanceExceededLogRateLimitCount for each rate-limit
  // report (Diego increments this Loggregator counter); may be empty.
  // Called from the writing thread; must be thread-safe and quick.
  std::function<void(absl::string_view)> increment_counter;
};

// Counters of a container streamer (for metrics and tests).
struct LogStreamerStats {
  uint64_t lines_emitted = 0;       // app lines given to the sink (not reports)
  uint64_t lines_dropped = 0;
  uint64_t bytes_dropped = 0;
  uint64_t rate_limit_reports = 0;  // "exceeded log rate limit" lines emitted
};

class ContainerLogStreamer : public LogStreamer {
 public:
  virtual LogStreamerStats Stats() const = 0;
};

// `sink` and `clock` are not owned and must outlive the streamer and every
// streamer `WithSource` returns.
std::shared_ptr<ContainerLogStreamer> NewContainerLogStreamer(const LogConfig& config,
                                                              AppLogSink* sink, Clock* clock);

// Captures everything written (stdout and stderr, in order, unsplit) into
// one buffer; emits nothing; Flush does nothing. `WithSource` returns a
// streamer writing to the same buffer with that source name (Diego's
// bufferStreamer instead renames itself).
class BufferLogStreamer : public LogStreamer {
 public:
  virtual std::string Contents() const = 0;
};
std::shared_ptr<BufferLogStreamer> NewBufferLogStreamer(absl::string_view source = kDefaultLogSource);

}  // namespace diego::actions

#endif  // DIEGO_ACTIONS_LOG_STREAMER_H_
