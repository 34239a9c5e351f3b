// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: transformer.h
// -----------------------------------------------------------------------------
//
// Builds a container's whole step tree from a Task or a DesiredLRP instance
// (Diego's executor/depot/transformer; diego-spec.md 2.3 and 2.4).
//
//   RunInfo            what the executor keeps of a Task / DesiredLRP for one
//                      container (setup, action, monitor, check_definition,
//                      sidecars, start timeout, log config).
//   RunInfoFromTask / RunInfoFromDesiredLrp
//                      the rep's conversion (cached dependencies and image
//                      layers become download actions in front of setup, as
//                      Diego's rep does).
//   Transformer::Build the tree:
//     Serial(Timed(setup)?, post-setup hook?, long-lived), where
//     long-lived = action alone when it is the only step, else
//     Codependent(action, sidecars..., health, readiness;
//                 error_on_exit=false, cancel_others_on_exit = sidecars present).
//     Health: check_definition (declarative, 2.4) if it has checks; else the
//     legacy monitor (2.2 Monitor); else none. Readiness checks add a
//     ReadinessHealthCheck step. Tasks have no health steps.
//
// Declarative checks run in one of two ways:
//   * `options.checker` set (the default for libdiego cells): in-process,
//     probing <container IP>:<port> from the cell through the
//     MultiplexedChecker with the healthcheck library's loops (same messages
//     and exit codes as the binary; no process per check, goal G5);
//   * `options.checker` null: Diego's way, the `healthcheck` binary run as a
//     process in the container with the flags of 2.4, bind-mounted from
//     `options.healthcheck_host_dir`, output captured as the error.
//
// Not built (documented in docs/diego-mapping.md): the Envoy proxy sidecar
// and its startup checks, volume mounts, image-layer (OCI) rootfs setup.

#ifndef DIEGO_ACTIONS_TRANSFORMER_H_
#define DIEGO_ACTIONS_TRANSFORMER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "diego/actions/download.h"
#include "diego/actions/log_streamer.h"
#include "diego/actions/semaphore.h"
#include "diego/actions/step.h"
#include "diego/actions/steps.h"
#include "diego/actions/upload.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/garden/client.h"
#include "diego/healthcheck/checker.h"
#include "diego/model/v1/check_definition.pb.h"
#include "diego/model/v1/desired_lrp.pb.h"
#include "diego/model/v1/sidecar.pb.h"
#include "diego/model/v1/task.pb.h"

namespace diego::actions {

struct RunInfo {
  std::optional<model::v1::Action> setup;
  model::v1::Action action;
  std::optional<model::v1::Action> monitor;
  std::optional<model::v1::CheckDefinition> check_definition;
  std::vector<model::v1::Sidecar> sidecars;
  absl::Duration start_timeout = absl::ZeroDuration();  // 0 = unbounded
  LogConfig log_config;
  bool is_task = false;
};

// Task: action only (+ cached dependencies / image layers as setup
// downloads), log source from the task (default "LOG"? as Diego), guid =
// log_guid, index 0, log_rate_limit.
absl::StatusOr<RunInfo> RunInfoFromTask(const model::v1::Task& task);
// LRP instance `index`.
absl::StatusOr<RunInfo> RunInfoFromDesiredLrp(const model::v1::DesiredLRP& lrp, int index);

struct TransformerOptions {
  Clock* clock = nullptr;            // required
  AppLogSink* log_sink = nullptr;    // required
  Logger logger;
  CachedDownloader* downloader = nullptr;   // required for download actions
  Uploader* uploader = nullptr;             // required for upload actions
  Semaphore* download_limiter = nullptr;    // required (5 in Diego)
  Semaphore* upload_limiter = nullptr;      // required (5)
  Semaphore* healthcheck_pool = nullptr;    // required (64)
  std::string temp_dir = "/tmp";            // upload temp files
  StepMetrics* metrics = nullptr;           // may be null

  absl::Duration healthy_monitoring_interval = absl::Seconds(30);
  absl::Duration unhealthy_monitoring_interval = absl::Seconds(2);
  absl::Duration graceful_shutdown_interval = absl::Seconds(10);
  absl::Duration declarative_healthcheck_default_timeout = absl::Seconds(1);
  bool emit_liveness_failure_metrics = false;

  // Optional post-setup hook (operator-configured), run as `user` with no logs.
  std::optional<model::v1::RunAction> post_setup_hook;

  // In-process declarative checks (see above); not owned; may be null.
  healthcheck::MultiplexedChecker* checker = nullptr;
  // Diego's way: the binary's path inside the container and the host
  // directory bind-mounted there.
  std::string healthcheck_path = "/etc/cf-assets/healthcheck/healthcheck";
  std::string healthcheck_host_dir;
};

// The built tree and the container's streamer (the caller flushes it when
// the tree returns).
struct ContainerSteps {
  StepPtr step;
  std::shared_ptr<ContainerLogStreamer> log_streamer;
};

class Transformer {
 public:
  explicit Transformer(TransformerOptions options);

  // `container` is not owned and must outlive the returned step. Its Info()
  // gives the IPs and port mappings for CF_INSTANCE_* and for in-process
  // checks. `on_readiness` (may be null) receives readiness changes.
  absl::StatusOr<ContainerSteps> Build(const RunInfo& info, garden::Container* container,
                                       std::function<void(Readiness)> on_readiness = nullptr);

  // The step of one model action (used by Build; public for embedders and
  // tests). `streamer` is the parent's streamer; an action's log_source
  // overrides it for the action and its children.
  absl::StatusOr<StepPtr> StepForAction(const model::v1::Action& action,
                                        garden::Container* container,
                                        const garden::ContainerInfo& info,
                                        std::shared_ptr<LogStreamer> streamer);

  const TransformerOptions& options() const { return options_; }

 private:
  TransformerOptions options_;
};

}  // namespace diego::actions

#endif  // DIEGO_ACTIONS_TRANSFORMER_H_
