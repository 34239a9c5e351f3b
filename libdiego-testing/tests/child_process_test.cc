// Copyright 2026 The libdiego Authors.

#include "diego/testing/child_process.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "diego/base/logger.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace diego::fakes {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kStartedLine[] =
    R"({"timestamp":"1.0","source":"t","message":"t.started","log_level":1,)"
    R"("data":{"port":8080,"name":"a"}})";
constexpr char kOtherLine[] =
    R"({"timestamp":"2.0","source":"t","message":"t.other","log_level":0,"data":{}})";

std::string LogPath(const std::string& name) {
  return absl::StrCat(::testing::TempDir(), "/child_process_test_", getpid(), "_", name, ".log");
}

// /bin/sh running `script`, with the log at LogPath(name).
absl::StatusOr<std::unique_ptr<ChildProcess>> Shell(const std::string& name,
                                                    const std::string& script) {
  return ChildProcess::Start({"/bin/sh", "-c", script}, LogPath(name));
}

// A script that writes `lines` to stderr, then sleeps until signalled.
std::string WritesThenSleeps(const std::vector<std::string>& lines) {
  std::string script;
  for (const std::string& line : lines) {
    absl::StrAppend(&script, "printf '%s\\n' '", line, "' >&2; ");
  }
  return absl::StrCat(script, "exec sleep 600");
}

TEST(ChildProcessTest, ReadsLogLinesAndPortsAndTerminates) {
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<ChildProcess> child,
      Shell("lines", WritesThenSleeps({"plain text", kStartedLine, kOtherLine, kStartedLine})));
  EXPECT_GT(child->pid(), 0);
  ASSERT_OK_AND_ASSIGN(LogEntry started, child->AwaitLine("t.started"));
  EXPECT_EQ(started.data["name"], "a");
  ASSERT_OK_AND_ASSIGN(int port, child->AwaitPort("t.started"));
  EXPECT_EQ(port, 8080);
  ASSERT_OK(child->AwaitLine("t.other").status());
  EXPECT_THAT(child->Lines("t.started"), SizeIs(2));
  EXPECT_THAT(child->Lines("t.other"), SizeIs(1));
  EXPECT_THAT(child->Lines("plain text"), IsEmpty());
  EXPECT_THAT(child->Log(), HasSubstr("plain text\n"));
  EXPECT_TRUE(child->running());

  EXPECT_EQ(child->Terminate(), 128 + SIGTERM);
  EXPECT_FALSE(child->running());
  // The status is kept once reaped.
  EXPECT_EQ(child->AwaitExit(), 128 + SIGTERM);
}

TEST(ChildProcessTest, ReportsTheExitCode) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChildProcess> child, Shell("exit", "exit 3"));
  EXPECT_EQ(child->AwaitExit(), 3);
  EXPECT_FALSE(child->running());
}

TEST(ChildProcessTest, AwaitLineFailsWhenTheChildExitsFirst) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChildProcess> child,
                       Shell("early", "echo 'last words' >&2; exit 2"));
  absl::StatusOr<LogEntry> line = child->AwaitLine("t.started");
  EXPECT_THAT(line.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("exited (status 2) before 't.started'")));
  EXPECT_THAT(line.status().message(), HasSubstr("last words"));
}

TEST(ChildProcessTest, AwaitLineGivesUpAfterTheBound) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChildProcess> child,
                       Shell("silent", WritesThenSleeps({kOtherLine})));
  EXPECT_THAT(child->AwaitLine("t.started", absl::Milliseconds(100)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("no 't.started' line")));
  EXPECT_EQ(child->AwaitExit(absl::Milliseconds(10)), std::nullopt);
  EXPECT_TRUE(child->running());
}

TEST(ChildProcessTest, TheDestructorKillsAndReapsAStoppedChild) {
  pid_t pid = 0;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChildProcess> child,
                         Shell("stopped", WritesThenSleeps({kStartedLine})));
    ASSERT_OK(child->AwaitLine("t.started").status());
    pid = child->pid();
    child->Signal(SIGSTOP);
  }
  // Reaped: no such process any more (not even a zombie).
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(ChildProcessTest, StartReportsAnExecutableThatCannotRun) {
  EXPECT_THAT(ChildProcess::Start({"/nonexistent/diego-nothing"}, LogPath("missing")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/diego-nothing")));
  EXPECT_THAT(ChildProcess::Start({}, LogPath("empty")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(LogPortTest, ReadsAPortAndRefusesAnythingElse) {
  LogEntry entry;
  entry.message = "x.started";
  entry.data = {
      {"port", "8889"}, {"zero", "0"}, {"big", "65536"}, {"text", "http"}, {"signed", "+80"}};
  ASSERT_OK_AND_ASSIGN(int port, LogPort(entry, "port"));
  EXPECT_EQ(port, 8889);
  EXPECT_THAT(LogPort(entry, "missing"), StatusIs(absl::StatusCode::kNotFound));
  for (const char* key : {"zero", "big", "text", "signed"}) {
    EXPECT_THAT(LogPort(entry, key), StatusIs(absl::StatusCode::kInvalidArgument)) << key;
  }
}

TEST(PollUntilTest, ReturnsOnceTheConditionHoldsOrAtTheBound) {
  int calls = 0;
  EXPECT_TRUE(PollUntil([&] { return ++calls == 3; }, absl::Seconds(30), absl::Milliseconds(1)));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(PollUntil([] { return false; }, absl::Milliseconds(20), absl::Milliseconds(1)));
}

TEST(LoopbackTest, GetsFromALoopbackServerAndReportsNoServer) {
  httplib::Server server;
  server.Get("/readyz", [](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_content("standby", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&] { server.listen_after_bind(); });
  ASSERT_TRUE(PollUntil([&] { return server.is_running(); }, absl::Seconds(30)));
  EXPECT_EQ(LoopbackGet(port, "/readyz"), std::make_pair(503, std::string("standby")));
  EXPECT_EQ(LoopbackGet(port, "/nothing").first, 404);
  server.stop();
  thread.join();

  const int unused = UnusedLoopbackPort();
  ASSERT_GT(unused, 0);
  EXPECT_EQ(LoopbackGet(unused, "/readyz").first, -1);
}

}  // namespace
}  // namespace diego::fakes
