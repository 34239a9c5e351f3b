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

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_LINUX_TEST_ENV_H_
