// Copyright 2026 The libdiego Authors.
//
// Tests of the SSE framing of BBS events: EncodeSseEvent and SseParser.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "diego/bbs/events.h"
#include "diego/model/v1/events.pb.h"
#include "diego/model/wire.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::bbs {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

BbsEvent Event(std::string type, std::string payload) {
  BbsEvent event;
  event.type = std::move(type);
  event.payload = std::move(payload);
  return event;
}

std::string RandomBytes(std::mt19937& rng, size_t size) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(byte(rng));
  return out;
}

struct Expected {
  std::string id, type, data;
};

void ExpectEvents(const std::vector<SseEvent>& got, const std::vector<Expected>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i].id) << i;
    EXPECT_EQ(got[i].type, want[i].type) << i;
    EXPECT_EQ(got[i].data, want[i].data) << i;
  }
}

// Parses `stream` fed in one piece.
std::vector<SseEvent> ParseAll(absl::string_view stream) {
  SseParser parser;
  EXPECT_THAT(parser.Feed(stream), IsOk());
  return parser.TakeEvents();
}

TEST(EncodeSseEventTest, GoSseFormat) {
  EXPECT_EQ(EncodeSseEvent(0, Event("task_created", std::string("\x01\x02", 2))),
            "id: 0\nevent: task_created\ndata: AQI=\n\n");
  EXPECT_EQ(EncodeSseEvent(41, Event("actual_lrp_crashed", "abc")),
            "id: 41\nevent: actual_lrp_crashed\ndata: YWJj\n\n");
  // Padding is kept (StdEncoding).
  EXPECT_EQ(EncodeSseEvent(7, Event("x", "a")), "id: 7\nevent: x\ndata: YQ==\n\n");
  EXPECT_EQ(EncodeSseEvent(123456789012, Event("x", "")), "id: 123456789012\nevent: x\ndata: \n\n");
}

TEST(EncodeSseEventTest, RealEventRoundTrip) {
  model::v1::ActualLRP lrp;
  lrp.mutable_actual_lrp_key()->set_process_guid("pg");
  lrp.mutable_actual_lrp_instance_key()->set_cell_id("cell-a");
  lrp.set_state("RUNNING");
  BbsEvent event = ActualLrpInstanceCreatedEvent(lrp, "trace");
  std::vector<SseEvent> got = ParseAll(EncodeSseEvent(3, event));
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0].id, "3");
  EXPECT_EQ(got[0].type, "actual_lrp_instance_created");
  model::v1::ActualLRPInstanceCreatedEvent message;
  ASSERT_OK(model::ParseFromWire(got[0].data, &message));
  EXPECT_EQ(message.actual_lrp().actual_lrp_instance_key().cell_id(), "cell-a");
  EXPECT_EQ(message.trace_id(), "trace");
}

class SseRoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937 rng(20260501);
    std::uniform_int_distribution<int> length(0, 40);
    for (int i = 0; i < 6; ++i) {
      BbsEvent event = Event(absl::StrCat("type_", i), RandomBytes(rng, length(rng)));
      stream_ += EncodeSseEvent(i, event);
      want_.push_back({absl::StrCat(i), event.type, event.payload});
    }
    // One empty payload and one long one.
    stream_ += EncodeSseEvent(6, Event("empty", ""));
    want_.push_back({"6", "empty", ""});
    std::string big = RandomBytes(rng, 3001);
    stream_ += EncodeSseEvent(7, Event("big", big));
    want_.push_back({"7", "big", big});
  }

  std::string stream_;
  std::vector<Expected> want_;
};

TEST_F(SseRoundTripTest, WholeStream) { ExpectEvents(ParseAll(stream_), want_); }

TEST_F(SseRoundTripTest, ByteByByte) {
  SseParser parser;
  std::vector<SseEvent> got;
  for (char c : stream_) {
    ASSERT_THAT(parser.Feed(absl::string_view(&c, 1)), IsOk());
    for (SseEvent& e : parser.TakeEvents()) got.push_back(std::move(e));
  }
  ExpectEvents(got, want_);
}

TEST_F(SseRoundTripTest, EverySplitPoint) {
  // Split the first events' part of the stream at every byte (the tail holds
  // the big event, covered by the random-chunk test).
  const std::string head = stream_.substr(0, stream_.find("id: 7"));
  const std::vector<Expected> head_want(want_.begin(), want_.end() - 1);
  for (size_t split = 0; split <= head.size(); ++split) {
    SseParser parser;
    ASSERT_THAT(parser.Feed(absl::string_view(head).substr(0, split)), IsOk());
    std::vector<SseEvent> got = parser.TakeEvents();
    ASSERT_THAT(parser.Feed(absl::string_view(head).substr(split)), IsOk());
    for (SseEvent& e : parser.TakeEvents()) got.push_back(std::move(e));
    ExpectEvents(got, head_want);
    if (HasFailure()) {
      ADD_FAILURE() << "split at " << split;
      return;
    }
  }
}

TEST_F(SseRoundTripTest, RandomChunks) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::uniform_int_distribution<size_t> chunk(0, 64);
    SseParser parser;
    std::vector<SseEvent> got;
    size_t pos = 0;
    while (pos < stream_.size()) {
      size_t n = std::min(chunk(rng), stream_.size() - pos);
      ASSERT_THAT(parser.Feed(absl::string_view(stream_).substr(pos, n)), IsOk());
      pos += n;
      for (SseEvent& e : parser.TakeEvents()) got.push_back(std::move(e));
    }
    ExpectEvents(got, want_);
  }
}

TEST_F(SseRoundTripTest, CrlfLineEndsAtEverySplitPoint) {
  const std::string crlf = absl::StrReplaceAll(stream_, {{"\n", "\r\n"}});
  ExpectEvents(ParseAll(crlf), want_);
  const std::string head = crlf.substr(0, crlf.find("id: 7"));
  const std::vector<Expected> head_want(want_.begin(), want_.end() - 1);
  for (size_t split = 0; split <= head.size(); ++split) {
    SseParser parser;
    ASSERT_THAT(parser.Feed(absl::string_view(head).substr(0, split)), IsOk());
    ASSERT_THAT(parser.Feed(absl::string_view(head).substr(split)), IsOk());
    ExpectEvents(parser.TakeEvents(), head_want);
    if (HasFailure()) {
      ADD_FAILURE() << "split at " << split;
      return;
    }
  }
}

TEST_F(SseRoundTripTest, CommentsAndBlankLinesBetweenEvents) {
  std::string with_comments = ": hello\n\n" +
                              absl::StrReplaceAll(stream_, {{"\n\n", "\n: keep-alive\n\n\n"}});
  ExpectEvents(ParseAll(with_comments), want_);
}

TEST(SseParserTest, FieldSyntax) {
  // No space after the colon; a second space is part of the value.
  ExpectEvents(ParseAll("id:5\nevent:  spaced\ndata:YWJj\n\n"), {{"5", " spaced", "abc"}});
  // Unknown fields and retry are ignored; so is a mid-event comment.
  ExpectEvents(ParseAll("retry: 100\nid: 1\nfoo: bar\n: note\nevent: e\ndata: YQ==\n\n"),
               {{"1", "e", "a"}});
  // A line without a colon is a field with an empty value.
  ExpectEvents(ParseAll("event: e\ndata\n\n"), {{"", "e", ""}});
  // A value may itself contain colons.
  ExpectEvents(ParseAll("event: a:b\ndata: YQ==\n\n"), {{"", "a:b", "a"}});
}

TEST(SseParserTest, MultipleDataLinesAreJoined) {
  // "QUJD" + "\n" + "REVG": the joined text decodes with the line break
  // ignored, as Go's decoder does.
  ExpectEvents(ParseAll("event: e\ndata: QUJD\ndata: REVG\n\n"), {{"", "e", "ABCDEF"}});
  ExpectEvents(ParseAll("event: e\r\ndata: QU\r\ndata: JD\r\n\r\n"), {{"", "e", "ABC"}});
}

TEST(SseParserTest, EventWithoutDataHasEmptyData) {
  ExpectEvents(ParseAll("event: ping\n\n"), {{"", "ping", ""}});
  ExpectEvents(ParseAll("id: 9\n\n"), {{"9", "", ""}});
}

TEST(SseParserTest, BlankLinesAndCommentsAloneDispatchNothing) {
  EXPECT_THAT(ParseAll("\n\n\r\n: comment\n\n:\n\n"), IsEmpty());
}

TEST(SseParserTest, FieldsDoNotCarryOver) {
  ExpectEvents(ParseAll("id: 1\nevent: a\ndata: YQ==\n\ndata: Yg==\n\n"),
               {{"1", "a", "a"}, {"", "", "b"}});
}

TEST(SseParserTest, IncompleteEventIsHeldBack) {
  SseParser parser;
  ASSERT_THAT(parser.Feed("id: 1\nevent: a\ndata: YQ==\n"), IsOk());
  EXPECT_THAT(parser.TakeEvents(), IsEmpty());
  ASSERT_THAT(parser.Feed("\n"), IsOk());
  std::vector<SseEvent> events = parser.TakeEvents();
  ASSERT_THAT(events, SizeIs(1));
  EXPECT_EQ(events[0].data, "a");
  EXPECT_THAT(parser.TakeEvents(), IsEmpty());  // Moved out.
}

TEST(SseParserTest, BadBase64) {
  SseParser parser;
  EXPECT_THAT(parser.Feed("event: bad\ndata: !!!!\n\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("base64")));
  EXPECT_THAT(parser.TakeEvents(), IsEmpty());

  // The bad event is dropped; later events in the same and later feeds parse.
  SseParser parser2;
  EXPECT_THAT(parser2.Feed("event: ok1\ndata: YQ==\n\nevent: bad\ndata: Y@==\n\nevent: ok2\n"
                           "data: Yg==\n\n"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ExpectEvents(parser2.TakeEvents(), {{"", "ok1", "a"}, {"", "ok2", "b"}});
  EXPECT_THAT(parser2.Feed("event: ok3\ndata: Yw==\n\n"), IsOk());
  ExpectEvents(parser2.TakeEvents(), {{"", "ok3", "c"}});
}

}  // namespace
}  // namespace diego::bbs
