// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: lock_runner.h
// -----------------------------------------------------------------------------
//
// `LockRunner`: Diego's Locket client runners (diego-spec.md 8), on an
// injected clock.
//
// It calls Lock(resource, ttl) at once and then every `retry_interval`
// (each call with timeout = retry_interval), so a held lock is refreshed well
// inside its TTL.
//
//   * kLock mode (BBS "bbs", auctioneer "auctioneer", route-emitter): the
//     first success calls `on_acquired` (once). While not yet held, failures
//     (e.g. lock-collision: another process is active) are logged and
//     retried. Once held, the first failed refresh is a *lost* lock:
//     `on_lost(status)` is called once and the runner stops trying (Diego's
//     process exits; `diego-bbs` does the same).
//   * kPresence mode (reps): never gives up; `on_acquired` is called on each
//     transition from not-held to held, failures are logged and retried.
//
// `Stop()` ends the loop and Releases the resource if it is held (best
// effort, timeout = retry_interval).
//
// Lease: `LeaseExpiry()` is the start time of the last successful Lock call
// plus the TTL, and InfinitePast() once the lock was lost or `Stop()` began
// releasing it. The row cannot outlive that without a newer successful Lock,
// so a holder past its lease must assume another process may hold the lock
// (the BBS uses this to fence its writes; see fence.h).
//
// Callbacks run on the runner's thread; they must not call `Stop()` (they
// may signal another thread to).
//
// Thread-safety: thread-safe.

#ifndef DIEGO_LOCKET_LOCK_RUNNER_H_
#define DIEGO_LOCKET_LOCK_RUNNER_H_

#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/locket/client.h"
#include "diego/model/v1/locket.pb.h"

namespace diego::locket {

class LockRunner {
 public:
  enum class Mode { kLock, kPresence };

  struct Options {
    // key, owner, value; type/type_code are set from `mode` (LOCK/"lock" or
    // PRESENCE/"presence").
    model::v1::Resource resource;
    Mode mode = Mode::kLock;
    absl::Duration ttl = absl::Seconds(15);             // DefaultSessionTTL
    absl::Duration retry_interval = absl::Seconds(5);  // RetryInterval
    std::function<void()> on_acquired;
    std::function<void(const absl::Status&)> on_lost;  // kLock mode only
  };

  // `client`, `clock` must outlive the runner.
  LockRunner(LocketClient* client, Clock* clock, Logger logger, Options options);
  ~LockRunner();  // Stop().

  LockRunner(const LockRunner&) = delete;
  LockRunner& operator=(const LockRunner&) = delete;

  // Starts the background loop (first attempt at once). Call once.
  void Start();
  // Stops the loop and releases a held resource. Idempotent.
  void Stop();

  // Whether the last attempt succeeded (kLock: and the lock was not lost).
  bool held() const;
  // Start time of the last successful Lock + ttl; InfinitePast() if none, or
  // after the lock was lost or released.
  absl::Time LeaseExpiry() const;

  // One attempt, as the loop makes it (exposed for tests that drive the
  // runner without its thread). Returns the Lock call's status. Once a
  // kLock runner has lost its lock it makes no call and returns the status
  // of the refresh that failed.
  absl::Status AttemptOnce();

 private:
  void Loop();

  LocketClient* const client_;
  Clock* const clock_;
  Logger logger_;
  Options options_;

  mutable absl::Mutex mu_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  bool ever_held_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status lost_status_ ABSL_GUARDED_BY(mu_);  // The failed refresh.
  absl::Time lease_expiry_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  model::v1::LockRequest request_;  // resource (typed by mode) + ttl
  absl::Mutex stop_mu_;            // Serializes Stop().
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace diego::locket

#endif  // DIEGO_LOCKET_LOCK_RUNNER_H_
