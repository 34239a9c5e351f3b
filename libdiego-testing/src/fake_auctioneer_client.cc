// Copyright 2026 The libdiego Authors.

#include "diego/testing/fake_auctioneer_client.h"

#include <utility>
#include <vector>

namespace diego::fakes {

absl::Status FakeAuctioneerClient::RequestLrpAuctions(
    absl::Span<const auction::LrpStartRequest> requests) {
  if (requests.empty()) {
    return absl::OkStatus();
  }
  absl::MutexLock lock(&mu_);
  lrp_batches_.emplace_back(requests.begin(), requests.end());
  return error_;
}

absl::Status FakeAuctioneerClient::RequestTaskAuctions(
    absl::Span<const auction::TaskStartRequest> requests) {
  if (requests.empty()) {
    return absl::OkStatus();
  }
  absl::MutexLock lock(&mu_);
  task_batches_.emplace_back(requests.begin(), requests.end());
  return error_;
}

void FakeAuctioneerClient::SetError(absl::Status error) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(error);
}

std::vector<std::vector<auction::LrpStartRequest>> FakeAuctioneerClient::LrpBatches() const {
  absl::MutexLock lock(&mu_);
  return lrp_batches_;
}

std::vector<std::vector<auction::TaskStartRequest>> FakeAuctioneerClient::TaskBatches() const {
  absl::MutexLock lock(&mu_);
  return task_batches_;
}

std::vector<auction::LrpStartRequest> FakeAuctioneerClient::LrpStartRequests() const {
  absl::MutexLock lock(&mu_);
  std::vector<auction::LrpStartRequest> all;
  for (const auto& batch : lrp_batches_) {
    all.insert(all.end(), batch.begin(), batch.end());
  }
  return all;
}

std::vector<auction::TaskStartRequest> FakeAuctioneerClient::TaskStartRequests() const {
  absl::MutexLock lock(&mu_);
  std::vector<auction::TaskStartRequest> all;
  for (const auto& batch : task_batches_) {
    all.insert(all.end(), batch.begin(), batch.end());
  }
  return all;
}

void FakeAuctioneerClient::Clear() {
  absl::MutexLock lock(&mu_);
  lrp_batches_.clear();
  task_batches_.clear();
}

}  // namespace diego::fakes
