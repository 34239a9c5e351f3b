// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: service.h
// -----------------------------------------------------------------------------
//
// `LocketService`: Locket's handler and expiry (diego-spec.md 8) over a
// `LockStore`; it is also the in-process `LocketClient`.
//
// Calls (validation in Diego's order, errors of errors.h; see
// `ValidateLockRequest` below):
//   * Lock: type not LOCK/PRESENCE -> ErrInvalidType; ttl_in_seconds <= 0
//     -> ErrInvalidTtl; resource.owner empty -> ErrInvalidOwner; then
//     `LockStore::Lock`. A successful Lock (re)arms the row's expiry timer.
//   * Release: `LockStore::Release`; disarms the timer.
//   * Fetch: `LockStore::Fetch`.
//   * FetchAll: type (normalised from type_code / type) not LOCK/PRESENCE ->
//     ErrInvalidType; else `LockStore::FetchAll`.
//   `timeout` is ignored in process (calls do not block on anything remote
//   other than the database).
//
// Expiry: one timer per (key, modified_id), armed with the latest
// modified_index and due `ttl` after the Lock that armed it (on the injected
// clock). When it is due, the row is deleted only if owner, modified_id and
// modified_index are unchanged (`LockStore::DeleteIfUnchanged`). A sweep
// every `sweep_interval` re-reads all rows and arms a timer for every row
// (or row version) it does not know, due `ttl` after the sweep saw it, so
// rows written by another Locket process or before a restart expire too.
// `Start()` runs timers and sweeps on a background thread (sweeping once at
// start); tests can drive `Sweep()` and `ExpireDue()` directly instead.
//
// Metrics (Diego's names): ActiveLocks, ActivePresences (gauges, counted at
// each sweep), LocksExpired, PresenceExpired (counters since start).
//
// Thread-safety: thread-safe.

#ifndef DIEGO_LOCKET_SERVICE_H_
#define DIEGO_LOCKET_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "diego/base/clock.h"
#include "diego/base/logger.h"
#include "diego/locket/client.h"
#include "diego/locket/lock_store.h"

namespace diego::locket {

// Diego's request checks (cloudfoundry/locket handlers.go `validate` and the
// Lock checks), shared by `LocketService` and `fakes::FakeLocketClient`.
//
// The type pair (`type_code`, deprecated `type`) is valid when type_code is
// LOCK or PRESENCE and type is empty or names the same kind, or type_code is
// UNKNOWN and type is "lock" or "presence". Anything else (also a type_code
// number that is not a TypeCode value) is `ErrInvalidType()`.
//
// Lock: the type pair of `resource`, then ttl_in_seconds > 0
// (`ErrInvalidTtl()`), then a non-empty owner (`ErrInvalidOwner()`), then the
// sizes of Diego's `locks` columns: key and owner at most 255 bytes, value at
// most 4096 (kInvalidArgument "key longer than 255 bytes", ...; Diego's SQL
// database refuses such rows with its own error text).
inline constexpr size_t kMaxKeyBytes = 255;
inline constexpr size_t kMaxOwnerBytes = 255;
inline constexpr size_t kMaxValueBytes = 4096;
absl::Status ValidateLockRequest(const model::v1::LockRequest& request);

// FetchAll: the type pair of the request; returns the TypeCode asked for
// (LOCK or PRESENCE) or `ErrInvalidType()`.
absl::StatusOr<model::v1::TypeCode> FetchAllTypeCode(const model::v1::FetchAllRequest& request);

struct LocketMetrics {
  int64_t active_locks = 0;       // LOCK rows at the last sweep
  int64_t active_presences = 0;   // PRESENCE rows at the last sweep
  int64_t locks_expired = 0;      // LOCK rows deleted by expiry
  int64_t presences_expired = 0;  // PRESENCE rows deleted by expiry
};

class LocketService final : public LocketClient {
 public:
  struct Options {
    // Diego's sweep period.
    absl::Duration sweep_interval = absl::Seconds(5);
  };

  // `store`, `clock` must outlive the service.
  LocketService(LockStore* store, Clock* clock, Logger logger, Options options);
  LocketService(LockStore* store, Clock* clock, Logger logger)
      : LocketService(store, clock, std::move(logger), Options()) {}
  ~LocketService() override;  // Stops.

  // LocketClient.
  absl::StatusOr<model::v1::LockResponse> Lock(const model::v1::LockRequest& request,
                                               absl::Duration timeout) override;
  absl::StatusOr<model::v1::FetchResponse> Fetch(const model::v1::FetchRequest& request,
                                                 absl::Duration timeout) override;
  absl::StatusOr<model::v1::ReleaseResponse> Release(const model::v1::ReleaseRequest& request,
                                                     absl::Duration timeout) override;
  absl::StatusOr<model::v1::FetchAllResponse> FetchAll(const model::v1::FetchAllRequest& request,
                                                       absl::Duration timeout) override;

  // Re-reads all rows, arms timers for unknown rows/versions, forgets timers
  // of rows that are gone, and updates the active gauges.
  absl::Status Sweep();
  // Compare-and-deletes every row whose timer is due at `clock->Now()`;
  // returns how many rows were deleted.
  absl::StatusOr<int> ExpireDue();

  // Background thread: Sweep() at once and every sweep_interval, ExpireDue()
  // whenever a timer is due. Errors are logged. Idempotent.
  void Start();
  // Stops the background thread (does not release anything). Idempotent.
  void Stop();

  LocketMetrics metrics() const;

 private:
  struct Timer {
    std::string owner;
    std::string modified_id;
    int64_t modified_index = 0;
    bool presence = false;
    absl::Time due;
    // Order of arming (`next_arm_seq_`): a sweep leaves alone timers armed
    // after it started reading.
    int64_t arm_seq = 0;
  };
  void Arm(const LockRow& row, absl::Time due) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  LockStore* const store_;
  Clock* const clock_;
  Logger logger_;
  const Options options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Timer> timers_ ABSL_GUARDED_BY(mu_);  // by key
  LocketMetrics metrics_ ABSL_GUARDED_BY(mu_);
  int64_t next_arm_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // The background loop's current wait: notified to wake it early (Stop(),
  // or a timer armed due before `wake_deadline_`).
  std::unique_ptr<absl::Notification> wake_ ABSL_GUARDED_BY(mu_);
  absl::Time wake_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();

  absl::Mutex run_mu_;  // Serializes Start() and Stop().
  std::unique_ptr<absl::Notification> stop_;
  std::thread thread_;
};

}  // namespace diego::locket

#endif  // DIEGO_LOCKET_SERVICE_H_
