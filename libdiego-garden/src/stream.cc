// Copyright 2026 The libdiego Authors.
//
// StreamIn/StreamOut (through the diego-garden-nstar helper) and RunHelper.

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "rootfs.h"
#include "posix_fd.h"

namespace diego::garden {
namespace {

constexpr size_t kMaxErrorText = 64 << 10;
constexpr size_t kWriteChunk = 1 << 20;

// Helper exit codes (helpers/nstar/nstar_main.cc).
constexpr int kExitUsage = 2;
constexpr int kExitNotFound = 3;

class SpawnActions {
 public:
  SpawnActions() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnActions() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

absl::Status StatusFromHelper(int code, const std::string& what, const std::string& err) {
  // The helper prefixes its lines with "nstar: ".
  std::string text;
  for (absl::string_view line : absl::StrSplit(err, '\n', absl::SkipWhitespace())) {
    absl::ConsumePrefix(&line, "nstar: ");
    if (!text.empty()) text += "; ";
    text.append(line.data(), line.size());
  }
  if (text.empty()) text = absl::StrCat("diego-garden-nstar exited with status ", code);
  std::string message = absl::StrCat(what, ": ", text);
  switch (code) {
    case kExitNotFound:
      return absl::NotFoundError(message);
    case kExitUsage:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status CheckTarget(const StreamTarget& target) {
  if (target.nstar_binary.empty()) {
    return absl::FailedPreconditionError("StreamTarget.nstar_binary is empty");
  }
  if (target.init_pid <= 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("StreamTarget.init_pid ", target.init_pid, " is not a container process"));
  }
  return absl::OkStatus();
}

std::vector<std::string> HelperArgv(const StreamTarget& target, const char* mode,
                                    absl::string_view path, absl::string_view user) {
  return {target.nstar_binary,
          mode,
          absl::StrCat(target.init_pid),
          std::string(user),
          std::string(path),
          absl::StrCat(target.privileged ? 0 : target.uid_map_start),
          absl::StrCat(target.privileged ? 0 : target.uid_map_length)};
}

}  // namespace

absl::StatusOr<int> RunHelper(const std::vector<std::string>& argv, absl::string_view input,
                              std::string* output, std::string* error_text) {
  if (argv.empty()) return absl::InvalidArgumentError("RunHelper: empty argv");
  // stdin is a socket so that writes can use MSG_NOSIGNAL: a helper that
  // exits early gives EPIPE, not SIGPIPE.
  int in_pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", ErrnoText(errno)));
  }
  Fd in_parent(in_pair[0]), in_child(in_pair[1]);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", ErrnoText(errno)));
  }
  Fd out_parent(out_pipe[0]), out_child(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", ErrnoText(errno)));
  }
  Fd err_parent(err_pipe[0]), err_child(err_pipe[1]);
  if (output == nullptr) {
    out_parent.Reset();
    out_child.Reset();
    *out_child.out() = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (out_child.get() < 0) {
      return absl::InternalError(absl::StrCat("open /dev/null: ", ErrnoText(errno)));
    }
  }

  SpawnActions spawn;
  posix_spawn_file_actions_adddup2(&spawn.actions_, in_child.get(), 0);
  posix_spawn_file_actions_adddup2(&spawn.actions_, out_child.get(), 1);
  posix_spawn_file_actions_adddup2(&spawn.actions_, err_child.get(), 2);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&spawn.attr_, &empty);
  posix_spawnattr_setsigdefault(&spawn.attr_, &all);
  posix_spawnattr_setflags(&spawn.attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char* envp[] = {nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &spawn.actions_, &spawn.attr_, args.data(), envp);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], ": ", ErrnoText(rc)));
  }
  in_child.Reset();
  out_child.Reset();
  err_child.Reset();

  for (int fd : {in_parent.get(), out_parent.get(), err_parent.get()}) {
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  size_t written = 0;
  if (input.empty()) in_parent.Reset();
  std::string err_buf;
  std::vector<char> buf(256 << 10);
  while (in_parent.get() >= 0 || out_parent.get() >= 0 || err_parent.get() >= 0) {
    pollfd fds[3];
    nfds_t n = 0;
    int in_index = -1, out_index = -1, err_index = -1;
    if (in_parent.get() >= 0) {
      in_index = static_cast<int>(n);
      fds[n++] = {in_parent.get(), POLLOUT, 0};
    }
    if (out_parent.get() >= 0) {
      out_index = static_cast<int>(n);
      fds[n++] = {out_parent.get(), POLLIN, 0};
    }
    if (err_parent.get() >= 0) {
      err_index = static_cast<int>(n);
      fds[n++] = {err_parent.get(), POLLIN, 0};
    }
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return absl::InternalError(absl::StrCat("poll: ", ErrnoText(err)));
    }
    if (in_index >= 0 && fds[in_index].revents != 0) {
      size_t len = std::min(kWriteChunk, input.size() - written);
      ssize_t w = send(in_parent.get(), input.data() + written, len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        written += static_cast<size_t>(w);
        if (written == input.size()) in_parent.Reset();
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        in_parent.Reset();  // EPIPE/ECONNRESET: the helper stopped reading
      }
    }
    for (auto [index, fd, sink] : {std::tuple{out_index, &out_parent, output},
                                   std::tuple{err_index, &err_parent, &err_buf}}) {
      if (index < 0 || fds[index].revents == 0) continue;
      ssize_t r = read(fd->get(), buf.data(), buf.size());
      if (r > 0) {
        if (sink == &err_buf) {
          size_t room = kMaxErrorText - std::min(kMaxErrorText, err_buf.size());
          err_buf.append(buf.data(), std::min(room, static_cast<size_t>(r)));
        } else {
          sink->append(buf.data(), static_cast<size_t>(r));
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd->Reset();
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError(absl::StrCat("waitpid: ", ErrnoText(errno)));
  }
  if (error_text != nullptr) *error_text = std::move(err_buf);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

absl::Status StreamIn(const StreamTarget& target, absl::string_view path, absl::string_view user,
                      absl::string_view tar) {
  if (absl::Status s = CheckTarget(target); !s.ok()) return s;
  std::string err;
  absl::StatusOr<int> code = RunHelper(HelperArgv(target, "in", path, user), tar, nullptr, &err);
  if (!code.ok()) return code.status();
  if (*code != 0) return StatusFromHelper(*code, absl::StrCat("stream in to ", path), err);
  return absl::OkStatus();
}

absl::StatusOr<std::string> StreamOut(const StreamTarget& target, absl::string_view path,
                                      absl::string_view user) {
  if (absl::Status s = CheckTarget(target); !s.ok()) return s;
  std::string out, err;
  absl::StatusOr<int> code = RunHelper(HelperArgv(target, "out", path, user), "", &out, &err);
  if (!code.ok()) return code.status();
  if (*code != 0) return StatusFromHelper(*code, absl::StrCat("stream out of ", path), err);
  return out;
}

}  // namespace diego::garden
