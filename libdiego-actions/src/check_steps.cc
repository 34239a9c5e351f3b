// Copyright 2026 The libdiego Authors.
//
// The steps of one declarative check; see check_steps.h.

#include "check_steps.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "diego/actions/errors.h"
#include "diego/actions/log_streamer.h"
#include "diego/healthcheck/health_check.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/healthcheck/prober.h"
#include "diego/model/v1/actions.pb.h"

namespace diego::actions_internal {
namespace {

// Diego's healthCheckNofiles.
constexpr uint64_t kHealthCheckNofile = 1024;

// The directory part of an absolute path ("/a/b/c" -> "/a/b", "/c" -> "/").
std::string Dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The in-process check (see NewInProcessCheckStep).
class InProcessCheckStep final : public actions::Step {
 public:
  InProcessCheckStep(CheckSpec spec, healthcheck::MultiplexedChecker* checker,
                     std::string container_ip, Clock* clock)
      : spec_(std::move(spec)),
        checker_(checker),
        container_ip_(std::move(container_ip)),
        clock_(clock) {}

  absl::Status Run() override {
    if (cancel_.cancelled()) return actions::CancelledError();
    healthcheck::ProbeTarget target;
    target.ip = container_ip_;
    target.port = spec_.port;
    if (spec_.http) target.path = spec_.path;
    std::unique_ptr<healthcheck::Prober> prober = checker_->NewProber(target);
    NotifyReady();

    const absl::Duration timeout = absl::Milliseconds(spec_.timeout_ms);
    absl::Notification* cancelled = cancel_.notification();
    healthcheck::ProbeResult result;
    switch (spec_.kind) {
      case CheckKind::kStartup:
        result = healthcheck::RunStartup(*prober, *clock_, timeout, spec_.interval,
                                         spec_.start_timeout, cancelled);
        break;
      case CheckKind::kLiveness:
        result = healthcheck::RunLiveness(*prober, *clock_, timeout, spec_.interval, cancelled);
        break;
      case CheckKind::kUntilReady:
        result = healthcheck::RunUntilReady(*prober, *clock_, timeout, spec_.interval, cancelled);
        break;
      case CheckKind::kReadiness:
        result = healthcheck::RunReadiness(*prober, *clock_, timeout, spec_.interval, cancelled);
        break;
    }
    // A cancelled check reports the cancel, like a signalled binary's run step.
    if (cancel_.cancelled()) return actions::CancelledError();
    if (result.ok()) return absl::OkStatus();
    return actions::EmittableError(result.message);
  }

  void Cancel() override { cancel_.Cancel(); }

 private:
  const CheckSpec spec_;
  healthcheck::MultiplexedChecker* const checker_;
  const std::string container_ip_;
  Clock* const clock_;
  actions::CancelSignal cancel_;
};

}  // namespace

std::vector<std::string> HealthcheckArgs(const CheckSpec& spec) {
  std::vector<std::string> args = {
      absl::StrCat("-port=", spec.port),
      absl::StrCat("-timeout=", spec.timeout_ms, "ms"),
  };
  if (spec.http) args.push_back(absl::StrCat("-uri=", spec.path));
  switch (spec.kind) {
    case CheckKind::kStartup:
      args.push_back(
          absl::StrCat("-startup-interval=", healthcheck::FormatGoDuration(spec.interval)));
      args.push_back(
          absl::StrCat("-startup-timeout=", healthcheck::FormatGoDuration(spec.start_timeout)));
      break;
    case CheckKind::kLiveness:
      args.push_back(
          absl::StrCat("-liveness-interval=", healthcheck::FormatGoDuration(spec.interval)));
      break;
    case CheckKind::kUntilReady:
      args.push_back(
          absl::StrCat("-until-ready-interval=", healthcheck::FormatGoDuration(spec.interval)));
      break;
    case CheckKind::kReadiness:
      args.push_back(
          absl::StrCat("-readiness-interval=", healthcheck::FormatGoDuration(spec.interval)));
      break;
  }
  return args;
}

actions::StepPtr NewBinaryCheckStep(const CheckSpec& spec, garden::Container* container,
                                    const BinaryCheckOptions& options) {
  model::v1::RunAction run;
  run.set_path(options.healthcheck_path);
  for (std::string& arg : HealthcheckArgs(spec)) run.add_args(std::move(arg));
  run.set_log_source(options.log_source);
  run.mutable_resource_limits()->set_nofile(kHealthCheckNofile);

  // Stdout and stderr both land in the buffer (Diego's
  // NewBufferStreamer(buffer, buffer)); nothing reaches the app's logs.
  std::shared_ptr<actions::BufferLogStreamer> buffer =
      actions::NewBufferLogStreamer(options.log_source);
  actions::RunStepOptions run_options{
      .streamer = buffer,
      .clock = options.clock,
      .logger = options.logger,
      .external_ip = options.external_ip,
      .internal_ip = options.internal_ip,
      .internal_ipv6 = options.internal_ipv6,
      .port_mappings = options.port_mappings,
      .graceful_shutdown_interval = options.graceful_shutdown_interval,
      .suppress_exit_status_message = true,
  };
  if (!options.healthcheck_host_dir.empty()) {
    run_options.sidecar_bind_mounts.push_back(garden::BindMount{
        .src_path = options.healthcheck_host_dir,
        .dst_path = Dirname(options.healthcheck_path),
        .mode = garden::BindMountMode::kReadOnly,
        .origin = garden::BindMountOrigin::kHost,
    });
  }
  actions::StepPtr run_step = actions::NewRunStep(container, run, std::move(run_options));
  return actions::NewOutputWrapperStep(std::move(run_step), "", std::move(buffer));
}

actions::StepPtr NewInProcessCheckStep(const CheckSpec& spec,
                                       healthcheck::MultiplexedChecker* checker,
                                       std::string container_ip, Clock* clock) {
  return std::make_unique<InProcessCheckStep>(spec, checker, std::move(container_ip), clock);
}

}  // namespace diego::actions_internal
