// Copyright 2026 The libdiego Authors.
//
// The executor's composite and wrapper steps (steps.h; diego-spec.md 2.2),
// following Diego's executor/depot/steps: serial_step.go, parallel_step.go,
// codependent_step.go, try_step.go, timeout_step.go, emit_progress_step.go,
// throttle_step.go, background_step.go, eventually_succeeds_step.go,
// consistently_succeeds_step.go, output_wrapper_step.go,
// emit_check_failure_metric_step.go and timed_step.go.
//
// Common shape: `Cancel()` marks the step cancelled and forwards the cancel
// to the child it is running (Diego's signal forwarding); `Run()` refuses to
// start once cancelled (CancelledError). Single-child wrappers run their
// child on the calling thread; Parallel, Codependent, Timeout and Background
// run children on threads of their own. Differences from the Go code are
// noted where they occur ("Diego:").

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "child_tracker.h"
#include "diego/actions/errors.h"
#include "diego/actions/semaphore.h"
#include "diego/actions/step.h"
#include "diego/actions/steps.h"
#include "diego/base/check.h"
#include "diego/healthcheck/probe_result.h"

namespace diego::actions {
namespace {

constexpr char kCodependentStepExited[] = "Codependent step exited";
constexpr char kContainerSetupSucceededDuration[] = "ContainerSetupSucceededDuration";
constexpr char kContainerSetupFailedDuration[] = "ContainerSetupFailedDuration";

// Lets `Cancel()` (any thread) reach the child the Run thread is currently
// running (child_tracker.h).
using actions_internal::ChildTracker;

// The user-facing part of an emittable error's message and the wrapped
// error's text (EmittableError(message, inner) reads "message\ninner").
std::string WrappedErrorText(const absl::Status& status) {
  const std::string emitted = EmittableMessage(status);
  const absl::string_view full = status.message();
  if (absl::StartsWith(full, absl::StrCat(emitted, "\n"))) {
    return std::string(full.substr(emitted.size() + 1));
  }
  return "";
}

// ---- Serial ----------------------------------------------------------------

// Diego's serialStep: children in order; ready when the last child is ready.
class SerialStep final : public Step {
 public:
  explicit SerialStep(StepList steps) {
    for (StepPtr& s : steps) {
      DIEGO_CHECK(s != nullptr) << "SerialStep: null child";
      steps_.push_back(std::shared_ptr<Step>(std::move(s)));
    }
    if (!steps_.empty()) steps_.back()->SetReadyCallback([this] { NotifyReady(); });
  }

  absl::Status Run() override {
    if (tracker_.cancelled()) return CancelledError();
    for (const std::shared_ptr<Step>& step : steps_) {
      absl::Status status = tracker_.Run(step);
      if (!status.ok()) return status;
      // Diego returns the signalled child's result, even a success, and
      // runs nothing after it.
      if (tracker_.cancelled()) return status;
    }
    return absl::OkStatus();
  }

  void Cancel() override { tracker_.Cancel(); }

 private:
  std::vector<std::shared_ptr<Step>> steps_;
  ChildTracker tracker_;
};

// ---- Parallel and Codependent ---------------------------------------------

// Runs every child on a thread of its own and reports exits in the order
// they happen; ready once every child is ready (Diego's
// waitForChildrenToBeReady, which stops watching when the parent returns).
class ConcurrentStep : public Step {
 public:
  explicit ConcurrentStep(StepList steps) : steps_(std::move(steps)) {
    for (size_t i = 0; i < steps_.size(); ++i) {
      DIEGO_CHECK(steps_[i] != nullptr) << "concurrent step: null child";
      steps_[i]->SetReadyCallback([this] { OnChildReady(); });
    }
  }

  void Cancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    CancelChildren();
  }

 protected:
  struct Exit {
    size_t index;
    absl::Status status;
  };

  bool cancelled() {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

  // Starts every child; an empty list is ready at once (as Diego's
  // readiness loop over no processes).
  void StartChildren() {
    if (steps_.empty()) NotifyReady();
    threads_.reserve(steps_.size());
    for (size_t i = 0; i < steps_.size(); ++i) {
      threads_.emplace_back([this, i] {
        absl::Status status = steps_[i]->Run();
        absl::MutexLock lock(&mu_);
        exits_.push_back(Exit{i, std::move(status)});
      });
    }
  }

  // Blocks until the `n`-th exit (0-based) has happened and returns it.
  Exit WaitForExit(size_t n) {
    absl::MutexLock lock(&mu_);
    auto happened = [this, n]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return exits_.size() > n; };
    mu_.Await(absl::Condition(&happened));
    return exits_[n];
  }

  // Joins every child thread; no readiness is reported afterwards.
  void Finish() {
    for (std::thread& t : threads_) t.join();
    absl::MutexLock lock(&mu_);
    finished_ = true;
  }

  void CancelChildren() {
    for (const StepPtr& s : steps_) s->Cancel();
  }

  size_t size() const { return steps_.size(); }

 private:
  void OnChildReady() {
    bool all_ready = false;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      all_ready = ++ready_children_ == steps_.size();
    }
    if (all_ready) NotifyReady();
  }

  StepList steps_;
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  size_t ready_children_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Exit> exits_ ABSL_GUARDED_BY(mu_);
};

// Diego's parallelStep: the aggregate of every child's error, in child
// order (cancelled children count but are not displayed).
class ParallelStep final : public ConcurrentStep {
 public:
  using ConcurrentStep::ConcurrentStep;

  absl::Status Run() override {
    if (cancelled()) return CancelledError();
    StartChildren();
    std::vector<absl::Status> errors(size());
    for (size_t n = 0; n < size(); ++n) {
      Exit exit = WaitForExit(n);
      errors[exit.index] = std::move(exit.status);
    }
    Finish();
    return AggregateError(errors);
  }
};

// Diego's codependentStep: the first exit that counts cancels the others;
// errors aggregate in exit order.
class CodependentStep final : public ConcurrentStep {
 public:
  CodependentStep(StepList steps, bool error_on_exit, bool cancel_others_on_exit)
      : ConcurrentStep(std::move(steps)),
        error_on_exit_(error_on_exit),
        cancel_others_on_exit_(cancel_others_on_exit) {}

  absl::Status Run() override {
    if (cancelled()) return CancelledError();
    StartChildren();
    std::vector<absl::Status> errors;
    bool cancelled_others = false;
    for (size_t n = 0; n < size(); ++n) {
      absl::Status err = WaitForExit(n).status;
      // Diego: CodependentStepExitedError is a plain error; steps.h makes it
      // emittable so users see why an exited daemon crashed the container.
      if (error_on_exit_ && err.ok()) err = EmittableError(kCodependentStepExited);
      bool cancel_now = cancel_others_on_exit_ && err.ok();
      if (!err.ok()) {
        errors.push_back(std::move(err));
        cancel_now = true;
      }
      if (cancel_now && !cancelled_others) {
        cancelled_others = true;
        CancelChildren();
      }
    }
    Finish();
    return AggregateError(errors);
  }

 private:
  const bool error_on_exit_;
  const bool cancel_others_on_exit_;
};

// ---- Single-child wrappers ------------------------------------------------

// Base of wrappers around one fixed child: cancel is forwarded to it, and
// (when `forward_ready`) the child's readiness is this step's.
class WrapperStep : public Step {
 public:
  WrapperStep(StepPtr step, bool forward_ready) : step_(std::move(step)) {
    DIEGO_CHECK(step_ != nullptr) << "wrapper step: null child";
    if (forward_ready) step_->SetReadyCallback([this] { NotifyReady(); });
  }
  void Cancel() override { tracker_.Cancel(); }

 protected:
  absl::Status RunChild() { return tracker_.Run(step_); }
  bool cancelled() const { return tracker_.cancelled(); }
  absl::Notification* cancel_notification() { return tracker_.notification(); }
  Step* child() const { return step_.get(); }

 private:
  std::shared_ptr<Step> step_;
  ChildTracker tracker_;
};

// Diego's tryStep: the child's error is logged and swallowed.
class TryStep final : public WrapperStep {
 public:
  TryStep(StepPtr step, const Logger& logger)
      : WrapperStep(std::move(step), /*forward_ready=*/true), logger_(logger.Session("try-step")) {}

  absl::Status Run() override {
    if (cancelled()) return CancelledError();
    absl::Status status = RunChild();
    if (!status.ok()) logger_.Info("failed", {{"error", std::string(status.message())}});
    return absl::OkStatus();
  }

 private:
  Logger logger_;
};

// Diego's timeoutStep. The child runs on its own thread while this one
// waits for the deadline on `clock`.
class TimeoutStep final : public WrapperStep {
 public:
  TimeoutStep(StepPtr step, absl::Duration timeout, Clock* clock, const Logger& logger)
      : WrapperStep(std::move(step), /*forward_ready=*/true),
        timeout_(timeout),
        clock_(clock),
        logger_(logger.Session("timeout-step")) {
    DIEGO_CHECK(clock_ != nullptr) << "TimeoutStep needs a clock";
  }

  absl::Status Run() override {
    if (cancelled()) return CancelledError();
    const absl::Time deadline = clock_->Now() + timeout_;
    absl::Notification child_done;
    absl::Status result;
    std::thread runner([&] {
      result = RunChild();
      child_done.Notify();
    });
    // A cancel is forwarded by Cancel() and ends the child, which wakes us.
    const bool deadline_reached = clock_->SleepUntil(deadline, &child_done);
    if (!deadline_reached || child_done.HasBeenNotified()) {
      runner.join();
      return result;
    }
    logger_.Error("timed-out");
    child()->Cancel();
    runner.join();
    std::string message =
        absl::StrCat("exceeded ", healthcheck::FormatGoDuration(timeout_), " timeout");
    // Diego appends the child's message only when the child's error is an
    // *EmittableError; here any emittable status (aggregates included).
    if (IsEmittable(result)) absl::StrAppend(&message, "; ", EmittableMessage(result));
    return EmittableError(message, result);
  }

 private:
  const absl::Duration timeout_;
  Clock* const clock_;
  Logger logger_;
};

// Diego's emitProgressStep.
class EmitProgressStep final : public WrapperStep {
 public:
  EmitProgressStep(StepPtr step, std::string start_message, std::string success_message,
                   std::string failure_message_prefix, std::shared_ptr<LogStreamer> streamer,
                   const Logger& logger)
      : WrapperStep(std::move(step), /*forward_ready=*/true),
        start_message_(std::move(start_message)),
        success_message_(std::move(success_message)),
        failure_message_prefix_(std::move(failure_message_prefix)),
        streamer_(std::move(streamer)),
        logger_(logger.Session("emit-progress-step")) {
    DIEGO_CHECK(streamer_ != nullptr) << "EmitProgressStep needs a streamer";
  }

  absl::Status Run() override {
    if (cancelled()) return CancelledError();
    if (!start_message_.empty()) streamer_->Stdout(absl::StrCat(start_message_, "\n"));
    absl::Status status = RunChild();
    if (status.ok()) {
      if (!success_message_.empty()) streamer_->Stdout(absl::StrCat(success_message_, "\n"));
      return status;
    }
    if (!failure_message_prefix_.empty()) {
      std::string line = failure_message_prefix_;
      if (IsEmittable(status)) {
        const std::string emitted = EmittableMessage(status);
        absl::StrAppend(&line, ": ", emitted);
        logger_.Info("errored",
                     {{"wrapped-error", WrappedErrorText(status)}, {"message-emitted", emitted}});
      }
      line.push_back('\n');
      streamer_->Stderr(line);
    }
    return status;
  }

 private:
  const std::string start_message_;
  const std::string success_message_;
  const std::string failure_message_prefix_;
  std::shared_ptr<LogStreamer> streamer_;
  Logger logger_;
};

// Diego's throttleStep (a workpool there; a FIFO semaphore here, whose wait
// a cancel ends).
class ThrottleStep final : public WrapperStep {
 public:
  ThrottleStep(StepPtr step, Semaphore* pool)
      : WrapperStep(std::move(step), /*forward_ready=*/true), pool_(pool) {
    DIEGO_CHECK(pool_ != nullptr) << "ThrottleStep needs a pool";
  }

  absl::Status Run() override {
    if (cancelled()) return CancelledError();
    if (!pool_->Acquire(cancel_notification())) return CancelledError();
    absl::Status status = RunChild();
    pool_->Release();
    return status;
  }

 private:
  Semaphore* const pool_;
};

// Diego's backgroundStep: the child never sees this step's cancel; a cancel
// makes Run() return OK at once and leaves the child running on `runner_`.
// The runner stays joinable: destroying the step cancels the child and joins
// it, so the child never outlives what it points to (container, clock,
// logger). The child's ready notification is forwarded without holding
// `mu_`, so a ready chain that cancels the tree can re-enter Cancel().
class BackgroundStep final : public Step {
 public:
  BackgroundStep(StepPtr step, const Logger& logger)
      : child_(std::move(step)), logger_(logger.Session("background-step")) {
    DIEGO_CHECK(child_ != nullptr) << "BackgroundStep: null child";
    child_->SetReadyCallback([this] { ForwardReady(); });
  }

  ~BackgroundStep() override {
    {
      // Stop forwarding ready and wait for a forward in flight: the parent
      // being torn down must not be called back.
      absl::MutexLock lock(&mu_);
      forward_ready_ = false;
      auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ready_forwards_ == 0; };
      mu_.Await(absl::Condition(&idle));
    }
    if (runner_.joinable()) {
      child_->Cancel();
      runner_.join();
    }
  }

  absl::Status Run() override {
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return CancelledError();
    }
    runner_ = std::thread([this] {
      absl::Status status = child_->Run();
      absl::MutexLock lock(&mu_);
      result_ = std::move(status);
      done_ = true;
    });
    bool done = false;
    absl::Status result;
    {
      absl::MutexLock lock(&mu_);
      auto finished = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || cancelled_; };
      mu_.Await(absl::Condition(&finished));
      done = done_;
      if (done) result = result_;
    }
    if (done) {
      runner_.join();
      if (!result.ok()) logger_.Info("failed", {{"error", std::string(result.message())}});
      return result;
    }
    // The child keeps running; the destructor cancels and joins it.
    logger_.Info("detaching-from-substep");
    return absl::OkStatus();
  }

  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }

 private:
  // The child's ready callback: forwards to this step's, outside `mu_`.
  void ForwardReady() {
    {
      absl::MutexLock lock(&mu_);
      if (!forward_ready_) return;
      ++ready_forwards_;
    }
    NotifyReady();
    absl::MutexLock lock(&mu_);
    --ready_forwards_;
  }

  const StepPtr child_;
  const Logger logger_;
  std::thread runner_;  // started by Run(); joined by Run() or the destructor

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status result_ ABSL_GUARDED_BY(mu_);
  bool forward_ready_ ABSL_GUARDED_BY(mu_) = true;
  int ready_forwards_ ABSL_GUARDED_BY(mu_) = 0;
};

// Diego's outputWrapperStep.
class OutputWrapperStep final : public WrapperStep {
 public:
  OutputWrapperStep(StepPtr step, std::string prefix, std::shared_ptr<BufferLogStreamer> captured)
      : WrapperStep(std::move(step), /*forward_ready=*/true),
        prefix_(std::move(prefix)),
        captured_(std::move(captured)) {
    DIEGO_CHECK(captured_ != nullptr) << "OutputWrapperStep needs a capture buffer";
  }

  absl::Status Run() override {
    if (cancelled()) return CancelledError();
    absl::Status status = RunChild();
    if (status.ok()) return status;
    // Diego wraps the captured output of a cancelled child too; steps.h
    // keeps a cancelled step's result as it is.
    if (cancelled() || IsCancelledError(status)) return status;
    captured_->Flush();
    const std::string output = captured_->Contents();
    // Diego: with nothing captured the child's own error is returned as it
    // is (there is no "Failed to invoke process" text in the Go step).
    if (output.empty()) return status;
    std::string message(absl::StripAsciiWhitespace(output));
    if (!prefix_.empty()) message = absl::StrCat(prefix_, ": ", message);
    return EmittableError(message);
  }

 private:
  const std::string prefix_;
  std::shared_ptr<BufferLogStreamer> captured_;
};

// Diego's emitCheckFailureMetricStep.
class EmitCheckFailureMetricStep final : public WrapperStep {
 public:
  EmitCheckFailureMetricStep(StepPtr step, std::string metric_name, StepMetrics* metrics)
      : WrapperStep(std::move(step), /*forward_ready=*/true),
        metric_name_(std::move(metric_name)),
        metrics_(metrics) {}

  absl::Status Run() override {
    if (cancelled()) return CancelledError();
    absl::Status status = RunChild();
    // Diego counts a failure only when the check exited on its own, not
    // after a cancel.
    if (!status.ok() && !cancelled() && metrics_ != nullptr) {
      metrics_->IncrementCounter(metric_name_);
    }
    return status;
  }

 private:
  const std::string metric_name_;
  StepMetrics* const metrics_;
};

// Diego's timedStep. Diego measures from a start time the transformer
// passes (container creation) and, on a cancel, returns nil at once and
// reports success; here the child's own run time is measured, a cancel is
// forwarded and waited for, and the metric follows the returned status.
class TimedStep final : public WrapperStep {
 public:
  TimedStep(StepPtr step, Clock* clock, StepMetrics* metrics)
      : WrapperStep(std::move(step), /*forward_ready=*/true), clock_(clock), metrics_(metrics) {
    DIEGO_CHECK(clock_ != nullptr) << "TimedStep needs a clock";
  }

  absl::Status Run() override {
    if (cancelled()) return CancelledError();
    const absl::Time start = clock_->Now();
    absl::Status status = RunChild();
    if (metrics_ != nullptr) {
      metrics_->SendDuration(
          status.ok() ? kContainerSetupSucceededDuration : kContainerSetupFailedDuration,
          clock_->Now() - start);
    }
    return status;
  }

 private:
  Clock* const clock_;
  StepMetrics* const metrics_;
};

// ---- Retrying steps --------------------------------------------------------

// Diego's eventuallySucceedsStep and consistentlySucceedsStep, one loop: every
// `interval` (the timer restarts after each attempt, as Diego's t.Reset) it
// builds and runs a fresh child, and stops at the first success
// (kUntilSuccess; with `timeout` > 0 it also gives up, returning the last
// error, once more than `timeout` has passed) or the first error
// (kUntilFailure). Ready at once, like Diego's. Diego returns the attempt's
// own result after a cancel; here a cancel always yields CancelledError
// (steps.h).
class RepeatingStep final : public Step {
 public:
  enum class Until { kSuccess, kFailure };

  RepeatingStep(Until until, StepFactory factory, absl::Duration interval,
                absl::Duration timeout, Clock* clock)
      : until_(until),
        factory_(std::move(factory)),
        interval_(interval),
        timeout_(timeout),
        clock_(clock) {
    DIEGO_CHECK(factory_ != nullptr) << "a repeating step needs a factory";
    DIEGO_CHECK(clock_ != nullptr) << "a repeating step needs a clock";
  }

  absl::Status Run() override {
    if (tracker_.cancelled()) return CancelledError();
    NotifyReady();
    const absl::Time start = clock_->Now();
    while (true) {
      if (!clock_->SleepUntil(clock_->Now() + interval_, tracker_.notification())) {
        return CancelledError();
      }
      absl::Status status = tracker_.Run(std::shared_ptr<Step>(factory_()));
      if (tracker_.cancelled()) return CancelledError();
      if (status.ok() == (until_ == Until::kSuccess)) return status;
      if (until_ == Until::kSuccess && timeout_ > absl::ZeroDuration() &&
          clock_->Now() > start + timeout_) {
        return status;
      }
    }
  }

  void Cancel() override { tracker_.Cancel(); }

 private:
  const Until until_;
  const StepFactory factory_;
  const absl::Duration interval_;
  const absl::Duration timeout_;
  Clock* const clock_;
  ChildTracker tracker_;
};

}  // namespace

StepPtr NewSerialStep(StepList steps) { return std::make_unique<SerialStep>(std::move(steps)); }

StepPtr NewParallelStep(StepList steps) { return std::make_unique<ParallelStep>(std::move(steps)); }

StepPtr NewCodependentStep(StepList steps, bool error_on_exit, bool cancel_others_on_exit) {
  return std::make_unique<CodependentStep>(std::move(steps), error_on_exit, cancel_others_on_exit);
}

StepPtr NewTryStep(StepPtr step, const Logger& logger) {
  return std::make_unique<TryStep>(std::move(step), logger);
}

StepPtr NewTimeoutStep(StepPtr step, absl::Duration timeout, Clock* clock, const Logger& logger) {
  return std::make_unique<TimeoutStep>(std::move(step), timeout, clock, logger);
}

StepPtr NewEmitProgressStep(StepPtr step, std::string start_message, std::string success_message,
                            std::string failure_message_prefix,
                            std::shared_ptr<LogStreamer> streamer, const Logger& logger) {
  return std::make_unique<EmitProgressStep>(
      std::move(step), std::move(start_message), std::move(success_message),
      std::move(failure_message_prefix), std::move(streamer), logger);
}

StepPtr NewThrottleStep(StepPtr step, Semaphore* pool) {
  return std::make_unique<ThrottleStep>(std::move(step), pool);
}

StepPtr NewBackgroundStep(StepPtr step, const Logger& logger) {
  return std::make_unique<BackgroundStep>(std::move(step), logger);
}

StepPtr NewEventuallySucceedsStep(StepFactory factory, absl::Duration interval,
                                  absl::Duration timeout, Clock* clock) {
  return std::make_unique<RepeatingStep>(RepeatingStep::Until::kSuccess, std::move(factory),
                                         interval, timeout, clock);
}

StepPtr NewConsistentlySucceedsStep(StepFactory factory, absl::Duration interval, Clock* clock) {
  return std::make_unique<RepeatingStep>(RepeatingStep::Until::kFailure, std::move(factory),
                                         interval, absl::ZeroDuration(), clock);
}

StepPtr NewOutputWrapperStep(StepPtr step, std::string prefix,
                             std::shared_ptr<BufferLogStreamer> captured) {
  return std::make_unique<OutputWrapperStep>(std::move(step), std::move(prefix),
                                             std::move(captured));
}

StepPtr NewEmitCheckFailureMetricStep(StepPtr step, std::string metric_name, StepMetrics* metrics) {
  return std::make_unique<EmitCheckFailureMetricStep>(std::move(step), std::move(metric_name),
                                                      metrics);
}

StepPtr NewTimedStep(StepPtr step, Clock* clock, StepMetrics* metrics) {
  return std::make_unique<TimedStep>(std::move(step), clock, metrics);
}

}  // namespace diego::actions
