// Copyright 2026 The libdiego Authors.
//
// LockRunner: Diego's lock.lockRunner (lock and presence modes) on an
// injected clock: Lock at once, then retry_interval after each attempt.

#include "diego/locket/lock_runner.h"

#include <utility>

#include "diego/locket/errors.h"

// `Resource.type` is deprecated upstream; Diego's clients still send it.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {

LockRunner::LockRunner(LocketClient* client, Clock* clock, Logger logger, Options options)
    : client_(client), clock_(clock), logger_(std::move(logger)), options_(std::move(options)) {
  model::v1::Resource& resource = options_.resource;
  if (options_.mode == Mode::kLock) {
    resource.set_type("lock");
    resource.set_type_code(model::v1::LOCK);
  } else {
    resource.set_type("presence");
    resource.set_type_code(model::v1::PRESENCE);
  }
  logger_ = logger_.Session("locket-lock", {{"key", resource.key()},
                                            {"owner", resource.owner()},
                                            {"ttl", options_.ttl}});
  *request_.mutable_resource() = resource;
  request_.set_ttl_in_seconds(absl::ToInt64Seconds(options_.ttl));
}

LockRunner::~LockRunner() { Stop(); }

void LockRunner::Start() {
  logger_.Info("started");
  thread_ = std::thread([this] { Loop(); });
}

void LockRunner::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
  bool release;
  {
    absl::MutexLock lock(&mu_);
    release = held_;
    held_ = false;
    // The lease ends here, before the Release lets another process take the
    // lock, so a fence on it refuses this process's writes from now on.
    lease_expiry_ = absl::InfinitePast();
  }
  if (!release) return;
  model::v1::ReleaseRequest request;
  *request.mutable_resource() = options_.resource;
  absl::Status released = client_->Release(request, options_.retry_interval).status();
  if (released.ok()) {
    logger_.Info("released-lock");
  } else {
    logger_.Error("failed-to-release-lock", released);
  }
}

bool LockRunner::held() const {
  absl::MutexLock lock(&mu_);
  return held_;
}

absl::Time LockRunner::LeaseExpiry() const {
  absl::MutexLock lock(&mu_);
  return lease_expiry_;
}

absl::Status LockRunner::AttemptOnce() {
  {
    absl::MutexLock lock(&mu_);
    if (lost_) return lost_status_;
  }
  const absl::Time start = clock_->Now();
  const absl::Status status = client_->Lock(request_, options_.retry_interval).status();
  bool acquired = false;
  bool lost = false;  // Held until now.
  bool reacquired = false;
  {
    absl::MutexLock lock(&mu_);
    if (status.ok()) {
      lease_expiry_ = start + options_.ttl;
      acquired = !held_;
      reacquired = acquired && ever_held_;
      held_ = true;
      ever_held_ = true;
    } else if (held_) {
      lost = true;
      held_ = false;
      lease_expiry_ = absl::InfinitePast();
      if (options_.mode == Mode::kLock) {
        lost_ = true;
        lost_status_ = status;
      }
    }
  }
  if (acquired) {
    logger_.Info(reacquired ? "reacquired-lock" : "acquired-lock");
    if (options_.on_acquired) options_.on_acquired();
  } else if (lost) {
    logger_.Error("lost-lock", status);
    if (options_.mode == Mode::kLock && options_.on_lost) options_.on_lost(status);
  } else if (!status.ok()) {
    // Another holder is the normal standby case; anything else is an error.
    if (IsLockCollision(status)) {
      logger_.Debug("lock-held-by-another-owner");
    } else {
      logger_.Error("failed-to-acquire-lock", status);
    }
  }
  return status;
}

void LockRunner::Loop() {
  while (!stop_.HasBeenNotified()) {
    (void)AttemptOnce();  // Logged inside.
    {
      absl::MutexLock lock(&mu_);
      if (lost_) return;
    }
    if (!clock_->SleepUntil(clock_->Now() + options_.retry_interval, &stop_)) return;
  }
}

}  // namespace diego::locket
