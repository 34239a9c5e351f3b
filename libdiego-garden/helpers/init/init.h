// Copyright 2026 The libdiego Authors.
//
// diego-garden-init internals (see container_init.h for the design and
// init_protocol.h for the wire protocol). Plain C++ and libc (+ libseccomp):
// no Abseil, so the statically linked binary stays small and execs fast.
//
// Errors are strings: "" for success, else a message naming the operation,
// the path and the errno text ("mounting proc on /x/proc: Operation not
// permitted"), which the backend turns into an absl::Status.

#ifndef DIEGO_GARDEN_HELPERS_INIT_INIT_H_
#define DIEGO_GARDEN_HELPERS_INIT_INIT_H_

#include <linux/filter.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "init_protocol.h"

namespace diego::garden::init {

using Error = std::string;

// "<what>: <strerror(err)>".
inline Error ErrnoError(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

// Writes `content` to `fd` with one write(2), then closes `fd`; a short or
// failed write is "writing <path>: <strerror>" (EIO when short).
inline Error WriteAndClose(int fd, const std::string& path, const std::string& content) {
  ssize_t n = write(fd, content.data(), content.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(content.size())) {
    return ErrnoError("writing " + path, n < 0 ? err : EIO);
  }
  return "";
}

// Pid 1, still in the host's root: becomes root of the user namespace
// (unprivileged), builds the container's root filesystem, pivots into it,
// sets the hostname and writes /etc/hosts and /etc/resolv.conf.
// `join_network` is called once, after /proc and /dev are mounted and before
// sysfs (which shows the mounting process's network namespace).
Error SetupContainer(const init_protocol::Config& config,
                     const std::function<Error()>& join_network);

// Pid 1: serves the control connections (`first_client`, then whatever
// connects to `listen_fd`) and reaps children. Never returns.
[[noreturn]] void Serve(const init_protocol::Config& config, int listen_fd, int first_client);

// A user of the container, from its /etc/passwd (runc's semantics, as
// Guardian uses them: "" is root; a number is a uid, used as is when it has
// no entry, with gid 0 and home /root; no supplementary groups).
struct ExecUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home = "/root";
};
Error LookupUser(const std::string& user, ExecUser* out);

// Garden's process environment: `env`, plus PATH (Guardian's defaults: with
// sbin for uid 0, without for others), USER (the requested name, or "root")
// and HOME (the user's home), each only when `env` has none.
std::vector<std::string> BuildEnv(const std::vector<std::string>& env, const ExecUser& user,
                                  const std::string& user_name);

// Garden's default capability bounding set for unprivileged containers
// (Docker's default set): CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD,
// NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT,
// KILL, AUDIT_WRITE.
uint64_t GardenCapabilities();

// Compiles the default seccomp filter of unprivileged containers (denies
// dangerous syscalls with EPERM, clone3 with ENOSYS so libc falls back to
// clone, whose flags can be checked). Run at build time only
// (seccomp_gen.cc); the init embeds the result as `kSeccompFilter`.
Error BuildSeccompFilter(std::vector<struct sock_filter>* program);

}  // namespace diego::garden::init

#endif  // DIEGO_GARDEN_HELPERS_INIT_INIT_H_
