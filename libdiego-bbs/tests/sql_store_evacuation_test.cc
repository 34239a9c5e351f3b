// Copyright 2026 The libdiego Authors.
//
// SqlStore evacuation (diego-spec.md 5.4): EvacuateClaimed/Running/Stopped/
// Crashed and RemoveEvacuating, every branch with its rows, keep_container,
// auction flag and events, on both engines.

#include "actual_lrp_store_fixture.h"

namespace diego::bbs {
namespace {
class EvacuationTest : public ActualLrpStoreTest {};

using model::v1::DesiredLRP;

const auto kIk1 = Ik("ig-1", "cell-1");
const auto kIk2 = Ik("ig-2", "cell-2");

// -----------------------------------------------------------------------------
// EvacuateClaimedActualLrp.
// -----------------------------------------------------------------------------

TEST_P(EvacuationTest, ClaimedOrdinaryIsUnclaimedAndAuctioned) {
  InsertDesired("pg", 1, DesiredLRP::ROLLING);
  const ActualLRP claimed = Claimed("pg", 0, kIk1);
  Insert(claimed);
  clock_.Advance(absl::Seconds(2));
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateClaimedActualLrp(Key("pg", 0), kIk1, kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_TRUE(result.auction);
  const ActualLRP after = *Row("pg", 0);
  EXPECT_EQ(after.state(), "UNCLAIMED");
  EXPECT_TRUE(model::IsEmptyInstanceKey(after.actual_lrp_instance_key()));
  EXPECT_EQ(after.modification_tag().index(), 4u);
  EXPECT_EQ(after.since(), NowNanos());
  ExpectEvents(sink_.Take(), {{&claimed, &after}});
  ExpectColumnsMatchData();
}

TEST_P(EvacuationTest, ClaimedEvacuatingOrSuspectRowIsJustRemoved) {
  const ActualLRP ordinary = Claimed("pg", 0, kIk2);
  const ActualLRP evacuating = As(Running("pg", 0, kIk1), ActualLRP::EVACUATING);
  Insert(ordinary);
  Insert(evacuating);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateClaimedActualLrp(Key("pg", 0), kIk1, kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(ordinary));
  std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("actual_lrp_instance_removed"));
  ExpectEvents(events, {{&evacuating, nullptr}});

  const ActualLRP suspect = As(Claimed("pg", 0, kIk1), ActualLRP::SUSPECT);
  Insert(suspect);
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateClaimedActualLrp(Key("pg", 0), kIk1, kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_EQ(Row("pg", 0, ActualLRP::SUSPECT), std::nullopt);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(ordinary));
  ExpectEvents(sink_.Take(), {{&suspect, nullptr}});
}

TEST_P(EvacuationTest, ClaimedUnknownInstanceIsNotFound) {
  Insert(Claimed("pg", 0, kIk2));
  EXPECT_THAT(store_->EvacuateClaimedActualLrp(Key("pg", 0), kIk1, kTrace),
              HasBbsType(Error::ResourceNotFound));
  EXPECT_THAT(store_->EvacuateClaimedActualLrp(Key("pg", 5), kIk1, kTrace),
              HasBbsType(Error::ResourceNotFound));
  EXPECT_EQ(Row("pg", 0)->state(), "CLAIMED");
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

// -----------------------------------------------------------------------------
// EvacuateRunningActualLrp, ROLLING.
// -----------------------------------------------------------------------------

TEST_P(EvacuationTest, RunningRollingEvacuationDance) {
  InsertDesired("pg", 1, DesiredLRP::ROLLING);
  const ActualLRP running = Running("pg", 0, kIk1);
  Insert(running);
  clock_.Advance(absl::Seconds(1));

  // 1. The running instance is copied to an EVACUATING row, the ordinary row
  //    unclaimed and auctioned; the rep keeps the container.
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_TRUE(result.keep_container);
  EXPECT_TRUE(result.auction);
  ActualLRP expected_evacuating =
      model::NewRunningActualLrp(Params(Key("pg", 0), kIk1), "epoch-1", clock_.Now());
  expected_evacuating.set_presence(ActualLRP::EVACUATING);
  const ActualLRP evacuating = *Row("pg", 0, ActualLRP::EVACUATING);
  EXPECT_THAT(evacuating, EqualsProto(expected_evacuating));
  EXPECT_TRUE(evacuating.routable());
  const ActualLRP unclaimed = *Row("pg", 0);
  EXPECT_EQ(unclaimed.state(), "UNCLAIMED");
  EXPECT_TRUE(model::IsEmptyInstanceKey(unclaimed.actual_lrp_instance_key()));
  EXPECT_EQ(unclaimed.actual_lrp_net_info().address(), "");
  EXPECT_EQ(unclaimed.modification_tag().index(), 4u);
  std::vector<BbsEvent> events = sink_.Take();
  // The instance itself moved (changed), and a new unclaimed one exists.
  EXPECT_THAT(Types(events),
              ElementsAre("actual_lrp_instance_changed", "actual_lrp_instance_created"));
  ExpectEvents(events, {{&running, &evacuating}, {nullptr, &unclaimed}});
  ExpectColumnsMatchData();

  // 2. The rep asks again: already evacuating, keep waiting, nothing changes.
  clock_.Advance(absl::Seconds(10));
  ASSERT_OK_AND_ASSIGN(result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_TRUE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_THAT(*Row("pg", 0, ActualLRP::EVACUATING), EqualsProto(evacuating));
  EXPECT_THAT(sink_.Take(), IsEmpty());

  // 3. New net info for the evacuating instance: its row is updated.
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(
                                   Params(Key("pg", 0), kIk1, "10.0.0.9"), kTrace));
  EXPECT_TRUE(result.keep_container);
  EXPECT_FALSE(result.auction);
  const ActualLRP moved = *Row("pg", 0, ActualLRP::EVACUATING);
  EXPECT_EQ(moved.actual_lrp_net_info().address(), "10.0.0.9");
  EXPECT_EQ(moved.modification_tag().epoch(), "epoch-1");
  EXPECT_EQ(moved.modification_tag().index(), 1u);
  EXPECT_EQ(moved.since(), NowNanos());
  EXPECT_EQ(moved.state(), "RUNNING");
  ExpectEvents(sink_.Take(), {{nullptr, &moved}});  // Diego reports it as created.

  // 4. The replacement is claimed elsewhere: still waiting.
  ASSERT_OK(store_->ClaimActualLrp("pg", 0, kIk2, kTrace).status());
  sink_.Take();
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(
                                   Params(Key("pg", 0), kIk1, "10.0.0.9"), kTrace));
  EXPECT_TRUE(result.keep_container);
  EXPECT_THAT(sink_.Take(), IsEmpty());

  // 5. The replacement runs: Start deletes the evacuating row, and the old
  //    instance's next evacuation report is told to drop its container.
  ASSERT_OK(store_->StartActualLrp(Params(Key("pg", 0), kIk2), kTrace).status());
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  sink_.Take();
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(
                                   Params(Key("pg", 0), kIk1, "10.0.0.9"), kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_EQ(Row("pg", 0)->actual_lrp_instance_key().instance_guid(), "ig-2");
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(EvacuationTest, RunningReplacementRunningOrCrashedRemovesEvacuatingRow) {
  InsertDesired("pg", 2, DesiredLRP::ROLLING);
  const ActualLRP evacuating0 = As(Running("pg", 0, kIk1), ActualLRP::EVACUATING);
  Insert(Running("pg", 0, kIk2));
  Insert(evacuating0);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  ExpectEvents(sink_.Take(), {{&evacuating0, nullptr}});

  const ActualLRP evacuating1 = As(Running("pg", 1, kIk1), ActualLRP::EVACUATING);
  Insert(Crashed("pg", 1, 4));
  Insert(evacuating1);
  ASSERT_OK_AND_ASSIGN(result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 1), kIk1), kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_EQ(Row("pg", 1, ActualLRP::EVACUATING), std::nullopt);
  EXPECT_EQ(Row("pg", 1)->state(), "CRASHED");
  ExpectEvents(sink_.Take(), {{&evacuating1, nullptr}});
}

TEST_P(EvacuationTest, RunningWithDesiredLrpGone) {
  // No rows at all.
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_FALSE(result.keep_container);

  // No ordinary row (the desired LRP's removal deleted it).
  const ActualLRP evacuating = As(Running("pg", 0, kIk1), ActualLRP::EVACUATING);
  Insert(evacuating);
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  ExpectEvents(sink_.Take(), {{&evacuating, nullptr}});

  // An ordinary row, but no desired LRP row.
  const ActualLRP evacuating1 = As(Running("pg", 1, kIk1), ActualLRP::EVACUATING);
  const ActualLRP unclaimed = Unclaimed("pg", 1);
  Insert(unclaimed);
  Insert(evacuating1);
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(Params(Key("pg", 1), kIk1), kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_EQ(Row("pg", 1, ActualLRP::EVACUATING), std::nullopt);
  EXPECT_THAT(*Row("pg", 1), EqualsProto(unclaimed));
  ExpectEvents(sink_.Take(), {{&evacuating1, nullptr}});

  // The desired LRP gone and the ordinary instance is the reporter's: nothing
  // to remove, drop the container.
  const ActualLRP running2 = Running("pg", 2, kIk1);
  Insert(running2);
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(Params(Key("pg", 2), kIk1), kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_THAT(*Row("pg", 2), EqualsProto(running2));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(EvacuationTest, RunningWhileAnotherInstanceEvacuatesDropsContainer) {
  InsertDesired("pg", 1, DesiredLRP::ROLLING);
  const ActualLRP unclaimed = Unclaimed("pg", 0);
  const ActualLRP evacuating = As(Running("pg", 0, kIk1), ActualLRP::EVACUATING);
  Insert(unclaimed);
  Insert(evacuating);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result, store_->EvacuateRunningActualLrp(
                                                    Params(Key("pg", 0), Ik("ig-3", "cell-3")),
                                                    kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_THAT(*Row("pg", 0, ActualLRP::EVACUATING), EqualsProto(evacuating));
  EXPECT_THAT(*Row("pg", 0), EqualsProto(unclaimed));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(EvacuationTest, RunningUnknownInstanceGetsAnEvacuatingRow) {
  InsertDesired("pg", 1, DesiredLRP::ROLLING);
  const ActualLRP unclaimed = Unclaimed("pg", 0);
  Insert(unclaimed);
  const model::StartActualLrpParams params = Params(Key("pg", 0), kIk1);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result, store_->EvacuateRunningActualLrp(params, kTrace));
  EXPECT_TRUE(result.keep_container);
  EXPECT_FALSE(result.auction);
  ActualLRP expected = model::NewRunningActualLrp(params, "epoch-1", clock_.Now());
  expected.set_presence(ActualLRP::EVACUATING);
  EXPECT_THAT(*Row("pg", 0, ActualLRP::EVACUATING), EqualsProto(expected));
  EXPECT_THAT(*Row("pg", 0), EqualsProto(unclaimed));
  std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("actual_lrp_instance_created"));
  ExpectEvents(events, {{nullptr, &expected}});
}

TEST_P(EvacuationTest, RunningClaimedOrdinaryIsEvacuatedAsRunning) {
  InsertDesired("pg", 1, DesiredLRP::ROLLING);
  const ActualLRP claimed = Claimed("pg", 0, kIk1);
  Insert(claimed);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_TRUE(result.keep_container);
  EXPECT_TRUE(result.auction);
  const ActualLRP evacuating = *Row("pg", 0, ActualLRP::EVACUATING);
  // Diego always writes the evacuating copy RUNNING, with the stored row's
  // (empty) net info rather than the request's.
  EXPECT_EQ(evacuating.state(), "RUNNING");
  EXPECT_EQ(evacuating.actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(evacuating.actual_lrp_net_info().address(), "");
  EXPECT_EQ(Row("pg", 0)->state(), "UNCLAIMED");
  const ActualLRP unclaimed = *Row("pg", 0);
  ExpectEvents(sink_.Take(), {{&claimed, &evacuating}, {nullptr, &unclaimed}});
}

TEST_P(EvacuationTest, RunningSuspectInstanceMovesToEvacuating) {
  InsertDesired("pg", 1, DesiredLRP::ROLLING);
  const ActualLRP replacement = Claimed("pg", 0, kIk2);
  const ActualLRP suspect = As(Running("pg", 0, kIk1), ActualLRP::SUSPECT);
  Insert(replacement);
  Insert(suspect);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_TRUE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_EQ(Row("pg", 0, ActualLRP::SUSPECT), std::nullopt);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(replacement));
  const ActualLRP evacuating = *Row("pg", 0, ActualLRP::EVACUATING);
  EXPECT_EQ(evacuating.actual_lrp_instance_key().instance_guid(), "ig-1");
  EXPECT_EQ(evacuating.actual_lrp_net_info().address(), "10.0.0.1");
  std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("actual_lrp_instance_changed"));
  ExpectEvents(events, {{&suspect, &evacuating}});
}

TEST_P(EvacuationTest, RunningOrdinaryOverwritesOtherEvacuatingInstance) {
  InsertDesired("pg", 1, DesiredLRP::ROLLING);
  ActualLRP old_evacuating = As(Running("pg", 0, kIk1), ActualLRP::EVACUATING);
  old_evacuating.mutable_modification_tag()->set_epoch("old-evac");
  const ActualLRP claimed = Claimed("pg", 0, kIk2);
  Insert(old_evacuating);
  Insert(claimed);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk2), kTrace));
  EXPECT_TRUE(result.keep_container);
  EXPECT_TRUE(result.auction);
  const ActualLRP evacuating = *Row("pg", 0, ActualLRP::EVACUATING);
  EXPECT_EQ(evacuating.actual_lrp_instance_key().instance_guid(), "ig-2");
  EXPECT_EQ(evacuating.modification_tag().epoch(), "old-evac");
  EXPECT_EQ(evacuating.modification_tag().index(), 4u);
  EXPECT_EQ(evacuating.since(), NowNanos());
  const ActualLRP unclaimed = *Row("pg", 0);
  EXPECT_EQ(unclaimed.state(), "UNCLAIMED");
  ExpectEvents(sink_.Take(),
               {{&old_evacuating, nullptr}, {&claimed, &evacuating}, {nullptr, &unclaimed}});

  // The old instance's next report: another instance evacuates, drop it.
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_FALSE(result.keep_container);
}

TEST_P(EvacuationTest, RunningOrdinaryAlreadyRecordedAsEvacuatingIsResourceExists) {
  InsertDesired("pg", 1, DesiredLRP::ROLLING);
  const ActualLRP running = Running("pg", 0, kIk1);
  Insert(running);
  Insert(As(running, ActualLRP::EVACUATING));
  EXPECT_THAT(store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace),
              HasBbsType(Error::ResourceExists));
  EXPECT_THAT(*Row("pg", 0), EqualsProto(running));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

// -----------------------------------------------------------------------------
// EvacuateRunningActualLrp, RECREATE.
// -----------------------------------------------------------------------------

TEST_P(EvacuationTest, RunningRecreateUnclaimsOnlyWhenAllRunning) {
  InsertDesired("pg", 2, DesiredLRP::RECREATE);
  const ActualLRP running0 = Running("pg", 0, kIk1);
  Insert(running0);
  Insert(Running("pg", 1, kIk2));
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_FALSE(result.keep_container);  // The old container goes first.
  EXPECT_TRUE(result.auction);
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  const ActualLRP unclaimed = *Row("pg", 0);
  EXPECT_EQ(unclaimed.state(), "UNCLAIMED");
  ExpectEvents(sink_.Take(), {{&running0, &unclaimed}});

  // Index 0 is down now: index 1 must wait.
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(Params(Key("pg", 1), kIk2), kTrace));
  EXPECT_TRUE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_EQ(Row("pg", 1)->state(), "RUNNING");
  EXPECT_THAT(sink_.Take(), IsEmpty());

  // Unknown instance: drop the container.
  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(
                                   Params(Key("pg", 0), Ik("ig-9", "cell-9")), kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(EvacuationTest, RunningRecreateRemovesStrayEvacuatingAndSuspectRows) {
  InsertDesired("pg", 1, DesiredLRP::RECREATE);
  const ActualLRP unclaimed = Unclaimed("pg", 0);
  const ActualLRP evacuating = As(Running("pg", 0, kIk1), ActualLRP::EVACUATING);
  const ActualLRP suspect = As(Running("pg", 0, kIk2), ActualLRP::SUSPECT);
  Insert(unclaimed);
  Insert(evacuating);
  Insert(suspect);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk1), kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  ExpectEvents(sink_.Take(), {{&evacuating, nullptr}});

  ASSERT_OK_AND_ASSIGN(result, store_->EvacuateRunningActualLrp(Params(Key("pg", 0), kIk2), kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  EXPECT_EQ(Row("pg", 0, ActualLRP::SUSPECT), std::nullopt);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(unclaimed));
  ExpectEvents(sink_.Take(), {{&suspect, nullptr}});
}

// -----------------------------------------------------------------------------
// EvacuateStoppedActualLrp.
// -----------------------------------------------------------------------------

TEST_P(EvacuationTest, StoppedRemovesTheInstanceRow) {
  const ActualLRP running = Running("pg", 0, kIk1);
  const ActualLRP evacuating = As(Running("pg", 1, kIk1), ActualLRP::EVACUATING);
  const ActualLRP suspect = As(Running("pg", 2, kIk1), ActualLRP::SUSPECT);
  Insert(running);
  Insert(evacuating);
  Insert(Unclaimed("pg", 1));
  Insert(suspect);
  Insert(Claimed("pg", 2, kIk2));

  for (const ActualLRP* lrp : {&running, &evacuating, &suspect}) {
    const int32_t index = lrp->actual_lrp_key().index();
    ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                         store_->EvacuateStoppedActualLrp(Key("pg", index), kIk1, kTrace));
    EXPECT_FALSE(result.keep_container);
    EXPECT_FALSE(result.auction);
    EXPECT_EQ(Row("pg", index, lrp->presence()), std::nullopt);
    std::vector<BbsEvent> events = sink_.Take();
    EXPECT_THAT(Types(events), ElementsAre("actual_lrp_instance_removed"));
    ExpectEvents(events, {{lrp, nullptr}});
  }
  // The other rows of those indices stay.
  EXPECT_TRUE(Row("pg", 1).has_value());
  EXPECT_TRUE(Row("pg", 2).has_value());

  EXPECT_THAT(store_->EvacuateStoppedActualLrp(Key("pg", 2), kIk1, kTrace),
              HasBbsType(Error::ResourceNotFound));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

// -----------------------------------------------------------------------------
// EvacuateCrashedActualLrp.
// -----------------------------------------------------------------------------

TEST_P(EvacuationTest, CrashedTakesTheCrashPathWithoutAuction) {
  InsertDesired("pg", 2, DesiredLRP::ROLLING);
  const ActualLRP first = Running("pg", 0, kIk1);
  Insert(first);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateCrashedActualLrp(Key("pg", 0), kIk1, "exit 2", kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  const ActualLRP restarted = *Row("pg", 0);
  EXPECT_EQ(restarted.state(), "UNCLAIMED");  // Restart policy: at once...
  EXPECT_EQ(restarted.crash_count(), 1);
  EXPECT_EQ(restarted.crash_reason(), "exit 2");
  std::vector<BbsEvent> events = sink_.Take();
  // ...which Diego's calculator reports as a new instance, no crash event.
  EXPECT_THAT(Types(events), ::testing::Not(::testing::Contains("actual_lrp_crashed")));
  ExpectEvents(events, {{&first, &restarted}});

  ActualLRP third = Running("pg", 1, kIk1);
  third.set_crash_count(2);
  third.set_since(NowNanos());  // Running for less than 5 minutes: no reset.
  Insert(third);
  ASSERT_OK_AND_ASSIGN(result,
                       store_->EvacuateCrashedActualLrp(Key("pg", 1), kIk1, "exit 3", kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_FALSE(result.auction);
  const ActualLRP crashed = *Row("pg", 1);
  EXPECT_EQ(crashed.state(), "CRASHED");
  EXPECT_EQ(crashed.crash_count(), 3);
  events = sink_.Take();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].type, "actual_lrp_crashed");
  ExpectEvents(events, {{&third, &crashed, true}});
}

TEST_P(EvacuationTest, CrashedEvacuatingRowIsRemovedAndUnknownIsNotFound) {
  const ActualLRP evacuating = As(Running("pg", 0, kIk1), ActualLRP::EVACUATING);
  Insert(Unclaimed("pg", 0));
  Insert(evacuating);
  ASSERT_OK_AND_ASSIGN(EvacuationResult result,
                       store_->EvacuateCrashedActualLrp(Key("pg", 0), kIk1, "x", kTrace));
  EXPECT_FALSE(result.keep_container);
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  EXPECT_EQ(Row("pg", 0)->state(), "UNCLAIMED");
  ExpectEvents(sink_.Take(), {{&evacuating, nullptr}});

  EXPECT_THAT(store_->EvacuateCrashedActualLrp(Key("pg", 0), kIk1, "x", kTrace),
              HasBbsType(Error::ResourceNotFound));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

// -----------------------------------------------------------------------------
// RemoveEvacuatingActualLrp.
// -----------------------------------------------------------------------------

TEST_P(EvacuationTest, RemoveEvacuating) {
  const ActualLRP evacuating = As(Running("pg", 0, kIk1), ActualLRP::EVACUATING);
  Insert(evacuating);
  Insert(Unclaimed("pg", 0));

  EXPECT_THAT(store_->RemoveEvacuatingActualLrp(Key("pg", 0), kIk2, kTrace),
              HasBbsType(Error::ActualLRPCannotBeRemoved));
  EXPECT_THAT(*Row("pg", 0, ActualLRP::EVACUATING), EqualsProto(evacuating));
  EXPECT_THAT(sink_.Take(), IsEmpty());

  ASSERT_OK(store_->RemoveEvacuatingActualLrp(Key("pg", 0), kIk1, kTrace));
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  EXPECT_TRUE(Row("pg", 0).has_value());
  std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("actual_lrp_instance_removed"));
  ExpectEvents(events, {{&evacuating, nullptr}});

  // Missing is success, and says nothing.
  ASSERT_OK(store_->RemoveEvacuatingActualLrp(Key("pg", 0), kIk1, kTrace));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Engines, EvacuationTest, ::testing::ValuesIn(testing::kTestEngines),
                         testing::TestEngineName);

}  // namespace
}  // namespace diego::bbs
