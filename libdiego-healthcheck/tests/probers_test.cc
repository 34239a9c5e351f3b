// Copyright 2026 The libdiego Authors.
//
// TcpProber and HttpProber against real servers on 127.0.0.1, the shared
// request/response code of http_probe.h, and the message builders of
// probe_result.h (texts and codes of Diego's healthcheck.go).

#include <errno.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/healthcheck/prober.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "http_probe.h"
#include "loopback_server.h"

namespace diego::healthcheck {
namespace {

using healthcheck_internal::BuildProbeRequest;
using healthcheck_internal::ProbeResponseParser;
using healthcheck_test::FullBacklogListener;
using healthcheck_test::RefusingPort;
using healthcheck_test::ScriptedHttpServer;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

constexpr absl::Duration kGenerous = absl::Seconds(5);

// --- probe_result.h ----------------------------------------------------------

TEST(FormatGoDurationTest, MatchesGoDurationString) {
  EXPECT_EQ(FormatGoDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(1)), "1ns");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(999)), "999ns");
  EXPECT_EQ(FormatGoDuration(absl::Microseconds(1)), "1\xC2\xB5s");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(1500)), "1.5\xC2\xB5s");
  EXPECT_EQ(FormatGoDuration(absl::Milliseconds(500)), "500ms");
  EXPECT_EQ(FormatGoDuration(absl::Microseconds(1500)), "1.5ms");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(1)), "1s");
  EXPECT_EQ(FormatGoDuration(absl::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(60)), "1m0s");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(90)), "1m30s");
  EXPECT_EQ(FormatGoDuration(absl::Hours(2)), "2h0m0s");
  EXPECT_EQ(FormatGoDuration(absl::Hours(1) + absl::Minutes(1) + absl::Milliseconds(1500)),
            "1h1m1.5s");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(1) + absl::Nanoseconds(1)), "1.000000001s");
  EXPECT_EQ(FormatGoDuration(absl::Seconds(-1)), "-1s");
  EXPECT_EQ(FormatGoDuration(absl::Milliseconds(-5)), "-5ms");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(INT64_MIN)), "-2562047h47m16.854775808s");
  EXPECT_EQ(FormatGoDuration(absl::Nanoseconds(INT64_MAX)), "2562047h47m16.854775807s");
}

TEST(FormatGoSecondsTest, TwoDecimalsLikeHealthcheckGo) {
  EXPECT_EQ(FormatGoSeconds(absl::Seconds(1)), "1.00");
  EXPECT_EQ(FormatGoSeconds(absl::Milliseconds(500)), "0.50");
  EXPECT_EQ(FormatGoSeconds(absl::Milliseconds(2250)), "2.25");
  EXPECT_EQ(FormatGoSeconds(absl::Nanoseconds(1)), "0.00");
  EXPECT_EQ(FormatGoSeconds(absl::Seconds(60)), "60.00");
}

TEST(ProbeResultTest, BuildersGiveDiegoTextsAndCodes) {
  EXPECT_EQ(TcpTimeoutResult("10.0.0.2:8080", absl::Seconds(1)),
            (ProbeResult{64,
                         "failed to make TCP connection to 10.0.0.2:8080: timed out after "
                         "1.00 seconds"}));
  EXPECT_EQ(
      TcpErrorResult("10.0.0.2:8080", GoDialErrorText("10.0.0.2:8080", "connect", ECONNREFUSED)),
      (ProbeResult{4,
                   "failed to make TCP connection to 10.0.0.2:8080: dial tcp "
                   "10.0.0.2:8080: connect: connection refused"}));
  EXPECT_EQ(GoDialErrorText("1.2.3.4:1", "connect", ENETUNREACH),
            "dial tcp 1.2.3.4:1: connect: network is unreachable");
  EXPECT_EQ(HttpTimeoutResult("/h", 8080, absl::Milliseconds(500)),
            (ProbeResult{65,
                         "failed to make HTTP request to '/h' on port 8080: timed out after "
                         "0.50 seconds"}));
  EXPECT_EQ(HttpErrorResult("/h", 8080, "connection refused"),
            (ProbeResult{5,
                         "failed to make HTTP request to '/h' on port 8080: connection "
                         "refused"}));
  EXPECT_EQ(HttpStatusResult("/health", 8080, 503, absl::Microseconds(3999)),
            (ProbeResult{6,
                         "failed to make HTTP request to '/health' on port 8080: received "
                         "status code 503 in 3ms"}));
  EXPECT_EQ(HttpBadRequestResult("/h", "-1"),
            (ProbeResult{6, "failed to create an HTTP request to '/h' on port -1"}));
  EXPECT_TRUE(ProbeResult::Ok().ok());
  EXPECT_FALSE(TcpTimeoutResult("a:1", absl::Seconds(1)).ok());
}

// --- http_probe.h ------------------------------------------------------------

TEST(BuildProbeRequestTest, SendsDiegoHeaders) {
  EXPECT_EQ(BuildProbeRequest("10.0.0.2", 8080, "/health?x=1"),
            "GET /health?x=1 HTTP/1.1\r\nHost: 10.0.0.2:8080\r\nUser-Agent: diego-healthcheck\r\n"
            "X-Forwarded-Proto: https\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
}

TEST(ProbeRequestTargetTest, GoUrlParseAndRequestUri) {
  using healthcheck_internal::ProbeRequestTarget;
  std::string target;
  ASSERT_TRUE(ProbeRequestTarget("/health", &target));
  EXPECT_EQ(target, "/health");
  ASSERT_TRUE(ProbeRequestTarget("/a b?x=1#f", &target));
  EXPECT_EQ(target, "/a%20b?x=1");
  ASSERT_TRUE(ProbeRequestTarget("/%7Euser", &target));
  EXPECT_EQ(target, "/%7Euser");
  ASSERT_TRUE(ProbeRequestTarget("/caf\xC3\xA9", &target));
  EXPECT_EQ(target, "/caf%C3%A9");
  ASSERT_TRUE(ProbeRequestTarget("?q", &target));
  EXPECT_EQ(target, "/?q");
  ASSERT_TRUE(ProbeRequestTarget("/x?", &target));
  EXPECT_EQ(target, "/x?");
  EXPECT_FALSE(ProbeRequestTarget("health", &target));
  EXPECT_FALSE(ProbeRequestTarget("/%", &target));
  EXPECT_FALSE(ProbeRequestTarget("/%4", &target));
  EXPECT_FALSE(ProbeRequestTarget("/\x7f", &target));
}

// Feeds `response` one byte at a time; returns the final state.
ProbeResponseParser::State FeedBytewise(ProbeResponseParser& parser, absl::string_view response) {
  ProbeResponseParser::State state = ProbeResponseParser::State::kNeedMore;
  for (char c : response) {
    state = parser.Feed(absl::string_view(&c, 1));
    if (state != ProbeResponseParser::State::kNeedMore) break;
  }
  return state;
}

TEST(ProbeResponseParserTest, ContentLengthBody) {
  ProbeResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"),
            ProbeResponseParser::State::kNeedMore);
  EXPECT_EQ(parser.status(), 200);
  EXPECT_EQ(parser.Feed("cde"), ProbeResponseParser::State::kDone);
}

TEST(ProbeResponseParserTest, StatusUnknownUntilHeadersEnd) {
  ProbeResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/1.1 503 Service Unavailable\r\nX: y\r\n"),
            ProbeResponseParser::State::kNeedMore);
  EXPECT_EQ(parser.status(), 0);
  EXPECT_EQ(parser.Feed("Content-Length: 0\r\n\r\n"), ProbeResponseParser::State::kDone);
  EXPECT_EQ(parser.status(), 503);
}

TEST(ProbeResponseParserTest, ChunkedBodyBytewise) {
  ProbeResponseParser parser;
  EXPECT_EQ(FeedBytewise(parser,
                         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n"),
            ProbeResponseParser::State::kDone);
  EXPECT_EQ(parser.status(), 200);
}

TEST(ProbeResponseParserTest, ChunkedNeedsTheLastChunk) {
  ProbeResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"),
            ProbeResponseParser::State::kNeedMore);
  EXPECT_EQ(parser.Feed("0\r\n\r\n"), ProbeResponseParser::State::kDone);
}

TEST(ProbeResponseParserTest, BadChunkSizeIsAnError) {
  ProbeResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            ProbeResponseParser::State::kError);
  EXPECT_EQ(parser.status(), 200);
  EXPECT_THAT(parser.error(), HasSubstr("chunked"));
}

TEST(ProbeResponseParserTest, BodyUntilClose) {
  ProbeResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/1.0 200 OK\r\n\r\nsome body"), ProbeResponseParser::State::kNeedMore);
  EXPECT_EQ(parser.FeedEof(), ProbeResponseParser::State::kDone);
  EXPECT_EQ(parser.status(), 200);
}

TEST(ProbeResponseParserTest, NoBodyFor204) {
  ProbeResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/1.1 204 No Content\r\n\r\n"), ProbeResponseParser::State::kDone);
  EXPECT_EQ(parser.status(), 204);
}

TEST(ProbeResponseParserTest, SkipsInterimResponses) {
  ProbeResponseParser parser;
  EXPECT_EQ(
      parser.Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
      ProbeResponseParser::State::kDone);
  EXPECT_EQ(parser.status(), 200);
}

TEST(ProbeResponseParserTest, MalformedStatusLine) {
  ProbeResponseParser parser;
  EXPECT_EQ(parser.Feed("SSH-2.0-OpenSSH\r\n\r\n"), ProbeResponseParser::State::kError);
  EXPECT_EQ(parser.status(), 0);
  EXPECT_THAT(parser.error(), HasSubstr("malformed HTTP response"));

  ProbeResponseParser bad_code;
  EXPECT_EQ(bad_code.Feed("HTTP/1.1 2x0 OK\r\n\r\n"), ProbeResponseParser::State::kError);
  EXPECT_THAT(bad_code.error(), HasSubstr("malformed HTTP status code"));
}

TEST(ProbeResponseParserTest, HeadersOver64KiBAreMalformed) {
  ProbeResponseParser parser;
  std::string response = "HTTP/1.1 200 OK\r\nX: " + std::string(70 * 1024, 'a');
  EXPECT_EQ(parser.Feed(response), ProbeResponseParser::State::kError);
}

TEST(ProbeResponseParserTest, EofBeforeStatusIsAnError) {
  ProbeResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/1.1 200"), ProbeResponseParser::State::kNeedMore);
  EXPECT_EQ(parser.FeedEof(), ProbeResponseParser::State::kError);
  EXPECT_EQ(parser.error(), "EOF");
}

// --- TcpProber -----------------------------------------------------------------

TEST(TcpProberTest, PassesWhenListening) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  TcpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()));
  EXPECT_EQ(prober.Probe(kGenerous), ProbeResult::Ok());
}

TEST(TcpProberTest, RefusedIsCode4WithGoDialError) {
  RefusingPort refusing;
  int port = refusing.port();
  ASSERT_GT(port, 0);
  TcpProber prober("127.0.0.1", static_cast<uint16_t>(port));
  std::string addr = absl::StrCat("127.0.0.1:", port);
  EXPECT_EQ(prober.Probe(kGenerous),
            (ProbeResult{kExitTcpConnectFailed,
                         absl::StrCat("failed to make TCP connection to ", addr, ": dial tcp ",
                                      addr, ": connect: connection refused")}));
}

TEST(TcpProberTest, ExpiredTimeoutIsCode64) {
  // As in Diego's own test: a 1ns dial timeout has expired before the dial.
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  TcpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()));
  EXPECT_EQ(prober.Probe(absl::Nanoseconds(1)),
            (ProbeResult{kExitTcpTimeout,
                         absl::StrCat("failed to make TCP connection to 127.0.0.1:", server.port(),
                                      ": timed out after 0.00 seconds")}));
}

TEST(TcpProberTest, ZeroTimeoutHasNoDeadlineAndNegativeHasExpired) {
  // net.DialTimeout: 0 means no deadline; Go's dialer treats a negative
  // timeout as already expired.
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  TcpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()));
  EXPECT_EQ(prober.Probe(absl::ZeroDuration()), ProbeResult::Ok());
  EXPECT_EQ(prober.Probe(absl::Seconds(-1)),
            (ProbeResult{kExitTcpTimeout,
                         absl::StrCat("failed to make TCP connection to 127.0.0.1:", server.port(),
                                      ": timed out after -1.00 seconds")}));
}

TEST(TcpProberTest, UnansweredConnectTimesOut) {
  FullBacklogListener listener;
  ASSERT_TRUE(listener.full());
  TcpProber prober("127.0.0.1", static_cast<uint16_t>(listener.port()));
  EXPECT_EQ(prober.Probe(absl::Milliseconds(200)),
            (ProbeResult{kExitTcpTimeout,
                         absl::StrCat("failed to make TCP connection to 127.0.0.1:",
                                      listener.port(), ": timed out after 0.20 seconds")}));
}

// --- HttpProber ----------------------------------------------------------------

TEST(HttpProberTest, PassesOn200AndSendsDiegoHeaders) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  server.RespondStatus(200, "healthy");
  HttpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()), "/health?x=1");
  EXPECT_EQ(prober.Probe(kGenerous), ProbeResult::Ok());
  std::vector<std::string> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0], StartsWith("GET /health?x=1 HTTP/1.1\r\n"));
  EXPECT_THAT(requests[0], HasSubstr(absl::StrCat("\r\nHost: 127.0.0.1:", server.port(), "\r\n")));
  EXPECT_THAT(requests[0], HasSubstr("\r\nUser-Agent: diego-healthcheck\r\n"));
  EXPECT_THAT(requests[0], HasSubstr("\r\nX-Forwarded-Proto: https\r\n"));
}

TEST(HttpProberTest, Non200IsCode6WithStatusAndMilliseconds) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  server.RespondStatus(503, "down");
  HttpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()), "/health");
  ProbeResult result = prober.Probe(kGenerous);
  EXPECT_EQ(result.exit_code, kExitHttpBadStatus);
  EXPECT_THAT(result.message,
              MatchesRegex(absl::StrCat("failed to make HTTP request to '/health' on port ",
                                        server.port(), ": received status code 503 in [0-9]+ms")));
}

TEST(HttpProberTest, OtherSuccessCodesAndRedirectsFail) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  for (int status : {201, 204, 302}) {
    server.RespondStatus(status, status == 204 ? "" : "x");
    HttpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()), "/");
    ProbeResult result = prober.Probe(kGenerous);
    EXPECT_EQ(result.exit_code, kExitHttpBadStatus) << status;
    EXPECT_THAT(result.message, HasSubstr(absl::StrCat("received status code ", status, " in ")));
  }
}

TEST(HttpProberTest, ChunkedAndUntilCloseBodiesAreDrained) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  HttpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()), "/");
  server.Respond("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n");
  EXPECT_EQ(prober.Probe(kGenerous), ProbeResult::Ok());
  server.Respond("HTTP/1.0 200 OK\r\n\r\n" + std::string(200000, 'z'));
  EXPECT_EQ(prober.Probe(kGenerous), ProbeResult::Ok());
}

TEST(HttpProberTest, StatusCountsWhenTheBodyNeverEnds) {
  // Go ignores errors while draining the body: the status decides.
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  HttpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()), "/");
  // The timeout must cover the response head (a loaded machine is slow), and
  // the test waits for it in full: 1s.
  server.Respond("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nab", /*hang=*/true);
  EXPECT_EQ(prober.Probe(absl::Seconds(1)), ProbeResult::Ok());
  server.Respond("HTTP/1.1 500 Oops\r\nContent-Length: 100\r\n\r\nab", /*hang=*/true);
  EXPECT_EQ(prober.Probe(absl::Seconds(1)).exit_code, kExitHttpBadStatus);
}

TEST(HttpProberTest, RefusedIsCode5) {
  RefusingPort refusing;
  int port = refusing.port();
  ASSERT_GT(port, 0);
  HttpProber prober("127.0.0.1", static_cast<uint16_t>(port), "/ping");
  EXPECT_EQ(prober.Probe(kGenerous),
            (ProbeResult{kExitHttpConnectFailed,
                         absl::StrCat("failed to make HTTP request to '/ping' on port ", port,
                                      ": connection refused")}));
}

TEST(HttpProberTest, ClosedWithoutResponseOrGarbageIsCode5) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  HttpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()), "/");
  const ProbeResult refused{kExitHttpConnectFailed,
                            absl::StrCat("failed to make HTTP request to '/' on port ",
                                         server.port(), ": connection refused")};
  server.Respond("");
  EXPECT_EQ(prober.Probe(kGenerous), refused);
  server.Respond("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  EXPECT_EQ(prober.Probe(kGenerous), refused);
}

TEST(HttpProberTest, NoAnswerIsCode65) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  server.Respond("", /*hang=*/true);
  HttpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()), "/slow");
  EXPECT_EQ(prober.Probe(absl::Milliseconds(250)),
            (ProbeResult{kExitHttpTimeout,
                         absl::StrCat("failed to make HTTP request to '/slow' on port ",
                                      server.port(), ": timed out after 0.25 seconds")}));
  // The request was received: the timeout covers the response, not the dial.
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(HttpProberTest, NonPositiveTimeoutHasNoDeadline) {
  // http.Client{Timeout: t <= 0} has no deadline.
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  server.RespondStatus(200);
  HttpProber prober("127.0.0.1", static_cast<uint16_t>(server.port()), "/");
  EXPECT_EQ(prober.Probe(absl::ZeroDuration()), ProbeResult::Ok());
  EXPECT_EQ(prober.Probe(absl::Seconds(-1)), ProbeResult::Ok());
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(HttpProberTest, UnansweredConnectIsCode65) {
  FullBacklogListener listener;
  ASSERT_TRUE(listener.full());
  HttpProber prober("127.0.0.1", static_cast<uint16_t>(listener.port()), "/");
  EXPECT_EQ(prober.Probe(absl::Milliseconds(200)).exit_code, kExitHttpTimeout);
}

TEST(HttpProberTest, UnparsableUrlIsCode6WithoutConnecting) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  uint16_t port = static_cast<uint16_t>(server.port());
  for (std::string uri : {"health", "/bad%zz", "/ctl\x01", "/frag#%x"}) {
    EXPECT_EQ(HttpProber("127.0.0.1", port, uri).Probe(kGenerous),
              (ProbeResult{kExitHttpBadStatus, absl::StrCat("failed to create an HTTP request to '",
                                                            uri, "' on port ", port)}))
        << uri;
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST(HttpProberTest, PathIsEscapedLikeGo) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  uint16_t port = static_cast<uint16_t>(server.port());
  EXPECT_TRUE(HttpProber("127.0.0.1", port, "/a b%2Fc").Probe(kGenerous).ok());
  EXPECT_TRUE(HttpProber("127.0.0.1", port, "/ok%2F(x)?q=a b#frag").Probe(kGenerous).ok());
  EXPECT_TRUE(HttpProber("127.0.0.1", port, "?only=query").Probe(kGenerous).ok());
  std::vector<std::string> requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  // Not validly encoded: unescaped and escaped again (%2F becomes '/').
  EXPECT_THAT(requests[0], StartsWith("GET /a%20b/c HTTP/1.1\r\n"));
  // Validly encoded paths go as given; the fragment is never sent.
  EXPECT_THAT(requests[1], StartsWith("GET /ok%2F(x)?q=a b HTTP/1.1\r\n"));
  EXPECT_THAT(requests[2], StartsWith("GET /?only=query HTTP/1.1\r\n"));
}

}  // namespace
}  // namespace diego::healthcheck
