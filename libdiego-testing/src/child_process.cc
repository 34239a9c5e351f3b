// Copyright 2026 The libdiego Authors.

#include "diego/testing/child_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"

extern char** environ;

namespace diego::fakes {

bool PollUntil(const std::function<bool()>& condition, absl::Duration bound,
               absl::Duration interval) {
  const absl::Time deadline = absl::Now() + bound;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(interval);
  }
  return condition();
}

int UnusedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::pair<int, std::string> LoopbackGet(int port, const std::string& path, absl::Duration timeout) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(absl::ToChronoMicroseconds(timeout));
  client.set_read_timeout(absl::ToChronoMicroseconds(timeout));
  httplib::Result result = client.Get(path);
  if (!result) return {-1, httplib::to_string(result.error())};
  return {result->status, result->body};
}

absl::StatusOr<int> LogPort(const LogEntry& entry, absl::string_view key) {
  auto it = entry.data.find(std::string(key));
  if (it == entry.data.end()) {
    return absl::NotFoundError(absl::StrCat("no '", key, "' in '", entry.message, "'"));
  }
  int port = 0;
  const std::string& text = it->second;
  if (text.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(text[0])) ||
      !absl::SimpleAtoi(text, &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", key, "' of '", entry.message, "' is not a port: ", text));
  }
  return port;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(std::vector<std::string> argv,
                                                                  std::string log_path) {
  if (argv.empty()) return absl::InvalidArgumentError("no executable");
  // posix_spawn rather than fork + exec: safe from a threaded test, and an
  // executable that cannot run is reported here rather than by exit 127.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = 0;
  const int error = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return absl::ErrnoToStatus(error, absl::StrCat("spawning ", argv[0]));
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, std::move(log_path)));
}

ChildProcess::~ChildProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    kill(pid_, SIGCONT);
    (void)Reap(/*block=*/true);
  }
}

std::optional<int> ChildProcess::Reap(bool block) {
  if (exit_status_.has_value()) return exit_status_;
  int status = 0;
  if (waitpid(pid_, &status, block ? 0 : WNOHANG) != pid_) return std::nullopt;
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_status_;
}

bool ChildProcess::running() { return !Reap(/*block=*/false).has_value(); }

void ChildProcess::Signal(int signal_number) {
  // Once reaped, the pid may belong to another process.
  if (!exit_status_.has_value()) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::AwaitExit(absl::Duration bound) {
  PollUntil([this] { return !running(); }, bound);
  return exit_status_;
}

std::optional<int> ChildProcess::Terminate(absl::Duration bound) {
  Signal(SIGTERM);
  return AwaitExit(bound);
}

std::string ChildProcess::Log() const {
  std::ifstream in(log_path_, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<LogEntry> ChildProcess::Lines(absl::string_view message) const {
  std::vector<LogEntry> out;
  const std::string log = Log();
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    absl::StatusOr<LogEntry> entry = ParseLogLine(line);
    if (entry.ok() && entry->message == message) out.push_back(*std::move(entry));
  }
  return out;
}

absl::StatusOr<LogEntry> ChildProcess::AwaitLine(absl::string_view message, absl::Duration bound) {
  const absl::Time deadline = absl::Now() + bound;
  while (true) {
    // Checked before the lines, so a line written just before the exit is
    // still found.
    const bool exited = !running();
    std::vector<LogEntry> lines = Lines(message);
    if (!lines.empty()) return lines.front();
    if (exited) {
      return absl::FailedPreconditionError(absl::StrCat(
          "exited (status ", exit_status_.value_or(-1), ") before '", message, "':\n", Log()));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat("no '", message, "' line:\n", Log()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::StatusOr<int> ChildProcess::AwaitPort(absl::string_view message, absl::string_view key,
                                            absl::Duration bound) {
  absl::StatusOr<LogEntry> line = AwaitLine(message, bound);
  if (!line.ok()) return line.status();
  return LogPort(*line, key);
}

}  // namespace diego::fakes
