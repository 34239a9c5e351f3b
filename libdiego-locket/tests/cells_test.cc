// Copyright 2026 The libdiego Authors.
//
// Cell presences through Locket: the presence JSON a rep registers, and the
// BBS's CellPresenceSource reading them back (skipping bad entries, mapping
// NotFound to the BBS's ResourceNotFound).

#include "diego/locket/cells.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "diego/model/errors.h"
#include "diego/model/go_json.h"
#include "diego/testing/fake_locket_client.h"
#include "diego/testing/locket_requests.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// `type` is deprecated upstream; the BBS still sends it.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace diego::locket {
namespace {

using ::diego::fakes::FakeLocketClient;
using ::diego::fakes::IsOk;
using ::diego::fakes::MakeResource;
using ::diego::fakes::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Method = FakeLocketClient::Method;

model::v1::CellPresence Cell(absl::string_view id) {
  model::v1::CellPresence cell;
  cell.set_cell_id(std::string(id));
  cell.set_rep_address(absl::StrCat("http://", id, ":1800"));
  cell.set_rep_url(absl::StrCat("https://", id, ".cell.service.cf.internal:1801"));
  cell.set_zone("z1");
  cell.mutable_capacity()->set_memory_mb(8192);
  cell.mutable_capacity()->set_disk_mb(65536);
  cell.mutable_capacity()->set_containers(250);
  model::v1::Provider* preloaded = cell.add_rootfs_providers();
  preloaded->set_name("preloaded");
  preloaded->add_properties("cflinuxfs4");
  cell.add_rootfs_providers()->set_name("docker");
  cell.add_placement_tags("gpu");
  cell.add_optional_placement_tags("ssd");
  return cell;
}

model::v1::Resource Presence(absl::string_view key, absl::string_view value) {
  return MakeResource(key, absl::StrCat("rep-", key), model::v1::PRESENCE, value);
}

std::vector<std::string> Ids(const std::vector<model::v1::CellPresence>& cells) {
  std::vector<std::string> ids;
  for (const model::v1::CellPresence& cell : cells) ids.push_back(cell.cell_id());
  return ids;
}

TEST(CellPresenceValueTest, IsGoJsonAndRoundTrips) {
  model::v1::CellPresence cell = Cell("cell-1");
  const std::string value = CellPresenceValue(cell);
  EXPECT_THAT(value, HasSubstr("\"cell_id\":\"cell-1\""));
  EXPECT_THAT(value, HasSubstr("\"rootfs_provider_list\":[{\"name\":\"preloaded\""));
  EXPECT_THAT(value, HasSubstr("\"annotations\":{}"));  // Always present.

  model::v1::CellPresence parsed;
  ASSERT_OK(model::FromGoJson(value, &parsed));
  EXPECT_EQ(parsed.SerializeAsString(), cell.SerializeAsString());

  (*cell.mutable_annotations())["note"] = "x";
  ASSERT_OK(model::FromGoJson(CellPresenceValue(cell), &parsed));
  EXPECT_EQ(parsed.annotations().at("note"), "x");
}

TEST(LocketCellPresenceSourceTest, CellsParsesSortsAndSkipsBadEntries) {
  FakeLocketClient locket;
  locket.Put(Presence("cell-b", CellPresenceValue(Cell("cell-b"))));
  locket.Put(Presence("cell-c", "not json"));
  locket.Put(Presence("cell-a", CellPresenceValue(Cell("cell-a"))));
  model::v1::Resource lock;
  lock.set_key("bbs");
  lock.set_owner("bbs-1");
  lock.set_value(CellPresenceValue(Cell("impostor")));
  lock.set_type_code(model::v1::LOCK);
  locket.Put(lock);

  LocketCellPresenceSource source(&locket, absl::Seconds(3));
  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::CellPresence> cells, source.Cells());
  EXPECT_THAT(Ids(cells), ElementsAre("cell-a", "cell-b"));
  EXPECT_EQ(cells[1].SerializeAsString(), Cell("cell-b").SerializeAsString());

  std::vector<FakeLocketClient::Call> calls = locket.Calls(Method::kFetchAll);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].fetch_all.type(), "presence");
  EXPECT_EQ(calls[0].fetch_all.type_code(), model::v1::PRESENCE);
  EXPECT_EQ(calls[0].timeout, absl::Seconds(3));
}

TEST(LocketCellPresenceSourceTest, CellsReturnsLocketErrors) {
  FakeLocketClient locket;
  locket.SetError(Method::kFetchAll, absl::UnavailableError("connection refused"));
  LocketCellPresenceSource source(&locket);
  EXPECT_THAT(source.Cells(), StatusIs(absl::StatusCode::kUnavailable, "connection refused"));
  EXPECT_EQ(locket.Calls()[0].timeout, absl::Seconds(10));
}

TEST(LocketCellPresenceSourceTest, CellById) {
  FakeLocketClient locket;
  locket.Put(Presence("cell-1", CellPresenceValue(Cell("cell-1"))));
  locket.Put(Presence("cell-bad", "{\"cell_id\": 7}"));
  LocketCellPresenceSource source(&locket);

  ASSERT_OK_AND_ASSIGN(model::v1::CellPresence cell, source.CellById("cell-1"));
  EXPECT_EQ(cell.SerializeAsString(), Cell("cell-1").SerializeAsString());
  EXPECT_EQ(locket.Calls(Method::kFetch)[0].resource.key(), "cell-1");

  absl::Status missing = source.CellById("cell-2").status();
  EXPECT_EQ(missing, model::ErrResourceNotFound());
  EXPECT_TRUE(model::HasBbsErrorType(missing, model::v1::Error::ResourceNotFound));

  EXPECT_THAT(source.CellById("cell-bad"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cell-bad")));

  locket.SetError(Method::kFetch, absl::DeadlineExceededError("deadline"), 1);
  EXPECT_THAT(source.CellById("cell-1"), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(source.CellById("cell-1"), IsOk());
}

}  // namespace
}  // namespace diego::locket
