// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: checker.h
// -----------------------------------------------------------------------------
//
// `MultiplexedChecker` runs the TCP/HTTP probes of many containers from one
// thread with non-blocking sockets and epoll: no thread and no process per
// probe. This is what makes declarative checks cheap on a cell (performance
// goal G5: <= 50 us CPU per check, 1,000 checks/s on <= 5% of a core).
//
// A probe is submitted with `ProbeAsync`; the checker thread connects
// (non-blocking), for HTTP writes the GET (same request line and headers as
// `HttpProber`), reads the status line and drains the body (Content-Length,
// chunked, or until close; bounded at 1 MiB, then the connection is closed),
// and calls `done` exactly once with the same `ProbeResult` (code and
// message) the blocking prober would give. Probe deadlines use
// CLOCK_MONOTONIC (a timer wheel/heap serviced by epoll_wait's timeout), not
// an injectable clock: they bound real sockets. Timeouts <= 0 mean what they
// mean for the blocking probers (prober.h): no deadline (TCP 0, HTTP <= 0;
// such a probe takes no heap entry, HTTP connects stay bounded by 30 s), or
// an expired one (TCP < 0).
//
// `NewProber(target)` adapts the checker to the blocking `Prober` seam
// (it submits and waits), so the clock-driven loops of health_check.h run on
// the checker unchanged.
//
// Thread-safety: every method may be called from any thread, including from
// a `done` callback. Callbacks run on the checker thread and must be quick
// (they delay other probes). The destructor stops the thread; probes still in
// flight complete with `CancelledResult()`-like results (exit kExitUnknown,
// "cancelled") before it returns. Destroying the checker from one of its own
// `done` callbacks is not allowed (the thread would join itself): it is a
// DIEGO_CHECK failure.

#ifndef DIEGO_HEALTHCHECK_CHECKER_H_
#define DIEGO_HEALTHCHECK_CHECKER_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "diego/healthcheck/probe_result.h"
#include "diego/healthcheck/prober.h"

namespace diego::healthcheck {

struct CheckerStats {
  uint64_t probes_started = 0;
  uint64_t probes_passed = 0;
  uint64_t probes_failed = 0;
  uint64_t in_flight = 0;
};

class MultiplexedChecker {
 public:
  struct Options {
    // Upper bound of probes in flight; more wait in a FIFO queue (their
    // timeout starts when they start). Keeps fd use bounded.
    int max_in_flight = 1024;
  };

  // Creates the epoll instance and starts the thread.
  static absl::StatusOr<std::unique_ptr<MultiplexedChecker>> Create(const Options& options);
  static absl::StatusOr<std::unique_ptr<MultiplexedChecker>> Create() { return Create(Options{}); }

  virtual ~MultiplexedChecker() = default;

  // Starts one probe of `target` bounded by `timeout`; `done` is called once.
  virtual void ProbeAsync(const ProbeTarget& target, absl::Duration timeout,
                          std::function<void(const ProbeResult&)> done) = 0;

  // A blocking Prober for `target` backed by this checker. The checker must
  // outlive it.
  virtual std::unique_ptr<Prober> NewProber(const ProbeTarget& target) = 0;

  virtual CheckerStats Stats() const = 0;
};

}  // namespace diego::healthcheck

#endif  // DIEGO_HEALTHCHECK_CHECKER_H_
