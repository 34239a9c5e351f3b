// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: logger.h
// -----------------------------------------------------------------------------
//
// `diego::Logger` writes structured JSON lines in the shape of Diego's logging
// library (code.cloudfoundry.org/lager), so existing tooling that reads Diego
// logs (`chug`, `veritas`, log pipelines keyed on these fields) reads ours:
//
//   {"timestamp":"1464388983.710515738","source":"bbs",
//    "message":"bbs.auction.started","log_level":1,
//    "data":{"process_guid":"web","session":"1"}}
//
// (one line in reality). The fields are:
//
//   - `timestamp`: Unix seconds with exactly nine decimals, as a string. lager
//     prints a float64 and so loses the last digits; we print the exact
//     nanoseconds of the injected `Clock`.
//   - `source`: the component given to the root logger.
//   - `message`: `<component>[.<session>...].<message>`.
//   - `log_level`: 0 debug, 1 info, 2 error, 3 fatal.
//   - `data`: a JSON object whose keys are sorted (as Go's encoder sorts map
//     keys). Sessions add `"session":"1"`, `"1.2"` for a nested one, and so on.
//
// Libraries take a `Logger*` and never choose a sink; `apps/` builds the root
// logger over `FileLogSink::Stderr()` and `Clock::Real()`. Tests use
// `diego::fakes::TestLogger`, which captures lines in memory.
//
// Example:
//
//   diego::Logger logger("auctioneer", diego::FileLogSink::Stderr(),
//                        diego::Clock::Real(), diego::LogLevel::kInfo);
//   diego::Logger auction = logger.Session("auction", {{"batch_size", 12}});
//   auction.Info("started");          // "auctioneer.auction.started", session "1"
//   auction.Error("failed-to-place", status, {{"cell", "cell-z1-0"}});
//   diego::Logger cell = auction.Session("cell");  // session "1.1"
//
// Differences from lager that are deliberate: the timestamp is exact (see
// above), and strings are escaped by nlohmann_json, which does not turn `<`,
// `>` and `&` into `\u003c`-style escapes as Go does (both are valid JSON).

#ifndef DIEGO_BASE_LOGGER_H_
#define DIEGO_BASE_LOGGER_H_

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"

namespace diego {

// lager's levels, with lager's numeric values (they appear in `log_level`).
enum class LogLevel : int {
  kDebug = 0,
  kInfo = 1,
  kError = 2,
  kFatal = 3,
};

// Returns "debug", "info", "error" or "fatal" (lager's names, also accepted
// by Diego's `log_level` config key). Returns "invalid" for any other value.
absl::string_view LogLevelName(LogLevel level);

// Parses a level name as accepted by Diego's `log_level` setting: "debug",
// "info", "error" or "fatal", case-insensitively.
//
// Returns kInvalidArgument, quoting `name`, for anything else.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

// Where complete log lines go. The seam between loggers and the outside world.
class LogSink {
 public:
  virtual ~LogSink() = default;

  // Writes one complete JSON object, without a trailing newline (the sink adds
  // whatever separator its medium needs). `json_line` is only valid during the
  // call. Called concurrently from many threads; implementations must be
  // thread-safe and must not interleave two lines.
  virtual void Write(absl::string_view json_line) = 0;
};

// A `LogSink` that appends each line plus '\n' to a `FILE*` and flushes, so a
// line is never lost if the process then aborts. Thread-safe.
class FileLogSink final : public LogSink {
 public:
  // `file` is not owned and must stay open for the sink's lifetime.
  explicit FileLogSink(std::FILE* file);

  FileLogSink(const FileLogSink&) = delete;
  FileLogSink& operator=(const FileLogSink&) = delete;

  // Returns a process-wide sink writing to stderr. Never null; not owned by
  // the caller; never destroyed.
  static FileLogSink* Stderr();

  // LogSink
  void Write(absl::string_view json_line) override;

 private:
  absl::Mutex mu_;
  std::FILE* const file_ ABSL_PT_GUARDED_BY(mu_);
};

struct LogField;

// One value in a log line's `data`, already rendered as JSON text. Converts
// implicitly from the types log calls use, so data reads like a literal:
//
//   {{"process_guid", guid}, {"index", 3}, {"healthy", true},
//    {"memory_mb", 12.5}, {"error", status}, {"took", elapsed},
//    {"cell", {{"id", "cell-z1-0"}, {"zone", "z1"}}},
//    {"tags", std::vector<std::string>{"a", "b"}}}
//
// | From                                   | JSON                            |
// | -------------------------------------- | ------------------------------- |
// | strings (`const char*`, `std::string`, | a string; invalid UTF-8 bytes   |
// | `absl::string_view`, `std::string_view`) | become U+FFFD                 |
// | `bool`                                 | `true` / `false`                |
// | any other integer type                 | a number                        |
// | `double`, `float`                      | a number (`null` for NaN, inf)  |
// | `absl::Status`                         | its message, as a string        |
// |                                        | (`""` for OK)                   |
// | `absl::Duration`                       | integer nanoseconds, as Go's    |
// |                                        | encoder writes `time.Duration`  |
// | `{{"k", v}, ...}` / `LogData`          | a nested object                 |
// | `std::vector<T>` of any of the above   | an array                        |
class LogValue {
 public:
  LogValue(const char* s);                           // NOLINT(google-explicit-constructor)
  LogValue(absl::string_view s);                     // NOLINT(google-explicit-constructor)
  LogValue(std::string_view s);                      // NOLINT(google-explicit-constructor)
  LogValue(const std::string& s);                    // NOLINT(google-explicit-constructor)
  LogValue(bool b);                                  // NOLINT(google-explicit-constructor)
  LogValue(double d);                                // NOLINT(google-explicit-constructor)
  LogValue(const absl::Status& s);                   // NOLINT(google-explicit-constructor)
  LogValue(absl::Duration d);                        // NOLINT(google-explicit-constructor)
  LogValue(std::initializer_list<LogField> fields);  // NOLINT(google-explicit-constructor)
  LogValue(const std::vector<LogField>& fields);     // NOLINT(google-explicit-constructor)

  // Any integer type other than `bool`.
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  LogValue(T v) : json_(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)

  // A JSON array of the items, each converted as above.
  template <typename T, std::enable_if_t<std::is_convertible_v<const T&, LogValue>, int> = 0>
  LogValue(const std::vector<T>& items) : json_("[") {  // NOLINT(google-explicit-constructor)
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) {
        json_ += ',';
      }
      json_ += LogValue(items[i]).json();
    }
    json_ += ']';
  }

  // The value rendered as compact JSON text.
  const std::string& json() const { return json_; }

 private:
  std::string json_;
};

// One key/value pair of a log line's `data`.
struct LogField {
  std::string key;
  LogValue value;
};

// A log line's `data`, in the order written. When a key appears more than
// once (a session's data and a call's data, say) the last one wins.
using LogData = std::vector<LogField>;

// A lager-shaped structured logger: a root logger for one component, and the
// sessions (child loggers) derived from it.
//
// Copying a `Logger` is cheap-ish (it copies the session's data) and yields a
// handle to the same session: copies share the sink, clock, level and the
// counter that numbers child sessions. All methods are const and thread-safe.
class Logger {
 public:
  // Creates the root logger of `component` (lager's `NewLogger(component)`).
  // Lines with a level below `min_level` are dropped; fatal lines never are.
  // `sink` and `clock` are not owned and must outlive this logger and every
  // session and copy made from it.
  Logger(absl::string_view component, LogSink* sink, Clock* clock,
         LogLevel min_level = LogLevel::kDebug);

  // Returns a child logger for `task` (lager's `Session`): its messages are
  // prefixed with this logger's prefix plus ".<task>", and its data carries
  // this logger's data, then `data`, then `"session"`: "1", "2", ... for
  // children of a root, "1.1", "1.2", ... for grandchildren. Session numbers
  // count per parent, from 1, across all copies of the parent.
  Logger Session(absl::string_view task, const LogData& data = {}) const;

  // Returns a logger for the same session (same prefix, same `session` id,
  // same child counter) whose lines also carry `data` (lager's `WithData`).
  Logger WithData(const LogData& data) const;

  // Write one line at the given level. `message` is appended to the session
  // prefix after a '.', and is conventionally kebab-case ("failed-to-claim").
  // `data` is merged over the session's data.
  void Debug(absl::string_view message, const LogData& data = {}) const;
  void Info(absl::string_view message, const LogData& data = {}) const;
  void Error(absl::string_view message, const LogData& data = {}) const;

  // As `Error(message, data)`, adding `"error": error.message()` to the data
  // when `error` is not OK (lager's `Error(action, err, data)`). A key "error"
  // in `data` is overridden.
  void Error(absl::string_view message, const absl::Status& error, const LogData& data = {}) const;

  // Writes a fatal line (always, whatever the minimum level), with `error` as
  // for `Error`, then aborts the process. For unrecoverable startup failures in
  // `apps/`; library code returns a status instead.
  [[noreturn]] void Fatal(absl::string_view message, const absl::Status& error,
                          const LogData& data = {}) const;

  // Returns whether a line at `level` would be written, so callers can skip
  // building expensive data.
  bool IsEnabled(LogLevel level) const;

  // Changes the minimum level of the root logger and of every session and
  // copy derived from it (lager's reconfigurable sink, behind Diego's
  // `/log-level` endpoint). Thread-safe; takes effect for subsequent lines.
  void SetMinLevel(LogLevel level) const;
  LogLevel min_level() const;

  // The `source` of every line: the component given to the root logger.
  const std::string& component() const;

  // The message prefix: the component, then each session's task, '.'-joined
  // (lager's `SessionName()`), e.g. "auctioneer.auction".
  const std::string& session_name() const { return task_; }

  // The `session` data value ("1.2"), empty for a root logger.
  const std::string& session_id() const { return session_id_; }

 private:
  struct Shared;

  Logger(std::shared_ptr<Shared> shared, std::string task, std::string session_id, LogData data);

  void Log(LogLevel level, absl::string_view message, const absl::Status* error,
           const LogData& data) const;

  std::shared_ptr<Shared> shared_;
  std::string task_;
  std::string session_id_;
  LogData data_;
  // Numbers this session's children; shared by copies and `WithData`.
  std::shared_ptr<std::atomic<uint64_t>> next_session_;
};

// One parsed log line, the inverse of what `Logger` writes (as lager's `chug`
// parses lager lines). Used by `diego::fakes::TestLogger` and log tooling.
struct LogEntry {
  std::string timestamp;  // as written: "1464388983.710515738"
  std::string source;
  std::string message;
  LogLevel log_level = LogLevel::kInfo;
  // The whole `data` object as compact JSON with sorted keys.
  std::string data_json;
  // The top-level `data` values: strings unquoted, anything else (numbers,
  // booleans, objects, arrays) as compact JSON text.
  std::map<std::string, std::string> data;
};

// Parses one lager-shaped line. Returns kInvalidArgument when `line` is not a
// JSON object, or lacks a string `timestamp`, `source` or `message`, an integer
// `log_level` in 0..3, or an object `data`; the message names the problem.
absl::StatusOr<LogEntry> ParseLogLine(absl::string_view line);

}  // namespace diego

#endif  // DIEGO_BASE_LOGGER_H_
