// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: cells.h
// -----------------------------------------------------------------------------
//
// Cell presences through Locket, for the BBS (`/v1/cells/list.r1`, the
// converger's cell set) when Locket runs elsewhere:
//
//   * `LocketCellPresenceSource::Cells()`: FetchAll{type "presence",
//     type_code PRESENCE}; each resource's value is parsed as CellPresence
//     JSON (bbs-wire-reference.md 8); entries that do not parse are skipped
//     (Diego's behaviour). Ordered by cell id.
//   * `CellById(id)`: Fetch{key=id}; Locket's NotFound becomes the BBS's
//     `model::ErrResourceNotFound()`; a value that does not parse is
//     kDataLoss.
//   Other Locket errors are returned as they are (the converger then skips
//   its run, as Diego does when Locket is unreachable).
//
// Also the presence value a rep registers: `CellPresenceValue()` encodes a
// CellPresence as that JSON.
//
// Thread-safety: thread-safe.

#ifndef DIEGO_LOCKET_CELLS_H_
#define DIEGO_LOCKET_CELLS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "diego/bbs/store.h"
#include "diego/locket/client.h"
#include "diego/model/v1/cells.pb.h"

namespace diego::locket {

// The Go JSON of `cell` (annotations always present, `{}` when empty).
std::string CellPresenceValue(const model::v1::CellPresence& cell);

class LocketCellPresenceSource final : public bbs::CellPresenceSource {
 public:
  // `client` must outlive this. `timeout` bounds each Locket call.
  explicit LocketCellPresenceSource(LocketClient* client,
                                    absl::Duration timeout = absl::Seconds(10));

  absl::StatusOr<std::vector<model::v1::CellPresence>> Cells() override;
  absl::StatusOr<model::v1::CellPresence> CellById(absl::string_view cell_id) override;

 private:
  LocketClient* const client_;
  const absl::Duration timeout_;
};

}  // namespace diego::locket

#endif  // DIEGO_LOCKET_CELLS_H_
