// Copyright 2026 The libdiego Authors.

#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "diego/testing/fake_auctioneer_client.h"
#include "diego/testing/fake_rep_client.h"
#include "diego/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace diego::fakes {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

auction::LrpStartRequest LrpRequest(const std::string& guid, std::vector<int32_t> indices) {
  auction::LrpStartRequest request;
  request.process_guid = guid;
  request.domain = "domain";
  request.indices = std::move(indices);
  request.resource.memory_mb = 128;
  return request;
}

model::v1::ActualLRPKey Key(const std::string& guid, int32_t index) {
  model::v1::ActualLRPKey key;
  key.set_process_guid(guid);
  key.set_index(index);
  key.set_domain("domain");
  return key;
}

model::v1::ActualLRPInstanceKey InstanceKey(const std::string& instance, const std::string& cell) {
  model::v1::ActualLRPInstanceKey key;
  key.set_instance_guid(instance);
  key.set_cell_id(cell);
  return key;
}

TEST(FakeAuctioneerClientTest, RecordsEachBatchInOrder) {
  FakeAuctioneerClient auctioneer;
  EXPECT_OK(auctioneer.RequestLrpAuctions({LrpRequest("a", {0, 1})}));
  EXPECT_OK(auctioneer.RequestLrpAuctions({LrpRequest("b", {2}), LrpRequest("c", {0})}));
  auction::TaskStartRequest task;
  task.task_guid = "t1";
  EXPECT_OK(auctioneer.RequestTaskAuctions({task}));

  auto batches = auctioneer.LrpBatches();
  ASSERT_THAT(batches, SizeIs(2));
  ASSERT_THAT(batches[0], SizeIs(1));
  EXPECT_EQ(batches[0][0], LrpRequest("a", {0, 1}));
  ASSERT_THAT(batches[1], SizeIs(2));
  EXPECT_EQ(batches[1][1].process_guid, "c");

  auto all = auctioneer.LrpStartRequests();
  ASSERT_THAT(all, SizeIs(3));
  EXPECT_EQ(all[1].process_guid, "b");

  ASSERT_THAT(auctioneer.TaskBatches(), SizeIs(1));
  ASSERT_THAT(auctioneer.TaskStartRequests(), SizeIs(1));
  EXPECT_EQ(auctioneer.TaskStartRequests()[0].task_guid, "t1");
}

TEST(FakeAuctioneerClientTest, EmptyBatchesAreNotRecorded) {
  FakeAuctioneerClient auctioneer;
  EXPECT_OK(auctioneer.RequestLrpAuctions({}));
  EXPECT_OK(auctioneer.RequestTaskAuctions({}));
  EXPECT_THAT(auctioneer.LrpBatches(), IsEmpty());
  EXPECT_THAT(auctioneer.TaskBatches(), IsEmpty());
}

TEST(FakeAuctioneerClientTest, FailsWhenToldAndStillRecords) {
  FakeAuctioneerClient auctioneer;
  auctioneer.SetError(absl::UnavailableError("auctioneer down"));
  EXPECT_THAT(auctioneer.RequestLrpAuctions({LrpRequest("a", {0})}),
              StatusIs(absl::StatusCode::kUnavailable, "auctioneer down"));
  auction::TaskStartRequest task;
  task.task_guid = "t";
  EXPECT_THAT(auctioneer.RequestTaskAuctions({task}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(auctioneer.LrpBatches(), SizeIs(1));
  EXPECT_THAT(auctioneer.TaskBatches(), SizeIs(1));

  auctioneer.SetError(absl::OkStatus());
  EXPECT_OK(auctioneer.RequestLrpAuctions({LrpRequest("a", {1})}));
  auctioneer.Clear();
  EXPECT_THAT(auctioneer.LrpBatches(), IsEmpty());
  EXPECT_THAT(auctioneer.TaskBatches(), IsEmpty());
}

TEST(FakeAuctioneerClientTest, IsSafeToCallConcurrently) {
  FakeAuctioneerClient auctioneer;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&auctioneer, t] {
      for (int i = 0; i < 50; ++i) {
        ASSERT_OK(auctioneer.RequestLrpAuctions({LrpRequest("p" + std::to_string(t), {i})}));
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_THAT(auctioneer.LrpBatches(), SizeIs(200));
}

TEST(FakeRepClientTest, RecordsCallsOfEachKind) {
  FakeRepClient rep("cell-1");
  EXPECT_EQ(rep.cell_id(), "cell-1");
  EXPECT_OK(rep.StopLrpInstance(Key("web", 2), InstanceKey("ig-1", "cell-1")));
  EXPECT_OK(rep.CancelTask("task-1"));
  model::v1::ActualLRPInternalRoute route;
  route.set_hostname("a.apps.internal");
  EXPECT_OK(rep.UpdateLrpInstance(Key("web", 0), InstanceKey("ig-0", "cell-1"), {route},
                                  {{"app", "web"}}));

  ASSERT_THAT(rep.StopCalls(), SizeIs(1));
  EXPECT_EQ(rep.StopCalls()[0].key.index(), 2);
  EXPECT_EQ(rep.StopCalls()[0].instance_key.instance_guid(), "ig-1");
  EXPECT_THAT(rep.CancelCalls(), ElementsAre("task-1"));
  ASSERT_THAT(rep.UpdateCalls(), SizeIs(1));
  ASSERT_THAT(rep.UpdateCalls()[0].internal_routes, SizeIs(1));
  EXPECT_EQ(rep.UpdateCalls()[0].internal_routes[0].hostname(), "a.apps.internal");
  EXPECT_EQ(rep.UpdateCalls()[0].metric_tags.at("app"), "web");
}

TEST(FakeRepClientTest, FailsTheNextCallsThenRecovers) {
  FakeRepClient rep("cell-1");
  rep.SetError(absl::UnavailableError("rep down"), 2);
  EXPECT_THAT(rep.StopLrpInstance(Key("web", 0), InstanceKey("ig", "cell-1")),
              StatusIs(absl::StatusCode::kUnavailable, "rep down"));
  EXPECT_THAT(rep.CancelTask("t"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_OK(rep.CancelTask("t"));
  EXPECT_THAT(rep.StopCalls(), SizeIs(1));
  EXPECT_THAT(rep.CancelCalls(), SizeIs(2));
}

TEST(FakeRepClientTest, FailsForeverUntilCleared) {
  FakeRepClient rep("cell-1");
  rep.SetError(absl::InternalError("boom"));
  for (int i = 0; i < 10; ++i) {
    EXPECT_THAT(rep.CancelTask("t"), StatusIs(absl::StatusCode::kInternal));
  }
  rep.SetError(absl::OkStatus());
  EXPECT_OK(rep.CancelTask("t"));
}

TEST(FakeRepClientFactoryTest, HandsOutOneClientPerCell) {
  FakeRepClientFactory reps;
  model::v1::CellPresence cell1;
  cell1.set_cell_id("cell-1");
  cell1.set_rep_url("http://cell-1:1800");
  model::v1::CellPresence cell2;
  cell2.set_cell_id("cell-2");

  ASSERT_OK_AND_ASSIGN(std::shared_ptr<bbs::RepClient> a, reps.ForCell(cell1));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<bbs::RepClient> b, reps.ForCell(cell1));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<bbs::RepClient> c, reps.ForCell(cell2));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(a.get(), reps.ClientFor("cell-1").get());
  EXPECT_TRUE(reps.HasClient("cell-2"));
  EXPECT_FALSE(reps.HasClient("cell-3"));

  ASSERT_OK(a->CancelTask("t"));
  EXPECT_THAT(reps.ClientFor("cell-1")->CancelCalls(), ElementsAre("t"));
  EXPECT_THAT(reps.ClientFor("cell-2")->CancelCalls(), IsEmpty());

  auto calls = reps.ForCellCalls();
  ASSERT_THAT(calls, SizeIs(3));
  EXPECT_EQ(calls[0].rep_url(), "http://cell-1:1800");
  EXPECT_EQ(calls[2].cell_id(), "cell-2");
}

TEST(FakeRepClientFactoryTest, FailsForCellWhenTold) {
  FakeRepClientFactory reps;
  reps.SetError(absl::InvalidArgumentError("bad rep url"));
  model::v1::CellPresence cell;
  cell.set_cell_id("cell-1");
  EXPECT_THAT(reps.ForCell(cell), StatusIs(absl::StatusCode::kInvalidArgument, "bad rep url"));
  EXPECT_THAT(reps.ForCellCalls(), SizeIs(1));
  EXPECT_FALSE(reps.HasClient("cell-1"));
  reps.SetError(absl::OkStatus());
  EXPECT_OK(reps.ForCell(cell));
}

}  // namespace
}  // namespace diego::fakes
