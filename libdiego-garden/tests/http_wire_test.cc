// Copyright 2026 The libdiego Authors.
//
// Tests of the private HTTP/1.1 layer (src/http_wire.h): parsing and
// serialisation against exact bytes over socket pairs, connection deadlines
// and shutdown, and the Server (unix and TCP listeners, keep-alive, 400/413/
// 431/501 answers, hijacking, Stop with open connections).

#include "http_wire.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/testing/child_process.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::garden {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using namespace http_wire;  // NOLINT(build/namespaces)

// A connected pair: `conn` (under test) and `peer` (a raw descriptor the test
// writes bytes into).
struct Pair_ {
  std::unique_ptr<Conn> conn;
  int peer = -1;
  ~Pair_() {
    if (peer >= 0) ::close(peer);
  }
  void Send(absl::string_view bytes) const {
    ASSERT_EQ(::send(peer, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void ClosePeer() {
    ::close(peer);
    peer = -1;
  }
  std::string ReceiveAll() const {
    std::string out;
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(peer, buf, sizeof(buf), 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }
};

std::unique_ptr<Pair_> MakePair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return nullptr;
  auto p = std::make_unique<Pair_>();
  p->conn = std::make_unique<Conn>(fds[0]);
  p->peer = fds[1];
  return p;
}

const IoDeadline kSoon = IoDeadline::Idle(absl::Seconds(10));

// A fresh, short directory under ::testing::TempDir() (unix socket paths are
// limited to 107 bytes, too short for directories named after tests).
std::string ShortDir() {
  static std::atomic<int> counter{0};
  std::string dir = absl::StrCat(::testing::TempDir(), "dgw-", getpid(), "-", counter.fetch_add(1));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

absl::StatusOr<Request> ParseRequestBytes(absl::string_view bytes, Limits limits = Limits()) {
  auto p = MakePair();
  p->Send(bytes);
  p->ClosePeer();
  return ReadRequest(*p->conn, limits, kSoon, kSoon);
}

// ---------------------------------------------------------------------------
// Headers and URLs

TEST(HeadersTest, CaseInsensitiveLookupAndTokens) {
  Headers h;
  h.Add("Content-Type", "application/json");
  h.Add("connection", "Keep-Alive, Upgrade");
  h.Add("X-A", "1");
  h.Add("x-a", "2");
  EXPECT_EQ(h.Get("content-type"), "application/json");
  EXPECT_THAT(h.GetAll("X-a"), ElementsAre("1", "2"));
  EXPECT_TRUE(h.HasToken("Connection", "keep-alive"));
  EXPECT_TRUE(h.HasToken("CONNECTION", "upgrade"));
  EXPECT_FALSE(h.HasToken("Connection", "close"));
  h.Set("X-A", "3");
  EXPECT_THAT(h.GetAll("x-a"), ElementsAre("3"));
  h.Remove("x-A");
  EXPECT_FALSE(h.Has("X-A"));
  EXPECT_FALSE(h.Get("Missing").has_value());
}

TEST(UrlTest, PathSegmentsRoundTripEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  std::string escaped = EscapePathSegment(all);
  EXPECT_EQ(escaped.find('/'), std::string::npos);
  EXPECT_EQ(escaped.find(' '), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> segs,
                       SplitPath(absl::StrCat("/containers/", escaped, "/info")));
  EXPECT_THAT(segs, ElementsAre("containers", all, "info"));
  EXPECT_EQ(EscapePathSegment("a-b_c.d~e f/g"), "a-b_c.d~e%20f%2Fg");
}

TEST(UrlTest, SplitPathDropsEmptySegmentsAndRejectsBadEscapes) {
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> segs, SplitPath("//ping/"));
  EXPECT_THAT(segs, ElementsAre("ping"));
  EXPECT_THAT(SplitPath("/a%2"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SplitPath("/a%zz"), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(std::string plus, Unescape("a+b", /*plus_is_space=*/false));
  EXPECT_EQ(plus, "a+b");
}

TEST(UrlTest, QueryMatchesGoUrlValuesEncode) {
  // Go: url.Values{"destination": {"/tmp/a b"}, "user": {"vcap"}}.Encode()
  EXPECT_EQ(EncodeQuery({{"destination", "/tmp/a b"}, {"user", "vcap"}}),
            "destination=%2Ftmp%2Fa+b&user=vcap");
  EXPECT_EQ(EncodeQuery({{"handles", "a,b"}}), "handles=a%2Cb");
  ASSERT_OK_AND_ASSIGN(QueryParams q, ParseQuery("destination=%2Ftmp%2Fa+b&user=&flag&x=1=2"));
  EXPECT_THAT(q, ElementsAre(Pair("destination", "/tmp/a b"), Pair("user", ""), Pair("flag", ""),
                             Pair("x", "1=2")));
  EXPECT_EQ(QueryValue(q, "destination"), "/tmp/a b");
  EXPECT_EQ(QueryValue(q, "missing"), "");
  EXPECT_TRUE(QueryHas(q, "flag"));
  EXPECT_FALSE(QueryHas(q, "missing"));
  EXPECT_THAT(ParseQuery("a=%G1"), StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Serialisation

TEST(SerializeTest, RequestAddsContentLengthForBodies) {
  Request r;
  r.method = "POST";
  r.target = "/containers";
  r.headers.Add("Host", "api");
  r.headers.Add("Content-Type", "application/json");
  r.body = "{}\n";
  EXPECT_EQ(SerializeRequest(r),
            "POST /containers HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
            "Content-Length: 3\r\n\r\n{}\n");
  Request get;
  get.method = "GET";
  get.target = "/ping";
  get.headers.Add("Host", "api");
  EXPECT_EQ(SerializeRequest(get), "GET /ping HTTP/1.1\r\nHost: api\r\n\r\n");
  Request put;
  put.method = "PUT";
  put.target = "/x";
  EXPECT_EQ(SerializeRequest(put), "PUT /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
}

TEST(SerializeTest, ResponseSetsContentLengthExceptWithoutBody) {
  Response r;
  r.status = 404;
  r.headers.Add("Content-Type", "application/json");
  r.body = "{}";
  EXPECT_EQ(SerializeResponse(r),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  Response none;
  none.status = 204;
  none.body = "ignored";
  EXPECT_EQ(SerializeResponse(none), "HTTP/1.1 204 No Content\r\n\r\n");
  Response custom;
  custom.status = 299;
  custom.reason = "Fine";
  EXPECT_EQ(SerializeResponse(custom), "HTTP/1.1 299 Fine\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(HttpDate(absl::FromUnixSeconds(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
}

// ---------------------------------------------------------------------------
// Request parsing

TEST(ReadRequestTest, ContentLengthBodyAndTarget) {
  ASSERT_OK_AND_ASSIGN(
      Request r, ParseRequestBytes(absl::StrCat("PUT /containers/h/files?user=root&destination=%2Ftmp HTTP/1.1\r\n"
                                                "Host: api\r\nContent-Type: application/x-tar\r\n"
                                                "Content-Length: 5\r\n\r\n",
                                                std::string("ab\0cd", 5), "GET /next HTTP/1.1\r\n")));
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.RawPath(), "/containers/h/files");
  EXPECT_EQ(r.RawQuery(), "user=root&destination=%2Ftmp");
  EXPECT_EQ(r.body, std::string("ab\0cd", 5));
  EXPECT_EQ(r.headers.Get("content-type"), "application/x-tar");
  EXPECT_TRUE(r.KeepAlive());
}

TEST(ReadRequestTest, ChunkedBodyWithExtensionsAndTrailers) {
  ASSERT_OK_AND_ASSIGN(Request r,
                       ParseRequestBytes("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                         "5;name=v\r\nhello\r\n"
                                         "A\r\n0123456789\r\n"
                                         "0\r\nX-Trailer: t\r\n\r\n"));
  EXPECT_EQ(r.body, "hello0123456789");
}

TEST(ReadRequestTest, KeepAliveRules) {
  ASSERT_OK_AND_ASSIGN(Request r10, ParseRequestBytes("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_FALSE(r10.KeepAlive());
  ASSERT_OK_AND_ASSIGN(Request r10ka,
                       ParseRequestBytes("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_TRUE(r10ka.KeepAlive());
  ASSERT_OK_AND_ASSIGN(Request r11c,
                       ParseRequestBytes("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(r11c.KeepAlive());
}

TEST(ReadRequestTest, ToleratesBareLfAndLeadingBlankLine) {
  ASSERT_OK_AND_ASSIGN(Request r, ParseRequestBytes("\r\nGET /ping HTTP/1.1\nHost: a\n\n"));
  EXPECT_EQ(r.target, "/ping");
}

TEST(ReadRequestTest, AbsoluteFormKeepsPathAndQuery) {
  ASSERT_OK_AND_ASSIGN(Request r,
                       ParseRequestBytes("GET http://api/containers?a=b HTTP/1.1\r\nHost: api\r\n\r\n"));
  EXPECT_EQ(r.target, "/containers?a=b");
}

TEST(ReadRequestTest, MalformedRequestsAreInvalidArgument) {
  const char* bad[] = {
      "GET /\r\n\r\n",                                               // no version
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",                          // double space
      "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",                           // bad method
      "GET / HTTP/2.0\r\nHost: a\r\n\r\n",                           // version
      "GET nopath HTTP/1.1\r\nHost: a\r\n\r\n",                      // target
      "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",        // obs-fold
      "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",                // no colon
      "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",            // space in name
      "GET / HTTP/1.1\r\n\r\n",                                      // no Host
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nshort",  // peer closes early
      "GET / HTT",                                                    // incomplete
  };
  for (const char* b : bad) {
    EXPECT_THAT(ParseRequestBytes(b), StatusIs(absl::StatusCode::kInvalidArgument)) << b;
  }
}

TEST(ReadRequestTest, UnsupportedTransferEncodingIsUnimplemented) {
  EXPECT_THAT(ParseRequestBytes("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
              StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(ReadRequestTest, LimitsAreEnforced) {
  Limits small;
  small.max_header_bytes = 256;
  small.max_header_count = 3;
  small.max_body_bytes = 8;
  EXPECT_THAT(ParseRequestBytes(absl::StrCat("GET / HTTP/1.1\r\nHost: a\r\nX: ", std::string(300, 'x'),
                                             "\r\n\r\n"),
                                small),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("header")));
  EXPECT_THAT(ParseRequestBytes(absl::StrCat("GET /", std::string(300, 'x'), " HTTP/1.1\r\n\r\n"), small),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("header")));
  EXPECT_THAT(ParseRequestBytes("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", small),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("header")));
  EXPECT_THAT(ParseRequestBytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n123456789", small),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("body")));
  EXPECT_THAT(ParseRequestBytes("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "5\r\n12345\r\n5\r\n67890\r\n0\r\n\r\n",
                                small),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("body")));
}

TEST(ReadRequestTest, EndOfStreamBeforeRequestIsOutOfRange) {
  EXPECT_THAT(ParseRequestBytes(""), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(ReadRequestTest, ExpectContinueCallbackRunsBeforeBody) {
  auto p = MakePair();
  p->Send("POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  std::thread sender;
  bool called = false;
  auto cb = [&]() {
    called = true;
    // The body only arrives after the callback (as a client waiting for 100).
    sender = std::thread([&] { p->Send("ok"); });
    return absl::OkStatus();
  };
  absl::StatusOr<Request> r = ReadRequest(*p->conn, Limits(), kSoon, kSoon, cb);
  if (sender.joinable()) sender.join();
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(called);
  EXPECT_EQ(r->body, "ok");
}

TEST(ReadRequestTest, KeepAliveConnectionCarriesSequentialRequests) {
  auto p = MakePair();
  p->Send("GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nz");
  p->ClosePeer();
  ASSERT_OK_AND_ASSIGN(Request a, ReadRequest(*p->conn, Limits(), kSoon, kSoon));
  ASSERT_OK_AND_ASSIGN(Request b, ReadRequest(*p->conn, Limits(), kSoon, kSoon));
  EXPECT_EQ(a.target, "/a");
  EXPECT_EQ(b.target, "/b");
  EXPECT_EQ(b.body, "z");
  EXPECT_THAT(ReadRequest(*p->conn, Limits(), kSoon, kSoon), StatusIs(absl::StatusCode::kOutOfRange));
}

// ---------------------------------------------------------------------------
// Response parsing

absl::StatusOr<std::pair<ResponseHead, std::string>> ParseResponseBytes(absl::string_view bytes,
                                                                         absl::string_view method = "GET") {
  auto p = MakePair();
  p->Send(bytes);
  p->ClosePeer();
  absl::StatusOr<ResponseHead> head = ReadResponseHead(*p->conn, Limits(), kSoon);
  if (!head.ok()) return head.status();
  absl::StatusOr<std::string> body = ReadResponseBody(*p->conn, *head, method, Limits(), kSoon);
  if (!body.ok()) return body.status();
  return std::make_pair(*head, *body);
}

TEST(ReadResponseTest, ContentLengthChunkedAndCloseDelimited) {
  ASSERT_OK_AND_ASSIGN(auto cl, ParseResponseBytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"));
  EXPECT_EQ(cl.first.status, 200);
  EXPECT_EQ(cl.first.reason, "OK");
  EXPECT_EQ(cl.second, "abc");
  EXPECT_TRUE(ResponseKeepAlive(cl.first, "GET"));

  ASSERT_OK_AND_ASSIGN(auto ch, ParseResponseBytes("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
                                                   "3\r\nabc\r\n0\r\n\r\n"));
  EXPECT_EQ(ch.first.status, 404);
  EXPECT_EQ(ch.second, "abc");
  EXPECT_TRUE(ResponseKeepAlive(ch.first, "GET"));

  ASSERT_OK_AND_ASSIGN(auto eof, ParseResponseBytes("HTTP/1.0 200 OK\r\n\r\nuntil the end"));
  EXPECT_EQ(eof.second, "until the end");
  EXPECT_FALSE(ResponseKeepAlive(eof.first, "GET"));
}

TEST(ReadResponseTest, NoBodyForHeadAnd204AndInterimResponsesAreSkipped) {
  ASSERT_OK_AND_ASSIGN(auto head,
                       ParseResponseBytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD"));
  EXPECT_EQ(head.second, "");
  ASSERT_OK_AND_ASSIGN(auto nc, ParseResponseBytes("HTTP/1.1 204 No Content\r\n\r\n"));
  EXPECT_EQ(nc.first.status, 204);
  ASSERT_OK_AND_ASSIGN(auto cont, ParseResponseBytes("HTTP/1.1 100 Continue\r\n\r\n"
                                                     "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
                                                     "Connection: close\r\n\r\n{}"));
  EXPECT_EQ(cont.first.status, 201);
  EXPECT_EQ(cont.first.reason, "Created");
  EXPECT_EQ(cont.second, "{}");
  EXPECT_FALSE(ResponseKeepAlive(cont.first, "POST"));
}

TEST(ReadResponseTest, MalformedStatusLines) {
  EXPECT_THAT(ParseResponseBytes("HTTP/1.1 2x0 OK\r\n\r\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseResponseBytes("SPDY/3 200 OK\r\n\r\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseResponseBytes("HTTP/1.1 200OK\r\n\r\n"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseResponseBytes(""), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(ParseResponseBytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"),
              StatusIs(absl::StatusCode::kUnavailable));
}

// ---------------------------------------------------------------------------
// Conn

TEST(ConnTest, ReadLineLimitsAndEndOfStream) {
  auto p = MakePair();
  p->Send("one\r\ntwo\nthree-is-long\npartial");
  p->ClosePeer();
  EXPECT_EQ(*p->conn->ReadLine(100, kSoon), "one");
  EXPECT_EQ(*p->conn->ReadLine(100, kSoon), "two");
  EXPECT_THAT(p->conn->ReadLine(5, kSoon), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(*p->conn->ReadLine(100, kSoon), "three-is-long");
  EXPECT_THAT(p->conn->ReadLine(100, kSoon), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(ConnTest, ReadTimesOutAtTheDeadline) {
  auto p = MakePair();
  char buf[8];
  EXPECT_THAT(p->conn->Read(buf, sizeof(buf), IoDeadline::At(absl::Now() + absl::Milliseconds(30))),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(p->conn->ReadLine(10, IoDeadline::Idle(absl::Milliseconds(30))),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  // A deadline in the past fails at once even when nothing would ever come.
  EXPECT_THAT(p->conn->Read(buf, sizeof(buf), IoDeadline::At(absl::InfinitePast())),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(ConnTest, ShutdownUnblocksAReaderOnAnotherThread) {
  auto p = MakePair();
  absl::Notification reading;
  absl::Status result;
  std::thread reader([&] {
    reading.Notify();
    result = p->conn->ReadLine(100, IoDeadline::None()).status();
  });
  reading.WaitForNotification();
  p->conn->Shutdown();
  reader.join();
  EXPECT_THAT(result, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(p->conn->WriteAll("x", absl::InfiniteFuture()), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_TRUE(p->conn->IsShutdown());
}

TEST(ConnTest, WriteToClosedPeerIsUnavailableNotSigpipe) {
  auto p = MakePair();
  p->ClosePeer();
  absl::Status s;
  for (int i = 0; i < 10 && s.ok(); ++i) {
    s = p->conn->WriteAll(std::string(1 << 16, 'x'), absl::Now() + absl::Seconds(10));
  }
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
}

TEST(ConnTest, IdleAndOpenDetectsPeerClose) {
  auto p = MakePair();
  EXPECT_TRUE(p->conn->IdleAndOpen());
  p->Send("x");
  EXPECT_FALSE(p->conn->IdleAndOpen());
  auto q = MakePair();
  q->ClosePeer();
  EXPECT_FALSE(q->conn->IdleAndOpen());
}

TEST(ConnTest, DialErrorsNameTheAddress) {
  std::string dir = ShortDir();
  std::string missing = dir + "/nothing.sock";
  EXPECT_THAT(Conn::Dial("unix", missing, absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(missing)));
  EXPECT_THAT(Conn::Dial("unix", std::string(200, 'x'), absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Conn::Dial("tcp", "127.0.0.1", absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host:port")));
  EXPECT_THAT(Conn::Dial("udp", "x", absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------------------
// Server

// An echo handler: answers "<method> <target> <body>", hijacks /hijack (then
// echoes each line back upper-cased until end of stream), never answers
// /silent, and blocks /block until released.
class ServerFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = ShortDir();
    ServerOptions opts;
    opts.network = GetParam();
    opts.address = GetParam() == "unix" ? dir_ + "/s.sock" : "127.0.0.1:0";
    opts.limits.max_body_bytes = 1024;
    opts.limits.max_header_bytes = 2048;
    Start(opts);
  }
  void TearDown() override {
    release_.store(true);
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Start(ServerOptions opts) {
    opts_ = opts;
    server_ = std::make_unique<Server>(opts, [this](Exchange& ex) { Handle(ex); });
    ASSERT_OK(server_->Start());
    address_ = opts.network == "unix" ? opts.address : absl::StrCat("127.0.0.1:", server_->Port());
  }

  void Handle(Exchange& ex) {
    const Request& r = ex.request();
    if (r.RawPath() == "/silent") return;
    if (r.RawPath() == "/block") {
      blocked_.fetch_add(1);
      while (!release_.load() && !ex.Stopping()) absl::SleepFor(absl::Milliseconds(5));
      Response resp;
      resp.body = "released";
      (void)ex.Respond(resp);
      return;
    }
    if (r.RawPath() == "/hijack") {
      Headers h;
      h.Add("Content-Type", "application/json");
      h.Add("Transfer-Encoding", "chunked");
      absl::StatusOr<std::shared_ptr<Conn>> conn = ex.Hijack(201, h);
      if (!conn.ok()) return;
      while (true) {
        absl::StatusOr<std::string> line = (*conn)->ReadLine(1024, IoDeadline::None());
        if (!line.ok()) break;
        std::string up = *line;
        for (char& c : up) c = static_cast<char>(toupper(c));
        if (!(*conn)->WriteAll(up + "\n", absl::Now() + absl::Seconds(10)).ok()) break;
      }
      hijack_done_.store(true);
      return;
    }
    Response resp;
    resp.headers.Add("Content-Type", "text/plain");
    resp.body = absl::StrCat(r.method, " ", r.target, " ", r.body);
    (void)ex.Respond(resp);
  }

  std::unique_ptr<Conn> Dial() {
    absl::StatusOr<std::unique_ptr<Conn>> c = Conn::Dial(GetParam(), address_, absl::Now() + absl::Seconds(5));
    EXPECT_THAT(c, IsOk());
    return c.ok() ? *std::move(c) : nullptr;
  }

  // Sends raw bytes on a fresh connection and returns everything the server
  // writes until it closes the connection.
  std::string RawExchange(absl::string_view bytes) {
    std::unique_ptr<Conn> c = Dial();
    if (c == nullptr) return "";
    EXPECT_OK(c->WriteAll(bytes, absl::Now() + absl::Seconds(5)));
    std::string out;
    EXPECT_OK(c->ReadToEnd(&out, 1 << 20, kSoon));
    return out;
  }

  std::string dir_;
  ServerOptions opts_;
  std::string address_;
  std::unique_ptr<Server> server_;
  std::atomic<bool> release_{false};
  std::atomic<int> blocked_{0};
  std::atomic<bool> hijack_done_{false};
};

TEST_P(ServerFixture, ServesKeepAliveRequestsOnOneConnection) {
  std::unique_ptr<Conn> c = Dial();
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 3; ++i) {
    Request r;
    r.method = "POST";
    r.target = absl::StrCat("/echo/", i);
    r.headers.Add("Host", "api");
    r.body = "body";
    ASSERT_OK(c->WriteAll(SerializeRequest(r), absl::Now() + absl::Seconds(5)));
    ASSERT_OK_AND_ASSIGN(ResponseHead head, ReadResponseHead(*c, Limits(), kSoon));
    ASSERT_OK_AND_ASSIGN(std::string body, ReadResponseBody(*c, head, "POST", Limits(), kSoon));
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(body, absl::StrCat("POST /echo/", i, " body"));
    EXPECT_TRUE(head.headers.Has("Date"));
    EXPECT_TRUE(ResponseKeepAlive(head, "POST"));
  }
}

TEST_P(ServerFixture, PortIsBoundForTcpOnly) {
  if (GetParam() == "tcp") {
    EXPECT_GT(server_->Port(), 0);
  } else {
    EXPECT_EQ(server_->Port(), 0);
    struct stat st;
    ASSERT_EQ(::stat(address_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0777u);
  }
}

TEST_P(ServerFixture, Http10AndConnectionCloseEndTheConnection) {
  std::string out = RawExchange("GET /a HTTP/1.0\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(out, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(out, HasSubstr("\r\n\r\nGET /a "));
  out = RawExchange("GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(out, HasSubstr("GET /b "));
}

TEST_P(ServerFixture, BadRequestsGet400AndTheConnectionCloses) {
  std::string out = RawExchange("BROKEN\r\n\r\n");
  EXPECT_THAT(out, ::testing::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(out, HasSubstr("Connection: close"));
  out = RawExchange("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
  EXPECT_THAT(out, ::testing::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  out = RawExchange("GET / HTTP/1.1\r\n\r\n");
  EXPECT_THAT(out, ::testing::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(out, HasSubstr("Host"));
}

TEST_P(ServerFixture, OversizedRequestsGet431And413UnsupportedCodingGets501) {
  std::string out = RawExchange(absl::StrCat("GET / HTTP/1.1\r\nHost: x\r\nBig: ", std::string(4096, 'y'),
                                             "\r\n\r\n"));
  EXPECT_THAT(out, ::testing::StartsWith("HTTP/1.1 431 "));
  out = RawExchange(absl::StrCat("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n",
                                 std::string(2000, 'z')));
  EXPECT_THAT(out, ::testing::StartsWith("HTTP/1.1 413 "));
  out = RawExchange("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
  EXPECT_THAT(out, ::testing::StartsWith("HTTP/1.1 501 "));
}

TEST_P(ServerFixture, ChunkedRequestBodiesAndExpectContinue) {
  std::unique_ptr<Conn> c = Dial();
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->WriteAll("PUT /files HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n",
                        absl::Now() + absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(std::string interim, c->ReadLine(100, kSoon));
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue");
  ASSERT_OK_AND_ASSIGN(std::string blank, c->ReadLine(100, kSoon));
  EXPECT_EQ(blank, "");
  ASSERT_OK(c->WriteAll("3\r\ntar\r\n0\r\n\r\n", absl::Now() + absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(ResponseHead head, ReadResponseHead(*c, Limits(), kSoon));
  ASSERT_OK_AND_ASSIGN(std::string body, ReadResponseBody(*c, head, "PUT", Limits(), kSoon));
  EXPECT_EQ(body, "PUT /files tar");
}

TEST_P(ServerFixture, HandlerWithoutResponseGets500) {
  std::string out = RawExchange("GET /silent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(out, ::testing::StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
}

TEST_P(ServerFixture, HijackHandsOverTheConnectionIncludingBufferedBytes) {
  std::unique_ptr<Conn> c = Dial();
  ASSERT_NE(c, nullptr);
  // The first stream line is sent together with the request, so it sits in
  // the server's read buffer when the handler hijacks.
  ASSERT_OK(c->WriteAll("POST /hijack HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}first\n",
                        absl::Now() + absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(ResponseHead head, ReadResponseHead(*c, Limits(), kSoon));
  EXPECT_EQ(head.status, 201);
  EXPECT_EQ(head.headers.Get("Transfer-Encoding"), "chunked");
  EXPECT_EQ(*c->ReadLine(100, kSoon), "FIRST");
  ASSERT_OK(c->WriteAll("second\n", absl::Now() + absl::Seconds(5)));
  EXPECT_EQ(*c->ReadLine(100, kSoon), "SECOND");
  c->CloseWrite();
  std::string rest;
  EXPECT_OK(c->ReadToEnd(&rest, 100, kSoon));
  EXPECT_EQ(rest, "");
  EXPECT_TRUE(fakes::PollUntil([&] { return hijack_done_.load(); }, absl::Seconds(10)));
}

TEST_P(ServerFixture, StopClosesIdleMidRequestAndHijackedConnections) {
  std::unique_ptr<Conn> idle = Dial();
  std::unique_ptr<Conn> partial = Dial();
  std::unique_ptr<Conn> hijacked = Dial();
  ASSERT_TRUE(idle && partial && hijacked);
  // A finished request leaves `idle` idle between requests.
  ASSERT_OK(idle->WriteAll("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", absl::Now() + absl::Seconds(5)));
  ASSERT_OK_AND_ASSIGN(ResponseHead h, ReadResponseHead(*idle, Limits(), kSoon));
  ASSERT_OK(ReadResponseBody(*idle, h, "GET", Limits(), kSoon).status());
  ASSERT_OK(partial->WriteAll("GET /a HTTP/1.1\r\nHo", absl::Now() + absl::Seconds(5)));
  ASSERT_OK(hijacked->WriteAll("GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n", absl::Now() + absl::Seconds(5)));
  ASSERT_OK(ReadResponseHead(*hijacked, Limits(), kSoon).status());

  server_->Stop();
  EXPECT_TRUE(hijack_done_.load());
  for (Conn* c : {idle.get(), partial.get(), hijacked.get()}) {
    // End of stream (or a reset, when the server had unread input), not a hang.
    std::string rest;
    absl::Status s = c->ReadToEnd(&rest, 1 << 16, kSoon);
    EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kUnavailable) << s;
  }
  if (GetParam() == "unix") {
    EXPECT_FALSE(std::filesystem::exists(address_));
  }
  EXPECT_THAT(Conn::Dial(GetParam(), address_, absl::Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kUnavailable));
  server_->Stop();  // idempotent
}

TEST_P(ServerFixture, StopWaitsForARunningHandlerThatWatchesStopping) {
  std::unique_ptr<Conn> c = Dial();
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->WriteAll("GET /block HTTP/1.1\r\nHost: x\r\n\r\n", absl::Now() + absl::Seconds(5)));
  ASSERT_TRUE(fakes::PollUntil([&] { return blocked_.load() == 1; }, absl::Seconds(10)));
  server_->Stop();
  std::string rest;
  EXPECT_OK(c->ReadToEnd(&rest, 1 << 16, kSoon));
}

TEST_P(ServerFixture, ClientRequestDeadlineAgainstABlockedHandler) {
  std::unique_ptr<Conn> c = Dial();
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->WriteAll("GET /block HTTP/1.1\r\nHost: x\r\n\r\n", absl::Now() + absl::Seconds(5)));
  EXPECT_THAT(ReadResponseHead(*c, Limits(), IoDeadline::At(absl::Now() + absl::Milliseconds(50))),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

INSTANTIATE_TEST_SUITE_P(Networks, ServerFixture, ::testing::Values("unix", "tcp"),
                         [](const auto& info) { return info.param; });

TEST(ServerTest, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  ServerOptions opts;
  opts.idle_timeout = absl::Milliseconds(50);
  Server server(opts, [](Exchange& ex) { (void)ex.Respond(Response()); });
  ASSERT_OK(server.Start());
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Conn> c,
                       Conn::Dial("tcp", absl::StrCat("127.0.0.1:", server.Port()),
                                  absl::Now() + absl::Seconds(5)));
  std::string rest;
  EXPECT_OK(c->ReadToEnd(&rest, 100, kSoon));  // the server hangs up
  EXPECT_EQ(rest, "");
}

TEST(ServerTest, UnixListenerReplacesAStaleSocketButNotAFile) {
  std::string dir = ShortDir();
  ServerOptions opts;
  opts.network = "unix";
  opts.address = dir + "/g.sock";
  {
    // A server that dies without Stop leaves its socket file behind.
    Server first(opts, [](Exchange& ex) { (void)ex.Respond(Response()); });
    ASSERT_OK(first.Start());
    Server second(opts, [](Exchange& ex) {
      Response r;
      r.body = "second";
      (void)ex.Respond(r);
    });
    ASSERT_OK(second.Start());
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Conn> c, Conn::Dial("unix", opts.address, absl::Now() + absl::Seconds(5)));
    ASSERT_OK(c->WriteAll("GET / HTTP/1.1\r\nHost: x\r\n\r\n", absl::Now() + absl::Seconds(5)));
    ASSERT_OK_AND_ASSIGN(ResponseHead head, ReadResponseHead(*c, Limits(), kSoon));
    EXPECT_EQ(*ReadResponseBody(*c, head, "GET", Limits(), kSoon), "second");
    first.Stop();  // must not remove the second server's socket
    EXPECT_TRUE(std::filesystem::exists(opts.address));
  }
  std::ofstream(dir + "/file") << "x";
  opts.address = dir + "/file";
  Server third(opts, [](Exchange& ex) { (void)ex.Respond(Response()); });
  EXPECT_THAT(third.Start(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(opts.address)));
  std::filesystem::remove_all(dir);
}

TEST(ServerTest, StartErrorsNameTheAddress) {
  ServerOptions opts;
  opts.network = "tcp";
  opts.address = "127.0.0.1:notaport";
  Server a(opts, [](Exchange&) {});
  EXPECT_THAT(a.Start(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("127.0.0.1:notaport")));
  opts.network = "sctp";
  Server b(opts, [](Exchange&) {});
  EXPECT_THAT(b.Start(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sctp")));
  opts.network = "unix";
  opts.address = "/nonexistent-dir-for-diego/x.sock";
  Server c(opts, [](Exchange&) {});
  EXPECT_THAT(c.Start(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr(opts.address)));
}

}  // namespace
}  // namespace diego::garden
