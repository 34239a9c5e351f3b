// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fake_cell_client.h
// -----------------------------------------------------------------------------
//
// `diego::fakes::FakeCellClient` is a stateful, in-memory `auction::CellClient`:
// a simulated rep in the spirit of Diego's `SimulationRep`
// (auction/simulation/simulationrep). It holds a `CellState`; `State()`
// returns it and `Perform()` applies the rep's Perform rules
// (diego-spec.md 5.2, rep auctioncellrep `Perform`) to it, so an auction
// run against a set of fakes behaves like one against real reps, without
// Garden, HTTP or sleeping.
//
// `Perform(work)`, in order:
//
//   1. A non-empty `work.cell_id` different from this cell's id is refused:
//      kFailedPrecondition "workload cell ID does not match this cell" (the
//      rep's `ErrCellIdMismatch`), and nothing changes.
//   2. LRPs are ordered by memory, largest first (stable), and admitted while
//      memory + `ProxyMemoryAllocationMB` fits the memory still unclaimed by
//      earlier admitted LRPs; the others are returned as failed.
//   3. If the cell is evacuating, ALL of `work` is returned as failed (OK
//      status) and nothing changes.
//   4. Each admitted LRP, then each task in order, is allocated: it fails if
//      its preloaded rootfs stack is unknown to the cell (rep
//      `ErrPreloadedRootFSNotFound`; other schemes always pass) or if the
//      cell's available memory, disk or containers (at least 1) cannot hold
//      it. Otherwise the plain request is reserved: available memory and disk
//      minus the request, containers minus 1, `StartingContainerCount` plus 1,
//      and the LRP is appended to `lrps` with a fresh instance guid and state
//      "CLAIMED", or the task to `tasks` with state "Running".
//   5. Returns what failed, with an empty `cell_id`: the LRPs refused in
//      step 2 then those refused in step 4 (each group largest memory first),
//      and the refused tasks in request order.
//
// Fault injection: `SetStateError` / `SetPerformError` make calls fail with a
// given status (for the next N calls, or until cleared);
// `SetStateDelay` / `SetPerformDelay` make calls sleep on a `Clock` first (use
// a `FakeClock` and `BlockUntilSleepers` to hold a call in flight). Every
// call is counted, and every `Work` given to `Perform` is recorded.
//
// Instance guids are RFC 4122 v4 shaped and reproducible: they come from a
// generator seeded from the cell id, so the same sequence of calls yields the
// same guids on every run.
//
// Example:
//
//   FakeCellClient cell(FakeCellClient::NewCellState(
//       "cell-z1-0", "z1", {.memory_mb = 1024, .disk_mb = 4096, .containers = 100}));
//   cell.SetStateError(absl::UnavailableError("cell 'cell-z1-0': down"), 1);
//   EXPECT_FALSE(cell.State().ok());  // The first call fails,
//   EXPECT_TRUE(cell.State().ok());   // the next succeeds.
//
// Thread-safe: every method may be called from any thread.

#ifndef DIEGO_TESTING_FAKE_CELL_CLIENT_H_
#define DIEGO_TESTING_FAKE_CELL_CLIENT_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "diego/auction/cell_client.h"
#include "diego/auction/types.h"
#include "diego/base/clock.h"

namespace diego::fakes {

// A simulated rep; see the file comment.
class FakeCellClient final : public auction::CellClient {
 public:
  // Returns the state of an empty, healthy cell like Diego's simulation
  // cells: id `cell_id`, zone `zone`, `total` capacity with all of it
  // available, rep url `http://<cell_id>.cell.service.cf.internal:1800`,
  // rootfs providers `preloaded` and `preloaded+layer` = fixed set {`stack`}
  // and `docker` arbitrary, and cell index `cell_index`.
  static auction::CellState NewCellState(absl::string_view cell_id, absl::string_view zone,
                                         auction::Resources total,
                                         absl::string_view stack = "cflinuxfs4",
                                         int32_t cell_index = 0);

  // A rep whose current state is `state`. `state.available_resources` is
  // taken as given (it is not recomputed from `lrps` and `tasks`).
  explicit FakeCellClient(auction::CellState state);

  FakeCellClient(const FakeCellClient&) = delete;
  FakeCellClient& operator=(const FakeCellClient&) = delete;

  // auction::CellClient.
  //
  // Returns the current state, or the injected state error. Sleeps first if
  // a state delay is set.
  [[nodiscard]] absl::StatusOr<auction::CellState> State() override;

  // Applies the Perform rules above, or returns the injected perform error
  // (without changing anything). Sleeps first if a perform delay is set.
  [[nodiscard]] absl::StatusOr<auction::Work> Perform(const auction::Work& work) override;

  // The current state, bypassing injected errors and delays, and not counted.
  auction::CellState state() const;

  // Replaces the whole state.
  void SetState(auction::CellState state);

  // Sets `Evacuating` (the rep flips it on `POST /evacuate`).
  void SetEvacuating(bool evacuating);

  // Makes the next `times` `State()` calls return `error` (a negative
  // `times` means every call until cleared). `SetStateError(OkStatus())`
  // clears it. A failed call still counts in `StateCallCount()`.
  void SetStateError(absl::Status error, int times = -1);

  // As `SetStateError`, for `Perform()`. A failed call is not recorded in
  // `PerformedWork()`, but counts in `PerformCallCount()`.
  void SetPerformError(absl::Status error, int times = -1);

  // Makes every later `State()` / `Perform()` call first `clock->Sleep(delay)`
  // (outside the fake's lock, so other calls proceed). A zero delay clears
  // it. `clock` is not owned and must outlive every delayed call.
  void SetStateDelay(Clock* clock, absl::Duration delay);
  void SetPerformDelay(Clock* clock, absl::Duration delay);

  // Marks every starting container as started: `StartingContainerCount`
  // becomes 0 and "CLAIMED" LRPs become "RUNNING" (a rep's containers
  // reaching the running state). Resources stay reserved.
  void StartAllContainers();

  // Diego's simulation `Reset` (rep `POST /sim/reset`): removes every LRP and
  // task, makes all of `TotalResources` available again, zeroes
  // `StartingContainerCount`; also clears injected errors and delays and the
  // call records. Other state fields (id, zone, providers, evacuating, ...)
  // are kept.
  void Reset();

  // Calls made so far (including failed ones), and the `Work` of every
  // `Perform` call that was not failed by injection, in call order.
  int StateCallCount() const;
  int PerformCallCount() const;
  std::vector<auction::Work> PerformedWork() const;

 private:
  struct InjectedError {
    absl::Status status;
    int remaining = 0;  // < 0: until cleared.
  };
  struct Delay {
    Clock* clock = nullptr;
    absl::Duration duration;
  };

  // Returns the injected error to fail this call with, consuming one use, or
  // OK.
  static absl::Status TakeError(InjectedError& error);

  // Whether `lrp`/`task` with this rootfs can be allocated here: unknown
  // preloaded stacks cannot (rep `StackPathMap.PathForRootFS`).
  bool RootFsAllocatable(absl::string_view root_fs) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Reserves `resource` if it fits; returns false otherwise.
  bool Reserve(const auction::Resource& resource) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  auction::CellState state_ ABSL_GUARDED_BY(mu_);
  InjectedError state_error_ ABSL_GUARDED_BY(mu_);
  InjectedError perform_error_ ABSL_GUARDED_BY(mu_);
  Delay state_delay_ ABSL_GUARDED_BY(mu_);
  Delay perform_delay_ ABSL_GUARDED_BY(mu_);
  int state_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int perform_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<auction::Work> performed_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 guid_gen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_FAKE_CELL_CLIENT_H_
