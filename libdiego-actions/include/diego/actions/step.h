// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: step.h
// -----------------------------------------------------------------------------
//
// `Step` is one unit of work inside a container: Diego's executor step
// (`ifrit.Runner`) as a C++ interface (diego-spec.md 2.2). A container's whole
// action tree is one Step built by the transformer (transformer.h).
//
// Contract
//   * `Run()` blocks until the step has finished and returns its error (OK =
//     success). It is called at most once.
//   * `Cancel()` may be called from any thread, any number of times, before,
//     during or after `Run()`. It asks the step to stop (Diego's "interrupt"
//     signal): a step cancelled before it started refuses to start and
//     returns `CancelledError()`; a running step stops promptly and returns
//     what its section of the spec says (usually `CancelledError()`; Try
//     returns OK, Background returns OK at once, Run returns
//     ExceededGracefulShutdownInterval when it had to SIGKILL).
//   * *Ready*: a step becomes ready at a point its spec defines (Run: the
//     process started; Download: at once; Serial: its last child is ready;
//     HealthCheck: the startup check passed; ...). The callback installed
//     with `SetReadyCallback` (before `Run`) is then called exactly once, on
//     some thread of the step; it must not block. A step that fails before
//     becoming ready never calls it. An LRP is RUNNING once its tree is ready.
//
// Errors are statuses from errors.h; a caller tells users only what
// `IsEmittable` marks.

#ifndef DIEGO_ACTIONS_STEP_H_
#define DIEGO_ACTIONS_STEP_H_

#include <atomic>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace diego::actions {

class Step {
 public:
  virtual ~Step() = default;

  [[nodiscard]] virtual absl::Status Run() = 0;
  virtual void Cancel() = 0;

  // Installs the ready callback. Call before Run(); null = none.
  void SetReadyCallback(std::function<void()> on_ready) { on_ready_ = std::move(on_ready); }

 protected:
  // Calls the ready callback the first time; later calls do nothing.
  void NotifyReady() {
    if (!ready_.exchange(true) && on_ready_) on_ready_();
  }
  bool IsReady() const { return ready_.load(); }

 private:
  std::function<void()> on_ready_;
  std::atomic<bool> ready_{false};
};

using StepPtr = std::unique_ptr<Step>;
using StepList = std::vector<StepPtr>;
// Builds a fresh step (EventuallySucceeds / ConsistentlySucceeds run one per
// attempt).
using StepFactory = std::function<StepPtr()>;

// A cancel flag most steps embed: `Cancel()` notifies it once; `Run()`
// checks `cancelled()` and waits on `notification()`.
class CancelSignal {
 public:
  void Cancel() {
    absl::MutexLock lock(&mu_);
    if (!note_.HasBeenNotified()) note_.Notify();
  }
  bool cancelled() const { return note_.HasBeenNotified(); }
  absl::Notification* notification() { return &note_; }

 private:
  absl::Mutex mu_;
  absl::Notification note_;
};

}  // namespace diego::actions

#endif  // DIEGO_ACTIONS_STEP_H_
