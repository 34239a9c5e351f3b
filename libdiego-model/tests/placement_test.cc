// Copyright 2026 The libdiego Authors.

#include "diego/model/placement.h"

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "diego/model/rootfs.h"
#include "diego/model/v1/cells.pb.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::model {
namespace {

using ::diego::fakes::StatusIs;
using ::testing::Not;

using Tags = std::vector<std::string>;

// ---------------------------------------------------------------------------
// The exact strings.

TEST(PlacementMessagesTest, ConstantsAreDiegoStrings) {
  EXPECT_EQ(kRootFsMismatchMessage, "found no compatible cell for required rootfs");
  EXPECT_EQ(kVolumeDriverMismatchMessage, "found no compatible cell with required volume drivers");
}

// ---------------------------------------------------------------------------
// MatchPlacementTags: the subset rule.

struct TagCase {
  std::string name;
  Tags requested;
  Tags required;
  Tags optional;
  bool want;

  // Names the case in gtest failure output instead of dumping bytes.
  friend void PrintTo(const TagCase& c, std::ostream* os) { *os << c.name; }
};

class MatchPlacementTagsTest : public ::testing::TestWithParam<TagCase> {};

TEST_P(MatchPlacementTagsTest, AppliesRequiredAndOptionalSubsetRule) {
  const TagCase& c = GetParam();
  EXPECT_EQ(MatchPlacementTags(c.requested, c.required, c.optional), c.want);

  v1::CellPresence presence;
  for (const std::string& tag : c.required) {
    presence.add_placement_tags(tag);
  }
  for (const std::string& tag : c.optional) {
    presence.add_optional_placement_tags(tag);
  }
  EXPECT_EQ(MatchPlacementTags(presence, c.requested), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    SubsetRule, MatchPlacementTagsTest,
    ::testing::Values(
        // Empty sets.
        TagCase{"NothingRequestedUntaggedCell", {}, {}, {}, true},
        TagCase{"NothingRequestedCellRequiresTag", {}, {"a"}, {}, false},
        TagCase{"NothingRequestedCellOnlyOptionalTags", {}, {}, {"a"}, true},
        TagCase{"TagRequestedUntaggedCell", {"a"}, {}, {}, false},
        // Required tags alone: must be equal as sets.
        TagCase{"EqualSingleTag", {"a"}, {"a"}, {}, true},
        TagCase{"EqualSetsInDifferentOrder", {"b", "a"}, {"a", "b"}, {}, true},
        TagCase{"RequestedSupersetOfRequired", {"a", "b"}, {"a"}, {}, false},
        TagCase{"RequestedSubsetOfRequired", {"a"}, {"a", "b"}, {}, false},
        TagCase{"DisjointTags", {"b"}, {"a"}, {}, false},
        // Optional tags widen what the cell accepts, never what it demands.
        TagCase{"ExtraTagAllowedByOptional", {"a", "b"}, {"a"}, {"b"}, true},
        TagCase{"OptionalTagNotRequested", {"a"}, {"a"}, {"b"}, true},
        TagCase{"OnlyOptionalTagRequested", {"b"}, {}, {"b"}, true},
        TagCase{"OptionalDoesNotExcuseMissingRequired", {"b"}, {"a"}, {"b"}, false},
        TagCase{"SeveralOptionalTags", {"a", "b", "c"}, {"a"}, {"b", "c"}, true},
        TagCase{"RequestedTagOutsideRequiredAndOptional", {"a", "d"}, {"a"}, {"b", "c"}, false},
        TagCase{"TagBothRequiredAndOptional", {"a"}, {"a"}, {"a"}, true},
        // Duplicates and comparison.
        TagCase{"DuplicateRequestedTags", {"a", "a"}, {"a"}, {}, true},
        TagCase{"DuplicateRequiredTags", {"a"}, {"a", "a"}, {}, true},
        TagCase{"DuplicateOptionalTags", {"b", "b"}, {}, {"b", "b"}, true},
        TagCase{"TagsAreCaseSensitive", {"A"}, {"a"}, {}, false},
        TagCase{"EmptyStringIsATag", {""}, {}, {}, false},
        TagCase{"EmptyStringTagMatchesItself", {""}, {""}, {}, true}),
    [](const ::testing::TestParamInfo<TagCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------
// MatchVolumeDrivers.

struct DriverCase {
  std::string name;
  Tags requested;
  Tags cell;
  bool want;

  friend void PrintTo(const DriverCase& c, std::ostream* os) { *os << c.name; }
};

class MatchVolumeDriversTest : public ::testing::TestWithParam<DriverCase> {};

TEST_P(MatchVolumeDriversTest, RequiresEveryRequestedDriver) {
  const DriverCase& c = GetParam();
  EXPECT_EQ(MatchVolumeDrivers(c.requested, c.cell), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Drivers, MatchVolumeDriversTest,
    ::testing::Values(DriverCase{"NoneRequestedNoneAvailable", {}, {}, true},
                      DriverCase{"NoneRequestedSomeAvailable", {}, {"nfs"}, true},
                      DriverCase{"RequestedButNoneAvailable", {"nfs"}, {}, false},
                      DriverCase{"RequestedAndAvailable", {"nfs"}, {"nfs", "smb"}, true},
                      DriverCase{"OneOfTwoMissing", {"nfs", "smb"}, {"nfs"}, false},
                      DriverCase{"AllOfSeveral", {"smb", "nfs"}, {"nfs", "smb", "efs"}, true},
                      DriverCase{"DuplicateRequest", {"nfs", "nfs"}, {"nfs"}, true},
                      DriverCase{"CaseSensitive", {"NFS"}, {"nfs"}, false}),
    [](const ::testing::TestParamInfo<DriverCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------
// FirstPlacementMismatch: every combination of the three checks.

struct FirstCase {
  std::string name;
  bool rootfs;
  bool drivers;
  bool tags;
  std::optional<PlacementMismatch> want;

  friend void PrintTo(const FirstCase& c, std::ostream* os) { *os << c.name; }
};

class FirstPlacementMismatchTest : public ::testing::TestWithParam<FirstCase> {};

TEST_P(FirstPlacementMismatchTest, ReportsFirstFailureInCheckOrder) {
  const FirstCase& c = GetParam();
  EXPECT_EQ(FirstPlacementMismatch(c.rootfs, c.drivers, c.tags), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    AllCombinations, FirstPlacementMismatchTest,
    ::testing::Values(
        FirstCase{"AllMatch", true, true, true, std::nullopt},
        FirstCase{"OnlyTagsFail", true, true, false, PlacementMismatch::kPlacementTags},
        FirstCase{"OnlyDriversFail", true, false, true, PlacementMismatch::kVolumeDrivers},
        FirstCase{"DriversAndTagsFail", true, false, false, PlacementMismatch::kVolumeDrivers},
        FirstCase{"OnlyRootFsFails", false, true, true, PlacementMismatch::kRootFs},
        FirstCase{"RootFsAndTagsFail", false, true, false, PlacementMismatch::kRootFs},
        FirstCase{"RootFsAndDriversFail", false, false, true, PlacementMismatch::kRootFs},
        FirstCase{"AllFail", false, false, false, PlacementMismatch::kRootFs}),
    [](const ::testing::TestParamInfo<FirstCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------
// Most-specific rule.

TEST(MoreSpecificTest, PlacementTagsBeatVolumeDriversBeatRootFs) {
  const PlacementMismatch kAll[] = {PlacementMismatch::kRootFs, PlacementMismatch::kVolumeDrivers,
                                    PlacementMismatch::kPlacementTags};
  // kAll is ordered from least to most specific.
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ(MoreSpecific(kAll[i], kAll[j]), kAll[i > j ? i : j]) << "i=" << i << " j=" << j;
    }
  }
}

struct MostSpecificCase {
  std::string name;
  std::vector<PlacementMismatch> mismatches;
  std::optional<PlacementMismatch> want;

  friend void PrintTo(const MostSpecificCase& c, std::ostream* os) { *os << c.name; }
};

class MostSpecificMismatchTest : public ::testing::TestWithParam<MostSpecificCase> {};

TEST_P(MostSpecificMismatchTest, PicksMostSpecificRegardlessOfOrder) {
  const MostSpecificCase& c = GetParam();
  EXPECT_EQ(MostSpecificMismatch(c.mismatches), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Lists, MostSpecificMismatchTest,
    ::testing::Values(
        MostSpecificCase{"Empty", {}, std::nullopt},
        MostSpecificCase{"SingleRootFs", {PlacementMismatch::kRootFs}, PlacementMismatch::kRootFs},
        MostSpecificCase{"DriversAfterRootFs",
                         {PlacementMismatch::kRootFs, PlacementMismatch::kVolumeDrivers},
                         PlacementMismatch::kVolumeDrivers},
        MostSpecificCase{"TagsBeforeRootFs",
                         {PlacementMismatch::kPlacementTags, PlacementMismatch::kRootFs},
                         PlacementMismatch::kPlacementTags},
        MostSpecificCase{"TagsBetweenOthers",
                         {PlacementMismatch::kVolumeDrivers, PlacementMismatch::kPlacementTags,
                          PlacementMismatch::kRootFs},
                         PlacementMismatch::kPlacementTags},
        MostSpecificCase{"RepeatedDrivers",
                         {PlacementMismatch::kVolumeDrivers, PlacementMismatch::kRootFs,
                          PlacementMismatch::kVolumeDrivers},
                         PlacementMismatch::kVolumeDrivers}),
    [](const ::testing::TestParamInfo<MostSpecificCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------
// Placement-tag message formatting.

struct MessageCase {
  std::string name;
  Tags tags;
  std::string want;

  friend void PrintTo(const MessageCase& c, std::ostream* os) { *os << c.name; }
};

class PlacementTagMismatchMessageTest : public ::testing::TestWithParam<MessageCase> {};

TEST_P(PlacementTagMismatchMessageTest, FormatsLikeDiego) {
  const MessageCase& c = GetParam();
  EXPECT_EQ(PlacementTagMismatchMessage(c.tags), c.want);
  EXPECT_EQ(PlacementMismatchMessage(PlacementMismatch::kPlacementTags, c.tags), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    TagLists, PlacementTagMismatchMessageTest,
    ::testing::Values(
        MessageCase{"NoTags", {}, "found no compatible cell with no placement tags"},
        MessageCase{"OneTag", {"a"}, "found no compatible cell with placement tag \"a\""},
        MessageCase{"TwoTags",
                    {"a", "b"},
                    "found no compatible cell with placement tags \"a\" and "
                    "\"b\""},
        MessageCase{"ThreeTags",
                    {"a", "b", "c"},
                    "found no compatible cell with placement tags \"a\", "
                    "\"b\" and \"c\""},
        MessageCase{"FourTags",
                    {"a", "b", "c", "d"},
                    "found no compatible cell with placement tags \"a\", "
                    "\"b\", \"c\" and \"d\""},
        MessageCase{"RequestOrderIsKept",
                    {"c", "a", "b"},
                    "found no compatible cell with placement tags \"c\", "
                    "\"a\" and \"b\""},
        MessageCase{"DuplicatesAreKept",
                    {"a", "a"},
                    "found no compatible cell with placement tags \"a\" and "
                    "\"a\""},
        MessageCase{"TagsAreNotEscaped",
                    {"has space", "q\"uote"},
                    "found no compatible cell with placement tags "
                    "\"has space\" and \"q\"uote\""},
        MessageCase{"EmptyTag", {""}, "found no compatible cell with placement tag \"\""}),
    [](const ::testing::TestParamInfo<MessageCase>& info) { return info.param.name; });

TEST(PlacementMismatchMessageTest, RootFsAndDriverMessagesIgnoreTags) {
  const Tags tags = {"a", "b"};
  EXPECT_EQ(PlacementMismatchMessage(PlacementMismatch::kRootFs, tags),
            "found no compatible cell for required rootfs");
  EXPECT_EQ(PlacementMismatchMessage(PlacementMismatch::kVolumeDrivers, tags),
            "found no compatible cell with required volume drivers");
}

TEST(PlacementMismatchErrorTest, IsFailedPreconditionWithExactMessage) {
  const Tags tags = {"gpu"};
  absl::Status rootfs = PlacementMismatchError(PlacementMismatch::kRootFs, tags);
  EXPECT_EQ(rootfs.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(rootfs.message(), "found no compatible cell for required rootfs");

  absl::Status drivers = PlacementMismatchError(PlacementMismatch::kVolumeDrivers, tags);
  EXPECT_EQ(drivers.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(drivers.message(), "found no compatible cell with required volume drivers");

  absl::Status placement = PlacementMismatchError(PlacementMismatch::kPlacementTags, tags);
  EXPECT_EQ(placement.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(placement.message(), "found no compatible cell with placement tag \"gpu\"");
}

// ---------------------------------------------------------------------------
// NoCompatibleCellError.

TEST(NoCompatibleCellErrorTest, WithoutRejectionsReportsRootFs) {
  absl::Status status = NoCompatibleCellError({}, Tags{"a"});
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(status.message(), kRootFsMismatchMessage);
}

TEST(NoCompatibleCellErrorTest, ReportsMostSpecificRejection) {
  const Tags tags = {"a", "b", "c"};
  EXPECT_EQ(NoCompatibleCellError({PlacementMismatch::kRootFs}, tags).message(),
            kRootFsMismatchMessage);
  EXPECT_EQ(
      NoCompatibleCellError({PlacementMismatch::kRootFs, PlacementMismatch::kVolumeDrivers}, tags)
          .message(),
      kVolumeDriverMismatchMessage);
  EXPECT_EQ(NoCompatibleCellError({PlacementMismatch::kPlacementTags, PlacementMismatch::kRootFs,
                                   PlacementMismatch::kVolumeDrivers},
                                  tags)
                .message(),
            "found no compatible cell with placement tags \"a\", \"b\" and "
            "\"c\"");
  EXPECT_THAT(NoCompatibleCellError({PlacementMismatch::kPlacementTags}, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "found no compatible cell with no placement tags"));
  EXPECT_THAT(NoCompatibleCellError({PlacementMismatch::kVolumeDrivers}, tags),
              Not(::diego::fakes::IsOk()));
}

// ---------------------------------------------------------------------------
// The pieces together: filtering cell presences for one workload, as the
// auctioneer filters a zone (spec 4.3).

struct FakeCell {
  v1::CellPresence presence;
  Tags volume_drivers;
};

FakeCell MakeCell(const std::string& stack, const Tags& drivers, const Tags& required,
                  const Tags& optional) {
  FakeCell cell;
  v1::Provider* preloaded = cell.presence.add_rootfs_providers();
  preloaded->set_name("preloaded");
  preloaded->add_properties(stack + "@1.0");
  cell.presence.add_rootfs_providers()->set_name("docker");
  for (const std::string& tag : required) {
    cell.presence.add_placement_tags(tag);
  }
  for (const std::string& tag : optional) {
    cell.presence.add_optional_placement_tags(tag);
  }
  cell.volume_drivers = drivers;
  return cell;
}

// Returns OK if some cell fits, else the auctioneer's placement error.
absl::Status Filter(const std::vector<FakeCell>& cells, const std::string& rootfs,
                    const Tags& drivers, const Tags& tags) {
  absl::StatusOr<RootFsUrl> url = ParseRootFs(rootfs);
  std::vector<PlacementMismatch> rejections;
  for (const FakeCell& cell : cells) {
    std::optional<PlacementMismatch> mismatch = FirstPlacementMismatch(
        url.ok() && CellSupportsRootFs(cell.presence, *url),
        MatchVolumeDrivers(drivers, cell.volume_drivers), MatchPlacementTags(cell.presence, tags));
    if (!mismatch.has_value()) {
      return absl::OkStatus();
    }
    rejections.push_back(*mismatch);
  }
  return NoCompatibleCellError(rejections, tags);
}

TEST(PlacementFilterTest, ReportsDeepestStageAnyCellReached) {
  const std::vector<FakeCell> cells = {
      MakeCell("windows", {"nfs"}, {}, {}),
      MakeCell("cflinuxfs4", {}, {}, {}),
      MakeCell("cflinuxfs4", {"nfs"}, {"gpu"}, {}),
  };

  // Compatible: the second cell takes untagged, driverless Linux work.
  EXPECT_TRUE(Filter(cells, "preloaded:cflinuxfs4", {}, {}).ok());
  // Only the third cell has Linux and nfs, and it requires "gpu".
  EXPECT_EQ(Filter(cells, "preloaded:cflinuxfs4", {"nfs"}, {}).message(),
            "found no compatible cell with no placement tags");
  EXPECT_TRUE(Filter(cells, "preloaded:cflinuxfs4", {"nfs"}, {"gpu"}).ok());
  // No Linux cell has smb.
  EXPECT_EQ(Filter(cells, "preloaded:cflinuxfs4", {"smb"}, {"gpu"}).message(),
            kVolumeDriverMismatchMessage);
  // Nobody has the stack, whatever else is asked.
  EXPECT_EQ(Filter(cells, "preloaded:cflinuxfs3", {}, {"gpu"}).message(), kRootFsMismatchMessage);
  // Windows with nfs fits the first cell unless tags are requested.
  EXPECT_TRUE(Filter(cells, "preloaded:windows", {"nfs"}, {}).ok());
  EXPECT_EQ(Filter(cells, "preloaded:windows", {"nfs"}, {"gpu", "ssd"}).message(),
            "found no compatible cell with placement tags \"gpu\" and "
            "\"ssd\"");
  // Docker is arbitrary on every cell, so tags decide.
  EXPECT_EQ(Filter(cells, "docker:///app#v1", {}, {"ssd"}).message(),
            "found no compatible cell with placement tag \"ssd\"");
  // An unparseable rootfs matches no cell.
  EXPECT_EQ(Filter(cells, "ploop", {}, {}).message(), kRootFsMismatchMessage);
}

}  // namespace
}  // namespace diego::model
