// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: semaphore.h
// -----------------------------------------------------------------------------
//
// A counting semaphore whose wait can be cancelled: the download limiter
// (`max_concurrent_downloads`, default 5), the upload limiter (5) and the
// throttle pool of health-check executions (`healthcheck_work_pool_size`,
// default 64). Waiters are served in FIFO order. Thread-safe.

#ifndef DIEGO_ACTIONS_SEMAPHORE_H_
#define DIEGO_ACTIONS_SEMAPHORE_H_

#include <cstdint>
#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace diego::actions {

class Semaphore {
 public:
  // `permits` >= 1.
  explicit Semaphore(int permits);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Blocks until a permit is free (true) or `cancelled` (may be null) is
  // notified first (false, nothing taken). absl::Notification cannot wake a
  // waiter, so a cancel is noticed within 25 ms (a Release wakes at once).
  bool Acquire(absl::Notification* cancelled);
  void Release();

  int permits() const { return permits_; }
  int in_use() const;
  int waiting() const;

 private:
  const int permits_;
  mutable absl::Mutex mu_;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t serving_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<uint64_t> abandoned_ ABSL_GUARDED_BY(mu_);  // tickets of cancelled waiters

  void SkipAbandoned() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

}  // namespace diego::actions

#endif  // DIEGO_ACTIONS_SEMAPHORE_H_
