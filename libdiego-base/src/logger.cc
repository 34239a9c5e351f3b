#include "diego/base/logger.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace diego {
namespace {

using Json = nlohmann::json;

// Every dump goes through here: `replace` turns invalid UTF-8 into U+FFFD
// instead of throwing, since a log call must never fail.
std::string Dump(const Json& json) {
  return json.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

std::string QuoteJsonString(absl::string_view s) { return Dump(Json(std::string(s))); }

// lager writes `fmt.Sprintf("%.9f", float64(UnixNano)/1e9)`; we print the same
// shape from the exact integer nanoseconds, so no digits are lost to rounding.
std::string FormatTimestamp(absl::Time t) {
  const int64_t nanos = absl::ToUnixNanos(t);
  // Work on the magnitude in unsigned arithmetic so INT64_MIN is safe.
  const uint64_t magnitude =
      nanos < 0 ? ~static_cast<uint64_t>(nanos) + 1 : static_cast<uint64_t>(nanos);
  return absl::StrFormat("%s%d.%09d", nanos < 0 ? "-" : "", magnitude / 1000000000,
                         magnitude % 1000000000);
}

std::string RenderObject(const std::vector<LogField>& fields) {
  // Later keys override earlier ones; std::map sorts keys the way Go's
  // encoding/json orders map keys (bytewise).
  std::map<absl::string_view, absl::string_view> merged;
  for (const LogField& field : fields) {
    merged.insert_or_assign(field.key, field.value.json());
  }
  std::string out = "{";
  for (const auto& [key, value] : merged) {
    if (out.size() > 1) {
      out += ',';
    }
    absl::StrAppend(&out, QuoteJsonString(key), ":", value);
  }
  out += '}';
  return out;
}

}  // namespace

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kError:
      return "error";
    case LogLevel::kFatal:
      return "fatal";
  }
  return "invalid";
}

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (LogLevel level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kError, LogLevel::kFatal}) {
    if (lower == LogLevelName(level)) {
      return level;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid log level '", name, "': want debug, info, error or fatal"));
}

// --- FileLogSink -------------------------------------------------------------

FileLogSink::FileLogSink(std::FILE* file) : file_(file) {}

// One fwrite of line plus newline, under our own mutex, so lines from
// different threads never interleave even on streams shared with other code.

FileLogSink* FileLogSink::Stderr() {
  // Leaked on purpose so logging keeps working during static destruction.
  static FileLogSink* const sink = new FileLogSink(stderr);
  return sink;
}

void FileLogSink::Write(absl::string_view json_line) {
  std::string line;
  line.reserve(json_line.size() + 1);
  absl::StrAppend(&line, json_line, "\n");
  absl::MutexLock lock(&mu_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

// --- LogValue ----------------------------------------------------------------

LogValue::LogValue(const char* s) : json_(QuoteJsonString(s == nullptr ? "" : s)) {}
LogValue::LogValue(absl::string_view s) : json_(QuoteJsonString(s)) {}
LogValue::LogValue(std::string_view s)
    : json_(QuoteJsonString(absl::string_view(s.data(), s.size()))) {}
LogValue::LogValue(const std::string& s) : json_(QuoteJsonString(s)) {}
LogValue::LogValue(bool b) : json_(b ? "true" : "false") {}
LogValue::LogValue(double d) : json_(Dump(Json(d))) {}
// lager logs err.Error(), which is only the message: the code is not part of
// a Go error's text.
LogValue::LogValue(const absl::Status& s) : json_(QuoteJsonString(s.message())) {}
// Go's encoding/json writes time.Duration as its int64 nanoseconds, and Diego
// logs durations that way; infinite durations saturate to int64's limits.
LogValue::LogValue(absl::Duration d) : json_(std::to_string(absl::ToInt64Nanoseconds(d))) {}
LogValue::LogValue(std::initializer_list<LogField> fields)
    : json_(RenderObject(std::vector<LogField>(fields))) {}
LogValue::LogValue(const std::vector<LogField>& fields) : json_(RenderObject(fields)) {}

// --- Logger ------------------------------------------------------------------

// What the root logger and all its sessions share.
struct Logger::Shared {
  std::string component;
  LogSink* sink;
  Clock* clock;
  std::atomic<int> min_level;
};

Logger::Logger(absl::string_view component, LogSink* sink, Clock* clock, LogLevel min_level)
    : shared_(std::make_shared<Shared>()),
      task_(component),
      next_session_(std::make_shared<std::atomic<uint64_t>>(0)) {
  shared_->component = std::string(component);
  shared_->sink = sink;
  shared_->clock = clock;
  shared_->min_level.store(static_cast<int>(min_level));
}

Logger::Logger(std::shared_ptr<Shared> shared, std::string task, std::string session_id,
               LogData data)
    : shared_(std::move(shared)),
      task_(std::move(task)),
      session_id_(std::move(session_id)),
      data_(std::move(data)),
      next_session_(std::make_shared<std::atomic<uint64_t>>(0)) {}

Logger Logger::Session(absl::string_view task, const LogData& data) const {
  // Mirrors lager's logger.Session: ids count per parent and nest with '.'.
  const uint64_t id = next_session_->fetch_add(1) + 1;
  std::string session_id =
      session_id_.empty() ? absl::StrCat(id) : absl::StrCat(session_id_, ".", id);
  LogData merged = data_;
  merged.insert(merged.end(), data.begin(), data.end());
  return Logger(shared_, absl::StrCat(task_, ".", task), std::move(session_id), std::move(merged));
}

Logger Logger::WithData(const LogData& data) const {
  Logger copy = *this;  // Shares next_session_, so child ids stay unique.
  copy.data_.insert(copy.data_.end(), data.begin(), data.end());
  return copy;
}

void Logger::Debug(absl::string_view message, const LogData& data) const {
  Log(LogLevel::kDebug, message, nullptr, data);
}

void Logger::Info(absl::string_view message, const LogData& data) const {
  Log(LogLevel::kInfo, message, nullptr, data);
}

void Logger::Error(absl::string_view message, const LogData& data) const {
  Log(LogLevel::kError, message, nullptr, data);
}

void Logger::Error(absl::string_view message, const absl::Status& error,
                   const LogData& data) const {
  Log(LogLevel::kError, message, &error, data);
}

void Logger::Fatal(absl::string_view message, const absl::Status& error,
                   const LogData& data) const {
  Log(LogLevel::kFatal, message, &error, data);
  std::abort();
}

bool Logger::IsEnabled(LogLevel level) const {
  return level == LogLevel::kFatal || static_cast<int>(level) >= shared_->min_level.load();
}

void Logger::SetMinLevel(LogLevel level) const {
  shared_->min_level.store(static_cast<int>(level));
}

LogLevel Logger::min_level() const { return static_cast<LogLevel>(shared_->min_level.load()); }

const std::string& Logger::component() const { return shared_->component; }

void Logger::Log(LogLevel level, absl::string_view message, const absl::Status* error,
                 const LogData& data) const {
  if (!IsEnabled(level)) {
    return;
  }
  // Same precedence as lager's baseData: session data, call data, then the
  // error and the session id.
  LogData fields = data_;
  fields.insert(fields.end(), data.begin(), data.end());
  if (error != nullptr && !error->ok()) {
    fields.push_back({"error", *error});
  }
  if (!session_id_.empty()) {
    fields.push_back({"session", session_id_});
  }
  std::string line = absl::StrCat(
      "{\"timestamp\":\"", FormatTimestamp(shared_->clock->Now()),
      "\",\"source\":", QuoteJsonString(shared_->component),
      ",\"message\":", QuoteJsonString(absl::StrCat(task_, ".", message)),
      ",\"log_level\":", static_cast<int>(level), ",\"data\":", RenderObject(fields), "}");
  shared_->sink->Write(line);
}

// --- ParseLogLine ------------------------------------------------------------

// Accepts exactly what Logger writes (and what lager writes, whose fields are
// the same); like lager's chug, it is strict about the envelope and takes
// `data` as-is.
absl::StatusOr<LogEntry> ParseLogLine(absl::string_view line) {
  const Json json = Json::parse(line.begin(), line.end(), /*cb=*/nullptr,
                                /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("log line is not a JSON object: '", line.substr(0, 80), "'"));
  }
  LogEntry entry;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"timestamp", &entry.timestamp},
                          {"source", &entry.source},
                          {"message", &entry.message}}) {
    auto it = json.find(key);
    if (it == json.end() || !it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("log line has no string '", key, "'"));
    }
    *out = it->get<std::string>();
  }
  auto level = json.find("log_level");
  if (level == json.end() || !level->is_number_integer() || level->get<int64_t>() < 0 ||
      level->get<int64_t>() > 3) {
    return absl::InvalidArgumentError("log line has no integer 'log_level' in 0..3");
  }
  entry.log_level = static_cast<LogLevel>(level->get<int>());
  auto data = json.find("data");
  if (data == json.end() || !data->is_object()) {
    return absl::InvalidArgumentError("log line has no object 'data'");
  }
  entry.data_json = Dump(*data);
  for (const auto& [key, value] : data->items()) {
    entry.data[key] = value.is_string() ? value.get<std::string>() : Dump(value);
  }
  return entry;
}

}  // namespace diego
