#include "diego/base/clock.h"

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace diego {

Clock* Clock::Real() {
  // Leaked on purpose, so it stays usable from other static destructors.
  static SystemClock* const clock = new SystemClock();
  return clock;
}

// The one place in libdiego that reads the system clock.
absl::Time SystemClock::Now() { return absl::Now(); }

// The real clock really waits: this is what production timers block on.
// Tests inject diego::fakes::FakeClock instead and never reach this.
void SystemClock::Sleep(absl::Duration d) {
  if (d > absl::ZeroDuration()) {
    absl::SleepFor(d);
  }
}

bool SystemClock::SleepUntil(absl::Time deadline, absl::Notification* cancelled) {
  if (cancelled == nullptr) {
    Sleep(deadline - Now());
    return true;
  }
  // Returns whether the notification fired; it is checked even when the
  // deadline has already passed, so a cancellation is never missed.
  return !cancelled->WaitForNotificationWithDeadline(deadline);
}

}  // namespace diego
