// Copyright 2026 The libdiego Authors.

#include "diego/actions/log_streamer.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/recording_app_log_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::actions {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kBytesReport10[] = "app instance exceeded log rate limit (10 bytes/sec)";

class LogStreamerTest : public ::testing::Test {
 protected:
  std::shared_ptr<ContainerLogStreamer> NewStreamer(LogConfig config) {
    return NewContainerLogStreamer(config, &sink_, &clock_);
  }
  std::shared_ptr<ContainerLogStreamer> NewStreamer() {
    return NewStreamer({.guid = "app-guid", .index = 2, .source_name = "APP/PROC/WEB"});
  }
  LogConfig Limited(int64_t bytes_per_second) {
    return {.guid = "app-guid",
            .index = 0,
            .source_name = "APP/PROC/WEB",
            .tags = {{"app_name", "dora"}},
            .bytes_per_second = bytes_per_second,
            .increment_counter = [this](absl::string_view name) {
              absl::MutexLock lock(&mu_);
              counters_.emplace_back(name);
            }};
  }
  std::vector<std::string> Counters() {
    absl::MutexLock lock(&mu_);
    return counters_;
  }

  fakes::FakeClock clock_;
  fakes::RecordingAppLogSink sink_;
  absl::Mutex mu_;
  std::vector<std::string> counters_ ABSL_GUARDED_BY(mu_);
};

TEST_F(LogStreamerTest, SplitsOnNewlineAndCarriageReturn) {
  auto streamer = NewStreamer();
  streamer->Stdout("one\ntwo\r\nthree\rfour");
  EXPECT_THAT(sink_.Messages(), ElementsAre("one", "two", "three"));
  streamer->Flush();
  EXPECT_THAT(sink_.Messages(), ElementsAre("one", "two", "three", "four"));
}

TEST_F(LogStreamerTest, DropsEmptyLines) {
  auto streamer = NewStreamer();
  streamer->Stdout("\n\n\r\nx\n\n");
  streamer->Flush();
  EXPECT_THAT(sink_.Messages(), ElementsAre("x"));
  EXPECT_EQ(streamer->Stats().lines_emitted, 1u);
}

TEST_F(LogStreamerTest, JoinsPartialLinesAcrossChunks) {
  auto streamer = NewStreamer();
  streamer->Stdout("hel");
  streamer->Stdout("lo\nwor");
  EXPECT_THAT(sink_.Messages(), ElementsAre("hello"));
  streamer->Stdout("ld\n");
  EXPECT_THAT(sink_.Messages(), ElementsAre("hello", "world"));
}

TEST_F(LogStreamerTest, StdoutAndStderrHaveSeparateBuffersAndFlushStdoutFirst) {
  auto streamer = NewStreamer();
  streamer->Stdout("a");
  streamer->Stderr("b\n");
  streamer->Stderr("partial-err");
  streamer->Stdout("c");
  EXPECT_THAT(sink_.Messages(/*mark_stderr=*/true), ElementsAre("[ERR] b"));
  streamer->Flush();
  EXPECT_THAT(sink_.Messages(/*mark_stderr=*/true),
              ElementsAre("[ERR] b", "ac", "[ERR] partial-err"));
  // A second flush has nothing left to emit.
  streamer->Flush();
  EXPECT_EQ(sink_.Lines().size(), 3u);
}

TEST_F(LogStreamerTest, SplitsLongLinesAtMaxMessageSize) {
  auto streamer = NewStreamer();
  streamer->Stdout(std::string(kMaxLogLineBytes + 10, 'x') + "\n");
  std::vector<std::string> messages = sink_.Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], std::string(kMaxLogLineBytes, 'x'));
  EXPECT_EQ(messages[1], std::string(10, 'x'));
}

TEST_F(LogStreamerTest, LongLineBuiltFromChunksIsSplitToo) {
  auto streamer = NewStreamer();
  streamer->Stdout(std::string(kMaxLogLineBytes - 5, 'a'));
  EXPECT_THAT(sink_.Messages(), IsEmpty());
  streamer->Stdout("bbbbbbbbbb\n");
  std::vector<std::string> messages = sink_.Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], std::string(kMaxLogLineBytes - 5, 'a') + "bbbbb");
  EXPECT_EQ(messages[1], "bbbbb");
}

TEST_F(LogStreamerTest, LineOfExactlyMaxSizeIsOneMessage) {
  auto streamer = NewStreamer();
  streamer->Stdout(std::string(kMaxLogLineBytes, 'y'));
  EXPECT_THAT(sink_.Messages(), IsEmpty());  // waits for its terminator
  streamer->Stdout("\n");
  std::vector<std::string> messages = sink_.Messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].size(), kMaxLogLineBytes);
}

TEST_F(LogStreamerTest, LongLineSplitKeepsUtf8SequencesWhole) {
  auto streamer = NewStreamer();
  // "é" is two bytes; its first byte would be the last of the first piece.
  streamer->Stdout(std::string(kMaxLogLineBytes - 1, 'x') + "\xC3\xA9" + "z\n");
  std::vector<std::string> messages = sink_.Messages();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], std::string(kMaxLogLineBytes - 1, 'x'));
  EXPECT_EQ(messages[1], "\xC3\xA9z");
}

TEST_F(LogStreamerTest, SourceNameDefaultsToLog) {
  auto streamer = NewStreamer({.guid = "g", .source_name = ""});
  EXPECT_EQ(streamer->SourceName(), "LOG");
  streamer->Stdout("hi\n");
  ASSERT_EQ(sink_.Lines().size(), 1u);
  EXPECT_EQ(sink_.Lines()[0].source_type, "LOG");

  LogConfig defaults;
  defaults.guid = "g";
  EXPECT_EQ(NewStreamer(defaults)->SourceName(), kDefaultLogSource);
}

TEST_F(LogStreamerTest, WithSourceTagsLinesWithTheNewSource) {
  auto streamer = NewStreamer();
  std::shared_ptr<LogStreamer> health = streamer->WithSource("HEALTH");
  std::shared_ptr<LogStreamer> same = streamer->WithSource("");
  EXPECT_EQ(health->SourceName(), "HEALTH");
  EXPECT_EQ(same->SourceName(), "APP/PROC/WEB");
  EXPECT_EQ(health->WithSource("")->SourceName(), "HEALTH");

  health->Stdout("checking");
  streamer->Stdout("app\n");  // separate buffers: not joined with "checking"
  health->Flush();
  same->Stderr("err\n");
  EXPECT_THAT(sink_.MessagesFrom("HEALTH"), ElementsAre("checking"));
  EXPECT_THAT(sink_.MessagesFrom("APP/PROC/WEB"), ElementsAre("app", "err"));
}

TEST_F(LogStreamerTest, LinesCarryGuidIndexTagsAndTimestamp) {
  auto streamer = NewStreamer({.guid = "app-guid",
                               .index = 3,
                               .source_name = "APP/PROC/WEB",
                               .tags = {{"app_name", "dora"}, {"space_id", "s1"}}});
  clock_.Advance(absl::Seconds(5));
  streamer->Stderr("boom\n");
  std::vector<AppLogLine> lines = sink_.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].guid, "app-guid");
  EXPECT_EQ(lines[0].instance, "3");
  EXPECT_EQ(lines[0].source_type, "APP/PROC/WEB");
  EXPECT_EQ(lines[0].message, "boom");
  EXPECT_TRUE(lines[0].is_stderr);
  EXPECT_EQ(lines[0].timestamp, fakes::FakeClock::DefaultStartTime() + absl::Seconds(5));
  EXPECT_THAT(lines[0].tags,
              UnorderedElementsAre(Pair("app_name", "dora"), Pair("space_id", "s1"),
                                   Pair("source_id", "app-guid"), Pair("instance_id", "3")));
}

TEST_F(LogStreamerTest, TagsMayOverrideSourceIdAndInstanceId) {
  auto streamer = NewStreamer({.guid = "app-guid",
                               .index = 3,
                               .tags = {{"source_id", "other"}, {"instance_id", "7"}}});
  streamer->Stdout("x\n");
  ASSERT_EQ(sink_.Lines().size(), 1u);
  EXPECT_EQ(sink_.Lines()[0].guid, "other");
  EXPECT_EQ(sink_.Lines()[0].instance, "7");
}

TEST_F(LogStreamerTest, EmptyGuidEmitsNothing) {
  auto streamer = NewStreamer({.guid = "", .source_name = "APP"});
  streamer->Stdout("dropped\n");
  streamer->WithSource("CELL")->Stderr("also dropped\n");
  streamer->Flush();
  EXPECT_THAT(sink_.Lines(), IsEmpty());
  EXPECT_EQ(streamer->SourceName(), "APP");
}

TEST_F(LogStreamerTest, RateLimitDropsAndReportsOncePerOverage) {
  auto streamer = NewStreamer(Limited(10));
  streamer->Stdout("12345\n");   // 5 of 10 tokens
  streamer->Stdout("123456\n");  // 6 > 5 left: dropped, reported
  streamer->Stdout("1\n");       // within 1 s of the overage: dropped silently
  std::vector<AppLogLine> lines = sink_.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].message, "12345");
  EXPECT_EQ(lines[1].message, kBytesReport10);
  EXPECT_FALSE(lines[1].is_stderr);
  EXPECT_EQ(lines[1].source_type, "APP/PROC/WEB");
  EXPECT_EQ(lines[1].guid, "app-guid");
  EXPECT_THAT(lines[1].tags, UnorderedElementsAre(Pair("app_name", "dora"),
                                                  Pair("source_id", "app-guid"),
                                                  Pair("instance_id", "0")));
  EXPECT_THAT(Counters(), ElementsAre("AppInstanceExceededLogRateLimitCount"));
  LogStreamerStats stats = streamer->Stats();
  EXPECT_EQ(stats.lines_emitted, 1u);
  EXPECT_EQ(stats.lines_dropped, 2u);
  EXPECT_EQ(stats.bytes_dropped, 7u);
  EXPECT_EQ(stats.rate_limit_reports, 1u);

  clock_.Advance(absl::Milliseconds(999));
  streamer->Stdout("2\n");  // still inside the second after the overage
  EXPECT_EQ(sink_.Lines().size(), 2u);

  clock_.Advance(absl::Milliseconds(1));
  streamer->Stdout("0123456789\n");  // the bucket refilled: 10 tokens
  streamer->Stdout("x\n");           // a new overage: reported again
  EXPECT_THAT(sink_.Messages(),
              ElementsAre("12345", kBytesReport10, "0123456789", kBytesReport10));
  EXPECT_EQ(streamer->Stats().rate_limit_reports, 2u);
  EXPECT_EQ(Counters().size(), 2u);
}

TEST_F(LogStreamerTest, RateLimitBucketRefillsContinuously) {
  auto streamer = NewStreamer(Limited(10));
  streamer->Stdout("0123456789\n");  // empties the bucket
  clock_.Advance(absl::Milliseconds(500));
  streamer->Stdout("abcde\n");  // 5 tokens came back in half a second
  streamer->Stdout("f\n");      // none left
  EXPECT_THAT(sink_.Messages(), ElementsAre("0123456789", "abcde", kBytesReport10));
}

TEST_F(LogStreamerTest, MessageLongerThanTheLimitNeverFits) {
  auto streamer = NewStreamer(Limited(10));
  streamer->Stdout("01234567890\n");  // 11 bytes
  clock_.Advance(absl::Seconds(5));
  streamer->Stdout("01234567890\n");
  EXPECT_THAT(sink_.Messages(), ElementsAre(kBytesReport10, kBytesReport10));
  EXPECT_EQ(streamer->Stats().lines_emitted, 0u);
}

TEST_F(LogStreamerTest, RateLimitIsSharedBySourcesAndReportsTheDroppingSource) {
  auto streamer = NewStreamer(Limited(10));
  std::shared_ptr<LogStreamer> health = streamer->WithSource("HEALTH");
  streamer->Stdout("0123456789\n");
  health->Stderr("late\n");
  std::vector<AppLogLine> lines = sink_.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].message, kBytesReport10);
  EXPECT_EQ(lines[1].source_type, "HEALTH");
  EXPECT_FALSE(lines[1].is_stderr);
}

TEST_F(LogStreamerTest, NegativeLimitIsUnlimited) {
  auto streamer = NewStreamer(Limited(-1));
  for (int i = 0; i < 100; ++i) streamer->Stdout(std::string(1000, 'z') + "\n");
  EXPECT_EQ(sink_.Lines().size(), 100u);
  EXPECT_EQ(streamer->Stats().lines_dropped, 0u);
  EXPECT_THAT(Counters(), IsEmpty());
}

TEST_F(LogStreamerTest, ZeroLimitEmitsNothingAndReportsNothing) {
  auto streamer = NewStreamer(Limited(0));
  streamer->Stdout("a\nb\n");
  streamer->Stderr("c\n");
  EXPECT_THAT(sink_.Lines(), IsEmpty());
  EXPECT_THAT(Counters(), IsEmpty());
  LogStreamerStats stats = streamer->Stats();
  EXPECT_EQ(stats.lines_dropped, 3u);
  EXPECT_EQ(stats.bytes_dropped, 3u);
  EXPECT_EQ(stats.rate_limit_reports, 0u);
}

TEST_F(LogStreamerTest, LinesPerSecondLimit) {
  LogConfig config = Limited(-1);
  config.max_log_lines_per_second = 2;
  auto streamer = NewStreamer(config);
  streamer->Stdout("a\nb\nc\nd\n");
  EXPECT_THAT(sink_.Messages(),
              ElementsAre("a", "b",
                          "app instance exceeded log rate limit (2 log-lines/sec) set by "
                          "platform operator"));
  clock_.Advance(absl::Seconds(1));
  streamer->Stdout("e\n");
  EXPECT_EQ(sink_.Messages().back(), "e");
}

TEST_F(LogStreamerTest, ConcurrentWritersNeverTearLines) {
  auto streamer = NewStreamer();
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      std::shared_ptr<LogStreamer> mine = streamer->WithSource(absl::StrCat("W", t));
      for (int i = 0; i < 200; ++i) mine->Stdout(absl::StrCat("line-", t, "-", i, "\n"));
    });
  }
  for (std::thread& w : writers) w.join();
  for (int t = 0; t < 4; ++t) {
    std::vector<std::string> messages = sink_.MessagesFrom(absl::StrCat("W", t));
    ASSERT_EQ(messages.size(), 200u);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(messages[i], absl::StrCat("line-", t, "-", i));
  }
}

TEST(BufferLogStreamerTest, CapturesBothStreamsInOrderUnsplit) {
  std::shared_ptr<BufferLogStreamer> buffer = NewBufferLogStreamer();
  EXPECT_EQ(buffer->SourceName(), "LOG");
  buffer->Stdout("out\r\n");
  buffer->Stderr("err");
  buffer->Flush();
  buffer->Stdout("\nmore");
  EXPECT_EQ(buffer->Contents(), "out\r\nerr\nmore");
}

TEST(BufferLogStreamerTest, WithSourceSharesTheBuffer) {
  std::shared_ptr<BufferLogStreamer> buffer = NewBufferLogStreamer("HEALTH");
  std::shared_ptr<LogStreamer> renamed = buffer->WithSource("CHECK");
  EXPECT_EQ(renamed->SourceName(), "CHECK");
  EXPECT_EQ(buffer->SourceName(), "HEALTH");
  EXPECT_EQ(buffer->WithSource("")->SourceName(), "HEALTH");
  buffer->Stdout("a ");
  renamed->Stderr("b");
  EXPECT_EQ(buffer->Contents(), "a b");
}

}  // namespace
}  // namespace diego::actions
