// Copyright 2026 The libdiego Authors.
//
// Runs the diego-healthcheck binary against servers on 127.0.0.1 (through
// its -host extension) and checks what Diego's binary would print on stderr
// and its exit status.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "diego/testing/child_process.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "loopback_server.h"

namespace diego::healthcheck {
namespace {

using healthcheck_test::FullBacklogListener;
using healthcheck_test::RefusingPort;
using healthcheck_test::ScriptedHttpServer;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

struct BinaryRun {
  int exit_status = -1;
  std::string stderr_text;
};

// Runs the binary with `args` to completion.
BinaryRun RunBinary(const std::vector<std::string>& args) {
  static int counter = 0;
  std::vector<std::string> argv = {DIEGO_HEALTHCHECK_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string log = absl::StrCat(::testing::TempDir(), "/healthcheck_app_test_", getpid(), "_",
                                 ++counter, ".stderr");
  BinaryRun run;
  absl::StatusOr<std::unique_ptr<fakes::ChildProcess>> child =
      fakes::ChildProcess::Start(argv, log);
  EXPECT_OK(child.status());
  if (!child.ok()) return run;
  std::optional<int> status = (*child)->AwaitExit(absl::Seconds(30));
  EXPECT_TRUE(status.has_value());
  run.exit_status = status.value_or(-1);
  run.stderr_text = (*child)->Log();
  return run;
}

std::string Port(int port) { return absl::StrCat("-port=", port); }

TEST(HealthcheckAppTest, TcpListeningExits0Silently) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  BinaryRun run = RunBinary({"-host=127.0.0.1", Port(server.port())});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_EQ(run.stderr_text, "");
}

TEST(HealthcheckAppTest, TcpRefusedExits4) {
  RefusingPort refusing;
  int port = refusing.port();
  ASSERT_GT(port, 0);
  BinaryRun run = RunBinary({"-host", "127.0.0.1", "-port", absl::StrCat(port)});
  EXPECT_EQ(run.exit_status, 4);
  std::string addr = absl::StrCat("127.0.0.1:", port);
  EXPECT_EQ(run.stderr_text, absl::StrCat("failed to make TCP connection to ", addr, ": dial tcp ",
                                          addr, ": connect: connection refused\n"));
}

TEST(HealthcheckAppTest, TcpTimeoutExits64) {
  FullBacklogListener listener;
  ASSERT_TRUE(listener.full());
  BinaryRun run = RunBinary({"--host=127.0.0.1", Port(listener.port()), "-timeout=200ms"});
  EXPECT_EQ(run.exit_status, 64);
  EXPECT_EQ(run.stderr_text, absl::StrCat("failed to make TCP connection to 127.0.0.1:",
                                          listener.port(), ": timed out after 0.20 seconds\n"));
}

TEST(HealthcheckAppTest, InvalidPortIsGoDialError) {
  BinaryRun run = RunBinary({"-host=127.0.0.1", "-port=-1"});
  EXPECT_EQ(run.exit_status, 4);
  EXPECT_EQ(run.stderr_text,
            "failed to make TCP connection to 127.0.0.1:-1: dial tcp: address -1: invalid port\n");
  BinaryRun http = RunBinary({"-host=127.0.0.1", "-port=-1", "-uri=/x"});
  EXPECT_EQ(http.exit_status, 6);
  EXPECT_EQ(http.stderr_text, "failed to create an HTTP request to '/x' on port -1\n");
}

TEST(HealthcheckAppTest, Http200Exits0AndSendsDiegoHeaders) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  server.RespondStatus(200);
  BinaryRun run = RunBinary({"-host=127.0.0.1", Port(server.port()), "-uri=/health"});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_EQ(run.stderr_text, "");
  std::vector<std::string> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0], StartsWith("GET /health HTTP/1.1\r\n"));
  EXPECT_THAT(requests[0], HasSubstr("\r\nUser-Agent: diego-healthcheck\r\n"));
  EXPECT_THAT(requests[0], HasSubstr("\r\nX-Forwarded-Proto: https\r\n"));
}

TEST(HealthcheckAppTest, Http500Exits6) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  server.RespondStatus(500, "boom");
  BinaryRun run = RunBinary({"-host=127.0.0.1", Port(server.port()), "-uri=/health"});
  EXPECT_EQ(run.exit_status, 6);
  EXPECT_THAT(run.stderr_text, MatchesRegex(absl::StrCat(
                                   "failed to make HTTP request to '/health' on port ",
                                   server.port(), ": received status code 500 in [0-9]+ms\n")));
}

TEST(HealthcheckAppTest, HttpRefusedExits5) {
  RefusingPort refusing;
  int port = refusing.port();
  ASSERT_GT(port, 0);
  BinaryRun run = RunBinary({"-host=127.0.0.1", Port(port), "-uri=/"});
  EXPECT_EQ(run.exit_status, 5);
  EXPECT_EQ(run.stderr_text, absl::StrCat("failed to make HTTP request to '/' on port ", port,
                                          ": connection refused\n"));
}

TEST(HealthcheckAppTest, HttpTimeoutExits65) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  server.Respond("", /*hang=*/true);
  BinaryRun run =
      RunBinary({"-host=127.0.0.1", Port(server.port()), "-uri=/slow", "-timeout=0.25s"});
  EXPECT_EQ(run.exit_status, 65);
  EXPECT_EQ(run.stderr_text, absl::StrCat("failed to make HTTP request to '/slow' on port ",
                                          server.port(), ": timed out after 0.25 seconds\n"));
}

TEST(HealthcheckAppTest, StartupPassesAtOnceWhenListening) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  BinaryRun run = RunBinary(
      {"-host=127.0.0.1", Port(server.port()), "-startup-interval=10ms", "-startup-timeout=30s"});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_EQ(run.stderr_text, "");
}

TEST(HealthcheckAppTest, StartupTimeoutPrefixesTheLastError) {
  RefusingPort refusing;
  int port = refusing.port();
  ASSERT_GT(port, 0);
  BinaryRun run = RunBinary(
      {"-host=127.0.0.1", Port(port), "-startup-interval=20ms", "-startup-timeout=200ms"});
  EXPECT_EQ(run.exit_status, 4);
  std::string addr = absl::StrCat("127.0.0.1:", port);
  EXPECT_THAT(run.stderr_text,
              MatchesRegex(absl::StrCat(
                  "Timed out after 200ms \\([0-9]+ attempts\\) waiting for startup check to "
                  "succeed: failed to make TCP connection to ",
                  addr, ": dial tcp ", addr, ": connect: connection refused\n")));
}

TEST(HealthcheckAppTest, LivenessFailurePrefixesTheError) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  server.RespondStatus(503, "down");
  BinaryRun run =
      RunBinary({"-host=127.0.0.1", Port(server.port()), "-uri=/h", "-liveness-interval=10ms"});
  EXPECT_EQ(run.exit_status, 6);
  EXPECT_THAT(run.stderr_text, MatchesRegex(absl::StrCat(
                                   "Liveness check unsuccessful: failed to make HTTP "
                                   "request to '/h' on port ",
                                   server.port(), ": received status code 503 in [0-9]+ms\n")));
}

TEST(HealthcheckAppTest, ReadinessFailurePrefixesTheError) {
  RefusingPort refusing;
  int port = refusing.port();
  ASSERT_GT(port, 0);
  BinaryRun run = RunBinary({"-host=127.0.0.1", Port(port), "-uri=/r", "-readiness-interval=1s"});
  EXPECT_EQ(run.exit_status, 5);
  EXPECT_EQ(run.stderr_text,
            absl::StrCat("Readiness check unsuccessful: failed to make HTTP request to '/r' on "
                         "port ",
                         port, ": connection refused\n"));
}

TEST(HealthcheckAppTest, UntilReadyExits0OnSuccess) {
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  BinaryRun run =
      RunBinary({"-host=127.0.0.1", Port(server.port()), "-uri=/", "-until-ready-interval=1s"});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_EQ(run.stderr_text, "");
}

TEST(HealthcheckAppTest, UnknownFlagExits2WithUsage) {
  BinaryRun run = RunBinary({"-bogus=1"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.stderr_text, StartsWith(absl::StrCat("flag provided but not defined: -bogus\n"
                                                       "Usage of ",
                                                       DIEGO_HEALTHCHECK_BINARY, ":\n")));
  EXPECT_THAT(run.stderr_text, HasSubstr("  -timeout duration\n    \tdial timeout (default 1s)\n"));
}

TEST(HealthcheckAppTest, BadValuesAndMissingArgumentsExit2) {
  BinaryRun duration = RunBinary({"-timeout=1x"});
  EXPECT_EQ(duration.exit_status, 2);
  EXPECT_THAT(duration.stderr_text,
              StartsWith("invalid value \"1x\" for flag -timeout: parse error\nUsage of "));
  BinaryRun missing = RunBinary({"-port"});
  EXPECT_EQ(missing.exit_status, 2);
  EXPECT_THAT(missing.stderr_text, StartsWith("flag needs an argument: -port\nUsage of "));
  BinaryRun syntax = RunBinary({"---port=1"});
  EXPECT_EQ(syntax.exit_status, 2);
  EXPECT_THAT(syntax.stderr_text, StartsWith("bad flag syntax: ---port=1\n"));
  BinaryRun host = RunBinary({"-host=localhost"});
  EXPECT_EQ(host.exit_status, 2);
  EXPECT_THAT(host.stderr_text,
              StartsWith("invalid value \"localhost\" for flag -host: not an IPv4 address\n"));
  BinaryRun network = RunBinary({"-host=127.0.0.1", "-network=udp"});
  EXPECT_EQ(network.exit_status, 2);
  EXPECT_THAT(network.stderr_text, HasSubstr("\"udp\" is not supported"));
}

TEST(HealthcheckAppTest, HelpExits0WithUsage) {
  for (const char* flag : {"-h", "-help", "--help"}) {
    BinaryRun run = RunBinary({flag});
    EXPECT_EQ(run.exit_status, 0) << flag;
    EXPECT_THAT(run.stderr_text, StartsWith("Usage of ")) << flag;
    EXPECT_THAT(run.stderr_text,
                HasSubstr("  -network string\n    \tnetwork type to dial with (e.g. unix, tcp) "
                          "(default \"tcp\")\n"));
    EXPECT_THAT(run.stderr_text, HasSubstr("(default 1m0s)\n"));
  }
}

TEST(HealthcheckAppTest, FlagsStopAtTheFirstNonFlag) {
  // "--" ends the flags, so -port=1 is not parsed and the listening port is used.
  ScriptedHttpServer server;
  ASSERT_TRUE(server.ok());
  BinaryRun run = RunBinary({"-host=127.0.0.1", Port(server.port()), "--", "-port=1"});
  EXPECT_EQ(run.exit_status, 0);
  BinaryRun positional = RunBinary({"-host=127.0.0.1", Port(server.port()), "extra", "-bogus"});
  EXPECT_EQ(positional.exit_status, 0);
  EXPECT_EQ(positional.stderr_text, "");
}

}  // namespace
}  // namespace diego::healthcheck
