// Copyright 2026 The libdiego Authors.

#include "diego/model/restart_policy.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::diego::fakes::IsOk;
using ::diego::fakes::StatusIs;

const absl::Time kCrashedAt = absl::FromUnixSeconds(1700000000);

TEST(RestartCalculatorTest, HasDiegosDefaults) {
  RestartCalculator calc;
  EXPECT_EQ(calc.immediate_restarts(), 3);
  EXPECT_EQ(calc.max_backoff_count(), 5);
  EXPECT_EQ(calc.max_backoff_duration(), absl::Minutes(16));
  EXPECT_EQ(calc.max_restart_attempts(), 200);
  EXPECT_THAT(calc.Validate(), IsOk());
  EXPECT_EQ(kCrashBackoffMinDuration, absl::Seconds(30));
  EXPECT_EQ(kCrashResetTimeout, absl::Minutes(5));
}

struct Step {
  int32_t crash_count;
  std::optional<absl::Duration> backoff;  // nullopt: never restarted
};

// The whole default schedule: #1 and #2 immediate, then 30 s doubling to the
// 16 min cap, and never from #200 on.
const std::vector<Step>& Schedule() {
  static const auto* steps = new std::vector<Step>{
      {0, absl::ZeroDuration()}, {1, absl::ZeroDuration()}, {2, absl::ZeroDuration()},
      {3, absl::Seconds(30)},    {4, absl::Minutes(1)},     {5, absl::Minutes(2)},
      {6, absl::Minutes(4)},     {7, absl::Minutes(8)},     {8, absl::Minutes(16)},
      {9, absl::Minutes(16)},    {10, absl::Minutes(16)},   {100, absl::Minutes(16)},
      {199, absl::Minutes(16)},  {200, std::nullopt},       {201, std::nullopt},
      {250, std::nullopt},
  };
  return *steps;
}

TEST(RestartCalculatorTest, BackoffFollowsTheSchedule) {
  RestartCalculator calc;
  for (const Step& step : Schedule()) {
    SCOPED_TRACE(step.crash_count);
    EXPECT_EQ(calc.Backoff(step.crash_count), step.backoff);
  }
}

TEST(RestartCalculatorTest, ShouldRestartExactlyAtExpiryAndNotOneNanosecondBefore) {
  RestartCalculator calc;
  for (const Step& step : Schedule()) {
    SCOPED_TRACE(step.crash_count);
    if (!step.backoff.has_value()) {
      EXPECT_FALSE(calc.ShouldRestart(kCrashedAt, kCrashedAt, step.crash_count));
      EXPECT_FALSE(
          calc.ShouldRestart(kCrashedAt + absl::Hours(24 * 365), kCrashedAt, step.crash_count));
      EXPECT_EQ(calc.NextRestartTime(kCrashedAt, step.crash_count), std::nullopt);
      continue;
    }
    const absl::Time expiry = kCrashedAt + *step.backoff;
    EXPECT_EQ(calc.NextRestartTime(kCrashedAt, step.crash_count), expiry);
    EXPECT_TRUE(calc.ShouldRestart(expiry, kCrashedAt, step.crash_count));
    EXPECT_TRUE(calc.ShouldRestart(expiry + absl::Hours(1), kCrashedAt, step.crash_count));
    if (*step.backoff == absl::ZeroDuration()) {
      // Immediate restarts do not even look at the clock.
      EXPECT_TRUE(calc.ShouldRestart(kCrashedAt - absl::Hours(1), kCrashedAt, step.crash_count));
    } else {
      EXPECT_FALSE(calc.ShouldRestart(expiry - absl::Nanoseconds(1), kCrashedAt, step.crash_count));
      EXPECT_FALSE(calc.ShouldRestart(kCrashedAt, kCrashedAt, step.crash_count));
    }
  }
}

TEST(RestartCalculatorTest, RestartsImmediatelyOnlyTheFirstTwoCrashes) {
  RestartCalculator calc;
  EXPECT_TRUE(calc.ShouldRestartImmediately(0));
  EXPECT_TRUE(calc.ShouldRestartImmediately(1));
  EXPECT_TRUE(calc.ShouldRestartImmediately(2));
  EXPECT_FALSE(calc.ShouldRestartImmediately(3));
  EXPECT_FALSE(calc.ShouldRestartImmediately(8));
  EXPECT_FALSE(calc.ShouldRestartImmediately(199));
  EXPECT_FALSE(calc.ShouldRestartImmediately(200));
  EXPECT_FALSE(calc.ShouldRestartImmediately(std::numeric_limits<int32_t>::max()));
}

TEST(RestartCalculatorTest, DerivesMaxBackoffCountFromTheMaximumDuration) {
  struct Row {
    absl::Duration max;
    int32_t count;
  };
  const std::vector<Row> rows = {
      {absl::Minutes(16), 5},  // ceil(32) = 32 -> 5
      {absl::Minutes(17), 5},  // ceil(34) = 34 -> 5
      {absl::Minutes(32), 6},  // 64 -> 6
      {absl::Minutes(1), 1},   // 2 -> 1
      {absl::Seconds(45), 1},  // ceil(1.5) = 2 -> 1
      {absl::Seconds(30), 0},  // 1 -> 0
      {absl::Seconds(20), 0},  // ceil(0.67) = 1 -> 0
      {absl::ZeroDuration(), 0},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(absl::FormatDuration(row.max));
    EXPECT_EQ(RestartCalculator(3, row.max, 200).max_backoff_count(), row.count);
  }
}

TEST(RestartCalculatorTest, CapsTheBackoffAtTheMaximumDuration) {
  RestartCalculator calc(3, absl::Seconds(45), 200);
  EXPECT_EQ(calc.Backoff(3), absl::Seconds(30));
  EXPECT_EQ(calc.Backoff(4), absl::Seconds(45));  // 60 s capped
  EXPECT_EQ(calc.Backoff(50), absl::Seconds(45));
}

TEST(RestartCalculatorTest, HonoursCustomImmediateAndMaximumRestarts) {
  RestartCalculator calc(0, absl::Minutes(16), 5);
  EXPECT_FALSE(calc.ShouldRestartImmediately(0));
  EXPECT_EQ(calc.Backoff(0), absl::Seconds(30));
  EXPECT_EQ(calc.Backoff(4), absl::Minutes(8));
  EXPECT_EQ(calc.Backoff(5), std::nullopt);
}

TEST(RestartCalculatorTest, ValidateRejectsAMaximumBelowTheMinimum) {
  EXPECT_THAT(RestartCalculator(3, absl::Seconds(30), 200).Validate(), IsOk());
  EXPECT_THAT(RestartCalculator(3, absl::Seconds(20), 200).Validate(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "MaxBackoffDuration '20s' must be larger than "
                       "CrashBackoffMinDuration '30s'"));
}

TEST(NextCrashCountTest, CountsUpWhileTheInstanceKeepsCrashing) {
  const absl::Time since = kCrashedAt;
  EXPECT_EQ(NextCrashCount(0, /*was_running=*/false, since, since + absl::Seconds(1)), 1);
  EXPECT_EQ(NextCrashCount(2, /*was_running=*/true, since, since + absl::Minutes(5)), 3);
  EXPECT_EQ(NextCrashCount(7, /*was_running=*/false, since, since + absl::Hours(3)), 8);
}

TEST(NextCrashCountTest, ResetsAfterMoreThanFiveMinutesRunning) {
  const absl::Time since = kCrashedAt;
  EXPECT_EQ(NextCrashCount(150, /*was_running=*/true, since,
                           since + kCrashResetTimeout + absl::Nanoseconds(1)),
            1);
  // Exactly five minutes is not "more than".
  EXPECT_EQ(NextCrashCount(150, /*was_running=*/true, since, since + kCrashResetTimeout), 151);
  // Only RUNNING time counts: a CLAIMED instance that never came up keeps counting.
  EXPECT_EQ(NextCrashCount(150, /*was_running=*/false, since, since + absl::Hours(1)), 151);
}

TEST(NextCrashCountTest, SaturatesInsteadOfWrapping) {
  const int32_t max = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(NextCrashCount(max, false, kCrashedAt, kCrashedAt), max);
}

TEST(RestartPolicyTest, RestartsTwiceImmediatelyThenBacksOff) {
  // An instance that crashes soon after every start (vizzini's check): crashes
  // 1 and 2 restart at once, crash 3 waits 30 s, crash 4 waits a minute.
  RestartCalculator calc;
  absl::Time now = kCrashedAt;
  int32_t count = 0;
  std::vector<absl::Duration> waits;
  for (int crash = 1; crash <= 4; ++crash) {
    count = NextCrashCount(count, /*was_running=*/true, now - absl::Seconds(5), now);
    if (calc.ShouldRestartImmediately(count)) {
      waits.push_back(absl::ZeroDuration());
      continue;
    }
    std::optional<absl::Time> next = calc.NextRestartTime(now, count);
    ASSERT_TRUE(next.has_value());
    waits.push_back(*next - now);
    now = *next;
  }
  EXPECT_THAT(waits, ::testing::ElementsAre(absl::ZeroDuration(), absl::ZeroDuration(),
                                            absl::Seconds(30), absl::Minutes(1)));
}

}  // namespace
}  // namespace diego::model
