// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: fake_cell_presence_source.h
// -----------------------------------------------------------------------------
//
// `diego::fakes::FakeCellPresenceSource` is an in-memory
// `bbs::CellPresenceSource` (the Locket presences the BBS reads as its cell
// set): a test adds and removes cells, or makes reads fail as when Locket is
// unreachable, and counts how often the code under test looked.
//
//   FakeCellPresenceSource cells;
//   cells.AddCell("cell-1");               // rep_url https://cell-1:1801
//   Converger converger(&store, &cells, ...);
//   converger.Start();
//   cells.RemoveCell("cell-1");            // the cell's presence expired
//   cells.SetError(absl::UnavailableError("locket down"));
//   EXPECT_EQ(cells.CellsCalls(), 3);
//
// Thread-safe: the code under test may read from any thread while the test
// changes the cells.

#ifndef DIEGO_TESTING_FAKE_CELL_PRESENCE_SOURCE_H_
#define DIEGO_TESTING_FAKE_CELL_PRESENCE_SOURCE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "diego/bbs/store.h"
#include "diego/model/v1/cells.pb.h"

namespace diego::fakes {

class FakeCellPresenceSource final : public bbs::CellPresenceSource {
 public:
  FakeCellPresenceSource() = default;
  FakeCellPresenceSource(const FakeCellPresenceSource&) = delete;
  FakeCellPresenceSource& operator=(const FakeCellPresenceSource&) = delete;

  // A plausible presence for `cell_id`: rep_address "http://<id>:1800",
  // rep_url "https://<id>:1801", zone "z1", some capacity.
  static model::v1::CellPresence Presence(absl::string_view cell_id);

  // Adds `Presence(cell_id)`, replacing a cell of that id.
  void AddCell(absl::string_view cell_id);
  // Adds `cell`, replacing a cell with the same `cell_id`.
  void SetCell(const model::v1::CellPresence& cell);
  // Removes the cell (its presence expired); a no-op when absent.
  void RemoveCell(absl::string_view cell_id);
  // Removes every cell.
  void Clear();

  // Makes every later `Cells()` / `CellById()` return `error` (counted as
  // usual); OK restores success.
  void SetError(absl::Status error);

  // bbs::CellPresenceSource: the cells in cell-id order, or the error set
  // with `SetError`.
  absl::StatusOr<std::vector<model::v1::CellPresence>> Cells() override;
  // `model::ErrResourceNotFound()` when the cell is absent.
  absl::StatusOr<model::v1::CellPresence> CellById(absl::string_view cell_id) override;

  // How many times `Cells()` / `CellById()` were called (failures included).
  int64_t CellsCalls() const;
  int64_t CellByIdCalls() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, model::v1::CellPresence, std::less<>> cells_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  int64_t cells_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t cell_by_id_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace diego::fakes

#endif  // DIEGO_TESTING_FAKE_CELL_PRESENCE_SOURCE_H_
