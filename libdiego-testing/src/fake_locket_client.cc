// Copyright 2026 The libdiego Authors.

#include "diego/testing/fake_locket_client.h"

#include <utility>

#include "diego/base/status_macros.h"
#include "diego/locket/errors.h"
#include "diego/locket/lock_store.h"
#include "diego/locket/service.h"

namespace diego::fakes {

absl::Status FakeLocketClient::Take(Armed& armed) {
  if (armed.error.ok() || armed.times == 0) return absl::OkStatus();
  if (armed.times > 0) --armed.times;
  return armed.error;
}

absl::Status FakeLocketClient::Begin(Call call) {
  const Method method = call.method;
  calls_.push_back(std::move(call));
  ++waiting_;
  mu_.Await(absl::Condition(
      +[](bool* blocked) { return !*blocked; }, &blocked_));
  --waiting_;
  if (absl::Status error = Take(errors_[method]); !error.ok()) return error;
  return Take(any_error_);
}

absl::StatusOr<model::v1::LockResponse> FakeLocketClient::Lock(
    const model::v1::LockRequest& request, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  DIEGO_RETURN_IF_ERROR(Begin({.method = Method::kLock,
                               .resource = request.resource(),
                               .ttl_in_seconds = request.ttl_in_seconds(),
                               .timeout = timeout}));
  DIEGO_RETURN_IF_ERROR(locket::ValidateLockRequest(request));
  auto it = resources_.find(request.resource().key());
  if (it != resources_.end() && !it->second.owner().empty() &&
      it->second.owner() != request.resource().owner()) {
    return locket::ErrLockCollision();
  }
  resources_[request.resource().key()] = locket::NormalizeResourceType(request.resource());
  return model::v1::LockResponse();
}

absl::StatusOr<model::v1::FetchResponse> FakeLocketClient::Fetch(
    const model::v1::FetchRequest& request, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  Call call{.method = Method::kFetch, .timeout = timeout};
  call.resource.set_key(request.key());
  DIEGO_RETURN_IF_ERROR(Begin(std::move(call)));
  auto it = resources_.find(request.key());
  if (it == resources_.end() || it->second.owner().empty()) return locket::ErrResourceNotFound();
  model::v1::FetchResponse response;
  *response.mutable_resource() = it->second;
  return response;
}

absl::StatusOr<model::v1::ReleaseResponse> FakeLocketClient::Release(
    const model::v1::ReleaseRequest& request, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  DIEGO_RETURN_IF_ERROR(
      Begin({.method = Method::kRelease, .resource = request.resource(), .timeout = timeout}));
  auto it = resources_.find(request.resource().key());
  if (it == resources_.end()) return model::v1::ReleaseResponse();
  if (it->second.owner() != request.resource().owner()) return locket::ErrLockCollision();
  resources_.erase(it);
  return model::v1::ReleaseResponse();
}

absl::StatusOr<model::v1::FetchAllResponse> FakeLocketClient::FetchAll(
    const model::v1::FetchAllRequest& request, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  DIEGO_RETURN_IF_ERROR(
      Begin({.method = Method::kFetchAll, .fetch_all = request, .timeout = timeout}));
  DIEGO_ASSIGN_OR_RETURN(model::v1::TypeCode type_code, locket::FetchAllTypeCode(request));
  model::v1::FetchAllResponse response;
  for (const auto& [key, resource] : resources_) {
    if (resource.type_code() == type_code && !resource.owner().empty()) {
      *response.add_resources() = resource;
    }
  }
  return response;
}

void FakeLocketClient::SetError(Method method, absl::Status error, int times) {
  absl::MutexLock lock(&mu_);
  Armed& armed = errors_[method];
  armed.error = std::move(error);
  armed.times = armed.error.ok() ? 0 : times;
}

void FakeLocketClient::SetError(absl::Status error, int times) {
  absl::MutexLock lock(&mu_);
  any_error_.error = std::move(error);
  any_error_.times = any_error_.error.ok() ? 0 : times;
}

void FakeLocketClient::Block() {
  absl::MutexLock lock(&mu_);
  blocked_ = true;
}

void FakeLocketClient::Unblock() {
  absl::MutexLock lock(&mu_);
  blocked_ = false;
}

void FakeLocketClient::WaitForBlockedCalls(int n) {
  absl::MutexLock lock(&mu_);
  struct Args {
    const int* waiting;
    int n;
  } args{&waiting_, n};
  mu_.Await(absl::Condition(
      +[](Args* a) { return *a->waiting >= a->n; }, &args));
}

void FakeLocketClient::Put(const model::v1::Resource& resource) {
  absl::MutexLock lock(&mu_);
  resources_[resource.key()] = locket::NormalizeResourceType(resource);
}

void FakeLocketClient::Remove(absl::string_view key) {
  absl::MutexLock lock(&mu_);
  resources_.erase(std::string(key));
}

std::optional<model::v1::Resource> FakeLocketClient::Get(absl::string_view key) const {
  absl::MutexLock lock(&mu_);
  auto it = resources_.find(std::string(key));
  if (it == resources_.end()) return std::nullopt;
  return it->second;
}

std::vector<FakeLocketClient::Call> FakeLocketClient::Calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

std::vector<FakeLocketClient::Call> FakeLocketClient::Calls(Method method) const {
  absl::MutexLock lock(&mu_);
  std::vector<Call> calls;
  for (const Call& call : calls_) {
    if (call.method == method) calls.push_back(call);
  }
  return calls;
}

}  // namespace diego::fakes
