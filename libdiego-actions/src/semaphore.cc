// Copyright 2026 The libdiego Authors.
//
// A FIFO counting semaphore with cancellable waits (semaphore.h): each
// waiter takes a ticket; the permit goes to the oldest ticket still waiting.

#include "diego/actions/semaphore.h"

#include "diego/base/check.h"

namespace diego::actions {

Semaphore::Semaphore(int permits) : permits_(permits) {
  DIEGO_CHECK(permits >= 1) << "Semaphore needs at least one permit";
}

bool Semaphore::Acquire(absl::Notification* cancelled) {
  absl::MutexLock lock(&mu_);
  if (cancelled != nullptr && cancelled->HasBeenNotified()) return false;
  const uint64_t ticket = next_ticket_++;
  ++waiting_;
  // Served in ticket order; a cancelled waiter leaves its ticket behind,
  // which `serving_` skips (see the loop below).
  auto my_turn = [this, ticket]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return serving_ == ticket && in_use_ < permits_;
  };
  while (!my_turn()) {
    if (cancelled != nullptr && cancelled->HasBeenNotified()) {
      --waiting_;
      abandoned_.insert(ticket);
      SkipAbandoned();
      return false;
    }
    // absl::Notification has no condition hook, so the wait wakes on a
    // Release (condition true) or every 25 ms to look at `cancelled`.
    mu_.AwaitWithTimeout(absl::Condition(&my_turn), absl::Milliseconds(25));
  }
  --waiting_;
  ++in_use_;
  ++serving_;
  SkipAbandoned();
  return true;
}

void Semaphore::SkipAbandoned() {
  while (abandoned_.erase(serving_) > 0) ++serving_;
}

void Semaphore::Release() {
  absl::MutexLock lock(&mu_);
  DIEGO_CHECK(in_use_ > 0) << "Semaphore::Release without Acquire";
  --in_use_;
}

int Semaphore::in_use() const {
  absl::MutexLock lock(&mu_);
  return in_use_;
}

int Semaphore::waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_;
}

}  // namespace diego::actions
