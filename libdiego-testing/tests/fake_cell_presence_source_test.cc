// Copyright 2026 The libdiego Authors.

#include "diego/testing/fake_cell_presence_source.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "diego/model/errors.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::fakes {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::vector<std::string> Ids(const std::vector<model::v1::CellPresence>& cells) {
  std::vector<std::string> ids;
  for (const model::v1::CellPresence& cell : cells) ids.push_back(cell.cell_id());
  return ids;
}

TEST(FakeCellPresenceSourceTest, StartsEmpty) {
  FakeCellPresenceSource cells;
  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::CellPresence> all, cells.Cells());
  EXPECT_THAT(all, IsEmpty());
  EXPECT_THAT(cells.CellById("cell-1"), StatusIs(model::ErrResourceNotFound().code(),
                                                 model::ErrResourceNotFound().message()));
}

TEST(FakeCellPresenceSourceTest, ListsCellsInIdOrderWithTheirPresence) {
  FakeCellPresenceSource cells;
  cells.AddCell("cell-b");
  cells.AddCell("cell-a");
  model::v1::CellPresence custom = FakeCellPresenceSource::Presence("cell-c");
  custom.set_zone("z9");
  cells.SetCell(custom);

  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::CellPresence> all, cells.Cells());
  EXPECT_THAT(Ids(all), ElementsAre("cell-a", "cell-b", "cell-c"));
  EXPECT_EQ(all[0].rep_url(), "https://cell-a:1801");
  EXPECT_EQ(all[0].rep_address(), "http://cell-a:1800");
  EXPECT_EQ(all[2].zone(), "z9");

  ASSERT_OK_AND_ASSIGN(model::v1::CellPresence b, cells.CellById("cell-b"));
  EXPECT_EQ(b.cell_id(), "cell-b");
  EXPECT_EQ(b.capacity().memory_mb(), 4096);
}

TEST(FakeCellPresenceSourceTest, SetCellReplacesAndRemoveCellForgets) {
  FakeCellPresenceSource cells;
  cells.AddCell("cell-1");
  model::v1::CellPresence moved = FakeCellPresenceSource::Presence("cell-1");
  moved.set_rep_url("https://10.0.0.9:1801");
  cells.SetCell(moved);
  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::CellPresence> all, cells.Cells());
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_EQ(all[0].rep_url(), "https://10.0.0.9:1801");

  cells.RemoveCell("cell-1");
  cells.RemoveCell("never-there");
  EXPECT_THAT(cells.CellById("cell-1"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(all, cells.Cells());
  EXPECT_THAT(all, IsEmpty());

  cells.AddCell("cell-2");
  cells.AddCell("cell-3");
  cells.Clear();
  ASSERT_OK_AND_ASSIGN(all, cells.Cells());
  EXPECT_THAT(all, IsEmpty());
}

TEST(FakeCellPresenceSourceTest, FailsWhenToldAndCountsCalls) {
  FakeCellPresenceSource cells;
  cells.AddCell("cell-1");
  cells.SetError(absl::UnavailableError("locket down"));
  EXPECT_THAT(cells.Cells(), StatusIs(absl::StatusCode::kUnavailable, "locket down"));
  EXPECT_THAT(cells.CellById("cell-1"), StatusIs(absl::StatusCode::kUnavailable));

  cells.SetError(absl::OkStatus());
  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::CellPresence> all, cells.Cells());
  EXPECT_THAT(Ids(all), ElementsAre("cell-1"));
  EXPECT_EQ(cells.CellsCalls(), 2);
  EXPECT_EQ(cells.CellByIdCalls(), 1);
}

TEST(FakeCellPresenceSourceTest, IsSafeToUseConcurrently) {
  FakeCellPresenceSource cells;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cells, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string id = "cell-" + std::to_string(t) + "-" + std::to_string(i);
        cells.AddCell(id);
        EXPECT_OK(cells.Cells().status());
        if (i % 2 == 1) cells.RemoveCell(id);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_OK_AND_ASSIGN(std::vector<model::v1::CellPresence> all, cells.Cells());
  EXPECT_THAT(all, SizeIs(100));
  EXPECT_EQ(cells.CellsCalls(), 201);
}

}  // namespace
}  // namespace diego::fakes
