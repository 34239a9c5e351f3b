// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: child_tracker.h (private to libdiego-actions)
// -----------------------------------------------------------------------------
//
// `ChildTracker`: the cancel plumbing of a step that runs its children (or
// checks) one at a time on its own Run thread. `Cancel()` (any thread) marks
// the step cancelled and forwards the cancel to the child in flight; `Run()`
// refuses to start a child once cancelled. Children are shared so a cancel
// racing with the end of a child never touches a destroyed step. Used by the
// wrapper steps (composite_steps.cc) and the health-check steps
// (health_check_steps.cc).

#ifndef DIEGO_ACTIONS_SRC_CHILD_TRACKER_H_
#define DIEGO_ACTIONS_SRC_CHILD_TRACKER_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "diego/actions/errors.h"
#include "diego/actions/step.h"

namespace diego::actions_internal {

class ChildTracker {
 public:
  // Marks the step cancelled and cancels the current child, if any (outside
  // the lock: a child's Cancel may take locks of its own).
  void Cancel() {
    std::shared_ptr<actions::Step> current;
    {
      absl::MutexLock lock(&mu_);
      signal_.Cancel();
      current = current_;
    }
    if (current != nullptr) current->Cancel();
  }

  // Runs `child` on this thread unless the step is already cancelled (then
  // CancelledError, and `child` never runs).
  absl::Status Run(const std::shared_ptr<actions::Step>& child) {
    {
      absl::MutexLock lock(&mu_);
      if (signal_.cancelled()) return actions::CancelledError();
      current_ = child;
    }
    absl::Status status = child->Run();
    absl::MutexLock lock(&mu_);
    current_.reset();
    return status;
  }

  bool cancelled() const { return signal_.cancelled(); }
  absl::Notification* notification() { return signal_.notification(); }

 private:
  absl::Mutex mu_;
  actions::CancelSignal signal_;
  std::shared_ptr<actions::Step> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::actions_internal

#endif  // DIEGO_ACTIONS_SRC_CHILD_TRACKER_H_
