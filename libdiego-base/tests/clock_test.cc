#include "diego/base/clock.h"

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace diego {
namespace {

TEST(ClockTest, RealReturnsTheSameNonNullInstance) {
  Clock* clock = Clock::Real();
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock, Clock::Real());
  EXPECT_NE(dynamic_cast<SystemClock*>(clock), nullptr);
}

TEST(SystemClockTest, NowIsAfterTheEpochAndDoesNotGoBack) {
  SystemClock clock;
  const absl::Time first = clock.Now();
  const absl::Time second = clock.Now();
  EXPECT_GT(first, absl::UnixEpoch());
  EXPECT_GE(second, first);
}

TEST(SystemClockTest, SleepOfZeroOrLessReturns) {
  SystemClock clock;
  clock.Sleep(absl::ZeroDuration());
  clock.Sleep(-absl::Hours(1));
  SUCCEED();  // Reaching here is the assertion: neither call blocked.
}

TEST(SystemClockTest, SleepUntilPastDeadlineReturnsTrue) {
  SystemClock clock;
  EXPECT_TRUE(clock.SleepUntil(clock.Now() - absl::Seconds(1), nullptr));
  absl::Notification not_cancelled;
  EXPECT_TRUE(clock.SleepUntil(absl::InfinitePast(), &not_cancelled));
}

TEST(SystemClockTest, SleepUntilAlreadyCancelledReturnsFalse) {
  SystemClock clock;
  absl::Notification cancelled;
  cancelled.Notify();
  // Even with a far deadline the call must return at once.
  EXPECT_FALSE(clock.SleepUntil(absl::InfiniteFuture(), &cancelled));
  // Cancellation wins over a deadline that has also passed.
  EXPECT_FALSE(clock.SleepUntil(absl::InfinitePast(), &cancelled));
}

}  // namespace
}  // namespace diego
