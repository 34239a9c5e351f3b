#include "diego/base/logger.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::SizeIs;

// Keeps every line in memory.
class CapturingSink : public LogSink {
 public:
  void Write(absl::string_view json_line) override {
    absl::MutexLock lock(&mu_);
    lines_.emplace_back(json_line);
  }

  std::vector<std::string> lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

  std::string last() {
    absl::MutexLock lock(&mu_);
    return lines_.empty() ? "" : lines_.back();
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

// 2016-05-27T22:43:03.710515738Z, the timestamp of lager's README example.
constexpr int64_t kStartNanos = 1464388983710515738;

class LoggerTest : public ::testing::Test {
 protected:
  FakeClock clock_{absl::FromUnixNanos(kStartNanos)};
  CapturingSink sink_;
  Logger logger_{"bbs", &sink_, &clock_};

  // The `data` object of the last line.
  std::string LastData() {
    absl::StatusOr<LogEntry> entry = ParseLogLine(sink_.last());
    EXPECT_THAT(entry, IsOk());
    return entry.ok() ? entry->data_json : "";
  }
};

TEST_F(LoggerTest, WritesTheExactLagerShape) {
  logger_.Info("started");
  EXPECT_THAT(sink_.lines(), ElementsAre(R"({"timestamp":"1464388983.710515738","source":"bbs",)"
                                         R"("message":"bbs.started","log_level":1,"data":{}})"));
}

TEST_F(LoggerTest, TimestampComesFromTheInjectedClock) {
  clock_.Advance(absl::Nanoseconds(289484262));
  logger_.Info("tick");
  EXPECT_THAT(sink_.last(), HasSubstr(R"("timestamp":"1464388984.000000000")"));
  clock_.Advance(absl::Milliseconds(1500));
  logger_.Info("tock");
  EXPECT_THAT(sink_.last(), HasSubstr(R"("timestamp":"1464388985.500000000")"));
}

TEST(LoggerTimestampTest, FormatsEpochAndTimesBeforeIt) {
  CapturingSink sink;
  FakeClock epoch(absl::UnixEpoch());
  Logger("x", &sink, &epoch).Info("m");
  EXPECT_THAT(sink.last(), HasSubstr(R"("timestamp":"0.000000000")"));
  FakeClock before(absl::UnixEpoch() - absl::Milliseconds(500));
  Logger("x", &sink, &before).Info("m");
  EXPECT_THAT(sink.last(), HasSubstr(R"("timestamp":"-0.500000000")"));
}

TEST_F(LoggerTest, UsesLagerLevelNumbers) {
  logger_.Debug("d");
  logger_.Info("i");
  logger_.Error("e");
  std::vector<std::string> lines = sink_.lines();
  ASSERT_THAT(lines, SizeIs(3));
  EXPECT_THAT(lines[0], HasSubstr(R"("message":"bbs.d","log_level":0)"));
  EXPECT_THAT(lines[1], HasSubstr(R"("message":"bbs.i","log_level":1)"));
  EXPECT_THAT(lines[2], HasSubstr(R"("message":"bbs.e","log_level":2)"));
}

TEST_F(LoggerTest, SessionsNestTheirNamesAndNumberPerParent) {
  Logger auction = logger_.Session("auction");
  Logger converge = logger_.Session("converge");
  Logger cell_a = auction.Session("cell");
  Logger cell_b = auction.Session("cell");
  Logger deep = cell_b.Session("perform");
  Logger under_converge = converge.Session("lrps");

  EXPECT_EQ(logger_.session_id(), "");
  EXPECT_EQ(auction.session_id(), "1");
  EXPECT_EQ(converge.session_id(), "2");
  EXPECT_EQ(cell_a.session_id(), "1.1");
  EXPECT_EQ(cell_b.session_id(), "1.2");
  EXPECT_EQ(deep.session_id(), "1.2.1");
  EXPECT_EQ(under_converge.session_id(), "2.1");
  EXPECT_EQ(deep.session_name(), "bbs.auction.cell.perform");
  EXPECT_EQ(deep.component(), "bbs");

  deep.Info("sent");
  EXPECT_EQ(sink_.last(), R"({"timestamp":"1464388983.710515738","source":"bbs",)"
                          R"("message":"bbs.auction.cell.perform.sent","log_level":1,)"
                          R"("data":{"session":"1.2.1"}})");
}

TEST_F(LoggerTest, SessionDataIsInheritedAndCallDataOverridesIt) {
  Logger auction = logger_.Session("auction", {{"batch", 3}, {"zone", "z1"}});
  Logger cell = auction.Session("cell", {{"cell_id", "cell-z1-0"}});
  cell.Info("placing", {{"zone", "z2"}, {"app", "web"}});
  // Keys come out sorted, as Go's encoder writes map keys.
  EXPECT_EQ(LastData(),
            R"({"app":"web","batch":3,"cell_id":"cell-z1-0","session":"1.1","zone":"z2"})");
  auction.Info("done");
  EXPECT_EQ(LastData(), R"({"batch":3,"session":"1","zone":"z1"})");
}

TEST_F(LoggerTest, SessionKeyCannotBeOverriddenByData) {
  Logger session = logger_.Session("s");
  session.Info("m", {{"session", "mine"}});
  EXPECT_EQ(LastData(), R"({"session":"1"})");
}

TEST_F(LoggerTest, WritesEveryDataType) {
  logger_.Info("types", {{"string", "web"},
                         {"std_string", std::string("abc")},
                         {"string_view", absl::string_view("sv")},
                         {"int", -3},
                         {"uint64", std::numeric_limits<uint64_t>::max()},
                         {"double", 0.25},
                         {"bool", true},
                         {"false", false},
                         {"status", absl::NotFoundError("no such lrp")},
                         {"ok_status", absl::OkStatus()},
                         {"duration", absl::Milliseconds(1500)},
                         {"nested", {{"b", 2}, {"a", {{"deep", "yes"}}}}},
                         {"list", std::vector<std::string>{"x", "y"}},
                         {"ints", std::vector<int>{1, 2}}});
  EXPECT_EQ(LastData(),
            R"({"bool":true,"double":0.25,"duration":1500000000,"false":false,"int":-3,)"
            R"("ints":[1,2],"list":["x","y"],"nested":{"a":{"deep":"yes"},"b":2},)"
            R"("ok_status":"","status":"no such lrp","std_string":"abc","string":"web",)"
            R"("string_view":"sv","uint64":18446744073709551615})");
}

TEST_F(LoggerTest, EscapesStringsAndReplacesInvalidUtf8) {
  logger_.Info("quote\"d", {{"text", "line1\nline2\t\"q\"\\"}, {"bad", "\xff"}, {"k\"ey", 1}});
  EXPECT_THAT(sink_.last(), HasSubstr(R"("message":"bbs.quote\"d")"));
  EXPECT_EQ(LastData(),
            "{\"bad\":\"\xEF\xBF\xBD\",\"k\\\"ey\":1,\"text\":\"line1\\nline2\\t\\\"q\\\"\\\\\"}");
}

TEST_F(LoggerTest, NonFiniteDoublesBecomeNull) {
  logger_.Info("m", {{"nan", std::nan("")}, {"inf", std::numeric_limits<double>::infinity()}});
  EXPECT_EQ(LastData(), R"({"inf":null,"nan":null})");
}

TEST_F(LoggerTest, ErrorWithStatusAddsItsMessageUnderError) {
  logger_.Error("failed-to-claim", absl::AbortedError("lock collision"), {{"guid", "g1"}});
  EXPECT_THAT(sink_.last(), HasSubstr(R"("log_level":2)"));
  EXPECT_EQ(LastData(), R"({"error":"lock collision","guid":"g1"})");
}

TEST_F(LoggerTest, ErrorWithDataOnlyWritesThatData) {
  logger_.Error("failed-to-place", {{"reason", "insufficient resources"}});
  EXPECT_THAT(sink_.last(), HasSubstr(R"("message":"bbs.failed-to-place","log_level":2)"));
  EXPECT_EQ(LastData(), R"({"reason":"insufficient resources"})");
}

TEST_F(LoggerTest, ErrorWithStatusOverridesAnErrorKeyInData) {
  logger_.Error("m", absl::InternalError("real"), {{"error", "from data"}});
  EXPECT_EQ(LastData(), R"({"error":"real"})");
}

TEST_F(LoggerTest, ErrorWithOkStatusAddsNoErrorKey) {
  logger_.Error("m", absl::OkStatus());
  EXPECT_EQ(LastData(), "{}");
}

TEST_F(LoggerTest, DropsLinesBelowTheMinimumLevel) {
  Logger logger("rep", &sink_, &clock_, LogLevel::kError);
  logger.Debug("d");
  logger.Info("i");
  logger.Error("e");
  ASSERT_THAT(sink_.lines(), SizeIs(1));
  EXPECT_THAT(sink_.last(), HasSubstr(R"("message":"rep.e")"));
  EXPECT_FALSE(logger.IsEnabled(LogLevel::kInfo));
  EXPECT_TRUE(logger.IsEnabled(LogLevel::kError));
  EXPECT_TRUE(logger.IsEnabled(LogLevel::kFatal));
}

TEST_F(LoggerTest, SetMinLevelAppliesToEverySessionOfTheRoot) {
  Logger session = logger_.Session("s");
  EXPECT_EQ(session.min_level(), LogLevel::kDebug);
  session.SetMinLevel(LogLevel::kInfo);
  EXPECT_EQ(logger_.min_level(), LogLevel::kInfo);
  logger_.Debug("dropped");
  session.Debug("dropped");
  session.Info("kept");
  EXPECT_THAT(sink_.lines(), ElementsAre(HasSubstr("bbs.s.kept")));
}

TEST_F(LoggerTest, DoesNotReadTheClockForDroppedLines) {
  // A null clock would crash if it were read.
  Logger logger("rep", &sink_, nullptr, LogLevel::kInfo);
  logger.Debug("dropped");
  EXPECT_THAT(sink_.lines(), SizeIs(0));
}

TEST_F(LoggerTest, CopiesAndWithDataShareTheSessionCounter) {
  Logger copy = logger_;
  Logger with_data = logger_.WithData({{"app", "web"}});
  EXPECT_EQ(logger_.Session("a").session_id(), "1");
  EXPECT_EQ(copy.Session("b").session_id(), "2");
  EXPECT_EQ(with_data.Session("c").session_id(), "3");
  with_data.Info("m");
  EXPECT_EQ(LastData(), R"({"app":"web"})");
  logger_.Info("m");
  EXPECT_EQ(LastData(), "{}");
}

TEST_F(LoggerTest, WithDataKeepsTheSessionIdAndName) {
  Logger session = logger_.Session("task").WithData({{"guid", "t1"}});
  EXPECT_EQ(session.session_id(), "1");
  session.Info("started");
  EXPECT_THAT(sink_.last(), HasSubstr(R"("message":"bbs.task.started")"));
  EXPECT_EQ(LastData(), R"({"guid":"t1","session":"1"})");
}

TEST_F(LoggerTest, ConcurrentSessionsGetDistinctIdsAndLinesStayWhole) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < kPerThread; ++i) {
        logger_.Session("worker").Info("tick", {{"i", i}});
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  std::vector<std::string> lines = sink_.lines();
  ASSERT_THAT(lines, SizeIs(kThreads * kPerThread));
  std::set<std::string> sessions;
  for (const std::string& line : lines) {
    absl::StatusOr<LogEntry> entry = ParseLogLine(line);
    ASSERT_THAT(entry, IsOk());
    sessions.insert(entry->data["session"]);
  }
  EXPECT_THAT(sessions, SizeIs(kThreads * kPerThread));
}

TEST(LoggerDeathTest, FatalWritesTheLineAndAborts) {
  FakeClock clock;
  Logger logger("auctioneer", FileLogSink::Stderr(), &clock);
  EXPECT_DEATH(
      logger.Fatal("failed-to-start", absl::UnavailableError("no bbs")),
      R"re("message":"auctioneer.failed-to-start","log_level":3,"data":\{"error":"no bbs"\})re");
}

TEST(LoggerDeathTest, FatalIsWrittenWhateverTheMinimumLevel) {
  FakeClock clock;
  Logger logger("rep", FileLogSink::Stderr(), &clock, LogLevel::kFatal);
  EXPECT_DEATH(logger.Fatal("bye", absl::InternalError("x")), R"("log_level":3)");
}

TEST(FileLogSinkTest, WritesEachLineWithANewline) {
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    FileLogSink sink(file);
    sink.Write(R"({"a":1})");
    sink.Write(R"({"b":2})");
  }
  std::rewind(file);
  char buffer[64] = {};
  const size_t n = std::fread(buffer, 1, sizeof(buffer) - 1, file);
  std::fclose(file);
  EXPECT_EQ(std::string(buffer, n), "{\"a\":1}\n{\"b\":2}\n");
}

TEST(FileLogSinkTest, StderrIsASingleton) {
  ASSERT_NE(FileLogSink::Stderr(), nullptr);
  EXPECT_EQ(FileLogSink::Stderr(), FileLogSink::Stderr());
}

TEST(LogLevelTest, NamesMatchLager) {
  EXPECT_EQ(LogLevelName(LogLevel::kDebug), "debug");
  EXPECT_EQ(LogLevelName(LogLevel::kInfo), "info");
  EXPECT_EQ(LogLevelName(LogLevel::kError), "error");
  EXPECT_EQ(LogLevelName(LogLevel::kFatal), "fatal");
  EXPECT_EQ(LogLevelName(static_cast<LogLevel>(9)), "invalid");
}

TEST(LogLevelTest, ParsesNamesCaseInsensitively) {
  absl::StatusOr<LogLevel> debug = ParseLogLevel("debug");
  ASSERT_THAT(debug, IsOk());
  EXPECT_EQ(*debug, LogLevel::kDebug);
  absl::StatusOr<LogLevel> info = ParseLogLevel("INFO");
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(*info, LogLevel::kInfo);
  EXPECT_THAT(ParseLogLevel("Fatal"), IsOk());
  EXPECT_THAT(ParseLogLevel("warn"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'warn'")));
}

TEST(ParseLogLineTest, ParsesWhatTheLoggerWrites) {
  CapturingSink sink;
  FakeClock clock(absl::FromUnixNanos(kStartNanos));
  Logger("rep", &sink, &clock)
      .Session("evacuate")
      .Error("failed", absl::InternalError("x"), {{"n", 2}, {"tags", {{"a", true}}}});
  absl::StatusOr<LogEntry> entry = ParseLogLine(sink.last());
  ASSERT_THAT(entry, IsOk());
  EXPECT_EQ(entry->timestamp, "1464388983.710515738");
  EXPECT_EQ(entry->source, "rep");
  EXPECT_EQ(entry->message, "rep.evacuate.failed");
  EXPECT_EQ(entry->log_level, LogLevel::kError);
  EXPECT_EQ(entry->data_json, R"({"error":"x","n":2,"session":"1","tags":{"a":true}})");
  EXPECT_THAT(entry->data, ElementsAre(Pair("error", "x"), Pair("n", "2"), Pair("session", "1"),
                                       Pair("tags", R"({"a":true})")));
}

TEST(ParseLogLineTest, RejectsLinesOfTheWrongShape) {
  EXPECT_THAT(ParseLogLine("not json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a JSON object")));
  EXPECT_THAT(ParseLogLine("[1]"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseLogLine(R"({"timestamp":"1","source":"s","log_level":1,"data":{}})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'message'")));
  EXPECT_THAT(
      ParseLogLine(R"({"timestamp":"1","source":"s","message":"m","log_level":7,"data":{}})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("log_level")));
  EXPECT_THAT(
      ParseLogLine(R"({"timestamp":"1","source":"s","message":"m","log_level":1,"data":[]})"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data")));
}

}  // namespace
}  // namespace diego
