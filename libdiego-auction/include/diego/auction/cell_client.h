// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: cell_client.h
// -----------------------------------------------------------------------------
//
// `diego::auction::CellClient` is the auctioneer's view of one cell's rep: it
// reads the cell's free resources and asks it to start work. It is Diego's
// rep `Client.State` / `Client.Perform` pair (rep client.go), the seam
// between the auction and the network.
//
// Implementations:
//   - `HttpCellClient` (http_cell_client.h) speaks the rep's `GET /state` and
//     `POST /work` JSON over HTTP;
//   - `diego::fakes::FakeCellClient` (diego/testing/fake_cell_client.h) is an
//     in-memory simulated rep (Diego's `SimulationRep`) for tests, the auction
//     simulation and benchmarks.
//
// Example:
//
//   absl::StatusOr<CellState> state = client.State();
//   if (!state.ok() || state->evacuating) return;  // Skip this cell.
//   Work work{.lrps = {lrp}, .cell_id = state->cell_id};
//   absl::StatusOr<Work> failed = client.Perform(work);
//   if (failed.ok()) { /* failed->lrps / failed->tasks did not start */ }

#ifndef DIEGO_AUCTION_CELL_CLIENT_H_
#define DIEGO_AUCTION_CELL_CLIENT_H_

#include "absl/status/statusor.h"
#include "diego/auction/types.h"

namespace diego::auction {

// One cell's rep, as the auctioneer sees it.
//
// Implementations must be thread-safe: the auction runner calls `State()` and
// `Perform()` from its worker pool, and may abandon a `State()` call that
// outlives its deadline while another round calls the same client again.
// Every call must eventually return (implementations bound their own I/O with
// a timeout).
class CellClient {
 public:
  virtual ~CellClient() = default;

  // Returns the cell's current state (rep `GET /state`): its capacity, free
  // resources, rootfs providers, the LRPs and tasks it holds, and whether it
  // is evacuating.
  //
  // Errors (the auctioneer skips the cell for this round on any of them):
  //   - kUnavailable: the rep could not be reached (connection refused or
  //     reset, name resolution failed), or it answered 503 because its
  //     periodic Garden health check is failing (the cell is unhealthy);
  //   - kDeadlineExceeded: no complete answer within the client's timeout;
  //   - kInternal: any other non-200 status (e.g. 404, 500), or a body that
  //     is not a valid `CellState` document;
  //   - other codes are implementation-specific (fakes inject any status).
  // Every message names the cell and, for HTTP, the URL.
  [[nodiscard]] virtual absl::StatusOr<CellState> State() = 0;

  // Asks the cell to start `work` (rep `POST /work`) and returns the part of
  // `work` it could NOT start: the LRPs and tasks that did not fit, could not
  // be allocated, or were refused because the cell is evacuating. An empty
  // `Work` means everything was accepted. `work.cell_id`, when set, must be
  // the cell's own id.
  //
  // Errors: the same codes as `State()`, plus kFailedPrecondition from
  // implementations that check `work.cell_id` locally. On any error nothing
  // is known about what was placed; some of the work may have started. The
  // auction runner therefore marks nothing failed and lets the BBS's
  // convergence repair it, as Diego does (to avoid duplicate instances).
  [[nodiscard]] virtual absl::StatusOr<Work> Perform(const Work& work) = 0;
};

}  // namespace diego::auction

#endif  // DIEGO_AUCTION_CELL_CLIENT_H_
