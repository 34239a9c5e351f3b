// Copyright 2026 The libdiego Authors.

#include "diego/model/restart_policy.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace diego::model {
namespace {

// Mirrors calculateMaxBackoffCount: int32(math.Logb(math.Ceil(max / min))).
// Logb of a positive number is floor(log2(x)); integer arithmetic gives the
// same result without floating point.
int32_t MaxBackoffCount(absl::Duration max_backoff_duration) {
  const int64_t max_ns = absl::ToInt64Nanoseconds(max_backoff_duration);
  const int64_t min_ns = absl::ToInt64Nanoseconds(kCrashBackoffMinDuration);
  if (max_ns <= 0) {
    return 0;
  }
  int64_t quotient = max_ns / min_ns + (max_ns % min_ns != 0 ? 1 : 0);
  int32_t log2 = 0;
  while (quotient > 1) {
    quotient >>= 1;
    ++log2;
  }
  return log2;
}

}  // namespace

RestartCalculator::RestartCalculator()
    : RestartCalculator(kDefaultImmediateRestarts, kDefaultMaxBackoffDuration,
                        kDefaultMaxRestarts) {}

RestartCalculator::RestartCalculator(int32_t immediate_restarts,
                                     absl::Duration max_backoff_duration,
                                     int32_t max_restart_attempts)
    : immediate_restarts_(immediate_restarts),
      max_backoff_count_(MaxBackoffCount(max_backoff_duration)),
      max_backoff_duration_(max_backoff_duration),
      max_restart_attempts_(max_restart_attempts) {}

absl::Status RestartCalculator::Validate() const {
  if (max_backoff_duration_ < kCrashBackoffMinDuration) {
    return absl::InvalidArgumentError(
        absl::StrCat("MaxBackoffDuration '", absl::FormatDuration(max_backoff_duration_),
                     "' must be larger than CrashBackoffMinDuration '",
                     absl::FormatDuration(kCrashBackoffMinDuration), "'"));
  }
  return absl::OkStatus();
}

std::optional<absl::Duration> RestartCalculator::Backoff(int32_t crash_count) const {
  // Same order of checks as Go's ShouldRestart switch.
  if (crash_count < immediate_restarts_) {
    return absl::ZeroDuration();
  }
  if (crash_count >= max_restart_attempts_) {
    return std::nullopt;
  }
  int64_t exponent = int64_t{crash_count} - immediate_restarts_;
  exponent = std::min<int64_t>(exponent, max_backoff_count_);
  // Go computes 1<<exponent in int32; clamp so the shift stays defined for
  // extreme custom policies (the max_backoff_duration cap applies anyway).
  exponent = std::min<int64_t>(exponent, 62);
  absl::Duration backoff = kCrashBackoffMinDuration * (int64_t{1} << exponent);
  return std::min(backoff, max_backoff_duration_);
}

std::optional<absl::Time> RestartCalculator::NextRestartTime(absl::Time crashed_at,
                                                             int32_t crash_count) const {
  std::optional<absl::Duration> backoff = Backoff(crash_count);
  if (!backoff.has_value()) {
    return std::nullopt;
  }
  return crashed_at + *backoff;
}

bool RestartCalculator::ShouldRestart(absl::Time now, absl::Time crashed_at,
                                      int32_t crash_count) const {
  if (crash_count < immediate_restarts_) {
    return true;
  }
  std::optional<absl::Time> next = NextRestartTime(crashed_at, crash_count);
  return next.has_value() && *next <= now;
}

bool RestartCalculator::ShouldRestartImmediately(int32_t crash_count) const {
  // Diego asks ShouldRestart(0, 0, count): only a zero backoff passes.
  return ShouldRestart(absl::UnixEpoch(), absl::UnixEpoch(), crash_count);
}

int32_t NextCrashCount(int32_t current_crash_count, bool was_running, absl::Time since,
                       absl::Time now) {
  // Mirrors CrashActualLRP: the reset needs the instance to have been RUNNING
  // for strictly longer than CrashResetTimeout.
  if (was_running && now - since > kCrashResetTimeout) {
    return 1;
  }
  if (current_crash_count == std::numeric_limits<int32_t>::max()) {
    return current_crash_count;
  }
  return current_crash_count + 1;
}

}  // namespace diego::model
