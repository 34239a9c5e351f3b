#include "diego/testing/test_logger.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "diego/base/logger.h"
#include "diego/testing/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::fakes {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;

TEST(TestLoggerTest, CapturesExactLinesStampedByItsOwnFakeClock) {
  TestLogger log("rep");
  log.logger()->Info("started", {{"cell_id", "cell-z1-0"}});
  EXPECT_THAT(log.Lines(), ElementsAre(R"({"timestamp":"1700000000.000000000","source":"rep",)"
                                       R"("message":"rep.started","log_level":1,)"
                                       R"("data":{"cell_id":"cell-z1-0"}})"));
}

TEST(TestLoggerTest, DefaultComponentIsTest) {
  TestLogger log;
  EXPECT_EQ(log.logger()->component(), "test");
  log.logger()->Info("m");
  EXPECT_THAT(log.Messages(), ElementsAre("test.m"));
}

TEST(TestLoggerTest, CapturesDebugLines) {
  TestLogger log;
  EXPECT_TRUE(log.logger()->IsEnabled(LogLevel::kDebug));
  log.logger()->Debug("detail");
  EXPECT_THAT(log.Messages(), ElementsAre("test.detail"));
}

TEST(TestLoggerTest, UsesAGivenClock) {
  FakeClock clock(absl::FromUnixSeconds(100));
  TestLogger log("bbs", &clock);
  log.logger()->Info("a");
  clock.Advance(absl::Milliseconds(250));
  log.logger()->Info("b");
  std::vector<LogEntry> entries = log.Entries();
  ASSERT_THAT(entries, SizeIs(2));
  EXPECT_EQ(entries[0].timestamp, "100.000000000");
  EXPECT_EQ(entries[1].timestamp, "100.250000000");
}

TEST(TestLoggerTest, ParsesEntries) {
  TestLogger log("auctioneer");
  Logger auction = log.logger()->Session("auction", {{"batch", 2}});
  auction.Error("failed-to-place", absl::ResourceExhaustedError("insufficient resources"),
                {{"lrp", {{"guid", "web"}, {"index", 0}}}});
  std::vector<LogEntry> entries = log.Entries();
  ASSERT_THAT(entries, SizeIs(1));
  const LogEntry& entry = entries[0];
  EXPECT_EQ(entry.source, "auctioneer");
  EXPECT_EQ(entry.message, "auctioneer.auction.failed-to-place");
  EXPECT_EQ(entry.log_level, LogLevel::kError);
  EXPECT_EQ(entry.data_json,
            R"({"batch":2,"error":"insufficient resources","lrp":{"guid":"web","index":0},)"
            R"("session":"1"})");
  EXPECT_THAT(entry.data,
              ElementsAre(Pair("batch", "2"), Pair("error", "insufficient resources"),
                          Pair("lrp", R"({"guid":"web","index":0})"), Pair("session", "1")));
}

TEST(TestLoggerTest, ContainsMatchesMessageSubstrings) {
  TestLogger log("rep");
  log.logger()->Session("evacuating").Info("finished", {{"note", "not-in-message"}});
  EXPECT_TRUE(log.Contains("rep.evacuating.finished"));
  EXPECT_TRUE(log.Contains("evacuating"));
  EXPECT_FALSE(log.Contains("started"));
  EXPECT_FALSE(log.Contains("not-in-message"));
  EXPECT_THAT(log.Messages(), Contains("rep.evacuating.finished"));
}

TEST(TestLoggerTest, ClearForgetsCapturedLines) {
  TestLogger log;
  log.logger()->Info("one");
  log.Clear();
  EXPECT_THAT(log.Lines(), IsEmpty());
  EXPECT_FALSE(log.Contains("one"));
  log.logger()->Info("two");
  EXPECT_THAT(log.Messages(), ElementsAre("test.two"));
}

TEST(TestLoggerTest, IsASinkForOtherLoggers) {
  TestLogger log("first");
  FakeClock clock;
  Logger other("second", &log, &clock);
  log.logger()->Info("a");
  other.Info("b");
  EXPECT_THAT(log.Messages(), ElementsAre("first.a", "second.b"));
}

TEST(TestLoggerTest, CapturesLinesFromManyThreads) {
  TestLogger log;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log] {
      for (int i = 0; i < 25; ++i) {
        log.logger()->Info("tick", {{"i", i}});
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_THAT(log.Entries(), SizeIs(100));
}

TEST(TestLoggerDeathTest, EntriesRejectsForeignLines) {
  TestLogger log;
  log.Write("not a lager line");
  EXPECT_DEATH(log.Entries(), "not lager-shaped");
}

}  // namespace
}  // namespace diego::fakes
