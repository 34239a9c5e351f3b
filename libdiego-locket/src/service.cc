// Copyright 2026 The libdiego Authors.
//
// LocketService: Diego's locketHandler (validation, then the LockDB call)
// and its expiry (expiration.lockPick timers + the burglar's sweep) on an
// injected clock. Timers live in one map by key; the background loop sleeps
// until the earliest of the next sweep and the earliest timer, and is woken
// early when a Lock arms a timer due before that.

#include "diego/locket/service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "diego/base/status_macros.h"
#include "diego/locket/errors.h"

// `type` is deprecated upstream but still part of Diego's validation.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {
namespace {

constexpr absl::string_view kLockType = "lock";
constexpr absl::string_view kPresenceType = "presence";

// handlers.go `validate`: the (type_code, type) pair.
absl::Status ValidateType(absl::string_view type, int type_code) {
  if (!model::v1::TypeCode_IsValid(type_code)) return ErrInvalidType();
  switch (type_code) {
    case model::v1::UNKNOWN:
      return type == kLockType || type == kPresenceType ? absl::OkStatus() : ErrInvalidType();
    case model::v1::LOCK:
      return type.empty() || type == kLockType ? absl::OkStatus() : ErrInvalidType();
    default:  // PRESENCE
      return type.empty() || type == kPresenceType ? absl::OkStatus() : ErrInvalidType();
  }
}

}  // namespace

absl::Status ValidateLockRequest(const model::v1::LockRequest& request) {
  DIEGO_RETURN_IF_ERROR(ValidateType(request.resource().type(), request.resource().type_code()));
  if (request.ttl_in_seconds() <= 0) return ErrInvalidTtl();
  if (request.resource().owner().empty()) return ErrInvalidOwner();
  // The column sizes of Diego's locks table (path VARCHAR(255), owner
  // VARCHAR(255), value VARCHAR(4096)); Diego's database refuses longer ones.
  if (request.resource().key().size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("key longer than ", kMaxKeyBytes, " bytes"));
  }
  if (request.resource().owner().size() > kMaxOwnerBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("owner longer than ", kMaxOwnerBytes, " bytes"));
  }
  if (request.resource().value().size() > kMaxValueBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("value longer than ", kMaxValueBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<model::v1::TypeCode> FetchAllTypeCode(const model::v1::FetchAllRequest& request) {
  DIEGO_RETURN_IF_ERROR(ValidateType(request.type(), request.type_code()));
  model::v1::Resource pair;
  pair.set_type(request.type());
  pair.set_type_code(request.type_code());
  return NormalizeResourceType(std::move(pair)).type_code();
}

LocketService::LocketService(LockStore* store, Clock* clock, Logger logger, Options options)
    : store_(store), clock_(clock), logger_(std::move(logger)), options_(options) {}

LocketService::~LocketService() { Stop(); }

absl::StatusOr<model::v1::LockResponse> LocketService::Lock(const model::v1::LockRequest& request,
                                                             absl::Duration /*timeout*/) {
  DIEGO_RETURN_IF_ERROR(ValidateLockRequest(request));
  absl::StatusOr<LockRow> row = store_->Lock(request.resource(), request.ttl_in_seconds());
  if (!row.ok()) {
    if (!IsLockCollision(row.status())) {
      logger_.Error("failed-locking-lock", row.status(),
                    {{"key", request.resource().key()}, {"owner", request.resource().owner()}});
    }
    return row.status();
  }
  absl::MutexLock lock(&mu_);
  Arm(*row, clock_->Now() + absl::Seconds(row->ttl_seconds));
  return model::v1::LockResponse();
}

absl::StatusOr<model::v1::ReleaseResponse> LocketService::Release(
    const model::v1::ReleaseRequest& request, absl::Duration /*timeout*/) {
  DIEGO_RETURN_IF_ERROR(store_->Release(request.resource()));
  absl::MutexLock lock(&mu_);
  // Only this owner's timer: the key may already hold another owner's row.
  auto it = timers_.find(request.resource().key());
  if (it != timers_.end() && it->second.owner == request.resource().owner()) timers_.erase(it);
  return model::v1::ReleaseResponse();
}

absl::StatusOr<model::v1::FetchResponse> LocketService::Fetch(const model::v1::FetchRequest& request,
                                                               absl::Duration /*timeout*/) {
  DIEGO_ASSIGN_OR_RETURN(model::v1::Resource resource, store_->Fetch(request.key()));
  model::v1::FetchResponse response;
  *response.mutable_resource() = std::move(resource);
  return response;
}

absl::StatusOr<model::v1::FetchAllResponse> LocketService::FetchAll(
    const model::v1::FetchAllRequest& request, absl::Duration /*timeout*/) {
  DIEGO_ASSIGN_OR_RETURN(model::v1::TypeCode type_code, FetchAllTypeCode(request));
  DIEGO_ASSIGN_OR_RETURN(std::vector<model::v1::Resource> resources, store_->FetchAll(type_code));
  model::v1::FetchAllResponse response;
  for (model::v1::Resource& resource : resources) {
    *response.add_resources() = std::move(resource);
  }
  return response;
}

// lockPick.RegisterTTL: a timer already armed for the same (key, modified_id)
// with an index at least as new is kept; otherwise this row version replaces
// it.
void LocketService::Arm(const LockRow& row, absl::Time due) {
  const std::string& key = row.resource.key();
  auto it = timers_.find(key);
  if (it != timers_.end() && it->second.modified_id == row.modified_id &&
      it->second.modified_index >= row.modified_index) {
    return;
  }
  Timer& timer = timers_[key];
  timer.owner = row.resource.owner();
  timer.modified_id = row.modified_id;
  timer.modified_index = row.modified_index;
  timer.presence = row.resource.type_code() == model::v1::PRESENCE;
  timer.due = due;
  timer.arm_seq = next_arm_seq_++;
  if (wake_ != nullptr && due < wake_deadline_ && !wake_->HasBeenNotified()) wake_->Notify();
}

absl::Status LocketService::Sweep() {
  int64_t sweep_seq;
  {
    absl::MutexLock lock(&mu_);
    sweep_seq = next_arm_seq_;
  }
  DIEGO_ASSIGN_OR_RETURN(std::vector<LockRow> rows, store_->AllRows());
  const absl::Time now = clock_->Now();
  std::vector<absl::string_view> held;  // Keys with an owner; sorted, as `rows`.
  LocketMetrics counted;
  absl::MutexLock lock(&mu_);
  for (const LockRow& row : rows) {
    if (row.resource.owner().empty()) continue;
    held.push_back(row.resource.key());
    if (row.resource.type_code() == model::v1::LOCK) ++counted.active_locks;
    if (row.resource.type_code() == model::v1::PRESENCE) ++counted.active_presences;
    // A timer armed since the read began knows a newer version than `row`.
    auto it = timers_.find(row.resource.key());
    if (it != timers_.end() && it->second.arm_seq >= sweep_seq) continue;
    Arm(row, now + absl::Seconds(row.ttl_seconds));
  }
  for (auto it = timers_.begin(); it != timers_.end();) {
    if (it->second.arm_seq < sweep_seq && !std::binary_search(held.begin(), held.end(), it->first)) {
      timers_.erase(it++);
    } else {
      ++it;
    }
  }
  metrics_.active_locks = counted.active_locks;
  metrics_.active_presences = counted.active_presences;
  return absl::OkStatus();
}

absl::StatusOr<int> LocketService::ExpireDue() {
  const absl::Time now = clock_->Now();
  std::vector<std::pair<std::string, Timer>> due;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, timer] : timers_) {
      if (timer.due <= now) due.emplace_back(key, timer);
    }
  }
  int deleted = 0;
  absl::Status first_error;
  for (const auto& [key, timer] : due) {
    absl::StatusOr<bool> expired =
        store_->DeleteIfUnchanged(key, timer.owner, timer.modified_id, timer.modified_index);
    {
      absl::MutexLock lock(&mu_);
      // Done with this version either way (as Diego's check goroutine ends);
      // a row refreshed by another process is re-armed by the next sweep.
      auto it = timers_.find(key);
      if (it != timers_.end() && it->second.arm_seq == timer.arm_seq) timers_.erase(it);
      if (expired.ok() && *expired) {
        ++(timer.presence ? metrics_.presences_expired : metrics_.locks_expired);
      }
    }
    const LogData data = {{"key", key},
                          {"owner", timer.owner},
                          {"modified-index", timer.modified_index},
                          {"type", timer.presence ? kPresenceType : kLockType}};
    if (!expired.ok()) {
      logger_.Error("failed-compare-and-release", expired.status(), data);
      if (first_error.ok()) first_error = expired.status();
    } else if (*expired) {
      ++deleted;
      logger_.Info("lock-expired", data);
    }
  }
  if (!first_error.ok()) return first_error;
  return deleted;
}

void LocketService::Start() {
  absl::MutexLock run_lock(&run_mu_);
  if (thread_.joinable()) return;
  stop_ = std::make_unique<absl::Notification>();
  thread_ = std::thread([this] { Loop(); });
}

void LocketService::Stop() {
  absl::MutexLock run_lock(&run_mu_);
  if (!thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_->Notify();
    if (wake_ != nullptr && !wake_->HasBeenNotified()) wake_->Notify();
  }
  thread_.join();
  absl::MutexLock lock(&mu_);
  wake_.reset();
  wake_deadline_ = absl::InfiniteFuture();
}

void LocketService::Loop() {
  const Logger logger = logger_.Session("expiry");
  absl::Time next_sweep = clock_->Now();
  while (!stop_->HasBeenNotified()) {
    if (clock_->Now() >= next_sweep) {
      if (absl::Status swept = Sweep(); !swept.ok()) {
        logger.Error("failed-fetching-locks", swept);
      }
      next_sweep = clock_->Now() + options_.sweep_interval;
    }
    if (absl::StatusOr<int> expired = ExpireDue(); !expired.ok()) {
      logger.Error("failed-expiring-locks", expired.status());
    }
    absl::Notification* wake;
    absl::Time deadline = next_sweep;
    {
      absl::MutexLock lock(&mu_);
      if (stop_->HasBeenNotified()) return;
      for (const auto& [key, timer] : timers_) deadline = std::min(deadline, timer.due);
      wake_ = std::make_unique<absl::Notification>();
      wake_deadline_ = deadline;
      wake = wake_.get();
    }
    // `wake` stays valid: only this thread replaces `wake_`, and Stop()
    // resets it after joining.
    clock_->SleepUntil(deadline, wake);
  }
}

LocketMetrics LocketService::metrics() const {
  absl::MutexLock lock(&mu_);
  return metrics_;
}

}  // namespace diego::locket
