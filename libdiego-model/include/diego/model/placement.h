// Copyright 2026 The libdiego Authors.
//
// -----------------------------------------------------------------------------
// File: placement.h
// -----------------------------------------------------------------------------
//
// The auctioneer's hard placement constraints other than rootfs (spec 4.3
// steps 2 and 3), and Diego's exact "found no compatible cell" messages.
//
// A cell is compatible with a workload when, checked in this order, it
// supports the rootfs (`RootFsProviders::Match()`, rootfs.h), has every
// requested volume driver (`MatchVolumeDrivers()`), and its placement tags
// fit the requested ones (`MatchPlacementTags()`).
//
// When no cell is compatible, the auctioneer reports the most specific
// failure seen on any cell: placement tags beat volume drivers, which beat
// rootfs (auction auctionrunner/scheduler.go `filterCells`, `filterZones`).
// The messages are the strings Diego stores in `placement_error`
// (auction auctiontypes/types.go):
//
//   found no compatible cell for required rootfs
//   found no compatible cell with required volume drivers
//   found no compatible cell with no placement tags
//   found no compatible cell with placement tag "a"
//   found no compatible cell with placement tags "a", "b" and "c"
//
// Example (one workload against the cells):
//
//   for (const Cell& cell : cells) {
//     std::optional<PlacementMismatch> m = FirstPlacementMismatch(
//         cell.providers.Match(rootfs), MatchVolumeDrivers(drivers, cell.drivers),
//         MatchPlacementTags(tags, cell.required_tags, cell.optional_tags));
//     if (m.has_value()) {
//       rejections.push_back(*m);
//     } else {
//       compatible.push_back(&cell);
//     }
//   }
//   if (compatible.empty()) return NoCompatibleCellError(rejections, tags);
//
// Every function here is pure and thread-safe.

#ifndef DIEGO_MODEL_PLACEMENT_H_
#define DIEGO_MODEL_PLACEMENT_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "diego/model/v1/cells.pb.h"

namespace diego::model {

// auctiontypes `ErrorCellMismatch` and `ErrorVolumeDriverMismatch`.
inline constexpr absl::string_view kRootFsMismatchMessage =
    "found no compatible cell for required rootfs";
inline constexpr absl::string_view kVolumeDriverMismatchMessage =
    "found no compatible cell with required volume drivers";

// Returns true if a cell with required tags `required_tags` and optional tags
// `optional_tags` may run a workload requesting `requested_tags` (rep
// resources.go `MatchPlacementTags`):
//
//   required ⊆ requested  AND  requested ⊆ (required ∪ optional)
//
// All three are sets (order and duplicates do not matter); tags compare byte
// for byte. An optional tag lets a cell take work that asks for it without
// refusing work that does not. (Diego's docs say "equal"; the code, followed
// here, allows optional tags.)
bool MatchPlacementTags(absl::Span<const std::string> requested_tags,
                        absl::Span<const std::string> required_tags,
                        absl::Span<const std::string> optional_tags);

// `MatchPlacementTags(requested_tags, presence.placement_tags(),
// presence.optional_placement_tags())`.
bool MatchPlacementTags(const v1::CellPresence& presence,
                        absl::Span<const std::string> requested_tags);

// Returns true if every driver in `requested_drivers` appears in
// `cell_drivers` (rep resources.go `MatchVolumeDrivers`). An empty request
// always matches; duplicates and order do not matter.
bool MatchVolumeDrivers(absl::Span<const std::string> requested_drivers,
                        absl::Span<const std::string> cell_drivers);

// The first constraint a cell fails. Ordered least to most specific.
enum class PlacementMismatch {
  kRootFs = 0,
  kVolumeDrivers = 1,
  kPlacementTags = 2,
};

// Returns the first failing check in the auctioneer's order (rootfs, volume
// drivers, placement tags), or `std::nullopt` if all three match.
std::optional<PlacementMismatch> FirstPlacementMismatch(bool rootfs_matches,
                                                        bool volume_drivers_match,
                                                        bool placement_tags_match);

// Returns the more specific of `a` and `b`: placement tags > volume drivers
// > rootfs.
PlacementMismatch MoreSpecific(PlacementMismatch a, PlacementMismatch b);

// Returns the most specific element of `mismatches`, or `std::nullopt` if it
// is empty.
std::optional<PlacementMismatch> MostSpecificMismatch(
    absl::Span<const PlacementMismatch> mismatches);

// Returns Diego's placement-tag message for a workload that requested
// `requested_tags` (auctiontypes `PlacementTagMismatchError.Error`). The tags
// appear exactly as requested, in request order and including duplicates;
// each is wrapped in double quotes without escaping:
//
//   {}              found no compatible cell with no placement tags
//   {"a"}           found no compatible cell with placement tag "a"
//   {"a","b"}       found no compatible cell with placement tags "a" and "b"
//   {"a","b","c"}   found no compatible cell with placement tags "a", "b"
//                   and "c"
std::string PlacementTagMismatchMessage(absl::Span<const std::string> requested_tags);

// Returns the message for `mismatch`; `requested_tags` is used only for
// `kPlacementTags`.
std::string PlacementMismatchMessage(PlacementMismatch mismatch,
                                     absl::Span<const std::string> requested_tags);

// Returns `kFailedPrecondition` (no cell is in a state to run the workload)
// whose message is exactly `PlacementMismatchMessage(mismatch,
// requested_tags)`, ready to be stored as a `placement_error`.
absl::Status PlacementMismatchError(PlacementMismatch mismatch,
                                    absl::Span<const std::string> requested_tags);

// Returns the error for a workload that no cell could take, given the
// mismatch of every rejected cell (in any order, over all zones): the
// `PlacementMismatchError()` of the most specific one. With no rejections
// (no cells were examined) it is the rootfs error, which is where Diego's
// per-zone filter starts. Never OK.
//
// Across zones, Diego keeps the most specific error except that a zone's
// placement-tag error is overwritten by whatever error the next zone in Go's
// random map order reports; this function applies the documented
// most-specific rule to all cells instead, which is order-independent.
absl::Status NoCompatibleCellError(absl::Span<const PlacementMismatch> rejections,
                                   absl::Span<const std::string> requested_tags);

}  // namespace diego::model

#endif  // DIEGO_MODEL_PLACEMENT_H_
