// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: restart_policy.h
// -----------------------------------------------------------------------------
//
// Diego's crash restart policy for ActualLRPs (bbs `models.RestartCalculator`
// and `models.CrashResetTimeout`).
//
// With the defaults, a crashed instance is restarted:
//
//   | crash_count after the crash | restart                                   |
//   | --------------------------- | ----------------------------------------- |
//   | 1, 2                        | immediately (inside the Crash call)       |
//   | 3                           | 30 s after the crash                      |
//   | 4, 5, 6, 7                  | 1 min, 2 min, 4 min, 8 min after it       |
//   | 8 .. 199                    | 16 min after it                           |
//   | 200 and above               | never; the instance stays CRASHED         |
//
// Waited restarts are performed by BBS convergence, which runs every 30 s, so
// the observed delay is rounded up to the next convergence tick. The crash
// count restarts at 1 when the instance had been RUNNING for more than
// `kCrashResetTimeout` before it crashed (`NextCrashCount()`).
//
//   RestartCalculator calc;  // Diego's defaults
//   if (calc.ShouldRestartImmediately(lrp.crash_count())) { ... }
//   if (calc.ShouldRestart(now, absl::FromUnixNanos(lrp.since()), lrp.crash_count())) { ... }
//
// `RestartCalculator` is a small immutable value: copy it freely; all methods
// are const and thread-safe.

#ifndef DIEGO_MODEL_RESTART_POLICY_H_
#define DIEGO_MODEL_RESTART_POLICY_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace diego::model {

// Crashes below this count restart at once (`DefaultImmediateRestarts`).
inline constexpr int32_t kDefaultImmediateRestarts = 3;

// Upper bound of the wait between a crash and its restart
// (`DefaultMaxBackoffDuration`).
inline constexpr absl::Duration kDefaultMaxBackoffDuration = absl::Minutes(16);

// From this crash count on an instance is never restarted
// (`DefaultMaxRestarts`).
inline constexpr int32_t kDefaultMaxRestarts = 200;

// The first backoff wait; every further crash doubles it
// (`CrashBackoffMinDuration`).
inline constexpr absl::Duration kCrashBackoffMinDuration = absl::Seconds(30);

// An instance that stayed RUNNING for longer than this before crashing starts
// counting crashes from 1 again (`CrashResetTimeout`).
inline constexpr absl::Duration kCrashResetTimeout = absl::Minutes(5);

// Decides whether and when a crashed ActualLRP is restarted.
class RestartCalculator {
 public:
  // Diego's defaults: 3 immediate restarts, 16 min maximum backoff (so a
  // maximum backoff count of 5), 200 restarts at most.
  RestartCalculator();

  // A custom policy, as `models.NewRestartCalculator`. `max_backoff_count()` is
  // derived from `max_backoff_duration` as floor(log2(ceil(max /
  // kCrashBackoffMinDuration))), and 0 when that quotient is not positive.
  // Call `Validate()` before trusting a policy built from configuration.
  RestartCalculator(int32_t immediate_restarts, absl::Duration max_backoff_duration,
                    int32_t max_restart_attempts);

  // Returns OK, or `kInvalidArgument` when `max_backoff_duration()` is below
  // `kCrashBackoffMinDuration` ("MaxBackoffDuration '<d>' must be larger than
  // CrashBackoffMinDuration '30s'", durations in Abseil's format).
  [[nodiscard]] absl::Status Validate() const;

  int32_t immediate_restarts() const { return immediate_restarts_; }
  int32_t max_backoff_count() const { return max_backoff_count_; }
  absl::Duration max_backoff_duration() const { return max_backoff_duration_; }
  int32_t max_restart_attempts() const { return max_restart_attempts_; }

  // Diego's `ShouldRestart(now, crashedAt, crashCount)`:
  //
  // - `crash_count < immediate_restarts()`: true;
  // - else `crash_count < max_restart_attempts()`: true iff
  //   `now >= crashed_at + Backoff(crash_count)` (so exactly at the expiry is
  //   already allowed);
  // - else false.
  bool ShouldRestart(absl::Time now, absl::Time crashed_at, int32_t crash_count) const;

  // Whether a crash that leaves the instance with `crash_count` restarts it at
  // once: Diego evaluates `ShouldRestart(0, 0, crash_count)`, which is true only
  // for `crash_count < immediate_restarts()` (any positive backoff fails it).
  bool ShouldRestartImmediately(int32_t crash_count) const;

  // The wait between a crash leaving `crash_count` and its restart:
  // `absl::ZeroDuration()` for immediate restarts, `std::nullopt` when the
  // instance is never restarted, otherwise
  // `min(kCrashBackoffMinDuration * 2^min(crash_count - immediate_restarts(),
  // max_backoff_count()), max_backoff_duration())`.
  std::optional<absl::Duration> Backoff(int32_t crash_count) const;

  // `crashed_at + Backoff(crash_count)`: the earliest time `ShouldRestart()`
  // allows the restart, or `std::nullopt` for never.
  std::optional<absl::Time> NextRestartTime(absl::Time crashed_at, int32_t crash_count) const;

 private:
  int32_t immediate_restarts_;
  int32_t max_backoff_count_;
  absl::Duration max_backoff_duration_;
  int32_t max_restart_attempts_;
};

// The crash count an ActualLRP has after crashing at `now`, given its count
// before the crash and how long it has been in its current state (`since`):
// 1 if it was RUNNING (`was_running`) for strictly more than
// `kCrashResetTimeout`, otherwise `current_crash_count + 1` (saturating at
// INT32_MAX rather than wrapping as Go's int32 would).
int32_t NextCrashCount(int32_t current_crash_count, bool was_running, absl::Time since,
                       absl::Time now);

}  // namespace diego::model

#endif  // DIEGO_MODEL_RESTART_POLICY_H_
