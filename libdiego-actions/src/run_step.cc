// Copyright 2026 The libdiego Authors.
//
// Diego's RunStep (executor depot/steps/run_step.go): runs one process in the
// container, streams its output, reports its exit, and stops it on cancel
// with SIGTERM, then SIGKILL after the graceful shutdown interval.
//
// Threading: Run() starts the process, then one waiter thread blocks in
// `Process::Wait(InfiniteFuture)` and records the result in `Shared`. Run()
// itself waits (under `Shared::mu`) for "exited or cancelled"; once cancelled
// it waits for the exit on the injected clock (`Clock::SleepUntil` with the
// exit notification as cancellation), so a FakeClock drives the graceful
// interval and the exit timeout.
//
// When the process never exits Run() returns "process did not exit" with the
// waiter still blocked. The waiter cannot wait in slices (Wait with short
// deadlines): Garden backends disagree on the deadline's clock (LinuxBackend
// and the HTTP client use real time, the fake uses its clock, where a slicing
// waiter would be a permanent FakeClock sleeper). So the waiter waits without
// a deadline and touches only what it co-owns (`Shared` and the process
// handle, both shared_ptr): the destructor re-sends SIGKILL, waits up to the
// exit timeout on the clock for the waiter, joins it if it finished and
// otherwise detaches it. Destruction therefore never blocks for long; a
// detached waiter ends when the backend finally reports the exit (or loses
// the process) and then only drops its references. The backend must outlive
// its process handles, as for any handle.
//
// Deviations from Diego, on purpose:
//   * Partial output lines are flushed *before* "Exit status N" is written,
//     so that text is always a line of its own (Diego appends it to a pending
//     partial stdout line).
//   * A cancel that arrives while Garden is still creating the process does
//     not abandon the process (Diego returns at once and leaves it running):
//     the step is not marked ready and the process is stopped as on any
//     cancel (SIGTERM, graceful interval, SIGKILL).
//   * When SIGKILL is needed, the line "Process did not exit within <d>
//     graceful shutdown interval, sending SIGKILL" is written to stdout with
//     source CELL (user-expectations pain point 9), unless log output or the
//     exit-status message is suppressed. Diego only logs it on the cell.
//   * CF_INSTANCE_PORTS carries no *_tls_proxy fields: garden::PortMapping has
//     no TLS proxy ports.

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/actions/errors.h"
#include "diego/actions/log_streamer.h"
#include "diego/actions/steps.h"
#include "diego/healthcheck/probe_result.h"

namespace diego::actions {
namespace {

constexpr char kOutOfMemoryEvent[] = "out of memory";
constexpr char kOutOfMemoryEventCapitalized[] = "Out of memory";

// Diego's ExitTimeoutError.
absl::Status ExitTimeoutError() { return absl::DeadlineExceededError("process did not exit"); }

// Go's json.Marshal of run_step.go's cfPortMapping list (no spaces;
// "external" omitted when 0).
std::string PortMappingsJson(const std::vector<garden::PortMapping>& mappings) {
  std::string json = "[";
  for (size_t i = 0; i < mappings.size(); ++i) {
    if (i > 0) json += ",";
    json += "{";
    if (mappings[i].host_port != 0) absl::StrAppend(&json, "\"external\":", mappings[i].host_port, ",");
    absl::StrAppend(&json, "\"internal\":", mappings[i].container_port, "}");
  }
  json += "]";
  return json;
}

class RunStep final : public Step {
 public:
  RunStep(garden::Container* container, model::v1::RunAction action, RunStepOptions options)
      : container_(container),
        action_(std::move(action)),
        options_(std::move(options)),
        logger_(options_.logger.Session("run-step")) {}

  ~RunStep() override;

  absl::Status Run() override;

  void Cancel() override {
    absl::MutexLock lock(&shared_->mu);
    shared_->cancelled = true;
  }

 private:
  std::vector<std::string> Env() const;
  garden::ProcessSpec MakeSpec() const;
  // Diego's writeToStdOut: message then flush, unless output is suppressed.
  void WriteToStdout(absl::string_view message);
  // Reports the exit (Diego's exitStatusChan case) and returns the result.
  absl::Status Exited(int exit_status, bool cancelled, bool killed, const Logger& logger);
  // The waiter's result, once exited; joins the waiter.
  absl::StatusOr<int> TakeWaitResult();

  // What the step shares with its waiter thread (which may outlive it).
  struct Shared {
    absl::Mutex mu;
    bool cancelled ABSL_GUARDED_BY(mu) = false;
    bool exited ABSL_GUARDED_BY(mu) = false;
    absl::StatusOr<int> wait_result ABSL_GUARDED_BY(mu);
    absl::Notification exited_note;  // notified with `exited` set
  };

  garden::Container* const container_;
  const model::v1::RunAction action_;
  const RunStepOptions options_;
  const Logger logger_;

  const std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::shared_ptr<garden::Process> process_;
  std::thread waiter_;
};

RunStep::~RunStep() {
  if (!waiter_.joinable()) return;
  if (!shared_->exited_note.HasBeenNotified()) {
    // Only after "process did not exit": try SIGKILL once more and give the
    // process the exit timeout, then leave the waiter behind.
    if (absl::Status s = process_->Signal(garden::Signal::kKill); !s.ok()) {
      logger_.Error("destroy-signalling-kill-failed", s);
    }
    Clock* const clock = options_.clock;
    clock->SleepUntil(clock->Now() + options_.exit_timeout, &shared_->exited_note);
  }
  if (shared_->exited_note.HasBeenNotified()) {
    waiter_.join();
  } else {
    logger_.Error("abandoning-process-waiter", {{"process", process_->Id()}});
    waiter_.detach();
  }
}

std::vector<std::string> RunStep::Env() const {
  std::vector<std::string> env;
  for (const auto& var : action_.env()) env.push_back(absl::StrCat(var.name(), "=", var.value()));
  env.push_back("CF_INSTANCE_IP=" + options_.external_ip);
  env.push_back("CF_INSTANCE_INTERNAL_IP=" + options_.internal_ip);
  if (!options_.internal_ipv6.empty()) {
    env.push_back("CF_INSTANCE_INTERNAL_IPV6=" + options_.internal_ipv6);
  }
  const std::vector<garden::PortMapping>& ports = options_.port_mappings;
  if (!ports.empty()) {
    if (ports[0].host_port > 0) {
      env.push_back(absl::StrCat("CF_INSTANCE_PORT=", ports[0].host_port));
      env.push_back(absl::StrCat("CF_INSTANCE_ADDR=", options_.external_ip, ":", ports[0].host_port));
    }
    env.push_back("CF_INSTANCE_PORTS=" + PortMappingsJson(ports));
  } else {
    env.push_back("CF_INSTANCE_PORT=");
    env.push_back("CF_INSTANCE_ADDR=");
    env.push_back("CF_INSTANCE_PORTS=[]");
  }
  return env;
}

garden::ProcessSpec RunStep::MakeSpec() const {
  garden::ProcessSpec spec;
  spec.path = action_.path();
  spec.args.assign(action_.args().begin(), action_.args().end());
  spec.dir = action_.dir();
  spec.env = Env();
  spec.user = action_.user();
  if (action_.has_resource_limits() && action_.resource_limits().has_nofile()) {
    spec.rlimits.nofile = action_.resource_limits().nofile();
  }
  spec.bind_mounts = options_.sidecar_bind_mounts;
  return spec;
}

void RunStep::WriteToStdout(absl::string_view message) {
  if (action_.suppress_log_output()) return;
  options_.streamer->Flush();
  options_.streamer->Stdout(message);
  options_.streamer->Flush();
}

absl::StatusOr<int> RunStep::TakeWaitResult() {
  if (waiter_.joinable()) waiter_.join();
  absl::MutexLock lock(&shared_->mu);
  return shared_->wait_result;
}

absl::Status RunStep::Run() {
  if (options_.streamer == nullptr || options_.clock == nullptr) {
    return absl::InvalidArgumentError("run step: options.streamer and options.clock are required");
  }
  Clock* const clock = options_.clock;
  logger_.Info("running");

  {
    absl::MutexLock lock(&shared_->mu);
    if (shared_->cancelled) {
      logger_.Info("cancelled-before-creating-process");
      return CancelledError();
    }
  }

  logger_.Debug("creating-process");
  garden::ProcessIO io;
  if (!action_.suppress_log_output()) {
    std::shared_ptr<LogStreamer> streamer = options_.streamer;
    io.stdout_sink = [streamer](absl::string_view chunk) { streamer->Stdout(chunk); };
    io.stderr_sink = [streamer](absl::string_view chunk) { streamer->Stderr(chunk); };
  }
  const absl::Time run_start = clock->Now();
  absl::StatusOr<std::unique_ptr<garden::Process>> process = container_->Run(MakeSpec(), io);
  if (!process.ok()) {
    logger_.Error("failed-creating-process", process.status(),
                  {{"duration", clock->Now() - run_start}});
    WriteToStdout(absl::StrCat("failed-creating-process: ", process.status().message()));
    return process.status();
  }
  process_ = std::shared_ptr<garden::Process>(*std::move(process));
  const Logger logger = logger_.WithData({{"process", process_->Id()}});
  logger.Debug("successful-process-create", {{"duration", clock->Now() - run_start}});

  // The waiter captures only what it co-owns; see the file comment.
  waiter_ = std::thread([shared = shared_, process = process_] {
    absl::StatusOr<int> result = process->Wait(absl::InfiniteFuture());
    absl::MutexLock lock(&shared->mu);
    shared->wait_result = std::move(result);
    shared->exited = true;
    shared->exited_note.Notify();
  });

  // Running: until it exits or we are cancelled.
  bool cancelled;
  {
    absl::MutexLock lock(&shared_->mu);
    cancelled = shared_->cancelled;
  }
  if (cancelled) {
    logger.Info("cancelled-before-process-creation-completed");
  } else {
    NotifyReady();
    Shared* const shared = shared_.get();
    absl::MutexLock lock(&shared->mu);
    auto exited_or_cancelled = [shared]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared->mu) {
      return shared->exited || shared->cancelled;
    };
    shared->mu.Await(absl::Condition(&exited_or_cancelled));
    // An exit that raced the cancel counts as a plain exit (as either case
    // of Diego's select may win).
    cancelled = !shared->exited;
  }

  if (!cancelled) {
    absl::StatusOr<int> status = TakeWaitResult();
    if (!status.ok()) {
      logger.Error("running-error", status.status());
      return status.status();
    }
    return Exited(*status, /*cancelled=*/false, /*killed=*/false, logger);
  }

  // Cancelled: SIGTERM, then wait out the graceful shutdown interval.
  logger.Debug("signalling-terminate");
  if (absl::Status s = process_->Signal(garden::Signal::kTerminate); !s.ok()) {
    logger.Error("signalling-terminate-failed", s);
  }
  logger.Debug("signalling-terminate-success");
  bool killed = false;
  if (clock->SleepUntil(clock->Now() + options_.graceful_shutdown_interval, &shared_->exited_note)) {
    // The interval passed first: SIGKILL, then wait ExitTimeout.
    const Logger kill_logger = logger.Session("graceful-shutdown-timeout-exceeded");
    kill_logger.Info("signalling-kill");
    if (!action_.suppress_log_output() && !options_.suppress_exit_status_message) {
      std::shared_ptr<LogStreamer> cell = options_.streamer->WithSource(kCellLogSource);
      cell->Stdout(absl::StrCat("Process did not exit within ",
                                healthcheck::FormatGoDuration(options_.graceful_shutdown_interval),
                                " graceful shutdown interval, sending SIGKILL\n"));
    }
    if (absl::Status s = process_->Signal(garden::Signal::kKill); !s.ok()) {
      kill_logger.Error("signalling-kill-failed", s);
    }
    kill_logger.Info("signalling-kill-success");
    killed = true;
    if (clock->SleepUntil(clock->Now() + options_.exit_timeout, &shared_->exited_note)) {
      logger.Error("process-did-not-exit", {{"timeout", options_.exit_timeout}});
      // The waiter stays until the process exits; see ~RunStep.
      return ExitTimeoutError();
    }
  }
  absl::StatusOr<int> status = TakeWaitResult();
  if (!status.ok()) {
    logger.Error("running-error", status.status());
    return status.status();
  }
  return Exited(*status, /*cancelled=*/true, killed, logger);
}

absl::Status RunStep::Exited(int exit_status, bool cancelled, bool killed, const Logger& logger) {
  logger.Info("process-exit", {{"exitStatus", exit_status}, {"cancelled", cancelled}});

  std::string exit_message;
  std::string emittable_message;
  if (!options_.suppress_exit_status_message) {
    exit_message = absl::StrCat("Exit status ", exit_status);
    emittable_message =
        absl::StrCat(options_.streamer->SourceName(), ": Exited with status ", exit_status);
  }
  if (killed) {
    absl::StrAppend(&exit_message, " (exceeded ",
                    healthcheck::FormatGoDuration(options_.graceful_shutdown_interval),
                    " graceful shutdown interval)");
  }
  if (exit_status != 0) {
    absl::StatusOr<garden::ContainerInfo> info = container_->Info();
    if (!info.ok()) {
      logger.Error("failed-to-get-info", info.status());
    } else {
      for (const std::string& event : info->events) {
        if (event == kOutOfMemoryEvent || event == kOutOfMemoryEventCapitalized) {
          absl::StrAppend(&exit_message, " (out of memory)");
          absl::StrAppend(&emittable_message, " (out of memory)");
          break;
        }
      }
    }
  }

  WriteToStdout(exit_message);

  if (killed) return ExceededGracefulShutdownIntervalError();
  if (cancelled) return CancelledError();
  if (exit_status != 0) {
    logger.Error("run-step-failed-with-nonzero-status-code", absl::UnknownError(exit_message),
                 {{"status-code", exit_status}});
    return EmittableError(emittable_message);
  }
  return absl::OkStatus();
}

}  // namespace

StepPtr NewRunStep(garden::Container* container, const model::v1::RunAction& action,
                   RunStepOptions options) {
  return std::make_unique<RunStep>(container, action, std::move(options));
}

}  // namespace diego::actions
