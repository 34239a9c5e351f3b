// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: test_logger.h
// -----------------------------------------------------------------------------
//
// `diego::fakes::TestLogger` captures the lines a `diego::Logger` writes, so a
// test can hand `logger()` to the code under test and then assert on what was
// logged, as Diego's tests do with `lagertest.NewTestLogger`:
//
//   TestLogger log("rep");
//   Evacuator evacuator(&store, log.logger());
//   evacuator.Run();
//   EXPECT_TRUE(log.Contains("rep.evacuating.finished"));
//   EXPECT_THAT(log.Messages(), ::testing::Contains("rep.evacuating.started"));
//   std::vector<diego::LogEntry> entries = log.Entries();
//   EXPECT_EQ(entries[0].data["session"], "1");
//
// Lines are stamped by a `FakeClock` (its own unless one is given), so their
// timestamps are the same on every run. The logger writes every level,
// including debug. Thread-safe: code under test may log from any thread while
// the test reads.

#ifndef DIEGO_TESTING_TEST_LOGGER_H_
#define DIEGO_TESTING_TEST_LOGGER_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/testing/fake_clock.h"

namespace diego::fakes {

// A `LogSink` that keeps lines in memory, plus a root `Logger` writing to it.
class TestLogger final : public LogSink {
 public:
  // A root logger for `component`, stamped by a private `FakeClock` that reads
  // `FakeClock::DefaultStartTime()` and never moves.
  explicit TestLogger(absl::string_view component = "test");

  // A root logger for `component`, stamped by `clock` (not owned; must
  // outlive this object), e.g. the `FakeClock` the test already advances.
  TestLogger(absl::string_view component, Clock* clock);

  TestLogger(const TestLogger&) = delete;
  TestLogger& operator=(const TestLogger&) = delete;

  // The root logger, at minimum level debug. Owned by this object; valid for
  // its lifetime. Other loggers may also write here, by using this object as
  // their `LogSink`.
  Logger* logger() { return &logger_; }

  // LogSink: records `json_line`.
  void Write(absl::string_view json_line) override;

  // Every captured line, in the order written.
  std::vector<std::string> Lines() const;

  // Every captured line, parsed. Aborts (DIEGO_CHECK) if a line is not in
  // lager's shape, which can only happen if something other than a
  // `diego::Logger` wrote to this sink.
  std::vector<LogEntry> Entries() const;

  // The `message` of every captured line, e.g. "rep.evacuating.started".
  std::vector<std::string> Messages() const;

  // Returns whether any captured line's `message` contains `message_substring`.
  bool Contains(absl::string_view message_substring) const;

  // Forgets every captured line.
  void Clear();

 private:
  FakeClock own_clock_;
  Logger logger_;
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_TEST_LOGGER_H_
