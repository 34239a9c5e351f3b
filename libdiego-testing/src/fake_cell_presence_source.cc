// Copyright 2026 The libdiego Authors.

#include "diego/testing/fake_cell_presence_source.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "diego/model/errors.h"

namespace diego::fakes {

model::v1::CellPresence FakeCellPresenceSource::Presence(absl::string_view cell_id) {
  model::v1::CellPresence cell;
  cell.set_cell_id(std::string(cell_id));
  cell.set_rep_address(absl::StrCat("http://", cell_id, ":1800"));
  cell.set_rep_url(absl::StrCat("https://", cell_id, ":1801"));
  cell.set_zone("z1");
  cell.mutable_capacity()->set_memory_mb(4096);
  cell.mutable_capacity()->set_disk_mb(8192);
  cell.mutable_capacity()->set_containers(100);
  return cell;
}

void FakeCellPresenceSource::AddCell(absl::string_view cell_id) { SetCell(Presence(cell_id)); }

void FakeCellPresenceSource::SetCell(const model::v1::CellPresence& cell) {
  absl::MutexLock lock(&mu_);
  cells_[cell.cell_id()] = cell;
}

void FakeCellPresenceSource::RemoveCell(absl::string_view cell_id) {
  absl::MutexLock lock(&mu_);
  auto it = cells_.find(cell_id);
  if (it != cells_.end()) cells_.erase(it);
}

void FakeCellPresenceSource::Clear() {
  absl::MutexLock lock(&mu_);
  cells_.clear();
}

void FakeCellPresenceSource::SetError(absl::Status error) {
  absl::MutexLock lock(&mu_);
  error_ = std::move(error);
}

absl::StatusOr<std::vector<model::v1::CellPresence>> FakeCellPresenceSource::Cells() {
  absl::MutexLock lock(&mu_);
  ++cells_calls_;
  if (!error_.ok()) return error_;
  std::vector<model::v1::CellPresence> cells;
  cells.reserve(cells_.size());
  for (const auto& [id, cell] : cells_) cells.push_back(cell);
  return cells;
}

absl::StatusOr<model::v1::CellPresence> FakeCellPresenceSource::CellById(
    absl::string_view cell_id) {
  absl::MutexLock lock(&mu_);
  ++cell_by_id_calls_;
  if (!error_.ok()) return error_;
  auto it = cells_.find(cell_id);
  if (it == cells_.end()) return model::ErrResourceNotFound();
  return it->second;
}

int64_t FakeCellPresenceSource::CellsCalls() const {
  absl::MutexLock lock(&mu_);
  return cells_calls_;
}

int64_t FakeCellPresenceSource::CellByIdCalls() const {
  absl::MutexLock lock(&mu_);
  return cell_by_id_calls_;
}

}  // namespace diego::fakes
