// Copyright 2026 The libdiego Authors.
//
// LockRunner on a FakeLocketClient and a FakeClock: lock mode (acquire once,
// retry while another holds it, lose once and stop), presence mode (retry
// forever, re-acquire), Stop() releasing, the lease, and call timeouts.

#include "diego/locket/lock_runner.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "diego/locket/errors.h"
#include "diego/testing/fake_clock.h"
#include "diego/testing/fake_locket_client.h"
#include "diego/testing/locket_requests.h"
#include "diego/testing/status_matchers.h"
#include "diego/testing/test_logger.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// `Resource.type` is deprecated upstream; the runner must still send it.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {
namespace {

using ::diego::fakes::FakeClock;
using ::diego::fakes::FakeLocketClient;
using ::diego::fakes::IsOk;
using ::diego::fakes::MakeResource;
using ::diego::fakes::StatusIs;
using Method = FakeLocketClient::Method;

class LockRunnerTest : public ::testing::Test {
 protected:
  LockRunner::Options Opts(LockRunner::Mode mode) {
    LockRunner::Options options;
    options.resource = MakeResource("bbs", "bbs-1");
    options.resource.set_value("https://bbs.service.cf.internal:8889");
    options.resource.clear_type_code();
    options.mode = mode;
    options.on_acquired = [this] { ++acquired_; };
    options.on_lost = [this](const absl::Status& status) {
      absl::MutexLock lock(&mu_);
      lost_.push_back(status);
      if (!lost_notified_.HasBeenNotified()) lost_notified_.Notify();
    };
    return options;
  }

  std::unique_ptr<LockRunner> NewRunner(LockRunner::Mode mode) {
    return std::make_unique<LockRunner>(&locket_, &clock_, *logs_.logger(), Opts(mode));
  }

  std::vector<absl::Status> Lost() {
    absl::MutexLock lock(&mu_);
    return lost_;
  }

  FakeClock clock_;
  fakes::TestLogger logs_{"bbs", &clock_};
  FakeLocketClient locket_;
  std::atomic<int> acquired_{0};
  absl::Mutex mu_;
  std::vector<absl::Status> lost_ ABSL_GUARDED_BY(mu_);
  absl::Notification lost_notified_;
};

TEST_F(LockRunnerTest, LockModeAcquiresOnceAndRefreshes) {
  std::unique_ptr<LockRunner> runner = NewRunner(LockRunner::Mode::kLock);
  EXPECT_FALSE(runner->held());
  EXPECT_EQ(runner->LeaseExpiry(), absl::InfinitePast());
  const absl::Time start = clock_.Now();

  ASSERT_OK(runner->AttemptOnce());
  EXPECT_TRUE(runner->held());
  EXPECT_EQ(acquired_.load(), 1);
  EXPECT_EQ(runner->LeaseExpiry(), start + absl::Seconds(15));

  clock_.Advance(absl::Seconds(5));
  ASSERT_OK(runner->AttemptOnce());
  EXPECT_EQ(acquired_.load(), 1);
  EXPECT_EQ(runner->LeaseExpiry(), start + absl::Seconds(20));

  std::vector<FakeLocketClient::Call> calls = locket_.Calls(Method::kLock);
  ASSERT_EQ(calls.size(), 2u);
  for (const FakeLocketClient::Call& call : calls) {
    EXPECT_EQ(call.resource.key(), "bbs");
    EXPECT_EQ(call.resource.owner(), "bbs-1");
    EXPECT_EQ(call.resource.value(), "https://bbs.service.cf.internal:8889");
    EXPECT_EQ(call.resource.type(), "lock");
    EXPECT_EQ(call.resource.type_code(), model::v1::LOCK);
    EXPECT_EQ(call.ttl_in_seconds, 15);
    EXPECT_EQ(call.timeout, absl::Seconds(5));  // retry_interval
  }
  ASSERT_TRUE(locket_.Get("bbs").has_value());
  EXPECT_EQ(locket_.Get("bbs")->owner(), "bbs-1");
}

TEST_F(LockRunnerTest, LockModeRetriesWhileAnotherOwnerHoldsIt) {
  locket_.Put(MakeResource("bbs", "bbs-2"));
  std::unique_ptr<LockRunner> runner = NewRunner(LockRunner::Mode::kLock);
  EXPECT_TRUE(IsLockCollision(runner->AttemptOnce()));
  EXPECT_THAT(runner->AttemptOnce(), StatusIs(absl::StatusCode::kAlreadyExists));
  locket_.SetError(Method::kLock, absl::UnavailableError("locket down"), 1);
  EXPECT_THAT(runner->AttemptOnce(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(runner->held());
  EXPECT_EQ(acquired_.load(), 0);
  EXPECT_TRUE(Lost().empty());
  EXPECT_EQ(runner->LeaseExpiry(), absl::InfinitePast());

  locket_.Remove("bbs");  // The other holder's lock expired.
  ASSERT_OK(runner->AttemptOnce());
  EXPECT_TRUE(runner->held());
  EXPECT_EQ(acquired_.load(), 1);
}

TEST_F(LockRunnerTest, LockModeReportsALostLockOnceAndStopsTrying) {
  std::unique_ptr<LockRunner> runner = NewRunner(LockRunner::Mode::kLock);
  ASSERT_OK(runner->AttemptOnce());
  const absl::Time lease = runner->LeaseExpiry();
  clock_.Advance(absl::Seconds(5));

  locket_.SetError(Method::kLock, absl::DeadlineExceededError("timeout"));
  EXPECT_THAT(runner->AttemptOnce(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_FALSE(runner->held());
  ASSERT_EQ(Lost().size(), 1u);
  EXPECT_THAT(Lost()[0], StatusIs(absl::StatusCode::kDeadlineExceeded, "timeout"));
  EXPECT_GT(lease, clock_.Now());
  // A lost lock ends the lease at once (fencing must not trust it any more).
  EXPECT_EQ(runner->LeaseExpiry(), absl::InfinitePast());

  locket_.SetError(Method::kLock, absl::OkStatus());
  EXPECT_THAT(runner->AttemptOnce(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(locket_.Calls(Method::kLock).size(), 2u);  // No call after the loss.
  EXPECT_EQ(Lost().size(), 1u);
  EXPECT_FALSE(runner->held());
  EXPECT_EQ(acquired_.load(), 1);
  EXPECT_TRUE(logs_.Contains("lost-lock"));
}

TEST_F(LockRunnerTest, PresenceModeKeepsRetryingAndReacquires) {
  std::unique_ptr<LockRunner> runner = NewRunner(LockRunner::Mode::kPresence);
  ASSERT_OK(runner->AttemptOnce());
  EXPECT_EQ(acquired_.load(), 1);

  locket_.SetError(Method::kLock, absl::UnavailableError("locket down"), 2);
  EXPECT_THAT(runner->AttemptOnce(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(runner->held());
  EXPECT_THAT(runner->AttemptOnce(), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(runner->AttemptOnce());
  EXPECT_TRUE(runner->held());
  EXPECT_EQ(acquired_.load(), 2);
  ASSERT_OK(runner->AttemptOnce());
  EXPECT_EQ(acquired_.load(), 2);
  EXPECT_TRUE(Lost().empty());

  std::vector<FakeLocketClient::Call> calls = locket_.Calls(Method::kLock);
  ASSERT_EQ(calls.size(), 5u);
  EXPECT_EQ(calls[0].resource.type(), "presence");
  EXPECT_EQ(calls[0].resource.type_code(), model::v1::PRESENCE);
}

TEST_F(LockRunnerTest, StopReleasesAHeldLockOnce) {
  std::unique_ptr<LockRunner> runner = NewRunner(LockRunner::Mode::kLock);
  ASSERT_OK(runner->AttemptOnce());
  EXPECT_GT(runner->LeaseExpiry(), clock_.Now());
  runner->Stop();
  EXPECT_FALSE(runner->held());
  EXPECT_EQ(runner->LeaseExpiry(), absl::InfinitePast());  // Before the release.
  EXPECT_FALSE(locket_.Get("bbs").has_value());
  runner->Stop();
  runner.reset();
  std::vector<FakeLocketClient::Call> releases = locket_.Calls(Method::kRelease);
  ASSERT_EQ(releases.size(), 1u);
  EXPECT_EQ(releases[0].resource.key(), "bbs");
  EXPECT_EQ(releases[0].resource.owner(), "bbs-1");
  EXPECT_EQ(releases[0].timeout, absl::Seconds(5));
}

TEST_F(LockRunnerTest, StopDoesNotReleaseALockItDoesNotHold) {
  locket_.Put(MakeResource("bbs", "bbs-2"));
  std::unique_ptr<LockRunner> runner = NewRunner(LockRunner::Mode::kLock);
  EXPECT_FALSE(runner->AttemptOnce().ok());
  runner->Stop();
  EXPECT_TRUE(locket_.Calls(Method::kRelease).empty());
  EXPECT_EQ(locket_.Get("bbs")->owner(), "bbs-2");
}

TEST_F(LockRunnerTest, TheLeaseStartsWhenTheCallStarts) {
  std::unique_ptr<LockRunner> runner = NewRunner(LockRunner::Mode::kLock);
  const absl::Time start = clock_.Now();
  locket_.Block();
  std::thread attempt([&] { EXPECT_THAT(runner->AttemptOnce(), IsOk()); });
  locket_.WaitForBlockedCalls(1);
  clock_.Advance(absl::Seconds(3));  // A slow Locket.
  locket_.Unblock();
  attempt.join();
  EXPECT_EQ(runner->LeaseExpiry(), start + absl::Seconds(15));
}

TEST_F(LockRunnerTest, TheLoopAttemptsAtOnceThenEveryRetryInterval) {
  locket_.Put(MakeResource("bbs", "bbs-2"));  // Standby at first.
  std::unique_ptr<LockRunner> runner = NewRunner(LockRunner::Mode::kLock);
  runner->Start();
  clock_.BlockUntilSleepers(1);
  EXPECT_EQ(locket_.Calls(Method::kLock).size(), 1u);
  EXPECT_FALSE(runner->held());

  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(clock_.Sleepers(), 1);
  EXPECT_EQ(locket_.Calls(Method::kLock).size(), 1u);
  locket_.Remove("bbs");
  clock_.Advance(absl::Seconds(1));
  clock_.BlockUntilSleepers(1);
  EXPECT_EQ(locket_.Calls(Method::kLock).size(), 2u);
  EXPECT_TRUE(runner->held());
  EXPECT_EQ(acquired_.load(), 1);

  clock_.Advance(absl::Seconds(5));
  clock_.BlockUntilSleepers(1);
  EXPECT_EQ(locket_.Calls(Method::kLock).size(), 3u);
  EXPECT_EQ(acquired_.load(), 1);

  // Another process takes the lock (ours expired unnoticed): lost, once.
  locket_.Put(MakeResource("bbs", "bbs-3"));
  clock_.Advance(absl::Seconds(5));
  lost_notified_.WaitForNotification();
  runner->Stop();  // Joins the loop, which ended by itself.
  EXPECT_EQ(Lost().size(), 1u);
  EXPECT_TRUE(IsLockCollision(Lost()[0]));
  EXPECT_EQ(clock_.Sleepers(), 0);
  EXPECT_EQ(locket_.Calls(Method::kLock).size(), 4u);
  EXPECT_TRUE(locket_.Calls(Method::kRelease).empty());
}

TEST_F(LockRunnerTest, StopEndsTheLoopAndReleases) {
  std::unique_ptr<LockRunner> runner = NewRunner(LockRunner::Mode::kPresence);
  runner->Start();
  clock_.BlockUntilSleepers(1);
  EXPECT_TRUE(runner->held());
  runner->Stop();
  EXPECT_EQ(clock_.Sleepers(), 0);
  EXPECT_EQ(locket_.Calls(Method::kRelease).size(), 1u);
  EXPECT_FALSE(locket_.Get("bbs").has_value());
}

}  // namespace
}  // namespace diego::locket
