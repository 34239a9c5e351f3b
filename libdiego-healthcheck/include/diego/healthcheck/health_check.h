// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: health_check.h
// -----------------------------------------------------------------------------
//
// The loops of Diego's `healthcheck` binary (diego-spec.md 7.1), on an
// injected clock and a `Prober`, so the binary, the executor's in-process
// check steps and the tests share one implementation.
//
// Modes, checked in this order by `RunHealthCheck`:
//   startup      startup_interval > 0: probe at once, then every interval,
//                until a probe passes (-> Ok). With startup_timeout > 0, when
//                the time since the start exceeds it, fail with the last
//                probe's code and
//                "Timed out after <startup_timeout> (<n> attempts) waiting for startup check to succeed: <last message>"
//                (<startup_timeout> in Go's Duration.String(), e.g. "1m0s").
//                Probes start on the ticks start + k*interval of Go's
//                ticker: after a probe slower than the interval the next
//                starts at once and the overrun ticks are dropped.
//   liveness     liveness_interval > 0: probe, sleep interval, repeat (as
//                Go's time.Sleep loop) while probes pass;
//                the first failure ends the loop with its code and
//                "Liveness check unsuccessful: <message>".
//   readiness    readiness_interval > 0: as liveness, prefix
//                "Readiness check unsuccessful: ".
//   until-ready  until_ready_interval > 0: probe every interval until one
//                passes (-> Ok); failures are not reported.
//   none         one probe, its result as is.
// When more than one interval is set, the first mode in that order wins (as
// in the binary). A loop called directly with a non-positive interval does a
// single probe.
//
// Cancellation: `cancelled` (may be null) stops any loop between probes; the
// result is then `Cancelled()` (exit code kExitUnknown, message "cancelled").
// Timing uses only `clock` (Now / SleepUntil), so a FakeClock drives it.

#ifndef DIEGO_HEALTHCHECK_HEALTH_CHECK_H_
#define DIEGO_HEALTHCHECK_HEALTH_CHECK_H_

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/healthcheck/prober.h"

namespace diego::healthcheck {

struct HealthCheckConfig {
  absl::Duration timeout = absl::Seconds(1);  // per probe (-timeout)
  absl::Duration startup_interval = absl::ZeroDuration();
  absl::Duration startup_timeout = absl::Seconds(60);  // 0 = unbounded
  absl::Duration liveness_interval = absl::ZeroDuration();
  absl::Duration readiness_interval = absl::ZeroDuration();
  absl::Duration until_ready_interval = absl::ZeroDuration();
};

// The result of a loop stopped by `cancelled`.
ProbeResult CancelledResult();

ProbeResult RunStartup(Prober& prober, Clock& clock, absl::Duration timeout,
                       absl::Duration interval, absl::Duration startup_timeout,
                       absl::Notification* cancelled);
ProbeResult RunLiveness(Prober& prober, Clock& clock, absl::Duration timeout,
                        absl::Duration interval, absl::Notification* cancelled);
ProbeResult RunReadiness(Prober& prober, Clock& clock, absl::Duration timeout,
                         absl::Duration interval, absl::Notification* cancelled);
ProbeResult RunUntilReady(Prober& prober, Clock& clock, absl::Duration timeout,
                          absl::Duration interval, absl::Notification* cancelled);

// Picks the mode from `config` (order above) and runs it.
ProbeResult RunHealthCheck(const HealthCheckConfig& config, Prober& prober, Clock& clock,
                           absl::Notification* cancelled);

}  // namespace diego::healthcheck

#endif  // DIEGO_HEALTHCHECK_HEALTH_CHECK_H_
