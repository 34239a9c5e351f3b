// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fake_locket_client.h
// -----------------------------------------------------------------------------
//
// `fakes::FakeLocketClient`: an in-memory Locket (locket::LocketClient) with
// Locket's semantics (validation, collisions, Fetch/FetchAll filtering; no
// expiry) and knobs for tests: make the next calls fail with a status, make
// calls block until released, and inspect the calls made.
//
//   FakeLocketClient locket;
//   LockRunner runner(&locket, &clock, logger, options);
//   locket.SetError(FakeLocketClient::Method::kLock, absl::UnavailableError("down"), 1);
//   runner.AttemptOnce();                  // Fails once ...
//   runner.AttemptOnce();                  // ... then holds the lock.
//   EXPECT_EQ(locket.Calls().size(), 2);
//
// Validation is `locket::ValidateLockRequest` / `locket::FetchAllTypeCode`,
// and stored resources are normalised with `locket::NormalizeResourceType`,
// exactly as `LocketService` does. A Lock of a key held by a different
// non-empty owner is `ErrLockCollision()`; the same owner overwrites the
// resource. Release of a missing key succeeds; of another owner's key,
// `ErrLockCollision()`. Fetch of a missing key: `ErrResourceNotFound()`.
// FetchAll returns the resources of the asked type, ordered by key.
//
// Order inside each call: record the call, wait while blocked (`Block()`),
// then return an armed error (`SetError`) or run the call. A failed call
// changes nothing.
//
// Thread-safety: thread-safe.

#ifndef DIEGO_TESTING_FAKE_LOCKET_CLIENT_H_
#define DIEGO_TESTING_FAKE_LOCKET_CLIENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/locket/client.h"
#include "diego/model/v1/locket.pb.h"

namespace diego::fakes {

class FakeLocketClient final : public locket::LocketClient {
 public:
  // Fail every later call (see `SetError`).
  static constexpr int kForever = -1;

  enum class Method { kLock, kFetch, kRelease, kFetchAll };

  // One recorded call (also those that failed).
  struct Call {
    Method method = Method::kLock;
    // Lock / Release: the request's resource. Fetch: only `key` is set.
    model::v1::Resource resource;
    int64_t ttl_in_seconds = 0;           // Lock
    model::v1::FetchAllRequest fetch_all;  // FetchAll
    absl::Duration timeout;
  };

  FakeLocketClient() = default;
  FakeLocketClient(const FakeLocketClient&) = delete;
  FakeLocketClient& operator=(const FakeLocketClient&) = delete;

  // locket::LocketClient.
  absl::StatusOr<model::v1::LockResponse> Lock(const model::v1::LockRequest& request,
                                               absl::Duration timeout) override;
  absl::StatusOr<model::v1::FetchResponse> Fetch(const model::v1::FetchRequest& request,
                                                 absl::Duration timeout) override;
  absl::StatusOr<model::v1::ReleaseResponse> Release(const model::v1::ReleaseRequest& request,
                                                     absl::Duration timeout) override;
  absl::StatusOr<model::v1::FetchAllResponse> FetchAll(const model::v1::FetchAllRequest& request,
                                                       absl::Duration timeout) override;

  // Makes the next `times` calls of `method` (or, without `method`, of any
  // method) return `error`, or every later one with `kForever`. An OK
  // `error` clears it. A method's own error is used before the any-method one.
  void SetError(Method method, absl::Status error, int times = kForever);
  void SetError(absl::Status error, int times = kForever);

  // While blocked, every call waits (after being recorded) until `Unblock()`.
  void Block();
  void Unblock();
  // Waits (in real time) until at least `n` calls are waiting in `Block()`.
  void WaitForBlockedCalls(int n);

  // Stores `resource` (normalised) as if another client had locked it,
  // replacing what the key held; or removes the key (as an expiry would).
  void Put(const model::v1::Resource& resource);
  void Remove(absl::string_view key);

  // The stored resource of `key`, if any.
  std::optional<model::v1::Resource> Get(absl::string_view key) const;

  // Every call, in call order; and the calls of one method.
  std::vector<Call> Calls() const;
  std::vector<Call> Calls(Method method) const;

 private:
  struct Armed {
    absl::Status error;
    int times = 0;
  };

  // Records `call`, waits while blocked, and returns the armed error, if any.
  absl::Status Begin(Call call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static absl::Status Take(Armed& armed);

  mutable absl::Mutex mu_;
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<Method, Armed> errors_ ABSL_GUARDED_BY(mu_);
  Armed any_error_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, model::v1::Resource> resources_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_FAKE_LOCKET_CLIENT_H_
