// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fake_clock.h
// -----------------------------------------------------------------------------
//
// `diego::fakes::FakeClock` is a `diego::Clock` whose time moves only when a
// test says so. Code under test sleeps on it exactly as on the real clock; the
// test waits until the code is parked (`BlockUntilSleepers`) and then moves
// time (`Advance`), which wakes every sleeper whose deadline has passed. These
// are the two operations of Diego's `fakeclock` (`WaitForWatcherAndIncrement`
// and `Increment`), and they make timeout and retry logic testable without
// real sleeps or timing assertions.
//
// Example:
//
//   FakeClock clock;
//   std::thread worker([&] { clock.Sleep(absl::Seconds(30)); Done(); });
//   clock.BlockUntilSleepers(1);    // The worker is parked in Sleep().
//   clock.Advance(absl::Seconds(29));
//   EXPECT_EQ(clock.Sleepers(), 1);  // Not yet.
//   clock.Advance(absl::Seconds(1));  // Wakes the worker.
//   worker.join();
//
// Everything is thread-safe. A sleeper counts in `Sleepers()` from the moment
// it parks until `Advance` reaches its deadline (which removes it from the
// count at once, before the sleeping thread even runs) or its cancellation is
// noticed. So a loop of `BlockUntilSleepers(1); Advance(d);` never mistakes a
// sleeper that was just woken for the next one.

#ifndef DIEGO_TESTING_FAKE_CLOCK_H_
#define DIEGO_TESTING_FAKE_CLOCK_H_

#include <list>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"

namespace diego::fakes {

// A manually advanced `Clock`; see the file comment.
class FakeClock final : public Clock {
 public:
  // The default start time, 2023-11-14T22:13:20Z (Unix second 1700000000).
  // Fixed, so timestamps in logs and records are the same on every run.
  static absl::Time DefaultStartTime();

  // A clock reading `DefaultStartTime()`.
  FakeClock();

  // A clock reading `start`.
  explicit FakeClock(absl::Time start);

  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  // No thread may be sleeping on the clock when it is destroyed.
  ~FakeClock() override;

  // Clock
  //
  // Returns the current fake time.
  absl::Time Now() override;

  // Parks the calling thread until another thread advances the clock by at
  // least `d` from now. Returns at once if `d` is zero or negative.
  void Sleep(absl::Duration d) override;

  // Parks the calling thread until the fake time reaches `deadline` (true) or
  // `cancelled` is notified (false). A cancellation is noticed within about
  // 10ms of real time without any `Advance`; this is the only real-time wait
  // in the class, and it sleeps rather than spins. A `cancelled` notified on
  // entry returns false at once, even when the deadline has passed. If the
  // deadline has passed and `cancelled` is not notified, returns true at once
  // without parking.
  bool SleepUntil(absl::Time deadline, absl::Notification* cancelled) override;

  // Moves the fake time forward by `d` (which must not be negative) and wakes
  // every sleeper whose deadline is now reached, removing it from
  // `Sleepers()` before returning.
  void Advance(absl::Duration d);

  // Blocks the calling thread (in real time) until at least `n` threads are
  // parked in `Sleep` or `SleepUntil`. Returns at once if there already are.
  void BlockUntilSleepers(int n);

  // Returns the number of threads currently parked in `Sleep`/`SleepUntil`
  // and not yet woken by `Advance` or cancellation.
  int Sleepers();

 private:
  // One parked call; lives on the sleeping thread's stack.
  struct Sleeper {
    absl::Time deadline;
    bool woken = false;
  };

  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::list<Sleeper*> sleepers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_FAKE_CLOCK_H_
