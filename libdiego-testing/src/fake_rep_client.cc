// Copyright 2026 The libdiego Authors.

#include "diego/testing/fake_rep_client.h"

#include <utility>

namespace diego::fakes {

FakeRepClient::FakeRepClient(std::string cell_id) : cell_id_(std::move(cell_id)) {}

absl::Status FakeRepClient::NextResult() {
  if (error_.ok() || error_times_ == 0) {
    return absl::OkStatus();
  }
  if (error_times_ > 0) {
    --error_times_;
  }
  return error_;
}

absl::Status FakeRepClient::StopLrpInstance(const model::v1::ActualLRPKey& key,
                                            const model::v1::ActualLRPInstanceKey& instance_key) {
  absl::MutexLock lock(&mu_);
  stops_.push_back({key, instance_key});
  return NextResult();
}

absl::Status FakeRepClient::CancelTask(absl::string_view task_guid) {
  absl::MutexLock lock(&mu_);
  cancels_.emplace_back(task_guid);
  return NextResult();
}

absl::Status FakeRepClient::UpdateLrpInstance(
    const model::v1::ActualLRPKey& key, const model::v1::ActualLRPInstanceKey& instance_key,
    absl::Span<const model::v1::ActualLRPInternalRoute> internal_routes,
    const std::map<std::string, std::string>& metric_tags) {
  absl::MutexLock lock(&mu_);
  updates_.push_back(
      {key, instance_key, {internal_routes.begin(), internal_routes.end()}, metric_tags});
  return NextResult();
}

void FakeRepClient::SetError(absl::Status error, int times) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(error);
  error_times_ = error_.ok() ? 0 : times;
}

std::vector<FakeRepClient::StopCall> FakeRepClient::StopCalls() const {
  absl::MutexLock lock(&mu_);
  return stops_;
}

std::vector<std::string> FakeRepClient::CancelCalls() const {
  absl::MutexLock lock(&mu_);
  return cancels_;
}

std::vector<FakeRepClient::UpdateCall> FakeRepClient::UpdateCalls() const {
  absl::MutexLock lock(&mu_);
  return updates_;
}

absl::StatusOr<std::shared_ptr<bbs::RepClient>> FakeRepClientFactory::ForCell(
    const model::v1::CellPresence& cell) {
  absl::MutexLock lock(&mu_);
  calls_.push_back(cell);
  if (!error_.ok()) {
    return error_;
  }
  return std::shared_ptr<bbs::RepClient>(ClientForLocked(cell.cell_id()));
}

std::shared_ptr<FakeRepClient> FakeRepClientFactory::ClientFor(absl::string_view cell_id) {
  absl::MutexLock lock(&mu_);
  return ClientForLocked(cell_id);
}

std::shared_ptr<FakeRepClient> FakeRepClientFactory::ClientForLocked(absl::string_view cell_id) {
  std::shared_ptr<FakeRepClient>& client = clients_[std::string(cell_id)];
  if (client == nullptr) {
    client = std::make_shared<FakeRepClient>(std::string(cell_id));
  }
  return client;
}

bool FakeRepClientFactory::HasClient(absl::string_view cell_id) const {
  absl::MutexLock lock(&mu_);
  return clients_.contains(std::string(cell_id));
}

void FakeRepClientFactory::SetError(absl::Status error) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(error);
}

std::vector<model::v1::CellPresence> FakeRepClientFactory::ForCellCalls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

}  // namespace diego::fakes
