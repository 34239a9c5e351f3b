#include "diego/testing/fake_clock.h"

#include <list>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/base/check.h"

namespace diego::fakes {
namespace {

// How often (in real time) a parked `SleepUntil` re-checks its cancellation.
// `absl::Notification` has no callback, and its mutex is not ours, so an
// `absl::Condition` on `mu_` is only re-evaluated when `mu_` is released
// (every `Advance`) or when this timeout expires.
constexpr absl::Duration kCancellationPollInterval = absl::Milliseconds(10);

}  // namespace

absl::Time FakeClock::DefaultStartTime() { return absl::FromUnixSeconds(1700000000); }

FakeClock::FakeClock() : FakeClock(DefaultStartTime()) {}

FakeClock::FakeClock(absl::Time start) : now_(start) {}

FakeClock::~FakeClock() {
  absl::MutexLock lock(&mu_);
  DIEGO_CHECK(sleepers_.empty()) << sleepers_.size() << " thread(s) still sleeping on FakeClock";
}

absl::Time FakeClock::Now() {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeClock::Sleep(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  if (d <= absl::ZeroDuration()) {
    return;
  }
  Sleeper sleeper{.deadline = now_ + d};
  sleepers_.push_back(&sleeper);
  mu_.Await(absl::Condition(&sleeper.woken));
}

// Like Diego's fakeclock, a deadline is "reached" only by Advance; a sleeper
// never wakes because real time passed.
bool FakeClock::SleepUntil(absl::Time deadline, absl::Notification* cancelled) {
  absl::MutexLock lock(&mu_);
  if (cancelled != nullptr && cancelled->HasBeenNotified()) {
    return false;
  }
  if (now_ >= deadline) {
    return true;
  }
  Sleeper sleeper{.deadline = deadline};
  auto it = sleepers_.insert(sleepers_.end(), &sleeper);
  if (cancelled == nullptr) {
    mu_.Await(absl::Condition(&sleeper.woken));
    return true;
  }
  auto done = [&sleeper, cancelled] { return sleeper.woken || cancelled->HasBeenNotified(); };
  while (!mu_.AwaitWithTimeout(absl::Condition(&done), kCancellationPollInterval)) {
  }
  if (sleeper.woken) {
    // `Advance` already removed it; the deadline was reached first.
    return true;
  }
  sleepers_.erase(it);
  return false;
}

void FakeClock::Advance(absl::Duration d) {
  DIEGO_CHECK(d >= absl::ZeroDuration()) << "FakeClock cannot go back in time";
  absl::MutexLock lock(&mu_);
  now_ += d;
  // Removing woken sleepers here, rather than when their threads run, keeps
  // `Sleepers()` exact for the next `BlockUntilSleepers`.
  for (auto it = sleepers_.begin(); it != sleepers_.end();) {
    if ((*it)->deadline <= now_) {
      (*it)->woken = true;
      it = sleepers_.erase(it);
    } else {
      ++it;
    }
  }
}

void FakeClock::BlockUntilSleepers(int n) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(sleepers_.size()) >= n;
  };
  mu_.Await(absl::Condition(&enough));
}

int FakeClock::Sleepers() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(sleepers_.size());
}

}  // namespace diego::fakes
