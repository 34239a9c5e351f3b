// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: child_process.h
// -----------------------------------------------------------------------------
//
// Helpers for end-to-end tests and benchmarks that run the apps (diego-bbs,
// diego-locket, ...) as real processes and watch them from outside:
//
//   - `diego::fakes::ChildProcess`: one child (posix_spawn of a path, no shell)
//     whose stderr, where `diego::Logger` writes its JSON lines, goes to a
//     file; read its log lines, wait for one, read a port from one, signal it,
//     wait for its exit status.
//   - `PollUntil`: bounded real-time polling, for state another process
//     changes without telling (a log line, a listener, a database row).
//   - `UnusedLoopbackPort` and `LoopbackGet`: a port to hand a child up front,
//     and a plain HTTP GET of a child's listener.
//
//   ASSERT_OK_AND_ASSIGN(std::unique_ptr<ChildProcess> locket,
//                        ChildProcess::Start({DIEGO_LOCKET_BINARY, "--listen_address=127.0.0.1:0"},
//                                            dir + "/locket.log"));
//   ASSERT_OK_AND_ASSIGN(int port, locket->AwaitPort("locket.started"));
//   ...
//   EXPECT_EQ(locket->Terminate(), 0);  // SIGTERM; exit status 0.
//
// Real time, so every wait takes a bound; the defaults (`kChildProcessBound`)
// are generous for a loaded machine. Waiting is by polling (every 20 ms).
//
// Thread-compatible: one thread drives a `ChildProcess`.

#ifndef DIEGO_TESTING_CHILD_PROCESS_H_
#define DIEGO_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/base/logger.h"

namespace diego::fakes {

// The default bound of `ChildProcess`'s waits.
inline constexpr absl::Duration kChildProcessBound = absl::Seconds(90);

// Evaluates `condition` every `interval` until it holds or `bound` passed
// (real time); returns its last value, so a condition that holds at the
// deadline still counts.
bool PollUntil(const std::function<bool()>& condition, absl::Duration bound,
               absl::Duration interval = absl::Milliseconds(20));

// A TCP port on 127.0.0.1 that nothing listens on now: the kernel's choice for
// a socket bound to port 0, closed again before returning (so another process
// could take it first). -1 when no socket can be bound.
int UnusedLoopbackPort();

// GET http://127.0.0.1:<port><path> on a fresh connection, waiting up to
// `timeout` to connect and again to read. Returns {HTTP status, body}, or
// {-1, the transport error's name} when no response came.
std::pair<int, std::string> LoopbackGet(int port, const std::string& path,
                                        absl::Duration timeout = absl::Seconds(10));

// The value under `key` in `entry`'s data as a TCP port (a decimal number in
// 1..65535); kNotFound when absent, kInvalidArgument when not a port.
absl::StatusOr<int> LogPort(const LogEntry& entry, absl::string_view key);

class ChildProcess {
 public:
  // Starts the executable at `argv[0]` (a path; PATH is not searched) with
  // `argv`, this process's environment, stdin and stdout, and its stderr
  // written to `log_path` (created, or truncated). Returns the spawn's error
  // (the errno of a missing executable, an unwritable log path, ...).
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(std::vector<std::string> argv,
                                                             std::string log_path);

  // Kills a child that is still running (SIGKILL, then SIGCONT in case it is
  // stopped) and reaps it.
  ~ChildProcess();

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Whether it has not exited yet. Once it has, reaps it and keeps the status.
  bool running();

  // Sends `signal_number` (SIGSTOP, SIGCONT, SIGTERM, ...) unless the child
  // has already been reaped.
  void Signal(int signal_number);

  // The exit status once it has exited: the exit code, or 128 + the number of
  // the signal that killed it. Waits up to `bound`; std::nullopt if it is
  // still running then.
  std::optional<int> AwaitExit(absl::Duration bound = kChildProcessBound);

  // SIGTERM, then `AwaitExit(bound)`.
  std::optional<int> Terminate(absl::Duration bound = kChildProcessBound);

  // Everything it has written to stderr so far.
  std::string Log() const;

  // Its log lines (`diego::Logger`'s JSON, see ParseLogLine) whose message is
  // `message`, in order. Other output is skipped.
  std::vector<LogEntry> Lines(absl::string_view message) const;

  // The first line whose message is `message`, waiting up to `bound` for it.
  // kFailedPrecondition if the child exits first, kDeadlineExceeded when the
  // bound passes; either message carries the exit status or the log.
  absl::StatusOr<LogEntry> AwaitLine(absl::string_view message,
                                     absl::Duration bound = kChildProcessBound);

  // `AwaitLine(message, bound)`, then `LogPort` of that line's `key`: how a
  // child listening on port 0 tells which port it got.
  absl::StatusOr<int> AwaitPort(absl::string_view message, absl::string_view key = "port",
                                absl::Duration bound = kChildProcessBound);

 private:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}

  // The exit status once the child has exited (reaping it once); with
  // `block`, waits for that.
  std::optional<int> Reap(bool block);

  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_status_;
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_CHILD_PROCESS_H_
