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
// Line rules (Diego): a chunk is split on '\n'; a partial line is kept until
// its newline or `Flush()`; a line longer than `kMaxLogLineBytes` is emitted
// in pieces of that size; empty lines are dropped... except as Diego does
// (see the implementation notes in log_streamer.cc).
//
// Rate limit (Diego's `log_rate_limit`, bytes per second per container,
// shared by every `WithSource` streamer of the container; < 0 = unlimited,
// 0 = nothing is emitted): a line whose bytes do not fit in the current
// second's budget is dropped, and once per second in which lines were
// dropped, one line is emitted on stderr with source "CELL"? -- the exact
// text and source follow Diego (implementation notes), e.g.
// "app instance exceeded log rate limit (<n> bytes/sec)". Dropped bytes and
// lines are counted (`AppInstanceExceededLogRateLimitCount`).

#ifndef DIEGO_ACTIONS_LOG_STREAMER_H_
#define DIEGO_ACTIONS_LOG_STREAMER_H_

#include <cstdint>
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
  // Diego's log_rate_limit.bytes_per_second: < 0 unlimited.
  int64_t bytes_per_second = -1;
};

// Counters of a container streamer (for metrics and tests).
struct LogStreamerStats {
  uint64_t lines_emitted = 0;
  uint64_t lines_dropped = 0;
  uint64_t bytes_dropped = 0;
  uint64_t rate_limit_reports = 0;  // times "exceeded log rate limit" was emitted
};

class ContainerLogStreamer : public LogStreamer {
 public:
  virtual LogStreamerStats Stats() const = 0;
};

// `sink` and `clock` are not owned and must outlive the streamer and every
// streamer `WithSource` returns.
std::shared_ptr<ContainerLogStreamer> NewContainerLogStreamer(const LogConfig& config,
                                                              AppLogSink* sink, Clock* clock);

// Captures everything written (stdout and stderr, in order) into one buffer.
class BufferLogStreamer : public LogStreamer {
 public:
  virtual std::string Contents() const = 0;
};
std::shared_ptr<BufferLogStreamer> NewBufferLogStreamer(absl::string_view source = kDefaultLogSource);

}  // namespace diego::actions

#endif  // DIEGO_ACTIONS_LOG_STREAMER_H_
