// Copyright 2026 The libdiego Authors.
//
// The loops of Diego's cmd/healthcheck/main.go on an injected clock.
//
// Startup mirrors Go's ticker + timer: probes start at `start` and then on
// ticks at start + k*interval; a probe slower than the interval is followed
// at once by the next (the ticker's one buffered tick) and the ticks it
// overran are dropped. The startup timer starts with the loop; when it fires
// while waiting for a tick (it wins a tie: Go creates it first) the loop
// fails with the last probe's result. A blocking probe cannot be preempted,
// so a timer that fires during a probe is noticed when the probe returns and
// reports that probe's result (Go reports the previous one).
//
// Liveness, readiness and until-ready sleep `interval` after each probe, as
// Go's time.Sleep loops do.

#include "diego/healthcheck/health_check.h"

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/healthcheck/prober.h"

namespace diego::healthcheck {
namespace {

bool IsCancelled(absl::Notification* cancelled) {
  return cancelled != nullptr && cancelled->HasBeenNotified();
}

ProbeResult StartupTimedOut(const ProbeResult& last, absl::Duration startup_timeout, int attempts) {
  return {last.exit_code,
          absl::StrCat("Timed out after ", FormatGoDuration(startup_timeout), " (", attempts,
                       " attempts) waiting for startup check to succeed: ", last.message)};
}

// One probe, unless already cancelled. The loops fall back to it for a
// non-positive interval (where Go's ticker would panic and its sleep loop
// would spin).
ProbeResult SingleProbe(Prober& prober, absl::Duration timeout, absl::Notification* cancelled) {
  if (IsCancelled(cancelled)) return CancelledResult();
  return prober.Probe(timeout);
}

// Probes every `interval` (sleeping after each probe) while probes pass; the
// first failure is returned with `prefix` before its message.
ProbeResult RunUntilFailure(Prober& prober, Clock& clock, absl::Duration timeout,
                            absl::Duration interval, absl::Notification* cancelled,
                            absl::string_view prefix) {
  if (interval <= absl::ZeroDuration()) return SingleProbe(prober, timeout, cancelled);
  for (;;) {
    if (IsCancelled(cancelled)) return CancelledResult();
    ProbeResult result = prober.Probe(timeout);
    if (!result.ok()) return {result.exit_code, absl::StrCat(prefix, result.message)};
    if (!clock.SleepUntil(clock.Now() + interval, cancelled)) return CancelledResult();
  }
}

}  // namespace

ProbeResult CancelledResult() { return {kExitUnknown, "cancelled"}; }

ProbeResult RunStartup(Prober& prober, Clock& clock, absl::Duration timeout,
                       absl::Duration interval, absl::Duration startup_timeout,
                       absl::Notification* cancelled) {
  if (interval <= absl::ZeroDuration()) return SingleProbe(prober, timeout, cancelled);
  const absl::Time start = clock.Now();
  const bool bounded = startup_timeout > absl::ZeroDuration();
  const absl::Time deadline = start + startup_timeout;
  absl::Time next_tick = start + interval;
  for (int attempt = 1;; ++attempt) {
    if (IsCancelled(cancelled)) return CancelledResult();
    ProbeResult result = prober.Probe(timeout);
    if (result.ok()) return ProbeResult::Ok();
    absl::Time now = clock.Now();
    if (bounded && now >= deadline) return StartupTimedOut(result, startup_timeout, attempt);
    if (now >= next_tick) {
      // A tick is already waiting: go at once; later ticks it overran are lost.
      absl::Duration remainder;
      int64_t ticks = absl::IDivDuration(now - start, interval, &remainder);
      next_tick = start + (ticks + 1) * interval;
      continue;
    }
    if (bounded && deadline <= next_tick) {
      if (!clock.SleepUntil(deadline, cancelled)) return CancelledResult();
      return StartupTimedOut(result, startup_timeout, attempt);
    }
    if (!clock.SleepUntil(next_tick, cancelled)) return CancelledResult();
    next_tick += interval;
  }
}

ProbeResult RunLiveness(Prober& prober, Clock& clock, absl::Duration timeout,
                        absl::Duration interval, absl::Notification* cancelled) {
  return RunUntilFailure(prober, clock, timeout, interval, cancelled,
                         "Liveness check unsuccessful: ");
}

ProbeResult RunReadiness(Prober& prober, Clock& clock, absl::Duration timeout,
                         absl::Duration interval, absl::Notification* cancelled) {
  return RunUntilFailure(prober, clock, timeout, interval, cancelled,
                         "Readiness check unsuccessful: ");
}

ProbeResult RunUntilReady(Prober& prober, Clock& clock, absl::Duration timeout,
                          absl::Duration interval, absl::Notification* cancelled) {
  if (interval <= absl::ZeroDuration()) return SingleProbe(prober, timeout, cancelled);
  for (;;) {
    if (IsCancelled(cancelled)) return CancelledResult();
    if (prober.Probe(timeout).ok()) return ProbeResult::Ok();
    if (!clock.SleepUntil(clock.Now() + interval, cancelled)) return CancelledResult();
  }
}

ProbeResult RunHealthCheck(const HealthCheckConfig& config, Prober& prober, Clock& clock,
                           absl::Notification* cancelled) {
  const absl::Duration zero = absl::ZeroDuration();
  if (config.startup_interval > zero) {
    return RunStartup(prober, clock, config.timeout, config.startup_interval,
                      config.startup_timeout, cancelled);
  }
  if (config.liveness_interval > zero) {
    return RunLiveness(prober, clock, config.timeout, config.liveness_interval, cancelled);
  }
  if (config.readiness_interval > zero) {
    return RunReadiness(prober, clock, config.timeout, config.readiness_interval, cancelled);
  }
  if (config.until_ready_interval > zero) {
    return RunUntilReady(prober, clock, config.timeout, config.until_ready_interval, cancelled);
  }
  return SingleProbe(prober, config.timeout, cancelled);
}

}  // namespace diego::healthcheck
