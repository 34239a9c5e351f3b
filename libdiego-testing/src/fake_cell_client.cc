#include "diego/testing/fake_cell_client.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "diego/auction/types.h"
#include "diego/base/guid.h"
#include "diego/model/rootfs.h"

namespace diego::fakes {
namespace {

// FNV-1a: a stable seed from the cell id, so instance guids are the same on
// every run (std::hash makes no such promise).
uint64_t SeedFor(absl::string_view cell_id) {
  uint64_t hash = 14695981039346656037ull;
  for (const char c : cell_id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace

auction::CellState FakeCellClient::NewCellState(absl::string_view cell_id, absl::string_view zone,
                                                auction::Resources total, absl::string_view stack,
                                                int32_t cell_index) {
  auction::CellState state;
  state.cell_id = std::string(cell_id);
  state.cell_index = cell_index;
  state.rep_url = absl::StrCat("http://", cell_id, ".cell.service.cf.internal:1800");
  state.zone = std::string(zone);
  state.total_resources = total;
  state.available_resources = total;
  state.rootfs_providers.SetFixedSet(model::kPreloadedRootFsScheme, {std::string(stack)});
  state.rootfs_providers.SetFixedSet(model::kPreloadedLayerRootFsScheme, {std::string(stack)});
  state.rootfs_providers.SetArbitrary("docker");
  return state;
}

FakeCellClient::FakeCellClient(auction::CellState state)
    : guid_gen_(SeedFor(state.cell_id)) {
  state_ = std::move(state);
}

absl::Status FakeCellClient::TakeError(InjectedError& error) {
  if (error.status.ok() || error.remaining == 0) {
    return absl::OkStatus();
  }
  absl::Status status = error.status;
  if (error.remaining > 0 && --error.remaining == 0) {
    error.status = absl::OkStatus();
  }
  return status;
}

absl::StatusOr<auction::CellState> FakeCellClient::State() {
  Delay delay;
  {
    absl::MutexLock lock(&mu_);
    delay = state_delay_;
  }
  if (delay.clock != nullptr) {
    delay.clock->Sleep(delay.duration);
  }
  absl::MutexLock lock(&mu_);
  ++state_calls_;
  absl::Status error = TakeError(state_error_);
  if (!error.ok()) {
    return error;
  }
  return state_;
}

bool FakeCellClient::RootFsAllocatable(absl::string_view root_fs) const {
  // The rep resolves only preloaded stacks locally (StackPathMap); any other
  // scheme, and an empty rootfs, is passed on to Garden unchecked.
  if (root_fs.empty()) {
    return true;
  }
  absl::StatusOr<model::RootFsUrl> url = model::ParseRootFs(root_fs);
  if (!url.ok()) {
    return false;
  }
  if (url->scheme != model::kPreloadedRootFsScheme &&
      url->scheme != model::kPreloadedLayerRootFsScheme) {
    return true;
  }
  return state_.rootfs_providers.Match(*url);
}

bool FakeCellClient::Reserve(const auction::Resource& resource) {
  auction::Resources& available = state_.available_resources;
  if (available.memory_mb < resource.memory_mb || available.disk_mb < resource.disk_mb ||
      available.containers < 1) {
    return false;
  }
  available.memory_mb -= resource.memory_mb;
  available.disk_mb -= resource.disk_mb;
  available.containers -= 1;
  state_.starting_container_count += 1;
  return true;
}

absl::StatusOr<auction::Work> FakeCellClient::Perform(const auction::Work& work) {
  Delay delay;
  {
    absl::MutexLock lock(&mu_);
    delay = perform_delay_;
  }
  if (delay.clock != nullptr) {
    delay.clock->Sleep(delay.duration);
  }
  absl::MutexLock lock(&mu_);
  ++perform_calls_;
  absl::Status error = TakeError(perform_error_);
  if (!error.ok()) {
    return error;
  }
  performed_.push_back(work);

  // Mirrors rep auctioncellrep.Perform.
  if (!work.cell_id.empty() && work.cell_id != state_.cell_id) {
    return absl::FailedPreconditionError("workload cell ID does not match this cell");
  }

  auction::Work failed;
  std::vector<auction::Lrp> lrps = work.lrps;
  std::stable_sort(lrps.begin(), lrps.end(), [](const auction::Lrp& a, const auction::Lrp& b) {
    return a.resource.memory_mb > b.resource.memory_mb;
  });
  std::vector<auction::Lrp> admitted;
  int64_t remaining_memory = state_.available_resources.memory_mb;
  for (auction::Lrp& lrp : lrps) {
    const int64_t required =
        static_cast<int64_t>(lrp.resource.memory_mb) + state_.proxy_memory_allocation_mb;
    if (required <= remaining_memory) {
      remaining_memory -= required;
      admitted.push_back(std::move(lrp));
    } else {
      failed.lrps.push_back(std::move(lrp));
    }
  }

  // The rep checks evacuation after the memory pass and then refuses
  // everything.
  if (state_.evacuating) {
    auction::Work all = work;
    all.cell_id.clear();
    return all;
  }

  for (auction::Lrp& lrp : admitted) {
    if (!RootFsAllocatable(lrp.constraint.root_fs) || !Reserve(lrp.resource)) {
      failed.lrps.push_back(std::move(lrp));
      continue;
    }
    lrp.instance_guid = GenerateGuid(guid_gen_);
    lrp.state = "CLAIMED";
    state_.lrps.push_back(std::move(lrp));
  }
  for (const auction::Task& task : work.tasks) {
    if (!RootFsAllocatable(task.constraint.root_fs) || !Reserve(task.resource)) {
      failed.tasks.push_back(task);
      continue;
    }
    auction::Task placed = task;
    placed.state = "Running";
    placed.failed = false;
    state_.tasks.push_back(std::move(placed));
  }
  return failed;
}

auction::CellState FakeCellClient::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

void FakeCellClient::SetState(auction::CellState state) {
  absl::MutexLock lock(&mu_);
  state_ = std::move(state);
}

void FakeCellClient::SetEvacuating(bool evacuating) {
  absl::MutexLock lock(&mu_);
  state_.evacuating = evacuating;
}

void FakeCellClient::SetStateError(absl::Status error, int times) {
  absl::MutexLock lock(&mu_);
  state_error_ = InjectedError{std::move(error), times};
}

void FakeCellClient::SetPerformError(absl::Status error, int times) {
  absl::MutexLock lock(&mu_);
  perform_error_ = InjectedError{std::move(error), times};
}

void FakeCellClient::SetStateDelay(Clock* clock, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  state_delay_ = delay > absl::ZeroDuration() ? Delay{clock, delay} : Delay{};
}

void FakeCellClient::SetPerformDelay(Clock* clock, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  perform_delay_ = delay > absl::ZeroDuration() ? Delay{clock, delay} : Delay{};
}

void FakeCellClient::StartAllContainers() {
  absl::MutexLock lock(&mu_);
  state_.starting_container_count = 0;
  for (auction::Lrp& lrp : state_.lrps) {
    if (lrp.state == "CLAIMED") {
      lrp.state = "RUNNING";
    }
  }
}

void FakeCellClient::Reset() {
  absl::MutexLock lock(&mu_);
  state_.lrps.clear();
  state_.tasks.clear();
  state_.available_resources = state_.total_resources;
  state_.starting_container_count = 0;
  state_error_ = InjectedError{};
  perform_error_ = InjectedError{};
  state_delay_ = Delay{};
  perform_delay_ = Delay{};
  state_calls_ = 0;
  perform_calls_ = 0;
  performed_.clear();
}

int FakeCellClient::StateCallCount() const {
  absl::MutexLock lock(&mu_);
  return state_calls_;
}

int FakeCellClient::PerformCallCount() const {
  absl::MutexLock lock(&mu_);
  return perform_calls_;
}

std::vector<auction::Work> FakeCellClient::PerformedWork() const {
  absl::MutexLock lock(&mu_);
  return performed_;
}

}  // namespace diego::fakes
