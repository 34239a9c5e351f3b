// Copyright 2026 The libdiego Authors.
//
// Diego's HealthCheckStep and ReadinessHealthCheckStep (steps.h;
// executor depot/steps/health_check_step.go and
// readiness_health_check_step.go). Checks run on the Run thread; Cancel()
// forwards to the check in flight. Differences from the Go code are noted
// where they occur ("Diego:").

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "child_tracker.h"
#include "diego/actions/errors.h"
#include "diego/actions/step.h"
#include "diego/actions/steps.h"
#include "diego/base/check.h"
#include "diego/healthcheck/probe_result.h"

namespace diego::actions {
namespace {

constexpr char kStartingHealthMonitoring[] = "Starting health monitoring of container\n";
constexpr char kContainerBecameHealthy[] = "Container became healthy\n";
constexpr char kContainerBecameUnhealthy[] = "Container became unhealthy\n";
constexpr char kStartingReadinessMonitoring[] =
    "Starting readiness health monitoring of container\n";
constexpr char kReadinessCheckFailedToRun[] = "Failed to run the readiness check\n";
constexpr char kPassedReadiness[] =
    "Container passed the readiness health check. Container marked ready and added to route "
    "pool.\n";
constexpr char kFailedReadiness[] =
    "Container failed the readiness health check. Container marked not ready and removed from "
    "route pool.\n";

// Runs checks on the calling thread and lets Cancel() reach the one in
// flight (child_tracker.h).
using CheckRunner = actions_internal::ChildTracker;

// What Go's err.Error() prints for a check's error: an emittable error's own
// message (without its wrapped error), any other error's message.
std::string GoErrorText(const absl::Status& status) {
  if (!IsEmittable(status)) return std::string(status.message());
  const std::string emitted = EmittableMessage(status);
  const absl::string_view full = status.message();
  if (full == emitted || absl::StartsWith(full, absl::StrCat(emitted, "\n"))) return emitted;
  // An aggregate with non-emittable members: its full message joins them all.
  return std::string(full);
}

// Go's Duration.Round(time.Millisecond): halves round away from zero.
absl::Duration RoundToMillisecond(absl::Duration d) {
  constexpr int64_t kMs = 1000000;
  int64_t ns = absl::ToInt64Nanoseconds(d);
  const int64_t sign = ns < 0 ? -1 : 1;
  int64_t magnitude = ns * sign;
  const int64_t rest = magnitude % kMs;
  magnitude -= rest;
  if (rest * 2 >= kMs) magnitude += kMs;
  return absl::Nanoseconds(magnitude * sign);
}

// Diego's healthCheckStep. Diego measures the elapsed time with the real
// time.Now(); here with the injected clock. Diego keeps `startTimeout`
// unused in this step (the startup check itself carries the timeout:
// EventuallySucceeds' timeout, or the healthcheck binary's
// -startup-timeout), and so does this step.
class HealthCheckStep final : public Step {
 public:
  HealthCheckStep(StepPtr startup, StepPtr liveness, std::shared_ptr<LogStreamer> streamer,
                  std::shared_ptr<LogStreamer> health_streamer, Clock* clock, const Logger& logger)
      : startup_(std::move(startup)),
        liveness_(std::move(liveness)),
        streamer_(std::move(streamer)),
        health_streamer_(std::move(health_streamer)),
        clock_(clock),
        logger_(logger.Session("health-check-step")) {
    DIEGO_CHECK(streamer_ != nullptr) << "HealthCheckStep needs a streamer";
    DIEGO_CHECK(health_streamer_ != nullptr) << "HealthCheckStep needs a health streamer";
    DIEGO_CHECK(clock_ != nullptr) << "HealthCheckStep needs a clock";
  }

  absl::Status Run() override {
    if (checks_.cancelled()) return CancelledError();
    streamer_->Stdout(kStartingHealthMonitoring);
    const absl::Time started = clock_->Now();

    // A null startup check passes at once.
    absl::Status status = startup_ != nullptr ? checks_.Run(startup_) : absl::OkStatus();
    if (checks_.cancelled()) return CancelledError();
    if (!status.ok()) {
      const absl::Duration elapsed = RoundToMillisecond(clock_->Now() - started);
      const std::string text = GoErrorText(status);
      const std::string elapsed_text = healthcheck::FormatGoDuration(elapsed);
      health_streamer_->Stderr(absl::StrCat(text, "\n"));
      streamer_->Stderr(
          absl::StrCat("Failed after ", elapsed_text, ": startup health check never passed.\n"));
      logger_.Info("timed-out-before-healthy", {{"step-error", text}});
      return EmittableError(absl::StrCat("Instance never healthy after ", elapsed_text, ": ", text),
                            status);
    }

    logger_.Info("transitioned-to-healthy");
    streamer_->Stdout(kContainerBecameHealthy);
    NotifyReady();

    if (liveness_ == nullptr) {
      // Nothing to watch: stay healthy until cancelled.
      checks_.notification()->WaitForNotification();
      return CancelledError();
    }
    status = checks_.Run(liveness_);
    if (checks_.cancelled()) return CancelledError();
    // Diego dereferences the liveness error unconditionally (a nil error
    // would panic); a liveness check that exits OK is reported as unhealthy
    // with an empty reason.
    const std::string text = GoErrorText(status);
    logger_.Info("transitioned-to-unhealthy");
    health_streamer_->Stderr(absl::StrCat(text, "\n"));
    streamer_->Stderr(kContainerBecameUnhealthy);
    return EmittableError(absl::StrCat("Instance became unhealthy: ", text), status);
  }

  void Cancel() override { checks_.Cancel(); }

 private:
  std::shared_ptr<Step> startup_;
  std::shared_ptr<Step> liveness_;
  std::shared_ptr<LogStreamer> streamer_;
  std::shared_ptr<LogStreamer> health_streamer_;
  Clock* const clock_;
  Logger logger_;
  CheckRunner checks_;
};

// Diego's readinessHealthCheckStep. Diego sends on a channel (selecting
// against the signal) and then prints; here `on_change` is called (unless
// cancelled by then) and then the line is printed.
class ReadinessHealthCheckStep final : public Step {
 public:
  ReadinessHealthCheckStep(StepFactory until_ready, StepFactory until_failure,
                           std::function<void(Readiness)> on_change,
                           std::shared_ptr<LogStreamer> streamer, const Logger& logger)
      : until_ready_(std::move(until_ready)),
        until_failure_(std::move(until_failure)),
        on_change_(std::move(on_change)),
        streamer_(std::move(streamer)),
        logger_(logger) {
    DIEGO_CHECK(until_ready_ != nullptr) << "ReadinessHealthCheckStep needs until_ready";
    DIEGO_CHECK(until_failure_ != nullptr) << "ReadinessHealthCheckStep needs until_failure";
    DIEGO_CHECK(streamer_ != nullptr) << "ReadinessHealthCheckStep needs a streamer";
  }

  absl::Status Run() override {
    if (checks_.cancelled()) return CancelledError();
    streamer_->Stdout(kStartingReadinessMonitoring);
    NotifyReady();
    while (true) {
      absl::Status status = checks_.Run(std::shared_ptr<Step>(until_ready_()));
      if (checks_.cancelled()) return CancelledError();
      if (!status.ok()) {
        streamer_->Stdout(kReadinessCheckFailedToRun);
        return status;
      }
      logger_.Info("transitioned-to-ready");
      if (checks_.cancelled()) return CancelledError();
      if (on_change_) on_change_(Readiness::kReady);
      streamer_->Stdout(kPassedReadiness);

      status = checks_.Run(std::shared_ptr<Step>(until_failure_()));
      if (checks_.cancelled()) return CancelledError();
      if (status.ok()) {
        // Diego logs this and starts over with the until-ready check.
        logger_.Error("unexpected-until-failure-check-result");
        continue;
      }
      logger_.Info("transitioned-to-not-ready");
      if (checks_.cancelled()) return CancelledError();
      if (on_change_) on_change_(Readiness::kNotReady);
      streamer_->Stdout(kFailedReadiness);
    }
  }

  void Cancel() override { checks_.Cancel(); }

 private:
  const StepFactory until_ready_;
  const StepFactory until_failure_;
  const std::function<void(Readiness)> on_change_;
  std::shared_ptr<LogStreamer> streamer_;
  Logger logger_;
  CheckRunner checks_;
};

}  // namespace

StepPtr NewHealthCheckStep(StepPtr startup, StepPtr liveness, std::shared_ptr<LogStreamer> streamer,
                           std::shared_ptr<LogStreamer> health_streamer,
                           absl::Duration start_timeout, Clock* clock, const Logger& logger) {
  (void)start_timeout;  // See HealthCheckStep: the startup check carries it.
  return std::make_unique<HealthCheckStep>(std::move(startup), std::move(liveness),
                                           std::move(streamer), std::move(health_streamer), clock,
                                           logger);
}

StepPtr NewReadinessHealthCheckStep(StepFactory until_ready, StepFactory until_failure,
                                    std::function<void(Readiness)> on_change,
                                    std::shared_ptr<LogStreamer> streamer, const Logger& logger) {
  return std::make_unique<ReadinessHealthCheckStep>(std::move(until_ready),
                                                    std::move(until_failure), std::move(on_change),
                                                    std::move(streamer), logger);
}

}  // namespace diego::actions
