// Copyright 2026 The libdiego Authors.

#include "diego/base/app.h"

#include <pthread.h>
#include <signal.h>

#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego {
namespace {

using ::diego::fakes::StatusIs;

TEST(AppFailureTest, PrintsProgramWhatAndMessageAndReturnsOne) {
  ::testing::internal::CaptureStderr();
  const int status =
      AppFailure("diego-x", "--db", absl::InvalidArgumentError("unsupported scheme"));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "diego-x: --db: unsupported scheme\n");
  EXPECT_EQ(status, 1);
}

TEST(AppFailureTest, WithoutWhatPrintsProgramAndMessage) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(AppFailure("diego-x", "", absl::NotFoundError("gone")), 1);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "diego-x: gone\n");
}

TEST(MutualTlsFilesTest, NoneIsPlaintext) {
  absl::StatusOr<std::optional<TlsFiles>> files = MutualTlsFiles("", "", "");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_FALSE(files->has_value());
}

TEST(MutualTlsFilesTest, AllThreeAreTheFiles) {
  absl::StatusOr<std::optional<TlsFiles>> files = MutualTlsFiles("ca.crt", "me.crt", "me.key");
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_TRUE(files->has_value());
  EXPECT_EQ((*files)->ca_file, "ca.crt");
  EXPECT_EQ((*files)->cert_file, "me.crt");
  EXPECT_EQ((*files)->key_file, "me.key");
}

TEST(MutualTlsFilesTest, OneOrTwoAreRefused) {
  for (const auto& [ca, cert, key] :
       {std::make_tuple("ca.crt", "", ""), std::make_tuple("", "me.crt", ""),
        std::make_tuple("", "", "me.key"), std::make_tuple("ca.crt", "me.crt", ""),
        std::make_tuple("", "me.crt", "me.key")}) {
    EXPECT_THAT(MutualTlsFiles(ca, cert, key), StatusIs(absl::StatusCode::kInvalidArgument,
                                                        "mutual TLS needs all three (or none)"))
        << ca << "," << cert << "," << key;
  }
}

// The mask of the calling thread is restored afterwards, so the signal tests
// leave the process as they found it.
class TerminationSignalsTest : public ::testing::Test {
 protected:
  void SetUp() override { pthread_sigmask(SIG_BLOCK, nullptr, &saved_); }
  void TearDown() override { pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }

  static bool Blocked(int signal_number) {
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    return sigismember(&mask, signal_number) == 1;
  }

 private:
  sigset_t saved_;
};

TEST_F(TerminationSignalsTest, BlocksSigintAndSigtermOnly) {
  BlockTerminationSignals();
  EXPECT_TRUE(Blocked(SIGINT));
  EXPECT_TRUE(Blocked(SIGTERM));
  EXPECT_FALSE(Blocked(SIGHUP));
  // A thread started afterwards inherits the mask.
  bool thread_blocks = false;
  std::thread([&] { thread_blocks = Blocked(SIGTERM) && Blocked(SIGINT); }).join();
  EXPECT_TRUE(thread_blocks);
}

TEST_F(TerminationSignalsTest, AwaitTakesAPendingSignal) {
  BlockTerminationSignals();
  // Blocked, the signal stays pending instead of terminating the test.
  ASSERT_EQ(pthread_kill(pthread_self(), SIGTERM), 0);
  EXPECT_EQ(AwaitTerminationSignal(), SIGTERM);
  ASSERT_EQ(pthread_kill(pthread_self(), SIGINT), 0);
  EXPECT_EQ(AwaitTerminationSignal(), SIGINT);
}

TEST_F(TerminationSignalsTest, AnotherThreadCanAwait) {
  BlockTerminationSignals();
  int received = 0;
  std::thread waiter([&] { received = AwaitTerminationSignal(); });
  ASSERT_EQ(pthread_kill(waiter.native_handle(), SIGINT), 0);
  waiter.join();
  EXPECT_EQ(received, SIGINT);
}

}  // namespace
}  // namespace diego
