// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: check_steps.h (private to libdiego-actions)
// -----------------------------------------------------------------------------
//
// The steps of one declarative check (diego-spec.md 2.4, 7.2), in the two
// ways the transformer can run them:
//
//   NewBinaryCheckStep     Diego's way (executor depot/transformer
//                          createCheck): a run step of the `healthcheck`
//                          binary inside the container as a sidecar process
//                          (bind mount of the binary's host directory, no
//                          container limits, nofile 1024), log source of the
//                          check definition, no exit-status texts, its
//                          stdout+stderr captured and turned into the error by
//                          an OutputWrapper step.
//   NewInProcessCheckStep  libdiego's way: the same loop (startup / liveness /
//                          until-ready / readiness) of the healthcheck library
//                          run on the cell against <container IP>:<port>
//                          through a MultiplexedChecker. Its failure is
//                          EmittableError(<the text the binary would print>),
//                          e.g. "Liveness check unsuccessful: failed to make
//                          TCP connection to 10.0.0.2:8080: connection
//                          refused", so crash reasons read the same either way.
//
// `HealthcheckArgs` formats the binary's flags exactly as Diego does:
//   -port=<P> -timeout=<ms>ms [-uri=<path>] then, by kind,
//   startup:     -startup-interval=<d> -startup-timeout=<d>
//   liveness:    -liveness-interval=<d>
//   until-ready: -until-ready-interval=<d>
//   readiness:   -readiness-interval=<d>
// where <d> is Go's time.Duration.String() ("2s", "1m0s", "500ms", "0s";
// healthcheck::FormatGoDuration).

#ifndef DIEGO_ACTIONS_SRC_CHECK_STEPS_H_
#define DIEGO_ACTIONS_SRC_CHECK_STEPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "diego/actions/step.h"
#include "diego/actions/steps.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/garden/client.h"
#include "diego/healthcheck/checker.h"

namespace diego::actions_internal {

// Which loop of the healthcheck binary a check step runs.
enum class CheckKind { kStartup, kLiveness, kUntilReady, kReadiness };

// One check with the transformer's defaults already applied.
struct CheckSpec {
  CheckKind kind = CheckKind::kLiveness;
  bool http = false;
  uint16_t port = 0;
  std::string path;           // HTTP only ("/" by default)
  int64_t timeout_ms = 1000;  // per probe (-timeout)
  absl::Duration interval = absl::Seconds(30);
  absl::Duration start_timeout = absl::ZeroDuration();  // startup only; 0 = none
};

// The binary's arguments for `spec` (see the file comment).
std::vector<std::string> HealthcheckArgs(const CheckSpec& spec);

// What a binary check's run step needs besides the check.
struct BinaryCheckOptions {
  std::string healthcheck_path;      // inside the container
  std::string healthcheck_host_dir;  // bind-mounted at dirname(path); "" = none
  std::string log_source;            // check_definition.log_source or HEALTH
  Clock* clock = nullptr;
  Logger logger;
  std::string external_ip;
  std::string internal_ip;
  std::string internal_ipv6;
  std::vector<garden::PortMapping> port_mappings;
  absl::Duration graceful_shutdown_interval = absl::Seconds(10);
};

// Diego's createCheck: OutputWrapper(Run(healthcheck <args>)). `container`
// is not owned and must outlive the step.
actions::StepPtr NewBinaryCheckStep(const CheckSpec& spec, garden::Container* container,
                                    const BinaryCheckOptions& options);

// The in-process check: runs the healthcheck library loop of `spec.kind`
// over `checker->NewProber({container_ip, port, path})` on `clock`. Ready
// when the loop starts. Cancel stops the loop between probes (a probe in
// flight finishes within its timeout) and Run returns CancelledError().
// `checker` and `clock` are not owned and must outlive the step.
actions::StepPtr NewInProcessCheckStep(const CheckSpec& spec,
                                       healthcheck::MultiplexedChecker* checker,
                                       std::string container_ip, Clock* clock);

}  // namespace diego::actions_internal

#endif  // DIEGO_ACTIONS_SRC_CHECK_STEPS_H_
