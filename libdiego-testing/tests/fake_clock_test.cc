#include "diego/testing/fake_clock.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::fakes {
namespace {

using ::testing::ElementsAre;

TEST(FakeClockTest, StartsAtAFixedDefaultTime) {
  FakeClock clock;
  EXPECT_EQ(clock.Now(), FakeClock::DefaultStartTime());
  EXPECT_EQ(FakeClock::DefaultStartTime(), absl::FromUnixSeconds(1700000000));
}

TEST(FakeClockTest, StartsAtTheGivenTime) {
  const absl::Time start = absl::FromUnixSeconds(42);
  FakeClock clock(start);
  EXPECT_EQ(clock.Now(), start);
}

TEST(FakeClockTest, AdvanceMovesNowAndNothingElseDoes) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Milliseconds(1500));
  EXPECT_EQ(clock.Now(), start + absl::Milliseconds(1500));
  clock.Advance(absl::ZeroDuration());
  EXPECT_EQ(clock.Now(), start + absl::Milliseconds(1500));
}

TEST(FakeClockTest, ZeroOrNegativeSleepReturnsWithoutParking) {
  FakeClock clock;
  clock.Sleep(absl::ZeroDuration());
  clock.Sleep(-absl::Seconds(1));
  EXPECT_EQ(clock.Sleepers(), 0);
}

TEST(FakeClockTest, SleepUntilAReachedDeadlineReturnsTrueAtOnce) {
  FakeClock clock;
  EXPECT_TRUE(clock.SleepUntil(clock.Now(), nullptr));
  absl::Notification cancelled;
  EXPECT_TRUE(clock.SleepUntil(clock.Now() - absl::Seconds(1), &cancelled));
  EXPECT_EQ(clock.Sleepers(), 0);
}

TEST(FakeClockTest, SleepUntilAlreadyCancelledReturnsFalseAtOnce) {
  FakeClock clock;
  absl::Notification cancelled;
  cancelled.Notify();
  EXPECT_FALSE(clock.SleepUntil(clock.Now() + absl::Hours(1), &cancelled));
  // Cancellation wins even when the deadline has passed too.
  EXPECT_FALSE(clock.SleepUntil(clock.Now() - absl::Hours(1), &cancelled));
}

TEST(FakeClockTest, AdvanceWakesASleeperOnlyOnceItsDeadlineIsReached) {
  FakeClock clock;
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    clock.Sleep(absl::Seconds(10));
    woke = true;
  });
  clock.BlockUntilSleepers(1);
  EXPECT_EQ(clock.Sleepers(), 1);

  clock.Advance(absl::Seconds(9));
  EXPECT_EQ(clock.Sleepers(), 1);
  EXPECT_FALSE(woke);

  clock.Advance(absl::Seconds(1));
  // Woken sleepers leave the count inside Advance, before their thread runs.
  EXPECT_EQ(clock.Sleepers(), 0);
  sleeper.join();
  EXPECT_TRUE(woke);
}

TEST(FakeClockTest, SleepUntilReturnsTrueWhenAdvancedPastTheDeadline) {
  FakeClock clock;
  absl::Notification cancelled;
  bool result = false;
  std::thread sleeper(
      [&] { result = clock.SleepUntil(clock.Now() + absl::Minutes(1), &cancelled); });
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Minutes(2));
  sleeper.join();
  EXPECT_TRUE(result);
  // A cancellation after the wake-up changes nothing.
  cancelled.Notify();
  EXPECT_EQ(clock.Sleepers(), 0);
}

TEST(FakeClockTest, SleepUntilWithoutCancellationWaitsForAdvance) {
  FakeClock clock;
  bool result = false;
  std::thread sleeper([&] { result = clock.SleepUntil(clock.Now() + absl::Seconds(3), nullptr); });
  clock.BlockUntilSleepers(1);
  clock.Advance(absl::Seconds(3));
  sleeper.join();
  EXPECT_TRUE(result);
}

TEST(FakeClockTest, SleepUntilReturnsFalsePromptlyWhenCancelled) {
  FakeClock clock;
  absl::Notification cancelled;
  bool result = true;
  std::thread sleeper([&] { result = clock.SleepUntil(clock.Now() + absl::Hours(1), &cancelled); });
  clock.BlockUntilSleepers(1);
  cancelled.Notify();  // No Advance: the sleeper must notice on its own.
  sleeper.join();
  EXPECT_FALSE(result);
  EXPECT_EQ(clock.Sleepers(), 0);
}

TEST(FakeClockTest, BlockUntilSleepersWaitsForThatMany) {
  FakeClock clock;
  std::vector<std::thread> sleepers;
  for (int i = 0; i < 3; ++i) {
    sleepers.emplace_back([&clock] { clock.Sleep(absl::Seconds(1)); });
  }
  clock.BlockUntilSleepers(3);
  EXPECT_EQ(clock.Sleepers(), 3);
  clock.BlockUntilSleepers(2);  // Already satisfied: returns at once.
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(clock.Sleepers(), 0);
  for (std::thread& t : sleepers) {
    t.join();
  }
}

TEST(FakeClockTest, WakesSleepersInDeadlineOrderAsTimeAdvances) {
  FakeClock clock;
  absl::Mutex mu;
  std::vector<int> woken;
  auto sleep_for = [&](int seconds) {
    return std::thread([&, seconds] {
      clock.Sleep(absl::Seconds(seconds));
      absl::MutexLock lock(&mu);
      woken.push_back(seconds);
    });
  };
  // Started out of order; each parks with its own deadline.
  std::thread third = sleep_for(3);
  std::thread first = sleep_for(1);
  std::thread second = sleep_for(2);
  clock.BlockUntilSleepers(3);

  clock.Advance(absl::Seconds(1));
  first.join();
  EXPECT_EQ(clock.Sleepers(), 2);
  clock.Advance(absl::Seconds(1));
  second.join();
  EXPECT_EQ(clock.Sleepers(), 1);
  clock.Advance(absl::Seconds(1));
  third.join();
  EXPECT_EQ(clock.Sleepers(), 0);

  absl::MutexLock lock(&mu);
  EXPECT_THAT(woken, ElementsAre(1, 2, 3));
}

TEST(FakeClockTest, OneLargeAdvanceWakesEverySleeperWhoseDeadlinePassed) {
  FakeClock clock;
  std::vector<std::thread> sleepers;
  for (int seconds : {1, 2, 10}) {
    sleepers.emplace_back([&clock, seconds] { clock.Sleep(absl::Seconds(seconds)); });
  }
  clock.BlockUntilSleepers(3);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Sleepers(), 1);
  sleepers[0].join();
  sleepers[1].join();
  clock.Advance(absl::Seconds(5));
  sleepers[2].join();
}

TEST(FakeClockTest, BlockThenAdvanceDrivesAPeriodicLoop) {
  FakeClock clock;
  const absl::Time start = clock.Now();
  std::vector<absl::Time> ticks;
  std::thread loop([&] {
    for (int i = 0; i < 3; ++i) {
      clock.Sleep(absl::Seconds(1));
      ticks.push_back(clock.Now());
    }
  });
  for (int i = 0; i < 3; ++i) {
    clock.BlockUntilSleepers(1);
    clock.Advance(absl::Seconds(1));
  }
  loop.join();
  EXPECT_THAT(ticks, ElementsAre(start + absl::Seconds(1), start + absl::Seconds(2),
                                 start + absl::Seconds(3)));
}

TEST(FakeClockDeathTest, AdvancingBackwardsIsAProgrammerError) {
  FakeClock clock;
  EXPECT_DEATH(clock.Advance(-absl::Seconds(1)), "cannot go back in time");
}

TEST(FakeClockDeathTest, DestroyingWithSleepersIsAProgrammerError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        auto* clock = new FakeClock();
        std::thread([clock] { clock->Sleep(absl::Seconds(1)); }).detach();
        clock->BlockUntilSleepers(1);
        delete clock;
      },
      "still sleeping on FakeClock");
}

}  // namespace
}  // namespace diego::fakes
