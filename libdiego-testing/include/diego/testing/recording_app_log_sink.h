// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: recording_app_log_sink.h
// -----------------------------------------------------------------------------
//
// `fakes::RecordingAppLogSink`: an `actions::AppLogSink` that keeps every
// line, for assertions on what a step tree logged. Thread-safe.

#ifndef DIEGO_TESTING_RECORDING_APP_LOG_SINK_H_
#define DIEGO_TESTING_RECORDING_APP_LOG_SINK_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "diego/actions/log_streamer.h"

namespace diego::fakes {

class RecordingAppLogSink final : public actions::AppLogSink {
 public:
  void Emit(const actions::AppLogLine& line) override {
    absl::MutexLock lock(&mu_);
    lines_.push_back(line);
  }

  std::vector<actions::AppLogLine> Lines() const {
    absl::MutexLock lock(&mu_);
    return lines_;
  }
  // Just the messages, in order ("[ERR] " prefixed for stderr lines when
  // `mark_stderr`).
  std::vector<std::string> Messages(bool mark_stderr = false) const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    out.reserve(lines_.size());
    for (const auto& l : lines_) {
      out.push_back(mark_stderr && l.is_stderr ? "[ERR] " + l.message : l.message);
    }
    return out;
  }
  // Messages of lines whose source_type is `source`.
  std::vector<std::string> MessagesFrom(const std::string& source) const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const auto& l : lines_) {
      if (l.source_type == source) out.push_back(l.message);
    }
    return out;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    lines_.clear();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<actions::AppLogLine> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_RECORDING_APP_LOG_SINK_H_
