#include "diego/testing/test_logger.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "diego/base/check.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"

namespace diego::fakes {

// Mirrors lagertest.NewTestLogger: a real logger at debug level over an
// in-memory sink, so tests see exactly the lines production would write.
TestLogger::TestLogger(absl::string_view component)
    : logger_(component, this, &own_clock_, LogLevel::kDebug) {}

TestLogger::TestLogger(absl::string_view component, Clock* clock)
    : logger_(component, this, clock, LogLevel::kDebug) {}

void TestLogger::Write(absl::string_view json_line) {
  absl::MutexLock lock(&mu_);
  lines_.emplace_back(json_line);
}

std::vector<std::string> TestLogger::Lines() const {
  absl::MutexLock lock(&mu_);
  return lines_;
}

// Lines are parsed on every call rather than when written: Write stays cheap
// for code under test, and tests read logs rarely.
std::vector<LogEntry> TestLogger::Entries() const {
  std::vector<LogEntry> entries;
  for (const std::string& line : Lines()) {
    absl::StatusOr<LogEntry> entry = ParseLogLine(line);
    DIEGO_CHECK_OK(entry.status()) << "TestLogger captured a line that is not lager-shaped";
    entries.push_back(*std::move(entry));
  }
  return entries;
}

std::vector<std::string> TestLogger::Messages() const {
  std::vector<std::string> messages;
  for (LogEntry& entry : Entries()) {
    messages.push_back(std::move(entry.message));
  }
  return messages;
}

// Only the message is searched, not the data, so a data value that happens to
// contain the text cannot produce a false match.
bool TestLogger::Contains(absl::string_view message_substring) const {
  for (const std::string& message : Messages()) {
    if (absl::StrContains(message, message_substring)) {
      return true;
    }
  }
  return false;
}

void TestLogger::Clear() {
  absl::MutexLock lock(&mu_);
  lines_.clear();
}

}  // namespace diego::fakes
