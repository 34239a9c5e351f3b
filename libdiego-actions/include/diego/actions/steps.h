// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: steps.h
// -----------------------------------------------------------------------------
//
// Constructors of every executor step (diego-spec.md 2.2). Each returns a
// `Step` (step.h) following Diego's executor/depot/steps package; the
// semantics, user-visible messages and ready points are those of the spec
// and of Diego's Go code, and each constructor's comment lists what is
// specific to it. Dependencies passed by pointer are not owned and must
// outlive the step.
//
// Composites run children on threads of their own; a child's Run() is
// called at most once.

#ifndef DIEGO_ACTIONS_STEPS_H_
#define DIEGO_ACTIONS_STEPS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "diego/actions/download.h"
#include "diego/actions/log_streamer.h"
#include "diego/actions/semaphore.h"
#include "diego/actions/step.h"
#include "diego/actions/upload.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/garden/client.h"
#include "diego/model/v1/actions.pb.h"

namespace diego::actions {

// Counters and durations steps report (Diego metric names, e.g.
// "TCPLivenessChecksFailedCount", "ContainerSetupSucceededDuration").
class StepMetrics {
 public:
  virtual ~StepMetrics() = default;
  virtual void IncrementCounter(absl::string_view name) = 0;
  virtual void SendDuration(absl::string_view name, absl::Duration d) = 0;
};

// ---- Composites -----------------------------------------------------------

// Runs children in order; the first error aborts and is returned. Cancel is
// forwarded to the running child (whose result is returned); children not
// yet started do not run. Ready when the last child is ready. Empty = OK.
StepPtr NewSerialStep(StepList steps);

// Starts all; waits for all; returns AggregateError of their errors. Cancel
// cancels all. Ready when every child is ready.
StepPtr NewParallelStep(StepList steps);

// Starts all. When a child exits for any reason, the others are cancelled —
// except that with `error_on_exit == false` a child that *succeeds* does not
// count (no cancel, no error) unless `cancel_others_on_exit` is set (then a
// success also cancels the rest). With `error_on_exit` a success counts as
// the error EmittableError("Codependent step exited"). Returns the
// AggregateError of every child's error. Ready when all are ready.
// The model action uses (true, true); the executor's action+monitor uses
// (false, sidecars present).
StepPtr NewCodependentStep(StepList steps, bool error_on_exit, bool cancel_others_on_exit);

// Runs the child, logs any error to `logger`, always returns OK (also when
// cancelled). Ready when the child is.
StepPtr NewTryStep(StepPtr step, const Logger& logger);

// Runs the child; Cancel is forwarded. When `timeout` passes on `clock`
// first, cancels the child, waits for it, and returns
// EmittableError("exceeded <Go duration> timeout" [+ "; <child emittable message>"]).
StepPtr NewTimeoutStep(StepPtr step, absl::Duration timeout, Clock* clock, const Logger& logger);

// Prints `start_message` + "\n" to stdout (when not empty), runs the child,
// on success prints `success_message` + "\n" (when not empty); on failure
// prints `failure_message_prefix` [+ ": " + emittable message] + "\n" to
// stderr (when the prefix is not empty). Returns the child's error.
StepPtr NewEmitProgressStep(StepPtr step, std::string start_message, std::string success_message,
                            std::string failure_message_prefix,
                            std::shared_ptr<LogStreamer> streamer, const Logger& logger);

// Runs the child while holding one permit of `pool` (waiting is
// cancellable: a cancel while waiting returns CancelledError()).
StepPtr NewThrottleStep(StepPtr step, Semaphore* pool);

// Runs the child; Cancel() makes Run() return OK at once and leaves the
// child running (it is not cancelled). Ready when the child is. Destroying
// the step cancels the child and waits for it.
StepPtr NewBackgroundStep(StepPtr step, const Logger& logger);

// Every `interval` (the first attempt after one interval) builds and runs a
// fresh child; returns OK on the first success. With `timeout > 0`, once
// more than `timeout` has elapsed since Run() began, returns the last
// attempt's error. Cancel: cancels the attempt in flight, returns
// CancelledError().
StepPtr NewEventuallySucceedsStep(StepFactory factory, absl::Duration interval,
                                  absl::Duration timeout, Clock* clock);

// Every `interval` builds and runs a fresh child; returns the first error.
// Cancel -> CancelledError().
StepPtr NewConsistentlySucceedsStep(StepFactory factory, absl::Duration interval, Clock* clock);

// Replaces a failing child's error with EmittableError(<prefix>: <trimmed
// captured output>) (the output alone when `prefix` is empty), as Diego's
// OutputWrapperStep. With nothing captured the child's error is returned
// unchanged; a cancelled child stays cancelled.
StepPtr NewOutputWrapperStep(StepPtr step, std::string prefix,
                             std::shared_ptr<BufferLogStreamer> captured);

// Diego's HealthCheckStep: prints "Starting health monitoring of container"
// to `streamer`; runs `startup`; on failure writes the check's error to
// `health_streamer` stderr and "Failed after <elapsed>: startup health check
// never passed.\n" to `streamer` stderr and returns
// EmittableError("Instance never healthy after <elapsed>: <err>"); on
// success prints "Container became healthy", becomes *ready*, runs
// `liveness`; its failure prints "Container became unhealthy" and returns
// EmittableError("Instance became unhealthy: <err>"). Cancel is forwarded
// and returns CancelledError(). `start_timeout` is kept for parity with
// Diego, which does not enforce it here either: the startup check itself is
// bounded (EventuallySucceeds' timeout, or the binary's -startup-timeout).
StepPtr NewHealthCheckStep(StepPtr startup, StepPtr liveness, std::shared_ptr<LogStreamer> streamer,
                           std::shared_ptr<LogStreamer> health_streamer, absl::Duration start_timeout,
                           Clock* clock, const Logger& logger);

enum class Readiness { kReady, kNotReady };

// Diego's ReadinessHealthCheckStep: prints "Starting readiness health
// monitoring of container", is ready at once, then loops: build and run
// `until_ready()`; on success call `on_change(kReady)` and print
// "Container passed the readiness health check. Container marked ready and added to route pool.";
// build and run `until_failure()`; when it fails call `on_change(kNotReady)`
// and print "Container failed the readiness health check. Container marked not ready and removed from route pool.";
// repeat. Runs until cancelled (-> CancelledError()).
StepPtr NewReadinessHealthCheckStep(StepFactory until_ready, StepFactory until_failure,
                                    std::function<void(Readiness)> on_change,
                                    std::shared_ptr<LogStreamer> streamer, const Logger& logger);

// Increments "TCPLivenessChecksFailedCount" or "HTTPLivenessChecksFailedCount"
// (`metric_name`) on `metrics` when the child fails (not when cancelled).
StepPtr NewEmitCheckFailureMetricStep(StepPtr step, std::string metric_name, StepMetrics* metrics);

// Sends "ContainerSetupSucceededDuration" / "ContainerSetupFailedDuration"
// with the child's run time (on `clock`).
StepPtr NewTimedStep(StepPtr step, Clock* clock, StepMetrics* metrics);

// ---- Leaves ----------------------------------------------------------------

struct RunStepOptions {
  std::shared_ptr<LogStreamer> streamer;  // required
  Clock* clock = nullptr;                 // required
  Logger logger;
  // CF_INSTANCE_* networking variables (diego-spec.md 2.2 Run).
  std::string external_ip;
  std::string internal_ip;
  std::string internal_ipv6;
  std::vector<garden::PortMapping> port_mappings;  // host=external, container=internal
  absl::Duration graceful_shutdown_interval = absl::Seconds(10);
  absl::Duration exit_timeout = absl::Seconds(1);  // wait after SIGKILL
  // Monitor/declarative-check processes: no "Exit status N" line, no
  // "<source>: Exited with status N" text of their own.
  bool suppress_exit_status_message = false;
  // Sidecar process (declarative checks): bind mounts, no container limits.
  std::vector<garden::BindMount> sidecar_bind_mounts;
};

// Diego's RunStep: see diego-spec.md 2.2 (env, CF_INSTANCE_*, rlimit nofile,
// "Exit status N" + OOM/graceful suffixes, "<source>: Exited with status N",
// SIGTERM -> graceful interval -> SIGKILL -> exit timeout -> "process did not
// exit"). Ready once the process is spawned. `container` not owned.
// Details (run_step.cc has the full list): a failed Garden Run writes
// "failed-creating-process: <err>" to stdout and returns Garden's error as
// is; <source> is `streamer->SourceName()`; partial output lines are flushed
// before "Exit status N"; when SIGKILL is needed a CELL line "Process did
// not exit within <d> graceful shutdown interval, sending SIGKILL" is
// written (unless output or the exit message is suppressed); "process did
// not exit" is kDeadlineExceeded and displayable. After "process did not
// exit" the step's destructor sends SIGKILL again and waits at most
// `exit_timeout` (on `clock`) for the exit; then it stops waiting and leaves
// a thread blocked in Process::Wait that ends when Garden reports the exit
// (it holds only the process handle, so the backend must outlive it).
StepPtr NewRunStep(garden::Container* container, const model::v1::RunAction& action,
                   RunStepOptions options);

struct TransferStepOptions {
  std::shared_ptr<LogStreamer> streamer;  // required
  Logger logger;
};

// Diego's DownloadStep (diego-spec.md 2.2): ready at once; waits for a
// permit of `limiter` (cancellable); downloads through `downloader`;
// streams the tar into `container` at `action.to()` as `action.user()`.
StepPtr NewDownloadStep(garden::Container* container, const model::v1::DownloadAction& action,
                        CachedDownloader* downloader, Semaphore* limiter,
                        TransferStepOptions options);

// Diego's UploadStep (diego-spec.md 2.2): permit of `limiter`; stream
// `action.from()` out of the container as `action.user()`; first tar entry
// into a temp file under `temp_dir`; POST with `uploader`.
StepPtr NewUploadStep(garden::Container* container, const model::v1::UploadAction& action,
                      Uploader* uploader, Semaphore* limiter, std::string temp_dir,
                      TransferStepOptions options);

}  // namespace diego::actions

#endif  // DIEGO_ACTIONS_STEPS_H_
