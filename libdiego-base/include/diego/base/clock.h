// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: clock.h
// -----------------------------------------------------------------------------
//
// `diego::Clock` is the only way libdiego code reads the time or waits. It is
// injected (a `Clock*` passed to constructors), never global, so tests can
// substitute `diego::fakes::FakeClock` and run timeouts, retries and
// convergence loops without sleeping. This plays the role of Diego's
// `code.cloudfoundry.org/clock` package and of Envoy's `TimeSource`.
//
// `SystemClock` is the real implementation; `Clock::Real()` returns a
// process-wide instance of it. `absl::Now()` appears nowhere else in libdiego.
//
// Example:
//
//   class Poller {
//    public:
//     // `clock` is not owned and must outlive the poller.
//     explicit Poller(diego::Clock* clock) : clock_(clock) {}
//
//     // Polls every second until `stop` is notified.
//     void Run(absl::Notification* stop) {
//       absl::Time next = clock_->Now();
//       do {
//         PollOnce();
//         next += absl::Seconds(1);
//       } while (clock_->SleepUntil(next, stop));
//     }
//
//    private:
//     diego::Clock* clock_;
//   };

#ifndef DIEGO_BASE_CLOCK_H_
#define DIEGO_BASE_CLOCK_H_

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace diego {

// The time source and waiting primitive for all libdiego code.
//
// Implementations must be thread-safe: any number of threads may call any
// method concurrently.
class Clock {
 public:
  virtual ~Clock() = default;

  // Returns the current wall-clock time.
  virtual absl::Time Now() = 0;

  // Blocks the calling thread for `d`. Returns at once if `d` is zero or
  // negative. A fake clock returns once another thread has advanced it by at
  // least `d`.
  virtual void Sleep(absl::Duration d) = 0;

  // Blocks the calling thread until `Now() >= deadline` or until `cancelled`
  // is notified, whichever comes first.
  //
  // Returns true if the deadline was reached, false if `cancelled` was
  // notified first. A `cancelled` that is already notified on entry wins over a
  // deadline that has already passed, so a cancelled loop never runs one more
  // iteration. `cancelled` may be null, in which case the call always returns
  // true once the deadline is reached. `cancelled` is not owned and must stay
  // alive until the call returns.
  virtual bool SleepUntil(absl::Time deadline, absl::Notification* cancelled) = 0;

  // Returns a process-wide clock backed by the system clock. Never null; the
  // caller does not take ownership. Safe to call from any thread.
  static Clock* Real();
};

// A `Clock` backed by the operating system's wall clock (`absl::Now()`) and
// real sleeps. Stateless and thread-safe; most code should use `Clock::Real()`
// rather than constructing one.
class SystemClock final : public Clock {
 public:
  SystemClock() = default;

  // Clock
  absl::Time Now() override;
  void Sleep(absl::Duration d) override;
  bool SleepUntil(absl::Time deadline, absl::Notification* cancelled) override;
};

}  // namespace diego

#endif  // DIEGO_BASE_CLOCK_H_
