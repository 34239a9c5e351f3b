// Copyright 2026 The libdiego Authors.
//
// SqlStore's ActualLRP reads and lifecycle calls (claim, start, crash, fail,
// remove) and the actual_lrps row helpers, on both engines.

#include "actual_lrp_store_fixture.h"

namespace diego::bbs {
namespace {
class ActualStoreTest : public ActualLrpStoreTest {};

// -----------------------------------------------------------------------------
// Row helpers.
// -----------------------------------------------------------------------------

TEST_P(ActualStoreTest, RowHelpersRoundTripAndGuardWrites) {
  const ActualLRP lrp = Running("pg", 0, Ik("ig-1", "cell-1"));
  Insert(lrp);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(lrp));
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);

  // A duplicate insert is kAlreadyExists, and the transaction stays usable.
  ASSERT_OK(t_.db->Write([&](SqlTx& tx) -> absl::Status {
    EXPECT_THAT(internal::InsertActualLrp(tx, lrp), StatusIs(absl::StatusCode::kAlreadyExists));
    return internal::InsertActualLrp(tx, As(lrp, ActualLRP::EVACUATING));
  }));
  EXPECT_TRUE(Row("pg", 0, ActualLRP::EVACUATING).has_value());

  // Compare-and-set on the tag index.
  ActualLRP next = lrp;
  next.set_state(std::string(model::kActualLrpStateClaimed));
  next.mutable_modification_tag()->set_index(4);
  EXPECT_THAT(t_.db->Write([&](SqlTx& tx) { return internal::UpdateActualLrp(tx, next, 2); }),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(*Row("pg", 0), EqualsProto(lrp));
  ASSERT_OK(t_.db->Write([&](SqlTx& tx) { return internal::UpdateActualLrp(tx, next, 3); }));
  EXPECT_THAT(*Row("pg", 0), EqualsProto(next));
  ExpectColumnsMatchData();

  bool deleted = false;
  ASSERT_OK(t_.db->Write([&](SqlTx& tx) -> absl::Status {
    absl::StatusOr<bool> d = internal::DeleteActualLrp(tx, "pg", 0, ActualLRP::ORDINARY);
    if (!d.ok()) return d.status();
    deleted = *d;
    d = internal::DeleteActualLrp(tx, "pg", 0, ActualLRP::ORDINARY);
    if (!d.ok()) return d.status();
    EXPECT_FALSE(*d);
    return absl::OkStatus();
  }));
  EXPECT_TRUE(deleted);
  EXPECT_EQ(Row("pg", 0), std::nullopt);
  EXPECT_TRUE(Row("pg", 0, ActualLRP::EVACUATING).has_value());

  // The guarded variants: a row already there, or changed or gone since it
  // was read, is a conflict (the write reruns).
  ActualLRP evacuating = *Row("pg", 0, ActualLRP::EVACUATING);
  ASSERT_OK(t_.db->Write([&](SqlTx& tx) -> absl::Status {
    EXPECT_THAT(internal::InsertNewActualLrp(tx, evacuating),
                StatusIs(absl::StatusCode::kAborted));
    ActualLRP stale = evacuating;
    stale.mutable_modification_tag()->set_index(2);
    EXPECT_THAT(internal::DeleteActualLrpIfUnchanged(tx, stale),
                StatusIs(absl::StatusCode::kAborted));
    EXPECT_OK(internal::DeleteActualLrpIfUnchanged(tx, evacuating));
    EXPECT_THAT(internal::DeleteActualLrpIfUnchanged(tx, evacuating),
                StatusIs(absl::StatusCode::kAborted));
    return internal::InsertNewActualLrp(tx, lrp);
  }));
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(lrp));
}

TEST_P(ActualStoreTest, IndexRowsByPresenceAndInstanceKey) {
  Insert(Unclaimed("pg", 1));
  Insert(As(Running("pg", 1, Ik("ig-e", "cell-e")), ActualLRP::EVACUATING));
  Insert(As(Running("pg", 1, Ik("ig-s", "cell-s")), ActualLRP::SUSPECT));
  Insert(Unclaimed("pg", 2));
  Insert(Unclaimed("pg-other", 1));
  ASSERT_OK(t_.db->Read([&](SqlTx& tx) -> absl::Status {
    absl::StatusOr<internal::ActualLrpIndexRows> rows =
        internal::ReadActualLrpIndexRows(tx, "pg", 1);
    EXPECT_OK(rows);
    EXPECT_TRUE(rows->ordinary && rows->evacuating && rows->suspect);
    EXPECT_EQ(rows->ordinary->state(), "UNCLAIMED");
    EXPECT_EQ(rows->evacuating->actual_lrp_instance_key().instance_guid(), "ig-e");
    EXPECT_EQ(rows->suspect->actual_lrp_instance_key().instance_guid(), "ig-s");
    EXPECT_EQ(rows->WithInstanceKey(Ik("ig-s", "cell-s")), &*rows->suspect);
    EXPECT_EQ(rows->WithInstanceKey(Ik("ig-e", "cell-e")), &*rows->evacuating);
    EXPECT_EQ(rows->WithInstanceKey(Ik("ig-e", "cell-s")), nullptr);
    EXPECT_EQ(rows->WithInstanceKey(Ik("", "")), &*rows->ordinary);

    absl::StatusOr<internal::ActualLrpIndexRows> none =
        internal::ReadActualLrpIndexRows(tx, "pg", 7);
    EXPECT_OK(none);
    EXPECT_TRUE(none->empty());
    absl::StatusOr<internal::ActualLrpIndexRows> empty_guid =
        internal::ReadActualLrpIndexRows(tx, "", 1);
    EXPECT_OK(empty_guid);
    EXPECT_TRUE(empty_guid->empty());
    return absl::OkStatus();
  }));
}

TEST_P(ActualStoreTest, CorruptRowIsDataLoss) {
  ASSERT_OK(t_.db->Write([&](SqlTx& tx) {
    const SqlParam params[] = {Blob("\xff\xff\xff not a proto")};
    return tx
        .Exec("INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state,"
              " instance_guid, cell_id, since, modification_tag_epoch, modification_tag_index,"
              " crash_count, data) VALUES ('pg', 0, 0, 'd', 'UNCLAIMED', '', '', 0, 'e', 0, 0, ?)",
              params)
        .status();
  }));
  EXPECT_THAT(store_->ActualLrps({}), StatusIs(absl::StatusCode::kDataLoss,
                                               ::testing::HasSubstr("corrupt actual LRP row")));
}

// -----------------------------------------------------------------------------
// Reads.
// -----------------------------------------------------------------------------

TEST_P(ActualStoreTest, ActualLrpsFiltersAndOrders) {
  // Inserted out of order on purpose.
  const ActualLRP b1 = Running("pg-b", 1, Ik("ig-b1", "cell-2"), "domain-2");
  const ActualLRP a1s = As(Running("pg-a", 1, Ik("ig-a1s", "cell-1")), ActualLRP::SUSPECT);
  const ActualLRP a1 = Claimed("pg-a", 1, Ik("ig-a1", "cell-2"));
  const ActualLRP a0e = As(Running("pg-a", 0, Ik("ig-a0e", "cell-1")), ActualLRP::EVACUATING);
  const ActualLRP a0 = Running("pg-a", 0, Ik("ig-a0", "cell-2"));
  const ActualLRP a10 = Unclaimed("pg-a", 10);
  const ActualLRP b0 = Unclaimed("pg-b", 0, "domain-2");
  for (const ActualLRP& lrp : {b1, a1s, a1, a0e, a0, a10, b0}) Insert(lrp);

  auto guids = [](const std::vector<ActualLRP>& lrps) {
    std::vector<std::string> out;
    for (const ActualLRP& l : lrps) {
      out.push_back(absl::StrCat(l.actual_lrp_key().process_guid(), "/", l.actual_lrp_key().index(),
                                 "/", l.presence()));
    }
    return out;
  };

  ASSERT_OK_AND_ASSIGN(std::vector<ActualLRP> all, store_->ActualLrps({}));
  EXPECT_THAT(guids(all), ElementsAre("pg-a/0/0", "pg-a/0/1", "pg-a/1/0", "pg-a/1/2",
                                      "pg-a/10/0", "pg-b/0/0", "pg-b/1/0"));
  EXPECT_THAT(all[0], EqualsProto(a0));
  EXPECT_THAT(all[3], EqualsProto(a1s));

  ActualLrpFilter by_domain;
  by_domain.domain = "domain-2";
  ASSERT_OK_AND_ASSIGN(auto domain2, store_->ActualLrps(by_domain));
  EXPECT_THAT(guids(domain2), ElementsAre("pg-b/0/0", "pg-b/1/0"));

  ActualLrpFilter by_cell;
  by_cell.cell_id = "cell-2";
  ASSERT_OK_AND_ASSIGN(auto cell2, store_->ActualLrps(by_cell));
  EXPECT_THAT(guids(cell2), ElementsAre("pg-a/0/0", "pg-a/1/0", "pg-b/1/0"));

  ActualLrpFilter by_guid;
  by_guid.process_guid = "pg-a";
  ASSERT_OK_AND_ASSIGN(auto pga, store_->ActualLrps(by_guid));
  EXPECT_THAT(pga, SizeIs(5));

  ActualLrpFilter by_guid_index = by_guid;
  by_guid_index.index = 1;
  ASSERT_OK_AND_ASSIGN(auto pga1, store_->ActualLrps(by_guid_index));
  EXPECT_THAT(guids(pga1), ElementsAre("pg-a/1/0", "pg-a/1/2"));

  ActualLrpFilter by_index;
  by_index.index = 0;
  ASSERT_OK_AND_ASSIGN(auto index0, store_->ActualLrps(by_index));
  EXPECT_THAT(guids(index0), ElementsAre("pg-a/0/0", "pg-a/0/1", "pg-b/0/0"));

  ActualLrpFilter combined;
  combined.domain = "domain-1";
  combined.cell_id = "cell-1";
  combined.process_guid = "pg-a";
  combined.index = 0;
  ASSERT_OK_AND_ASSIGN(auto one, store_->ActualLrps(combined));
  EXPECT_THAT(guids(one), ElementsAre("pg-a/0/1"));

  ActualLrpFilter nothing;
  nothing.cell_id = "cell-unknown";
  ASSERT_OK_AND_ASSIGN(auto none, store_->ActualLrps(nothing));
  EXPECT_THAT(none, IsEmpty());
}

TEST_P(ActualStoreTest, ActualLrpsByProcessGuids) {
  Insert(Unclaimed("pg-c", 0));
  Insert(Unclaimed("pg-a", 1));
  Insert(Unclaimed("pg-a", 0));
  Insert(Unclaimed("pg-b", 0));
  ASSERT_OK_AND_ASSIGN(
      auto lrps, store_->ActualLrpsByProcessGuids(std::vector<std::string>{
                     "pg-c", "pg-a", "pg-missing", "pg-c"}));
  ASSERT_THAT(lrps, SizeIs(3));
  EXPECT_EQ(lrps[0].actual_lrp_key().process_guid(), "pg-a");
  EXPECT_EQ(lrps[0].actual_lrp_key().index(), 0);
  EXPECT_EQ(lrps[1].actual_lrp_key().index(), 1);
  EXPECT_EQ(lrps[2].actual_lrp_key().process_guid(), "pg-c");
  ASSERT_OK_AND_ASSIGN(auto none, store_->ActualLrpsByProcessGuids({}));
  EXPECT_THAT(none, IsEmpty());
}

// -----------------------------------------------------------------------------
// Claim.
// -----------------------------------------------------------------------------

TEST_P(ActualStoreTest, ClaimUnclaimed) {
  const ActualLRP before = Unclaimed("pg", 0);
  Insert(before);
  clock_.Advance(absl::Seconds(3));
  ASSERT_OK_AND_ASSIGN(ActualLrpChange change,
                       store_->ClaimActualLrp("pg", 0, Ik("ig-1", "cell-1"), kTrace));
  EXPECT_TRUE(change.changed);
  EXPECT_THAT(change.before, EqualsProto(before));
  EXPECT_EQ(change.after.state(), "CLAIMED");
  EXPECT_EQ(change.after.actual_lrp_instance_key().cell_id(), "cell-1");
  EXPECT_EQ(change.after.modification_tag().index(), 4u);
  EXPECT_EQ(change.after.modification_tag().epoch(), "seed");
  EXPECT_EQ(change.after.since(), NowNanos());
  EXPECT_THAT(*Row("pg", 0), EqualsProto(change.after));
  ExpectEvents(sink_.Take(), {{&change.before, &change.after}});
  ExpectColumnsMatchData();

  // The cell_id column moved with it.
  ActualLrpFilter by_cell;
  by_cell.cell_id = "cell-1";
  ASSERT_OK_AND_ASSIGN(auto on_cell, store_->ActualLrps(by_cell));
  EXPECT_THAT(on_cell, SizeIs(1));

  // Claiming again with the same key: no-op, nothing written, no event.
  clock_.Advance(absl::Seconds(3));
  ASSERT_OK_AND_ASSIGN(ActualLrpChange again,
                       store_->ClaimActualLrp("pg", 0, Ik("ig-1", "cell-1"), kTrace));
  EXPECT_FALSE(again.changed);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(change.after));
  EXPECT_THAT(sink_.Take(), IsEmpty());

  // Another cell cannot claim it.
  EXPECT_THAT(store_->ClaimActualLrp("pg", 0, Ik("ig-2", "cell-2"), kTrace),
              HasBbsType(Error::ActualLRPCannotBeClaimed));
  EXPECT_THAT(*Row("pg", 0), EqualsProto(change.after));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(ActualStoreTest, ClaimRunningAndCrashed) {
  const ActualLRP running = Running("pg", 0, Ik("ig-1", "cell-1"));
  Insert(running);
  // RUNNING -> CLAIMED only with the same key; net info is cleared.
  EXPECT_THAT(store_->ClaimActualLrp("pg", 0, Ik("ig-2", "cell-1"), kTrace),
              HasBbsType(Error::ActualLRPCannotBeClaimed));
  ASSERT_OK_AND_ASSIGN(ActualLrpChange change,
                       store_->ClaimActualLrp("pg", 0, Ik("ig-1", "cell-1"), kTrace));
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.after.state(), "CLAIMED");
  EXPECT_EQ(change.after.actual_lrp_net_info().address(), "");
  ExpectEvents(sink_.Take(), {{&change.before, &change.after}});

  // CRASHED (no instance key) cannot be claimed by a cell.
  Insert(Crashed("pg", 1, 4));
  EXPECT_THAT(store_->ClaimActualLrp("pg", 1, Ik("ig-3", "cell-1"), kTrace),
              HasBbsType(Error::ActualLRPCannotBeClaimed));
  EXPECT_EQ(Row("pg", 1)->state(), "CRASHED");
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(ActualStoreTest, ClaimMissingIsNotFound) {
  EXPECT_THAT(store_->ClaimActualLrp("pg", 0, Ik("ig-1", "cell-1"), kTrace),
              HasBbsType(Error::ResourceNotFound));
  // An evacuating row alone is not the ordinary row.
  Insert(As(Running("pg", 0, Ik("ig-1", "cell-1")), ActualLRP::EVACUATING));
  EXPECT_THAT(store_->ClaimActualLrp("pg", 0, Ik("ig-2", "cell-2"), kTrace),
              HasBbsType(Error::ResourceNotFound));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(ActualStoreTest, ClaimFromSuspectInstanceIsIgnored) {
  const ActualLRP ordinary = Unclaimed("pg", 0);
  const ActualLRP suspect = As(Running("pg", 0, Ik("ig-s", "cell-s")), ActualLRP::SUSPECT);
  Insert(ordinary);
  Insert(suspect);
  ASSERT_OK_AND_ASSIGN(ActualLrpChange change,
                       store_->ClaimActualLrp("pg", 0, Ik("ig-s", "cell-s"), kTrace));
  EXPECT_FALSE(change.changed);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(ordinary));
  EXPECT_THAT(*Row("pg", 0, ActualLRP::SUSPECT), EqualsProto(suspect));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

// -----------------------------------------------------------------------------
// Start.
// -----------------------------------------------------------------------------

TEST_P(ActualStoreTest, StartWithoutOrdinaryRowCreatesRunning) {
  const model::StartActualLrpParams params = Params(Key("pg", 2), Ik("ig-1", "cell-1"));
  ASSERT_OK_AND_ASSIGN(ActualLrpChange change, store_->StartActualLrp(params, kTrace));
  EXPECT_TRUE(change.changed);
  EXPECT_THAT(change.after,
              EqualsProto(model::NewRunningActualLrp(params, "epoch-1", clock_.Now())));
  EXPECT_THAT(*Row("pg", 2), EqualsProto(change.after));
  std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("actual_lrp_instance_created"));
  ExpectEvents(events, {{nullptr, &change.after}});
  ExpectColumnsMatchData();
}

TEST_P(ActualStoreTest, StartTransitions) {
  // UNCLAIMED -> RUNNING with any key.
  Insert(Unclaimed("pg", 0));
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(ActualLrpChange started,
                       store_->StartActualLrp(Params(Key("pg", 0), Ik("ig-1", "cell-1")), kTrace));
  EXPECT_TRUE(started.changed);
  EXPECT_EQ(started.after.state(), "RUNNING");
  EXPECT_EQ(started.after.modification_tag().index(), 4u);
  EXPECT_EQ(started.after.since(), NowNanos());
  EXPECT_EQ(started.after.actual_lrp_net_info().address(), "10.0.0.1");
  ExpectEvents(sink_.Take(), {{&started.before, &started.after}});

  // The same report again (rep bulk sync): no-op.
  clock_.Advance(absl::Seconds(30));
  ASSERT_OK_AND_ASSIGN(ActualLrpChange same,
                       store_->StartActualLrp(Params(Key("pg", 0), Ik("ig-1", "cell-1")), kTrace));
  EXPECT_FALSE(same.changed);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(started.after));
  EXPECT_THAT(sink_.Take(), IsEmpty());

  // New net info from the same instance: a change.
  ASSERT_OK_AND_ASSIGN(
      ActualLrpChange moved,
      store_->StartActualLrp(Params(Key("pg", 0), Ik("ig-1", "cell-1"), "10.0.0.2"), kTrace));
  EXPECT_TRUE(moved.changed);
  EXPECT_EQ(moved.after.modification_tag().index(), 5u);
  EXPECT_EQ(Row("pg", 0)->actual_lrp_net_info().address(), "10.0.0.2");
  ExpectEvents(sink_.Take(), {{&moved.before, &moved.after}});

  // RUNNING elsewhere: another instance cannot start; nor can a wrong domain.
  EXPECT_THAT(store_->StartActualLrp(Params(Key("pg", 0), Ik("ig-2", "cell-2")), kTrace),
              HasBbsType(Error::ActualLRPCannotBeStarted));
  EXPECT_THAT(store_->StartActualLrp(Params(Key("pg", 0, "other"), Ik("ig-1", "cell-1")), kTrace),
              HasBbsType(Error::ActualLRPCannotBeStarted));
  EXPECT_THAT(*Row("pg", 0), EqualsProto(moved.after));
  EXPECT_THAT(sink_.Take(), IsEmpty());

  // CLAIMED -> RUNNING with any key.
  Insert(Claimed("pg", 1, Ik("ig-3", "cell-3")));
  ASSERT_OK_AND_ASSIGN(ActualLrpChange other,
                       store_->StartActualLrp(Params(Key("pg", 1), Ik("ig-4", "cell-4")), kTrace));
  EXPECT_TRUE(other.changed);
  EXPECT_EQ(other.after.actual_lrp_instance_key().instance_guid(), "ig-4");

  // CRASHED -> RUNNING needs the (empty) same key.
  Insert(Crashed("pg", 2, 5));
  EXPECT_THAT(store_->StartActualLrp(Params(Key("pg", 2), Ik("ig-5", "cell-5")), kTrace),
              HasBbsType(Error::ActualLRPCannotBeStarted));
  EXPECT_EQ(Row("pg", 2)->state(), "CRASHED");
  ExpectColumnsMatchData();
}

TEST_P(ActualStoreTest, StartRemovesEvacuatingAndSuspectRows) {
  const ActualLRP ordinary = Unclaimed("pg", 0);
  const ActualLRP evacuating =
      As(Running("pg", 0, Ik("ig-e", "cell-e")), ActualLRP::EVACUATING);
  const ActualLRP suspect = As(Running("pg", 0, Ik("ig-s", "cell-s")), ActualLRP::SUSPECT);
  Insert(ordinary);
  Insert(evacuating);
  Insert(suspect);
  Insert(As(Running("pg", 1, Ik("ig-x", "cell-x")), ActualLRP::EVACUATING));  // Other index.

  ASSERT_OK_AND_ASSIGN(ActualLrpChange change,
                       store_->StartActualLrp(Params(Key("pg", 0), Ik("ig-1", "cell-1")), kTrace));
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  EXPECT_EQ(Row("pg", 0, ActualLRP::SUSPECT), std::nullopt);
  EXPECT_TRUE(Row("pg", 1, ActualLRP::EVACUATING).has_value());
  std::vector<BbsEvent> events = sink_.Take();
  ExpectEvents(events, {{&ordinary, &change.after}, {&evacuating, nullptr}, {&suspect, nullptr}});
  // Running first, then the removals (evacuating before suspect).
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].type, "actual_lrp_instance_changed");
  EXPECT_EQ(events[events.size() - 2].type, "actual_lrp_instance_removed");
  EXPECT_EQ(events.back().type, "actual_lrp_instance_removed");
}

TEST_P(ActualStoreTest, UnchangedStartStillRemovesEvacuatingRow) {
  const model::StartActualLrpParams params = Params(Key("pg", 0), Ik("ig-1", "cell-1"));
  const ActualLRP running = model::NewRunningActualLrp(params, "seed", clock_.Now());
  const ActualLRP evacuating =
      As(Running("pg", 0, Ik("ig-e", "cell-e")), ActualLRP::EVACUATING);
  Insert(running);
  Insert(evacuating);
  ASSERT_OK_AND_ASSIGN(ActualLrpChange change, store_->StartActualLrp(params, kTrace));
  EXPECT_FALSE(change.changed);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(running));
  EXPECT_EQ(Row("pg", 0, ActualLRP::EVACUATING), std::nullopt);
  std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("actual_lrp_instance_removed"));
  ExpectEvents(events, {{&evacuating, nullptr}});
}

TEST_P(ActualStoreTest, StartFromSuspectInstanceIsIgnored) {
  const ActualLRP ordinary = Claimed("pg", 0, Ik("ig-new", "cell-new"));
  const ActualLRP suspect = As(Running("pg", 0, Ik("ig-s", "cell-s")), ActualLRP::SUSPECT);
  Insert(ordinary);
  Insert(suspect);
  ASSERT_OK_AND_ASSIGN(ActualLrpChange change,
                       store_->StartActualLrp(Params(Key("pg", 0), Ik("ig-s", "cell-s")), kTrace));
  EXPECT_FALSE(change.changed);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(ordinary));
  EXPECT_THAT(*Row("pg", 0, ActualLRP::SUSPECT), EqualsProto(suspect));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

// -----------------------------------------------------------------------------
// Crash.
// -----------------------------------------------------------------------------

TEST_P(ActualStoreTest, CrashRestartsImmediatelyThenBacksOff) {
  const auto ik = Ik("ig-1", "cell-1");
  Insert(Running("pg", 0, ik));
  for (int crash = 1; crash <= 3; ++crash) {
    clock_.Advance(absl::Seconds(10));
    ASSERT_OK_AND_ASSIGN(CrashLrpResult result,
                         store_->CrashActualLrp(Key("pg", 0), ik, "exit 1", kTrace));
    EXPECT_EQ(result.after.crash_count(), crash);
    EXPECT_EQ(result.after.crash_reason(), "exit 1");
    EXPECT_EQ(result.after.since(), NowNanos());
    EXPECT_EQ(result.after.modification_tag().index(), result.before.modification_tag().index() + 1);
    EXPECT_TRUE(model::IsEmptyInstanceKey(result.after.actual_lrp_instance_key()));
    EXPECT_THAT(*Row("pg", 0), EqualsProto(result.after));
    std::vector<BbsEvent> events = sink_.Take();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events[0].type, "actual_lrp_crashed");
    ExpectEvents(events, {{&result.before, &result.after, true}});
    if (crash < 3) {
      // Crashes 1 and 2 restart at once: UNCLAIMED, the caller auctions.
      EXPECT_TRUE(result.restart_immediately);
      EXPECT_EQ(result.after.state(), "UNCLAIMED");
      ASSERT_OK(store_->StartActualLrp(Params(Key("pg", 0), ik), kTrace).status());
      sink_.Take();
    } else {
      EXPECT_FALSE(result.restart_immediately);
      EXPECT_EQ(result.after.state(), "CRASHED");
    }
  }
  ExpectColumnsMatchData();
}

TEST_P(ActualStoreTest, CrashCountResetsAfterFiveMinutesRunning) {
  const auto ik = Ik("ig-1", "cell-1");
  ActualLRP long_running = Running("pg", 0, ik);
  long_running.set_crash_count(6);
  long_running.set_since(absl::ToUnixNanos(clock_.Now() - absl::Minutes(5) - absl::Nanoseconds(1)));
  Insert(long_running);
  ASSERT_OK_AND_ASSIGN(CrashLrpResult reset, store_->CrashActualLrp(Key("pg", 0), ik, "oom", kTrace));
  EXPECT_EQ(reset.after.crash_count(), 1);
  EXPECT_TRUE(reset.restart_immediately);

  ActualLRP short_running = Running("pg", 1, ik);
  short_running.set_crash_count(6);
  short_running.set_since(absl::ToUnixNanos(clock_.Now() - absl::Minutes(5)));
  Insert(short_running);
  ASSERT_OK_AND_ASSIGN(CrashLrpResult kept, store_->CrashActualLrp(Key("pg", 1), ik, "oom", kTrace));
  EXPECT_EQ(kept.after.crash_count(), 7);
  EXPECT_FALSE(kept.restart_immediately);
  EXPECT_EQ(kept.after.state(), "CRASHED");
}

TEST_P(ActualStoreTest, CrashUsesConfiguredRestartPolicy) {
  SqlStore::Options options;
  options.restart_policy = model::RestartCalculator(0, absl::Minutes(16), 200);
  MakeStore(std::move(options));
  const auto ik = Ik("ig-1", "cell-1");
  Insert(Running("pg", 0, ik));
  ASSERT_OK_AND_ASSIGN(CrashLrpResult result,
                       store_->CrashActualLrp(Key("pg", 0), ik, "exit 1", kTrace));
  EXPECT_FALSE(result.restart_immediately);
  EXPECT_EQ(result.after.state(), "CRASHED");
}

TEST_P(ActualStoreTest, CrashClaimedNeedsTheSameKey) {
  const auto ik = Ik("ig-1", "cell-1");
  ActualLRP claimed = Claimed("pg", 0, ik);
  claimed.set_crash_count(3);
  claimed.set_since(NowNanos());
  Insert(claimed);
  EXPECT_THAT(store_->CrashActualLrp(Key("pg", 0), Ik("ig-1", "cell-2"), "x", kTrace),
              HasBbsType(Error::ActualLRPCannotBeCrashed));
  EXPECT_THAT(sink_.Take(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(CrashLrpResult result,
                       store_->CrashActualLrp(Key("pg", 0), ik, "failed to start", kTrace));
  EXPECT_EQ(result.after.state(), "CRASHED");
  EXPECT_EQ(result.after.crash_count(), 4);
  EXPECT_FALSE(result.restart_immediately);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(result.after));
  std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("actual_lrp_crashed", "actual_lrp_instance_changed"));
  ExpectEvents(events, {{&claimed, &result.after, true}});
}

TEST_P(ActualStoreTest, CrashRefusals) {
  EXPECT_THAT(store_->CrashActualLrp(Key("pg", 0), Ik("ig-1", "cell-1"), "x", kTrace),
              HasBbsType(Error::ResourceNotFound));
  const ActualLRP running = Running("pg", 0, Ik("ig-1", "cell-1"));
  Insert(running);
  EXPECT_THAT(store_->CrashActualLrp(Key("pg", 0), Ik("ig-2", "cell-1"), "x", kTrace),
              HasBbsType(Error::ActualLRPCannotBeCrashed));
  Insert(Unclaimed("pg", 1));
  EXPECT_THAT(store_->CrashActualLrp(Key("pg", 1), Ik("", ""), "x", kTrace),
              HasBbsType(Error::ActualLRPCannotBeCrashed));
  Insert(Crashed("pg", 2, 3));
  EXPECT_THAT(store_->CrashActualLrp(Key("pg", 2), Ik("", ""), "x", kTrace),
              HasBbsType(Error::ActualLRPCannotBeCrashed));
  EXPECT_THAT(*Row("pg", 0), EqualsProto(running));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

TEST_P(ActualStoreTest, CrashOfSuspectInstanceDeletesIt) {
  const ActualLRP ordinary = Claimed("pg", 0, Ik("ig-new", "cell-new"));
  const ActualLRP suspect = As(Running("pg", 0, Ik("ig-s", "cell-s")), ActualLRP::SUSPECT);
  Insert(ordinary);
  Insert(suspect);
  ASSERT_OK_AND_ASSIGN(CrashLrpResult result,
                       store_->CrashActualLrp(Key("pg", 0), Ik("ig-s", "cell-s"), "gone", kTrace));
  EXPECT_FALSE(result.restart_immediately);
  EXPECT_THAT(result.before, EqualsProto(suspect));
  EXPECT_EQ(Row("pg", 0, ActualLRP::SUSPECT), std::nullopt);
  EXPECT_THAT(*Row("pg", 0), EqualsProto(ordinary));
  std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("actual_lrp_instance_removed"));
  ExpectEvents(events, {{&suspect, nullptr}});
}

// -----------------------------------------------------------------------------
// Fail.
// -----------------------------------------------------------------------------

TEST_P(ActualStoreTest, Fail) {
  EXPECT_THAT(store_->FailActualLrp(Key("pg", 0), "no cells", kTrace),
              HasBbsType(Error::ResourceNotFound));
  const ActualLRP unclaimed = Unclaimed("pg", 0);
  Insert(unclaimed);
  clock_.Advance(absl::Seconds(5));
  ASSERT_OK_AND_ASSIGN(ActualLrpChange change,
                       store_->FailActualLrp(Key("pg", 0), "found no compatible cell", kTrace));
  EXPECT_TRUE(change.changed);
  EXPECT_EQ(change.after.placement_error(), "found no compatible cell");
  EXPECT_EQ(change.after.since(), NowNanos());
  EXPECT_EQ(change.after.modification_tag().index(), 4u);
  EXPECT_EQ(change.after.state(), "UNCLAIMED");
  EXPECT_THAT(*Row("pg", 0), EqualsProto(change.after));
  ExpectEvents(sink_.Take(), {{&change.before, &change.after}});

  Insert(Claimed("pg", 1, Ik("ig-1", "cell-1")));
  EXPECT_THAT(store_->FailActualLrp(Key("pg", 1), "x", kTrace),
              HasBbsType(Error::ActualLRPCannotBeFailed));
  EXPECT_THAT(sink_.Take(), IsEmpty());
}

// -----------------------------------------------------------------------------
// Remove.
// -----------------------------------------------------------------------------

TEST_P(ActualStoreTest, Remove) {
  const auto ik = Ik("ig-1", "cell-1");
  const ActualLRP running = Running("pg", 0, ik);
  const ActualLRP evacuating = As(Running("pg", 0, Ik("ig-e", "cell-e")), ActualLRP::EVACUATING);
  Insert(running);
  Insert(evacuating);

  // A wrong instance key matches no row.
  const auto wrong = Ik("ig-2", "cell-1");
  EXPECT_THAT(store_->RemoveActualLrp("pg", 0, &wrong, kTrace), HasBbsType(Error::ResourceNotFound));
  EXPECT_TRUE(Row("pg", 0).has_value());
  EXPECT_THAT(sink_.Take(), IsEmpty());

  ASSERT_OK(store_->RemoveActualLrp("pg", 0, &ik, kTrace));
  EXPECT_EQ(Row("pg", 0), std::nullopt);
  EXPECT_THAT(*Row("pg", 0, ActualLRP::EVACUATING), EqualsProto(evacuating));
  std::vector<BbsEvent> events = sink_.Take();
  EXPECT_THAT(Types(events), ElementsAre("actual_lrp_instance_removed"));
  ExpectEvents(events, {{&running, nullptr}});

  // Missing ordinary row.
  EXPECT_THAT(store_->RemoveActualLrp("pg", 0, nullptr, kTrace),
              HasBbsType(Error::ResourceNotFound));

  // No instance key: whatever the row holds.
  const ActualLRP crashed = Crashed("pg", 1, 2);
  Insert(crashed);
  ASSERT_OK(store_->RemoveActualLrp("pg", 1, nullptr, kTrace));
  EXPECT_EQ(Row("pg", 1), std::nullopt);
  ExpectEvents(sink_.Take(), {{&crashed, nullptr}});
}

INSTANTIATE_TEST_SUITE_P(Engines, ActualStoreTest, ::testing::ValuesIn(testing::kTestEngines),
                         testing::TestEngineName);

}  // namespace
}  // namespace diego::bbs
