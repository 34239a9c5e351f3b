// Copyright 2026 The libdiego Authors.

#include "diego/model/placement.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace diego::model {
namespace {

// Tag lists are short; an ordered set keeps this free of extra Abseil deps.
using TagSet = std::set<absl::string_view>;

TagSet ToSet(absl::Span<const std::string> tags) { return TagSet(tags.begin(), tags.end()); }

bool IsSubset(const TagSet& subset, const TagSet& superset) {
  return std::all_of(subset.begin(), subset.end(),
                     [&](absl::string_view tag) { return superset.contains(tag); });
}

}  // namespace

bool MatchPlacementTags(absl::Span<const std::string> requested_tags,
                        absl::Span<const std::string> required_tags,
                        absl::Span<const std::string> optional_tags) {
  // Mirrors rep resources.go `MatchPlacementTags`: build sets, then
  // required ⊆ desired && desired ⊆ required ∪ optional.
  const TagSet requested = ToSet(requested_tags);
  const TagSet required = ToSet(required_tags);
  TagSet allowed = required;
  allowed.insert(optional_tags.begin(), optional_tags.end());
  return IsSubset(required, requested) && IsSubset(requested, allowed);
}

bool MatchPlacementTags(const v1::CellPresence& presence,
                        absl::Span<const std::string> requested_tags) {
  const std::vector<std::string> required(presence.placement_tags().begin(),
                                          presence.placement_tags().end());
  const std::vector<std::string> optional(presence.optional_placement_tags().begin(),
                                          presence.optional_placement_tags().end());
  return MatchPlacementTags(requested_tags, required, optional);
}

bool MatchVolumeDrivers(absl::Span<const std::string> requested_drivers,
                        absl::Span<const std::string> cell_drivers) {
  // rep resources.go `MatchVolumeDrivers` is a nested linear scan; a set
  // gives the same answer.
  return IsSubset(ToSet(requested_drivers), ToSet(cell_drivers));
}

std::optional<PlacementMismatch> FirstPlacementMismatch(bool rootfs_matches,
                                                        bool volume_drivers_match,
                                                        bool placement_tags_match) {
  // auctionrunner/scheduler.go `filterCells` nests the checks in this order.
  if (!rootfs_matches) {
    return PlacementMismatch::kRootFs;
  }
  if (!volume_drivers_match) {
    return PlacementMismatch::kVolumeDrivers;
  }
  if (!placement_tags_match) {
    return PlacementMismatch::kPlacementTags;
  }
  return std::nullopt;
}

// The enumerator values encode specificity, so the comparison is numeric.
PlacementMismatch MoreSpecific(PlacementMismatch a, PlacementMismatch b) {
  return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}

std::optional<PlacementMismatch> MostSpecificMismatch(
    absl::Span<const PlacementMismatch> mismatches) {
  std::optional<PlacementMismatch> best;
  for (PlacementMismatch mismatch : mismatches) {
    best = best.has_value() ? MoreSpecific(*best, mismatch) : mismatch;
  }
  return best;
}

std::string PlacementTagMismatchMessage(absl::Span<const std::string> requested_tags) {
  // auctiontypes/types.go `PlacementTagMismatchError.Error`: tags in request
  // order, quoted verbatim, ", " between all but the last, " and " before it.
  constexpr absl::string_view kPrefix = "found no compatible cell with ";
  switch (requested_tags.size()) {
    case 0:
      return absl::StrCat(kPrefix, "no placement tags");
    case 1:
      return absl::StrCat(kPrefix, "placement tag \"", requested_tags[0], "\"");
    default:
      break;
  }
  std::string message = absl::StrCat(kPrefix, "placement tags ");
  for (size_t i = 0; i + 1 < requested_tags.size(); ++i) {
    if (i > 0) {
      message.append(", ");
    }
    absl::StrAppend(&message, "\"", requested_tags[i], "\"");
  }
  absl::StrAppend(&message, " and \"", requested_tags.back(), "\"");
  return message;
}

std::string PlacementMismatchMessage(PlacementMismatch mismatch,
                                     absl::Span<const std::string> requested_tags) {
  switch (mismatch) {
    case PlacementMismatch::kRootFs:
      return std::string(kRootFsMismatchMessage);
    case PlacementMismatch::kVolumeDrivers:
      return std::string(kVolumeDriverMismatchMessage);
    case PlacementMismatch::kPlacementTags:
      return PlacementTagMismatchMessage(requested_tags);
  }
  return std::string(kRootFsMismatchMessage);  // Unreachable enum value.
}

// Diego keeps these as plain strings in `placement_error`; there is no BBS
// error type for them, so no `BbsError` payload is attached.
absl::Status PlacementMismatchError(PlacementMismatch mismatch,
                                    absl::Span<const std::string> requested_tags) {
  return absl::FailedPreconditionError(PlacementMismatchMessage(mismatch, requested_tags));
}

absl::Status NoCompatibleCellError(absl::Span<const PlacementMismatch> rejections,
                                   absl::Span<const std::string> requested_tags) {
  // `filterCells` starts from ErrorCellMismatch, so a zone without cells
  // reports the rootfs error.
  return PlacementMismatchError(
      MostSpecificMismatch(rejections).value_or(PlacementMismatch::kRootFs), requested_tags);
}

}  // namespace diego::model
