// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: linux_test_env.h
// -----------------------------------------------------------------------------
//
// Helpers for tests of real Linux containers (LinuxBackend and its parts).
//
// Root: those tests need root. In CI (root) they must run; a run where they
// were skipped must fail. So `DIEGO_REQUIRE_ROOT()` fails the test when not
// root, and skips only when the developer opted out explicitly with
// DIEGO_SKIP_ROOT_TESTS=1 in the environment.
//
//   TEST(LinuxBackendTest, RunsTrue) {
//     DIEGO_REQUIRE_ROOT();
//     ...
//   }
//
// Rootfs: `BuildBusyboxRootfs` makes a minimal root filesystem from Debian's
// busybox-static (/bin/busybox): every applet as a symlink in /bin, /etc/passwd
// and /etc/group with root (0), vcap (2000) and nobody (65534), and the usual
// empty directories (/tmp 1777, /proc, /dev, /sys, /etc, /root, /home/vcap,
// /var, /usr/bin, /sbin).

#ifndef DIEGO_TESTING_LINUX_TEST_ENV_H_
#define DIEGO_TESTING_LINUX_TEST_ENV_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/garden/backend.h"
#include "diego/garden/spec.h"
#include "gtest/gtest.h"

namespace diego::fakes {

// True when the effective uid is 0.
bool RunningAsRoot();
// True when DIEGO_SKIP_ROOT_TESTS=1.
bool RootTestsMayBeSkipped();

// Fails (or, with DIEGO_SKIP_ROOT_TESTS=1, skips) the current test when not
// root. Use at the top of a TEST body or in SetUp.
#define DIEGO_REQUIRE_ROOT()                                                        \
  do {                                                                              \
    if (!::diego::fakes::RunningAsRoot()) {                                         \
      if (::diego::fakes::RootTestsMayBeSkipped()) {                                \
        GTEST_SKIP() << "needs root (skipped: DIEGO_SKIP_ROOT_TESTS=1)";            \
      }                                                                             \
      FAIL() << "this test needs root; run as root or set DIEGO_SKIP_ROOT_TESTS=1"; \
    }                                                                               \
  } while (0)

// Path of the static busybox binary (/bin/busybox from busybox-static).
// FailedPrecondition naming the package when it is missing or not static.
absl::StatusOr<std::string> StaticBusyboxPath();

// Builds the busybox rootfs in `dir` (created; must be empty or absent).
absl::Status BuildBusyboxRootfs(const std::string& dir);

// Writes `dir` as a tar archive to `tar_path` (uses busybox tar), so tests can
// exercise tarball images. `gzip` selects .tar.gz.
absl::Status TarDirectory(const std::string& dir, const std::string& tar_path, bool gzip);

// A fresh directory under ::testing::TempDir() named after the running test
// plus `suffix`; removed (recursively, unmounting nothing) by the caller.
std::string FreshTestDir(const std::string& suffix);

// A suite's scratch tree, `<TempDir><prefix><pid>` (emptied first), with a
// busybox rootfs built once at `rootfs()` = base + "/busybox". Made in
// SetUpTestSuite and deleted in TearDownTestSuite; the destructor removes the
// tree unless something is still mounted under it (a leftover mount means a
// test failed to clean up, and remove_all must not reach into it).
class BusyboxSuiteTree {
 public:
  static absl::StatusOr<std::unique_ptr<BusyboxSuiteTree>> Create(absl::string_view prefix);
  BusyboxSuiteTree(const BusyboxSuiteTree&) = delete;
  BusyboxSuiteTree& operator=(const BusyboxSuiteTree&) = delete;
  ~BusyboxSuiteTree();

  const std::string& base() const { return base_; }
  const std::string& rootfs() const { return rootfs_; }

 private:
  explicit BusyboxSuiteTree(std::string base);
  std::string base_;
  std::string rootfs_;
};

// --- Driving containers and the host ------------------------------------------

// Thread-safe text collector for process output sinks.
class OutputBuffer {
 public:
  void Append(absl::string_view s);
  std::string Text() const;

 private:
  mutable absl::Mutex mu_;
  std::string text_;
};

// What `RunIn` saw: the exit code and the process's whole stdout and stderr.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `/bin/sh -c script`, run as `user` ("" = the container's default).
garden::ProcessSpec Sh(const std::string& script, const std::string& user = "");

// Runs `spec` in `c` with empty stdin and waits up to `timeout` (real clock)
// for it to exit; the error of Run or Wait otherwise.
absl::StatusOr<RunResult> RunIn(garden::Container& c, const garden::ProcessSpec& spec,
                                absl::Duration timeout = absl::Seconds(60));

// Runs `command` with the host's /bin/sh, stderr folded into stdout; returns
// its exit status (-1 when it did not exit normally or could not start) and
// output ("popen failed" when it could not start).
std::pair<int, std::string> HostSh(const std::string& command);

// The contents of `path`; "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// GET http://ip:port/path over HTTP/1.0 with a plain socket (2 s send and
// receive timeouts); the raw response, "" on any failure.
std::string HttpGet(const std::string& ip, int port, const std::string& path);

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_LINUX_TEST_ENV_H_
